/*
 * The benchmark's C batch client (scripts/bench): logs in, reads items from
 * stdin, one per line "<kind> <preview id> <extension> <target>" (kind a
 * kitsu_preview_kind number), downloads them all in one kitsu_batch_run()
 * with <max in flight>, and prints "seconds: S" (the run only) and the
 * bytes moved.
 *
 * usage: bench_batch <host> <email> <password> <max in flight> < items
 */
#include "kitsu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what) {
    char message[KITSU_ERROR_SIZE];
    kitsu_last_error_message(message, sizeof message, NULL);
    fprintf(stderr, "bench_batch: %s: %s\n", what, message);
    return 1;
}

int main(int argc, char **argv) {
    kitsu_client *client = NULL;
    kitsu_batch *batch = NULL;
    char line[4096], id[128], extension[32], target[3072];
    unsigned kind;
    size_t items = 0, i, succeeded = 0, failed = 0;
    uint64_t bytes = 0, item_bytes;
    double started, seconds;

    if (argc != 5) {
        fprintf(stderr, "usage: %s <host> <email> <password> <max in flight> < items\n", argv[0]);
        return 2;
    }
    if (kitsu_client_new(argv[1], &client) != KITSU_RESULT_OK) return fail("client");
    if (kitsu_client_log_in(client, argv[2], argv[3], NULL) != KITSU_RESULT_OK) return fail("log in");
    if (kitsu_batch_new(client, &batch) != KITSU_RESULT_OK) return fail("batch");
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "%u %127s %31s %3071s", &kind, id, extension, target) != 4) continue;
        if (kitsu_batch_add_preview_download(batch, id, kind, extension, target, NULL) != KITSU_RESULT_OK)
            return fail("add");
        items++;
    }
    started = now_s();
    if (kitsu_batch_run(batch, (uint32_t)atoi(argv[4]), NULL, NULL, NULL) != KITSU_RESULT_OK) return fail("run");
    seconds = now_s() - started;
    kitsu_batch_counts(batch, &succeeded, &failed);
    for (i = 0; i < items; i++) {
        if (kitsu_batch_item_bytes(batch, i, &item_bytes) == KITSU_RESULT_OK) bytes += item_bytes;
    }
    printf("seconds: %f\nbytes: %llu\nitems: %lu\n", seconds, (unsigned long long)bytes, (unsigned long)succeeded);
    kitsu_batch_free(batch);
    kitsu_client_free(client);
    return failed == 0 ? 0 : 1;
}
