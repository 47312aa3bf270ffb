/*
 * The call context from C (and C++): the cancel token in every phase of a
 * call, rich progress events, and the versioned options struct, against
 * the fake Kitsu server of the Rust test harness (tests/c_abi.rs), which
 * also checks afterwards what reached the server.
 *
 * usage: call_context <base-url> <scratch-folder>
 * Prints "N passed, M failed"; exits non-zero on failure.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#endif
#include "harness.h"
#include "threads.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef enum { DOWNLOAD, SLOW_UPLOAD, PUBLISH } call_kind;

/* Runs one call with a token that another thread cancels after `delay_ms`;
 * checks KITSU_RESULT_CANCELLED within the limit and nothing left behind. */
static void cancel_during(kitsu_client *client, call_kind kind, const char *route, int delay_ms,
                          const char *what) {
    kitsu_cancel_token *token = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    pthread_t thread;
    canceller c;
    char target[1024], a[1024], b[1024];
    const char *files[2];
    char *json = NULL;
    kitsu_result rc = KITSU_RESULT_OK;
    double returned, late;

    CHECK(kitsu_cancel_token_new(&token) == KITSU_RESULT_OK, "token");
    options.cancel = token;
    path_in_scratch(target, sizeof target, "cancelled.bin");
    path_in_scratch(a, sizeof a, "upload_a.bin");
    path_in_scratch(b, sizeof b, "upload_b.png");
    write_bytes(a, 1000000);
    write_bytes(b, 1000000);
    files[0] = a;
    files[1] = b;
    c.token = token;
    c.delay_ms = delay_ms;
    c.cancelled_at = 0;
    pthread_create(&thread, NULL, cancel_later, &c);
    switch (kind) {
    case DOWNLOAD:
        rc = kitsu_client_download(client, route, target, &options, NULL, NULL);
        break;
    case SLOW_UPLOAD:
        rc = kitsu_client_upload(client, route, files, 2, NULL, &options, NULL, NULL, &json);
        break;
    case PUBLISH:
        rc = kitsu_task_publish_preview(client, "0e5ad4bd-0000-4000-8000-00000000a001",
                                        "0e5ad4bd-0000-4000-8000-00000000b001", b, NULL, 0,
                                        "{\"comment\": \"cancel me\"}", &options, NULL, NULL, &json);
        break;
    }
    returned = now_ms();
    pthread_join(thread, NULL);
    late = returned - c.cancelled_at;
    CHECK(rc == KITSU_RESULT_CANCELLED, "%s: %u %s", what, rc, last_message());
    CHECK(c.cancelled_at > 0 && late < CANCEL_LIMIT_MS, "%s: returned %.0f ms after the cancel", what,
          late);
    CHECK(kitsu_last_error_code() == KITSU_RESULT_CANCELLED, "%s: last error %u", what,
          kitsu_last_error_code());
    CHECK(json == NULL, "%s: an answer was written on failure", what);
    CHECK(!file_exists(target) && partial_files() == 0, "%s: something was left behind", what);
    CHECK(kitsu_cancel_token_is_cancelled(token) == 1, "%s: token state", what);
    kitsu_cancel_token_free(token);
}

static void test_cancel_in_every_phase(kitsu_client *client) {
    /* The answer's headers never come. */
    cancel_during(client, DOWNLOAD, "files/hang/1", 500, "headers pending");
    /* Answered 202 (Retry-After 1) again and again. */
    cancel_during(client, DOWNLOAD, "files/processing/cancel-wait/1000", 1500, "202 wait");
    /* Half the body, then nothing. */
    cancel_during(client, DOWNLOAD, "files/stall/100000", 700, "stalled body");
    /* 4 KiB every 50 ms. */
    cancel_during(client, DOWNLOAD, "files/trickle/2000000", 700, "flowing body");
    /* Two files read by the server at about 500 KB/s. */
    cancel_during(client, SLOW_UPLOAD, "upload/slow", 1000, "multi-file upload");
    /* publish_preview: the comment is posted, the preview record takes 2 s. */
    cancel_during(client, PUBLISH, NULL, 500, "publish_preview's second step");
}

