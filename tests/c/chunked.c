/*
 * Chunked uploads from C: resumable.js and tus against the real servers
 * (scripts/upload-servers/run). Arguments: RESUMABLE_URL TUS_URL SCRATCH.
 * The progress contract, the chunk in the events, the summary JSON, a
 * restarted upload sending nothing again, bad options refused, a permanent
 * error's code and status.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"
#include "threads.h"

#include <stdlib.h>
#include <time.h>

/* The thread that calls the library: every callback must run on it, though
 * the chunks' bodies stream from the library's worker threads. */
static pthread_t caller;
static int wrong_thread = 0;

typedef struct {
    uint64_t first_done, first_total, last_done, last_total, calls;
    int went_back;
} progress_log;

static int on_progress(uint64_t done, uint64_t total, void *user_data) {
    progress_log *log = (progress_log *)user_data;
    if (!pthread_equal(pthread_self(), caller)) wrong_thread = 1;
    if (log->calls == 0) {
        log->first_done = done;
        log->first_total = total;
    } else if (done < log->last_done) {
        log->went_back = 1;
    }
    log->last_done = done;
    log->last_total = total;
    log->calls++;
    return KITSU_PROGRESS_CONTINUE;
}

typedef struct {
    uint32_t max_index, item_count, events;
} event_log;

static int on_event(const kitsu_progress_event *event, void *user_data) {
    event_log *log = (event_log *)user_data;
    if (!pthread_equal(pthread_self(), caller)) wrong_thread = 1;
    if (event->item_index > log->max_index) log->max_index = event->item_index;
    log->item_count = event->item_count;
    log->events++;
    return KITSU_PROGRESS_CONTINUE;
}

/* A file of `size` bytes that no earlier run shares (the clock and a counter). */
static void write_file(const char *path, size_t size) {
    static unsigned counter = 0;
    FILE *f = fopen(path, "wb");
    unsigned state = (unsigned)time(NULL) * 2654435761u + (unsigned)clock() + ++counter;
    for (size_t i = 0; i < size; i++) {
        state = state * 1103515245u + 12345u;
        fputc((int)(state >> 16) & 0xff, f);
    }
    fclose(f);
}

