/*
 * Batches from C (and C++): many transfers in one kitsu_batch_run(), at
 * most N in flight, the combined progress contract, per-item results and
 * events, a failing item among good ones, cancel, and one token refresh for
 * eight items in flight, against the fake Kitsu server of the Rust test
 * harness (tests/c_abi.rs), which checks afterwards what reached the server
 * (how many requests at once, how many refreshes).
 *
 * usage: batch <base-url> <scratch-folder>
 * Prints "N passed, M failed"; exits non-zero on failure.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#endif
#include "harness.h"
#include "threads.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_ITEMS 64

static long file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (long)st.st_size;
}

/* Byte i of the fake server's files. */
static int pattern_matches(const char *path, long len) {
    FILE *f = fopen(path, "rb");
    long i;
    int ok = 1;
    if (!f) return 0;
    for (i = 0; i < len; i++) {
        int c = fgetc(f);
        if (c != (int)((i * 31 + 7) % 251)) {
            ok = 0;
            break;
        }
    }
    if (fgetc(f) != EOF) ok = 0;
    fclose(f);
    return ok;
}

/* ---- what the callbacks saw ------------------------------------------- */

typedef struct {
    int calls;
    uint64_t first_done, first_total, last_done, last_total;
    int decreased, over_total, total_changed;
    uint64_t known_total;
    int reentry_checked;
    kitsu_batch *batch;
    kitsu_result reentry;
    pthread_t thread; /* the thread of the first call; every later one must match */
    int other_thread;
} progress_log;

static int on_progress(uint64_t done, uint64_t total, void *user_data) {
    progress_log *log = (progress_log *)user_data;
    if (log->calls == 0) {
        log->first_done = done;
        log->first_total = total;
        log->thread = pthread_self();
    } else if (!pthread_equal(log->thread, pthread_self())) {
        log->other_thread = 1;
    }
    if (log->calls > 0 && done < log->last_done) {
        log->decreased = 1;
    }
    if (total > 0 && done > total) log->over_total = 1;
    if (total > 0) {
        if (log->known_total > 0 && total != log->known_total) log->total_changed = 1;
        log->known_total = total;
    } else if (log->known_total > 0) {
        log->total_changed = 1; /* known, then unknown again */
    }
    if (log->batch && !log->reentry_checked) {
        size_t count = 0;
        log->reentry = kitsu_batch_item_count(log->batch, &count);
        log->reentry_checked = 1;
    }
    log->last_done = done;
    log->last_total = total;
    log->calls++;
    return KITSU_PROGRESS_CONTINUE;
}

typedef struct {
    int queued[MAX_ITEMS];
    int done[MAX_ITEMS];
    int failed[MAX_ITEMS];
    int bad_index, wrong_thread;
    int batch_events;
    kitsu_phase last_batch_phase;
    uint32_t last_batch_finished;
    pthread_t caller;
} event_log;

static int on_event(const kitsu_progress_event *event, void *user_data) {
    event_log *log = (event_log *)user_data;
    if (!pthread_equal(pthread_self(), log->caller)) log->wrong_thread = 1;
    if (event->operation == KITSU_OPERATION_BATCH) {
        log->batch_events++;
        log->last_batch_phase = event->phase;
        log->last_batch_finished = event->item_index;
        return KITSU_PROGRESS_CONTINUE;
    }
    if (event->item_index >= MAX_ITEMS || event->item_index >= event->item_count) {
        log->bad_index = 1;
        return KITSU_PROGRESS_CONTINUE;
    }
    if (event->phase == KITSU_PHASE_QUEUED) log->queued[event->item_index]++;
    if (event->phase == KITSU_PHASE_DONE) log->done[event->item_index]++;
    if (event->phase == KITSU_PHASE_FAILED) log->failed[event->item_index]++;
    return KITSU_PROGRESS_CONTINUE;
}

/* ---- 50 items, 8 in flight, one 404 and one dropped -------------------- */

