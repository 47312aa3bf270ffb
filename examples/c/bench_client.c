/* libkitsu's client for scripts/bench: one download or upload through the
 * public C API, with or without a (cheap) progress callback.
 *
 *   bench_client download <host> <route> <target> [progress] [checksum]
 *   bench_client upload   <host> <route> <file>   [progress] [checksum]
 *
 * `checksum` asks for the file's SHA-256 in the same pass and prints it.
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
    kitsu_progress_cb progress = NULL;
    kitsu_result rc;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    kitsu_transfer_result result = KITSU_TRANSFER_RESULT_INIT;
    int i;
    if (argc < 5) {
        fprintf(stderr, "usage: %s download|upload <host> <route> <path> [progress]\n", argv[0]);
        return 2;
    }
    for (i = 5; i < argc; i++) {
        if (strcmp(argv[i], "progress") == 0) progress = count_calls;
        if (strcmp(argv[i], "checksum") == 0) options.checksum = 1;
    }
    options.result = &result;
    if (kitsu_client_new(argv[2], &client) != KITSU_RESULT_OK) return 2;
    kitsu_client_set_tokens(client, "bench-token", NULL);
    if (strcmp(argv[1], "download") == 0) {
        rc = kitsu_client_download(client, argv[3], argv[4], &options, progress, &calls);
    } else {
        const char *files[1];
        char *json = NULL;
        files[0] = argv[4];
        rc = kitsu_client_upload(client, argv[3], files, 1, NULL, &options, progress, &calls, &json);
        kitsu_string_free(json);
    }
    if (rc != KITSU_RESULT_OK) {
        char message[KITSU_ERROR_SIZE];
        kitsu_last_error_message(message, sizeof message, NULL);
        fprintf(stderr, "%s: %s\n", kitsu_result_str(rc), message);
    }
    kitsu_client_free(client);
    printf("progress calls: %lu\n", calls);
    if (result.has_sha256) printf("sha256: %s\n", result.sha256_hex);
    return rc == KITSU_RESULT_OK ? 0 : 1;
}