static kitsu_chunked_options fresh_options(void) {
    kitsu_chunked_options options = KITSU_CHUNKED_OPTIONS_INIT;
    return options;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        printf("usage: chunked RESUMABLE_URL TUS_URL SCRATCH\n");
        return 2;
    }
    const char *resumable_url = argv[1];
    const char *tus_url = argv[2];
    scratch = argv[3];
    caller = pthread_self();
    char file[1024], store[1024];
    path_in_scratch(file, sizeof file, "shot010.mov");
    path_in_scratch(store, sizeof store, "tus-uploads.json");
    write_file(file, 5 * 1024 * 1024 + 123);

    kitsu_client *client = NULL;
    CHECK(kitsu_client_new("http://127.0.0.1:1/api", &client) == KITSU_RESULT_OK, "%s", last_message());

    /* resumable.js: 5 chunks (the last 1 MiB + 123 bytes), 3 in flight. */
    progress_log progress;
    memset(&progress, 0, sizeof progress);
    event_log events;
    memset(&events, 0, sizeof events);
    kitsu_transfer_options transfer = KITSU_TRANSFER_OPTIONS_INIT;
    transfer.on_event = on_event;
    transfer.event_user_data = &events;
    kitsu_chunked_options chunked = KITSU_CHUNKED_OPTIONS_INIT;
    chunked.headers_json = "{\"X-Studio\": \"libkitsu-tests\"}";
    char *json = NULL;
    kitsu_result r = kitsu_chunked_upload_resumable(client, resumable_url, file, &chunked, &transfer,
                                                    on_progress, &progress, &json);
    CHECK(r == KITSU_RESULT_OK, "resumable: %s", last_message());
    const uint64_t size = 5 * 1024 * 1024 + 123;
    CHECK(progress.first_done == 0 && progress.first_total == size, "first call (%llu, %llu)",
          (unsigned long long)progress.first_done, (unsigned long long)progress.first_total);
    CHECK(progress.last_done == size && progress.last_total == size, "last call");
    CHECK(!progress.went_back, "progress went back");
    CHECK(events.item_count == 5 && events.max_index < 5, "chunks as items: %u of %u", events.max_index,
          events.item_count);
    CHECK(json && strstr(json, "\"chunks\":5") && strstr(json, "\"chunks_sent\":5"), "summary: %s",
          json ? json : "(null)");
    kitsu_string_free(json);
    json = NULL;

    /* Again: the server has every chunk, nothing is sent. */
    r = kitsu_chunked_upload_resumable(client, resumable_url, file, NULL, NULL, NULL, NULL, &json);
    CHECK(r == KITSU_RESULT_OK, "resumable again: %s", last_message());
    CHECK(json && strstr(json, "\"chunks_sent\":0") && strstr(json, "\"chunks_skipped\":5"), "again: %s",
          json ? json : "(null)");
    kitsu_string_free(json);
    json = NULL;

    /* tus: 6 PATCHes of at most 1 MiB, the URL kept in our store meanwhile. */
    progress_log tus_progress;
    memset(&tus_progress, 0, sizeof tus_progress);
    chunked = fresh_options();
    chunked.store_path = store;
    r = kitsu_chunked_upload_tus(client, tus_url, file, &chunked, NULL, on_progress, &tus_progress, &json);
    CHECK(r == KITSU_RESULT_OK, "tus: %s", last_message());
    CHECK(tus_progress.first_total == size && tus_progress.last_done == size && !tus_progress.went_back,
          "tus progress");
    CHECK(json && strstr(json, "\"chunks_sent\":6") && strstr(json, "/files/"), "tus summary: %s",
          json ? json : "(null)");
    kitsu_string_free(json);
    json = NULL;

    /* Bad options: refused before any request. */
    chunked = fresh_options();
    chunked.headers_json = "[1]";
    r = kitsu_chunked_upload_tus(client, tus_url, file, &chunked, NULL, NULL, NULL, NULL);
    CHECK(r == KITSU_RESULT_INVALID_PARAMETER, "headers_json [1]: %d", (int)r);
    chunked = fresh_options();
    chunked.simultaneous = 1000;
    r = kitsu_chunked_upload_resumable(client, resumable_url, file, &chunked, NULL, NULL, NULL, NULL);
    CHECK(r == KITSU_RESULT_INVALID_PARAMETER, "simultaneous 1000: %d", (int)r);
    chunked.struct_size = 0;
    r = kitsu_chunked_upload_resumable(client, resumable_url, file, &chunked, NULL, NULL, NULL, NULL);
    CHECK(r == KITSU_RESULT_INVALID_PARAMETER, "struct_size 0: %d", (int)r);
    char missing[1024];
    path_in_scratch(missing, sizeof missing, "missing.mov");
    r = kitsu_chunked_upload_tus(client, tus_url, missing, NULL, NULL, NULL, NULL, NULL);
    CHECK(r == KITSU_RESULT_FILE_NOT_FOUND, "missing file: %d %s", (int)r, last_message());

    /* A permanent error (404: a route the sample lacks) stops at once with its status. */
    char nowhere[1024];
    snprintf(nowhere, sizeof nowhere, "%s", resumable_url);
    char *slash = strrchr(nowhere, '/');
    if (slash) snprintf(slash, sizeof nowhere - (size_t)(slash - nowhere), "/nowhere");
    r = kitsu_chunked_upload_resumable(client, nowhere, file, NULL, NULL, NULL, NULL, NULL);
    CHECK(r == KITSU_RESULT_NOT_FOUND && kitsu_last_error_http_status() == 404 && kitsu_last_error_attempts() <= 1,
          "permanent error: %d %d %s", (int)r, kitsu_last_error_http_status(), last_message());

    /* A Cancel button on another thread, in the middle of 64 MiB in 1 MiB chunks. */
    char big[1024];
    path_in_scratch(big, sizeof big, "big.mov");
    write_file(big, 64 * 1024 * 1024);
    kitsu_cancel_token *token = NULL;
    CHECK(kitsu_cancel_token_new(&token) == KITSU_RESULT_OK, "token");
    kitsu_transfer_options cancellable = KITSU_TRANSFER_OPTIONS_INIT;
    cancellable.cancel = token;
    canceller c = {token, 30, 0.0};
    pthread_t thread;
    progress_log big_progress;
    memset(&big_progress, 0, sizeof big_progress);
    pthread_create(&thread, NULL, cancel_later, &c);
    r = kitsu_chunked_upload_resumable(client, resumable_url, big, NULL, &cancellable, on_progress,
                                       &big_progress, NULL);
    double returned = now_ms();
    pthread_join(thread, NULL);
    CHECK(r == KITSU_RESULT_CANCELLED, "cancelled: %d %s", (int)r, last_message());
    CHECK(returned - c.cancelled_at < CANCEL_LIMIT_MS, "returned %.0f ms after the cancel",
          returned - c.cancelled_at);
    CHECK(!big_progress.went_back, "progress went back before the cancel");
    kitsu_cancel_token_free(token);

    CHECK(!wrong_thread, "a callback ran on another thread than the caller's");
    kitsu_client_free(client);
    printf("chunked: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