/* A token cancelled before the call: it fails at once; the route it names
 * (files/fixed/7777) must never reach the server (checked by the harness). */
static void test_cancelled_before_the_call(kitsu_client *client) {
    kitsu_cancel_token *token = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    char target[1024];
    kitsu_result rc;
    double started;
    kitsu_cancel_token_new(&token);
    CHECK(kitsu_cancel_token_is_cancelled(token) == 0, "a new token is not cancelled");
    CHECK(kitsu_cancel_token_cancel(token) == KITSU_RESULT_OK, "cancel");
    CHECK(kitsu_cancel_token_cancel(token) == KITSU_RESULT_OK, "cancel twice");
    options.cancel = token;
    path_in_scratch(target, sizeof target, "never.bin");
    started = now_ms();
    rc = kitsu_client_download(client, "files/fixed/7777", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_CANCELLED, "cancelled before: %u", rc);
    CHECK(now_ms() - started < CANCEL_LIMIT_MS, "cancelled before: took %.0f ms", now_ms() - started);
    CHECK(!file_exists(target), "cancelled before: a file was written");
    CHECK(kitsu_cancel_token_is_cancelled(NULL) == 0, "NULL token is not cancelled");
    CHECK(kitsu_cancel_token_cancel(NULL) == KITSU_RESULT_NULL_PARAMETER, "cancel NULL");
    kitsu_cancel_token_free(token);
    kitsu_cancel_token_free(NULL);
}

/* One token, four threads transferring at once through one client. */
typedef struct {
    kitsu_client *client;
    const kitsu_transfer_options *options;
    int index;
    kitsu_result rc;
    double returned;
} worker;

static void *download_worker(void *arg) {
    worker *w = (worker *)arg;
    char target[1024], name[64];
    snprintf(name, sizeof name, "shared_%d.bin", w->index);
    path_in_scratch(target, sizeof target, name);
    w->rc = kitsu_client_download(w->client, "files/trickle/1000000", target, w->options, NULL, NULL);
    w->returned = now_ms();
    return NULL;
}

static void test_one_token_four_threads(kitsu_client *client) {
    kitsu_cancel_token *token = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    pthread_t threads[4];
    worker workers[4];
    double cancelled_at;
    int i;
    kitsu_cancel_token_new(&token);
    options.cancel = token;
    for (i = 0; i < 4; i++) {
        workers[i].client = client;
        workers[i].options = &options;
        workers[i].index = i;
        workers[i].rc = KITSU_RESULT_OK;
        pthread_create(&threads[i], NULL, download_worker, &workers[i]);
    }
    sleep_ms(600);
    cancelled_at = now_ms();
    kitsu_cancel_token_cancel(token);
    for (i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].rc == KITSU_RESULT_CANCELLED, "thread %d: %u", i, workers[i].rc);
        CHECK(workers[i].returned - cancelled_at < CANCEL_LIMIT_MS, "thread %d: %.0f ms after the cancel",
              i, workers[i].returned - cancelled_at);
    }
    CHECK(partial_files() == 0, "4 threads: temporary files left");
    kitsu_cancel_token_free(token);
}

/* ---- events ------------------------------------------------------------ */

#define MAX_EVENTS 512
typedef struct {
    int count;
    kitsu_phase phase[MAX_EVENTS];
    kitsu_operation operation[MAX_EVENTS];
    uint64_t bytes[MAX_EVENTS], total[MAX_EVENTS], deadline[MAX_EVENTS], elapsed[MAX_EVENTS];
    uint32_t item[MAX_EVENTS], items[MAX_EVENTS], attempt[MAX_EVENTS];
    char key[MAX_EVENTS][96];
    char file[MAX_EVENTS][96];
    char message[MAX_EVENTS][128];
    size_t struct_size;
    int wrong_thread;
    pthread_t caller;
    int abort_at; /* return non-zero at this event index, -1: never */
    const kitsu_cancel_token *cancel_on_key_token;
    const char *cancel_on_key; /* cancel the token at the first event whose key holds this */
    /* The simple callback, given at the same time. */
    int progress_calls;
    uint64_t progress_done[MAX_EVENTS], progress_total[MAX_EVENTS];
} events;