static void test_fifty_items(kitsu_client *client) {
    kitsu_batch *batch = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    progress_log progress;
    event_log events;
    char route[256], target[1024];
    size_t i, index = 0, count = 0, succeeded = 0, failed_count = 0;
    kitsu_result rc, code;
    int32_t status = 0;
    char message[KITSU_ERROR_SIZE];
    size_t message_len = 0;
    uint64_t bytes = 0, expected_sum = 0;
    const size_t items = 50, missing = 17, dropped = 33;

    memset(&progress, 0, sizeof progress);
    memset(&events, 0, sizeof events);
    events.caller = pthread_self();
    CHECK(kitsu_batch_new(client, &batch) == KITSU_RESULT_OK, "new: %s", last_message());
    for (i = 0; i < items; i++) {
        long len = 100000 + (long)i * 1000;
        if (i == missing) {
            snprintf(route, sizeof route, "files/no-such-route/%lu", (unsigned long)i);
        } else if (i == dropped) {
            snprintf(route, sizeof route, "files/drop/%ld", len);
        } else {
            snprintf(route, sizeof route, "files/concurrent/fifty/%ld", len);
            expected_sum += (uint64_t)len;
        }
        snprintf(target, sizeof target, "%s/item-%02lu.bin", scratch, (unsigned long)i);
        rc = kitsu_batch_add_download(batch, route, target, &index);
        CHECK(rc == KITSU_RESULT_OK && index == i, "add %lu: %u %s", (unsigned long)i, rc,
              last_message());
    }
    CHECK(kitsu_batch_item_count(batch, &count) == KITSU_RESULT_OK && count == items, "count %lu",
          (unsigned long)count);
    /* Not run yet: no result. */
    rc = kitsu_batch_item_result(batch, 0, &code, &status, NULL, 0, NULL);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "result before the run: %u", rc);

    options.on_event = on_event;
    options.event_user_data = &events;
    options.max_attempts = 2; /* the dropped item fails fast */
    options.initial_delay_ms = 20;
    progress.batch = batch;
    rc = kitsu_batch_run(batch, 8, &options, on_progress, &progress);
    CHECK(rc == KITSU_RESULT_BATCH_INCOMPLETE, "run: %u %s", rc, last_message());
    CHECK(strstr(last_message(), "2 of 50") != NULL, "run's message: %s", last_message());

    /* Combined progress: first, last, never decreasing, total once known. */
    CHECK(progress.calls >= 2, "%d progress calls", progress.calls);
    CHECK(progress.first_done == 0, "first call (%llu, %llu)",
          (unsigned long long)progress.first_done, (unsigned long long)progress.first_total);
    CHECK(!progress.decreased && !progress.over_total && !progress.total_changed,
          "contract: decreased %d over %d total changed %d", progress.decreased,
          progress.over_total, progress.total_changed);
    /* Not a success: the dropped item's length stays in the total, the 404's is 0. */
    CHECK(progress.last_done >= expected_sum && progress.last_done <= progress.last_total &&
              progress.last_total == expected_sum + 100000 + dropped * 1000,
          "last call (%llu, %llu), %llu expected", (unsigned long long)progress.last_done,
          (unsigned long long)progress.last_total, (unsigned long long)expected_sum);
    CHECK(pthread_equal(progress.thread, pthread_self()) && !progress.other_thread,
          "the combined progress came on another thread than the caller's");
    CHECK(progress.reentry == KITSU_RESULT_REENTRANT_CALL,
          "a batch call from its own callback: %u", progress.reentry);

    /* Per-item results. */
    for (i = 0; i < items; i++) {
        long len = 100000 + (long)i * 1000;
        snprintf(target, sizeof target, "%s/item-%02lu.bin", scratch, (unsigned long)i);
        rc = kitsu_batch_item_result(batch, i, &code, &status, message, sizeof message,
                                     &message_len);
        CHECK(rc == KITSU_RESULT_OK, "item_result %lu: %u", (unsigned long)i, rc);
        kitsu_batch_item_bytes(batch, i, &bytes);
        if (i == missing) {
            CHECK(code == KITSU_RESULT_NOT_FOUND && status == 404, "404 item: %u %d %s", code,
                  status, message);
            CHECK(!file_exists(target), "the 404 item left a file");
        } else if (i == dropped) {
            CHECK(code == KITSU_RESULT_INCOMPLETE_BODY && status == 0, "dropped item: %u %d %s",
                  code, status, message);
            CHECK(strstr(message, "2 attempts") != NULL, "dropped item's message: %s", message);
            CHECK(!file_exists(target), "the dropped item left a file");
        } else {
            CHECK(code == KITSU_RESULT_OK && status == 0 && message_len == 0 && message[0] == 0,
                  "item %lu: %u %d %s", (unsigned long)i, code, status, message);
            CHECK(bytes == (uint64_t)len && file_size(target) == len &&
                      pattern_matches(target, len),
                  "item %lu: %llu bytes, %ld on disk", (unsigned long)i,
                  (unsigned long long)bytes, file_size(target));
        }
        CHECK(events.queued[i] == 1, "item %lu queued %d times", (unsigned long)i,
              events.queued[i]);
        CHECK(events.done[i] == (i == missing || i == dropped ? 0 : 1) &&
                  events.failed[i] == (i == missing || i == dropped ? 1 : 0),
              "item %lu: done %d failed %d", (unsigned long)i, events.done[i], events.failed[i]);
    }
    CHECK(kitsu_batch_counts(batch, &succeeded, &failed_count) == KITSU_RESULT_OK &&
              succeeded == items - 2 && failed_count == 2,
          "counts %lu %lu", (unsigned long)succeeded, (unsigned long)failed_count);
    CHECK(!events.bad_index && !events.wrong_thread, "events: bad index %d, wrong thread %d",
          events.bad_index, events.wrong_thread);
    CHECK(events.batch_events >= 2 && events.last_batch_phase == KITSU_PHASE_FAILED &&
              events.last_batch_finished == items,
          "batch events %d, last phase %u, finished %u", events.batch_events,
          events.last_batch_phase, events.last_batch_finished);
    CHECK(partial_files() == 0, "temporary files left: %d", partial_files());
    /* A small buffer: truncated, the length still told. */
    rc = kitsu_batch_item_result(batch, missing, &code, NULL, message, 4, &message_len);
    CHECK(rc == KITSU_RESULT_BUFFER_TOO_SMALL && strlen(message) == 3 && message_len > 3,
          "truncated message: %u %lu", rc, (unsigned long)message_len);
    rc = kitsu_batch_item_result(batch, items, &code, NULL, NULL, 0, NULL);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "an index past the end: %u", rc);
    kitsu_batch_free(batch);
}

