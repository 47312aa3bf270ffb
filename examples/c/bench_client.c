/* libkitsu's client for scripts/bench: one download or upload through the
 * public C API, with or without a (cheap) progress callback.
 *
 *   bench_client download <host> <route> <target> [progress]
 *   bench_client upload   <host> <route> <file>   [progress]
 */
#include <stdio.h>
#include <string.h>
#include "kitsu.h"

static int count_calls(uint64_t done, uint64_t total, void *user_data) {
    (void)done;
    (void)total;
    (*(unsigned long *)user_data)++;
    return KITSU_PROGRESS_CONTINUE;
}

int main(int argc, char **argv) {
    kitsu_client *client = NULL;
    unsigned long calls = 0;
    kitsu_progress_cb progress;
    kitsu_result rc;
    if (argc < 5) {
        fprintf(stderr, "usage: %s download|upload <host> <route> <path> [progress]\n", argv[0]);
        return 2;
    }
    progress = (argc > 5 && strcmp(argv[5], "progress") == 0) ? count_calls : NULL;
    if (kitsu_client_new(argv[2], &client) != KITSU_RESULT_OK) return 2;
    kitsu_client_set_tokens(client, "bench-token", NULL);
    if (strcmp(argv[1], "download") == 0) {
        rc = kitsu_client_download(client, argv[3], argv[4], NULL, progress, &calls);
    } else {
        const char *files[1];
        char *json = NULL;
        files[0] = argv[4];
        rc = kitsu_client_upload(client, argv[3], files, 1, NULL, NULL, progress, &calls, &json);
        kitsu_string_free(json);
    }
    if (rc != KITSU_RESULT_OK) {
        char message[KITSU_ERROR_SIZE];
        kitsu_last_error_message(message, sizeof message, NULL);
        fprintf(stderr, "%s: %s\n", kitsu_result_str(rc), message);
    }
    kitsu_client_free(client);
    printf("progress calls: %lu\n", calls);
    return rc == KITSU_RESULT_OK ? 0 : 1;
}