static void events_init(events *e) {
    memset(e, 0, sizeof *e);
    e->caller = pthread_self();
    e->abort_at = -1;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int record_event(const kitsu_progress_event *event, void *user_data) {
    events *e = (events *)user_data;
    int i = e->count;
    if (!pthread_equal(pthread_self(), e->caller)) e->wrong_thread = 1;
    e->struct_size = event->struct_size;
    if (i < MAX_EVENTS) {
        e->phase[i] = event->phase;
        e->operation[i] = event->operation;
        e->bytes[i] = event->bytes_done;
        e->total[i] = event->total;
        e->deadline[i] = event->deadline_ms;
        e->elapsed[i] = event->elapsed_ms;
        e->item[i] = event->item_index;
        e->items[i] = event->item_count;
        e->attempt[i] = event->attempt;
        snprintf(e->key[i], sizeof e->key[i], "%s", event->key ? event->key : "(null)");
        snprintf(e->file[i], sizeof e->file[i], "%s", event->file ? base_name(event->file) : "");
        snprintf(e->message[i], sizeof e->message[i], "%s", event->message ? event->message : "(null)");
        e->count++;
    }
    if (e->cancel_on_key && event->key && strstr(event->key, e->cancel_on_key)) {
        kitsu_cancel_token_cancel(e->cancel_on_key_token);
    }
    return (e->abort_at >= 0 && i >= e->abort_at) ? KITSU_PROGRESS_ABORT : KITSU_PROGRESS_CONTINUE;
}

static int record_simple(uint64_t done, uint64_t total, void *user_data) {
    events *e = (events *)user_data;
    if (e->progress_calls < MAX_EVENTS) {
        e->progress_done[e->progress_calls] = done;
        e->progress_total[e->progress_calls] = total;
        e->progress_calls++;
    }
    return KITSU_PROGRESS_CONTINUE;
}

/* The phases in order, each change once ("CWTD" for connecting, waiting, transferring, done). */
static void phase_sequence(const events *e, char *out, size_t size) {
    static const char letters[] = "?CWTRD";
    size_t n = 0;
    int i;
    for (i = 0; i < e->count && n + 1 < size; i++) {
        char letter = e->phase[i] <= 5 ? letters[e->phase[i]] : '?';
        if (n == 0 || out[n - 1] != letter) out[n++] = letter;
    }
    out[n] = '\0';
}

/* A download answered 202 twice (Retry-After 1) then 200. */
static void test_event_sequence_of_a_202_download(kitsu_client *client) {
    static events e;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    char target[1024], phases[64];
    kitsu_result rc;
    int i, waiting = 0, waiting_ok = 0, early_heartbeat = 0, monotonic = 1;
    events_init(&e);
    options.on_event = record_event;
    options.event_user_data = &e;
    path_in_scratch(target, sizeof target, "processed_twice.png");
    rc = kitsu_client_download(client, "files/processing/events/2", target, &options, record_simple, &e);
    CHECK(rc == KITSU_RESULT_OK, "202 twice: %u %s", rc, last_message());
    phase_sequence(&e, phases, sizeof phases);
    CHECK(strcmp(phases, "CWTD") == 0, "phases: %s", phases);
    CHECK(!e.wrong_thread, "an event came on another thread");
    CHECK(e.struct_size == sizeof(kitsu_progress_event), "struct_size %zu", e.struct_size);
    for (i = 0; i < e.count; i++) {
        CHECK(e.operation[i] == KITSU_OPERATION_DOWNLOAD, "operation %u", e.operation[i]);
        CHECK(strcmp(e.key[i], "files/processing/events/2") == 0, "key %s", e.key[i]);
        CHECK(strcmp(e.file[i], "processed_twice.png") == 0, "file %s", e.file[i]);
        CHECK(e.attempt[i] == 1 && e.item[i] == 0 && e.items[i] == 1, "attempt/items %u %u/%u",
              e.attempt[i], e.item[i], e.items[i]);
        if (i > 0 && e.bytes[i] < e.bytes[i - 1]) monotonic = 0;
        if (e.phase[i] == KITSU_PHASE_WAITING) {
            waiting++;
            if (e.deadline[i] == 60000 && strstr(e.message[i], "202") &&
                strstr(e.message[i], "Retry-After 1 s") && strstr(e.message[i], "of 60 s"))
                waiting_ok++;
        }
    }
    CHECK(monotonic, "event bytes decreased");
    /* Two 1 s waits: the phase change plus at least one heartbeat. */
    CHECK(waiting >= 2 && waiting_ok == waiting, "waiting events: %d, with deadline and message: %d (%s)",
          waiting, waiting_ok, e.count > 1 ? e.message[1] : "");
    CHECK(e.count > 0 && e.phase[e.count - 1] == KITSU_PHASE_DONE && e.bytes[e.count - 1] == 4096 &&
              e.total[e.count - 1] == 4096,
          "done event");
    /* The simple callback kept its contract, with heartbeats during the wait. */
    for (i = 0; i < e.progress_calls; i++) {
        if (e.progress_done[i] == 0 && e.progress_total[i] == 0) early_heartbeat = 1;
        if (i > 0 && e.progress_done[i] < e.progress_done[i - 1]) monotonic = 0;
    }
    CHECK(early_heartbeat, "no heartbeat of the simple callback before the first byte");
    CHECK(monotonic, "simple callback decreased");
    CHECK(e.progress_calls > 0 && e.progress_done[e.progress_calls - 1] == 4096 &&
              e.progress_total[e.progress_calls - 1] == 4096,
          "simple callback's last call");
}

/* A two-file upload: item_index walks the files, the total is their sum.
 * (Loopback socket buffers may take the first file before the first tick,
 * so its own TRANSFERRING event is not guaranteed; the request's CONNECTING
 * event names it.) */
static void test_events_of_a_multi_file_upload(kitsu_client *client) {
    static events e;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    char a[1024], b[1024], *json = NULL;
    const char *files[2];
    kitsu_result rc;
    int i, saw_first = 0, saw_second = 0, item_monotonic = 1;
    events_init(&e);
    options.on_event = record_event;
    options.event_user_data = &e;
    path_in_scratch(a, sizeof a, "first.bin");
    path_in_scratch(b, sizeof b, "second.bin");
    write_bytes(a, 600000);
    write_bytes(b, 400000);
    files[0] = a;
    files[1] = b;
    rc = kitsu_client_upload(client, "upload/slow", files, 2, NULL, &options, NULL, NULL, &json);
    CHECK(rc == KITSU_RESULT_OK, "slow upload: %u %s", rc, last_message());
    kitsu_string_free(json);
    for (i = 0; i < e.count; i++) {
        CHECK(e.operation[i] == KITSU_OPERATION_UPLOAD && e.items[i] == 2 && e.total[i] == 1000000,
              "upload event %d: op %u items %u total %llu", i, e.operation[i], e.items[i],
              (unsigned long long)e.total[i]);
        if (e.phase[i] == KITSU_PHASE_CONNECTING && e.item[i] == 0 && strcmp(e.file[i], "first.bin") == 0)
            saw_first = 1;
        if (i > 0 && e.item[i] < e.item[i - 1]) item_monotonic = 0;
        if (e.phase[i] == KITSU_PHASE_TRANSFERRING && e.item[i] == 1 && strcmp(e.file[i], "second.bin") == 0)
            saw_second = 1;
    }
    CHECK(saw_first && saw_second, "item_index and file of both files: %d %d", saw_first, saw_second);
    CHECK(item_monotonic, "item_index went back");
    CHECK(e.count > 0 && e.phase[e.count - 1] == KITSU_PHASE_DONE && e.bytes[e.count - 1] == 1000000,
          "upload done event");
}

/* Cancelled from the event callback when publish_preview's second step
 * begins: its request is never sent (the harness counts add-preview requests). */
static void test_cancel_between_publish_steps(kitsu_client *client) {
    static events e;
    kitsu_cancel_token *token = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    char preview[1024], *json = NULL;
    kitsu_result rc;
    kitsu_cancel_token_new(&token);
    events_init(&e);
    e.cancel_on_key = "add-preview";
    e.cancel_on_key_token = token;
    options.cancel = token;
    options.on_event = record_event;
    options.event_user_data = &e;
    path_in_scratch(preview, sizeof preview, "between.png");
    write_bytes(preview, 5000);
    rc = kitsu_task_publish_preview(client, "0e5ad4bd-0000-4000-8000-00000000a001",
                                    "0e5ad4bd-0000-4000-8000-00000000b001", preview, NULL, 0,
                                    "{\"comment\": \"between\"}", &options, NULL, NULL, &json);
    CHECK(rc == KITSU_RESULT_CANCELLED, "between steps: %u %s", rc, last_message());
    CHECK(json == NULL, "between steps: an answer was written");
    kitsu_cancel_token_free(token);
}

static void test_event_callback_aborts(kitsu_client *client) {
    static events e;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    char target[1024];
    kitsu_result rc;
    events_init(&e);
    e.abort_at = 2;
    options.on_event = record_event;
    options.event_user_data = &e;
    path_in_scratch(target, sizeof target, "aborted_by_event.bin");
    rc = kitsu_client_download(client, "files/trickle/400000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_ABORTED_BY_CALLBACK, "event abort: %u", rc);
    CHECK(!file_exists(target) && partial_files() == 0, "event abort left something");
}

/* ---- the versioned options struct -------------------------------------- */

static void test_struct_size(kitsu_client *client) {
    static events e;
    kitsu_cancel_token *cancelled = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    char target[1024];
    kitsu_result rc;
    CHECK(options.struct_size == sizeof(kitsu_transfer_options) && options.cancel == NULL &&
              options.on_event == NULL && options.event_user_data == NULL && options.max_attempts == 0 &&
              options.initial_delay_ms == 0 && options.max_delay_ms == 0 && options.resume == 0,
          "KITSU_TRANSFER_OPTIONS_INIT");
    path_in_scratch(target, sizeof target, "defaults.bin");
    rc = kitsu_client_download(client, "files/fixed/3000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK, "the defaults: %u %s", rc, last_message());

    /* An older caller's struct holds only struct_size: the rest is not read. */
    kitsu_cancel_token_new(&cancelled);
    kitsu_cancel_token_cancel(cancelled);
    events_init(&e);
    options.struct_size = sizeof(size_t);
    options.cancel = cancelled;
    options.on_event = record_event;
    options.event_user_data = &e;
    rc = kitsu_client_download(client, "files/fixed/3000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK, "struct_size = sizeof(size_t): %u %s", rc, last_message());
    CHECK(e.count == 0, "fields beyond struct_size were read: %d events", e.count);

    /* Up to the cancel token: the token is read, the event callback is not. */
    options.struct_size = offsetof(kitsu_transfer_options, on_event);
    rc = kitsu_client_download(client, "files/fixed/3000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_CANCELLED && e.count == 0, "struct_size up to cancel: %u, %d events", rc,
          e.count);

    options.struct_size = 0;
    rc = kitsu_client_download(client, "files/fixed/3000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER && strstr(last_message(), "struct_size"),
          "struct_size 0: %u %s", rc, last_message());
    kitsu_cancel_token_free(cancelled);
}

/* ---- retries ----------------------------------------------------------- */

static void test_retry_options_and_last_error(kitsu_client *client) {
    static events e;
    kitsu_cancel_token *token = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    kitsu_transfer_options two = KITSU_TRANSFER_OPTIONS_INIT;
    kitsu_transfer_options cancelling = KITSU_TRANSFER_OPTIONS_INIT;
    canceller c;
    pthread_t thread;
    char target[1024];
    kitsu_result rc;
    double late;
    int i, retrying = 0;
    path_in_scratch(target, sizeof target, "flaky.bin");

    /* 503 (Retry-After: 1) twice then the file: retried by default. */
    events_init(&e);
    options.on_event = record_event;
    options.event_user_data = &e;
    rc = kitsu_client_download(client, "flaky/503/2/c-default/3000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK, "flaky 503: %u %s", rc, last_message());
    for (i = 0; i < e.count; i++) {
        if (e.phase[i] == KITSU_PHASE_RETRYING) {
            retrying++;
            CHECK(strstr(e.message[i], "HTTP 503") && e.deadline[i] == 1000, "retry event: %s, %llu ms",
                  e.message[i], (unsigned long long)e.deadline[i]);
        }
    }
    CHECK(retrying >= 2 && e.attempt[e.count - 1] == 3, "retrying events %d, last attempt %u", retrying,
          e.count ? e.attempt[e.count - 1] : 0);

    /* This call only: 2 attempts. It fails, and the last error says so. */
    two.max_attempts = 2;
    two.initial_delay_ms = 10;
    rc = kitsu_client_download(client, "flaky/503/5/c-two/3000", target, &two, NULL, NULL);
    CHECK(rc == KITSU_RESULT_SERVICE_UNAVAILABLE, "2 attempts: %u", rc);
    CHECK(kitsu_last_error_attempts() == 2, "attempts %u", kitsu_last_error_attempts());
    CHECK(kitsu_last_error_retry_after() == 1, "retry after %lld", (long long)kitsu_last_error_retry_after());
    CHECK(strstr(last_message(), "after 2 attempts") != NULL, "message: %s", last_message());
    /* Retries off for this call: one attempt. */
    two.max_attempts = 1;
    rc = kitsu_client_download(client, "flaky/500/1/c-once/3000", target, &two, NULL, NULL);
    CHECK(rc == KITSU_RESULT_SERVER_ERROR && kitsu_last_error_attempts() == 1, "1 attempt: %u, %u", rc,
          kitsu_last_error_attempts());
    CHECK(kitsu_last_error_retry_after() == -1, "no Retry-After: %lld", (long long)kitsu_last_error_retry_after());
    /* The client's policy. */
    CHECK(kitsu_client_set_retry_policy(client, 1, 0, 0) == KITSU_RESULT_OK, "policy");
    rc = kitsu_client_download(client, "flaky/502/1/c-client/3000", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_BAD_GATEWAY, "client policy 1 attempt: %u", rc);
    CHECK(kitsu_client_set_retry_policy(client, 5, 0, 0) == KITSU_RESULT_OK, "policy back");

    /* A cancel during the wait before another attempt ends it at once. */
    kitsu_cancel_token_new(&token);
    cancelling.cancel = token;
    c.token = token;
    c.delay_ms = 500; /* the first 503 comes at once; its wait is 1 s */
    c.cancelled_at = 0;
    pthread_create(&thread, NULL, cancel_later, &c);
    rc = kitsu_client_download(client, "flaky/503/50/c-cancel/3000", target, &cancelling, NULL, NULL);
    late = now_ms() - c.cancelled_at;
    pthread_join(thread, NULL);
    CHECK(rc == KITSU_RESULT_CANCELLED && late < CANCEL_LIMIT_MS, "cancel in the retry wait: %u, %.0f ms", rc,
          late);
    CHECK(partial_files() == 0, "retries left a temporary file");
    kitsu_cancel_token_free(token);
}

int main(int argc, char **argv) {
    kitsu_client *client;
    if (argc != 3) {
        fprintf(stderr, "usage: %s <base-url> <scratch-folder>\n", argv[0]);
        return 2;
    }
    base_url = argv[1];
    scratch = argv[2];
    client = logged_in_client();
    if (!client) {
        printf("cannot log in to %s: %s\n", base_url, last_message());
        return 1;
    }
    test_cancelled_before_the_call(client);
    test_cancel_in_every_phase(client);
    test_one_token_four_threads(client);
    test_event_sequence_of_a_202_download(client);
    test_events_of_a_multi_file_upload(client);
    test_cancel_between_publish_steps(client);
    test_event_callback_aborts(client);
    test_struct_size(client);
    test_retry_options_and_last_error(client);
    kitsu_client_free(client);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