/* ---- uploads in a batch, and a second run retrying only the failed ------ */

static void test_uploads_and_rerun(kitsu_client *client) {
    kitsu_batch *batch = NULL;
    char a[1024], b[1024], target[1024];
    const char *files[2];
    char *json = NULL;
    size_t index = 0, succeeded = 0, failed_count = 0;
    progress_log progress;
    kitsu_result rc, code;

    memset(&progress, 0, sizeof progress);
    path_in_scratch(a, sizeof a, "batch_a.bin");
    path_in_scratch(b, sizeof b, "batch_b.png");
    write_bytes(a, 300000);
    write_bytes(b, 200000);
    files[0] = a;
    files[1] = b;
    CHECK(kitsu_batch_new(client, &batch) == KITSU_RESULT_OK, "new");
    rc = kitsu_batch_add_upload(batch, "upload/echo", files, 2, "{\"name\": \"x\"}", &index);
    CHECK(rc == KITSU_RESULT_OK && index == 0, "add upload: %u %s", rc, last_message());
    rc = kitsu_batch_add_upload(batch, "upload/echo", files, 1, NULL, &index);
    CHECK(rc == KITSU_RESULT_OK && index == 1, "add upload: %u", rc);
    /* A missing file is refused when added. */
    path_in_scratch(target, sizeof target, "no-such-file.bin");
    files[0] = target;
    rc = kitsu_batch_add_upload(batch, "upload/echo", files, 1, NULL, &index);
    CHECK(rc == KITSU_RESULT_FILE_NOT_FOUND && index == 1, "missing file: %u", rc);
    /* An item failing once: a 503 for its first 3 requests, no retry asked. */
    path_in_scratch(target, sizeof target, "flaky.bin");
    rc = kitsu_batch_add_download(batch, "flaky/503/3/batch-rerun/5000", target, &index);
    CHECK(rc == KITSU_RESULT_OK && index == 2, "add download: %u", rc);
    {
        kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
        options.max_attempts = 1;
        rc = kitsu_batch_run(batch, 0, &options, on_progress, &progress);
        CHECK(rc == KITSU_RESULT_BATCH_INCOMPLETE, "first run: %u %s", rc, last_message());
        /* Uploads: the total is the files' sizes from the first call on. */
        CHECK(progress.first_total == 0 && progress.last_done == 800000 &&
                  progress.last_total == 800000,
              "upload progress (%llu first total, %llu last)",
              (unsigned long long)progress.first_total, (unsigned long long)progress.last_done);
        kitsu_batch_item_result(batch, 2, &code, NULL, NULL, 0, NULL);
        CHECK(code == KITSU_RESULT_SERVICE_UNAVAILABLE, "flaky item: %u", code);
        CHECK(kitsu_batch_item_answer(batch, 0, &json) == KITSU_RESULT_OK && json &&
                  strstr(json, "\"name\"") && strstr(json, "batch_b.png"),
              "upload answer: %s", json ? json : "(null)");
        kitsu_string_free(json);
        json = NULL;
        CHECK(kitsu_batch_item_answer(batch, 2, &json) == KITSU_RESULT_OK && json == NULL,
              "a failed item has no answer");
        /* The second run moves only the failed item (with retries now). */
        options.max_attempts = 4;
        options.initial_delay_ms = 10;
        options.max_delay_ms = 1200;
        memset(&progress, 0, sizeof progress);
        rc = kitsu_batch_run(batch, 0, &options, on_progress, &progress);
        CHECK(rc == KITSU_RESULT_OK, "second run: %u %s", rc, last_message());
        CHECK(progress.last_done == 5000 && progress.last_total == 5000,
              "second run's progress: (%llu, %llu)", (unsigned long long)progress.last_done,
              (unsigned long long)progress.last_total);
    }
    CHECK(kitsu_batch_counts(batch, &succeeded, &failed_count) == KITSU_RESULT_OK &&
              succeeded == 3 && failed_count == 0,
          "counts %lu %lu", (unsigned long)succeeded, (unsigned long)failed_count);
    CHECK(file_size(target) == 5000 && pattern_matches(target, 5000), "rerun file");
    kitsu_batch_free(batch);
}

/* ---- cancel mid-run ----------------------------------------------------- */

static void test_cancel(kitsu_client *client) {
    kitsu_batch *batch = NULL;
    kitsu_cancel_token *token = NULL;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    pthread_t thread;
    canceller c;
    char target[1024];
    size_t i, succeeded = 9, failed_count = 0;
    kitsu_result rc, code;
    double late;

    CHECK(kitsu_batch_new(client, &batch) == KITSU_RESULT_OK, "new");
    for (i = 0; i < 12; i++) {
        snprintf(target, sizeof target, "%s/cancel-%02lu.bin", scratch, (unsigned long)i);
        kitsu_batch_add_download(batch, "files/trickle/2000000", target, NULL);
    }
    CHECK(kitsu_cancel_token_new(&token) == KITSU_RESULT_OK, "token");
    options.cancel = token;
    c.token = token;
    c.delay_ms = 600;
    c.cancelled_at = 0;
    pthread_create(&thread, NULL, cancel_later, &c);
    rc = kitsu_batch_run(batch, 4, &options, NULL, NULL);
    late = now_ms() - c.cancelled_at;
    pthread_join(thread, NULL);
    CHECK(rc == KITSU_RESULT_CANCELLED, "cancelled run: %u %s", rc, last_message());
    CHECK(c.cancelled_at > 0 && late < CANCEL_LIMIT_MS, "returned %.0f ms after the cancel", late);
    for (i = 0; i < 12; i++) {
        snprintf(target, sizeof target, "%s/cancel-%02lu.bin", scratch, (unsigned long)i);
        kitsu_batch_item_result(batch, i, &code, NULL, NULL, 0, NULL);
        CHECK(code == KITSU_RESULT_CANCELLED, "item %lu: %u", (unsigned long)i, code);
        CHECK(!file_exists(target), "item %lu left its target", (unsigned long)i);
    }
    CHECK(partial_files() == 0, "temporary files left: %d", partial_files());
    kitsu_batch_counts(batch, &succeeded, &failed_count);
    CHECK(succeeded == 0 && failed_count == 12, "counts %lu %lu", (unsigned long)succeeded,
          (unsigned long)failed_count);
    kitsu_cancel_token_free(token);
    kitsu_batch_free(batch);
}

/* ---- one refresh for eight expired items in flight ---------------------- */

static void test_one_refresh(void) {
    kitsu_client *client = NULL;
    kitsu_batch *batch = NULL;
    char target[1024];
    size_t i, succeeded = 0, failed_count = 0;
    kitsu_result rc;

    CHECK(kitsu_client_new(base_url, &client) == KITSU_RESULT_OK, "client");
    /* The fake server answers this access token with "Signature has expired". */
    CHECK(kitsu_client_set_tokens(client, "expired-access", "refresh-token") == KITSU_RESULT_OK,
          "tokens");
    CHECK(kitsu_batch_new(client, &batch) == KITSU_RESULT_OK, "new");
    for (i = 0; i < 8; i++) {
        snprintf(target, sizeof target, "%s/refresh-%lu.bin", scratch, (unsigned long)i);
        kitsu_batch_add_download(batch, "files/concurrent/refresh/50000", target, NULL);
    }
    rc = kitsu_batch_run(batch, 8, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK, "run: %u %s", rc, last_message());
    kitsu_batch_counts(batch, &succeeded, &failed_count);
    CHECK(succeeded == 8, "%lu succeeded", (unsigned long)succeeded);
    kitsu_batch_free(batch);
    kitsu_client_free(client);
}

/* ---- argument checks ----------------------------------------------------- */

static void test_arguments(kitsu_client *client) {
    kitsu_batch *batch = NULL;
    char target[1024];
    size_t index = 99;
    kitsu_result rc;

    path_in_scratch(target, sizeof target, "arg.png");
    CHECK(kitsu_batch_new(client, &batch) == KITSU_RESULT_OK, "new");
    rc = kitsu_batch_add_preview_download(batch, "0e5ad4bd-0000-4000-8000-00000000abcd", 42, NULL,
                                          target, &index);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER && index == 99, "bad kind: %u", rc);
    rc = kitsu_batch_add_preview_download(batch, "not an id", KITSU_PREVIEW_KIND_THUMBNAIL, NULL,
                                          target, &index);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "bad id: %u", rc);
    rc = kitsu_batch_add_preview_download(batch, "0e5ad4bd-0000-4000-8000-00000000abcd",
                                          KITSU_PREVIEW_KIND_ORIGINAL, "png", target, &index);
    CHECK(rc == KITSU_RESULT_OK && index == 0, "preview: %u %s", rc, last_message());
    /* An empty batch runs and succeeds. */
    {
        kitsu_batch *empty = NULL;
        progress_log progress;
        memset(&progress, 0, sizeof progress);
        kitsu_batch_new(client, &empty);
        rc = kitsu_batch_run(empty, 0, NULL, on_progress, &progress);
        CHECK(rc == KITSU_RESULT_OK && progress.calls >= 1 && progress.last_done == 0,
              "empty batch: %u, %d calls", rc, progress.calls);
        kitsu_batch_free(empty);
    }
    kitsu_batch_free(batch);
}

/* Each item's record with the SHA-256 of its file computed in the same pass
 * (options.checksum); a failed item's record is zeros. */
static void test_item_receipts(kitsu_client *client) {
    static const char *expected = "011c84f4e24161691915bad9598e9c9fdb6c42ff2ba9bc081e540d54970fbd12";
    kitsu_batch *batch = NULL;
    char a[1024], b[1024];
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    kitsu_transfer_result record = KITSU_TRANSFER_RESULT_INIT;
    kitsu_result rc;

    path_in_scratch(a, sizeof a, "digest-a.bin");
    path_in_scratch(b, sizeof b, "digest-b.bin");
    CHECK(kitsu_batch_new(client, &batch) == KITSU_RESULT_OK, "new");
    kitsu_batch_add_download(batch, "files/fixed/5000", a, NULL);
    kitsu_batch_add_download(batch, "status/404", b, NULL);
    options.checksum = 1;
    options.max_attempts = 1;
    rc = kitsu_batch_run(batch, 2, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_BATCH_INCOMPLETE, "run: %u", rc);
    rc = kitsu_batch_item_receipt(batch, 0, &record);
    CHECK(rc == KITSU_RESULT_OK && record.has_sha256 == 1 && strcmp(record.sha256_hex, expected) == 0
              && record.bytes == 5000 && record.http_status == 200 && record.attempts == 1,
          "item 0: %u %s %llu %u", rc, record.sha256_hex, (unsigned long long)record.bytes, record.http_status);
    rc = kitsu_batch_item_receipt(batch, 1, &record);
    CHECK(rc == KITSU_RESULT_OK && record.has_sha256 == 0 && record.bytes == 0 && record.http_status == 0,
          "failed item: %u %u", rc, record.http_status);
    rc = kitsu_batch_item_receipt(batch, 2, &record);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "past the end: %u", rc);
    kitsu_batch_free(batch);
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
        printf("FAIL log-in: %s\n0 passed, 1 failed\n", last_message());
        return 1;
    }
    test_fifty_items(client);
    test_uploads_and_rerun(client);
    test_cancel(client);
    test_arguments(client);
    test_item_receipts(client);
    kitsu_client_free(client);
    test_one_refresh();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
