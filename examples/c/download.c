/* Log in to Kitsu and download a file with a text progress bar.
 *
 *   cc -I include examples/c/download.c -L target/release -lkitsu -o kitsu-download
 *   ./kitsu-download https://kitsu.example.com/api me@example.com secret \
 *       pictures/thumbnails/persons/<person-id>.png avatar.png
 */
#include <stdio.h>
#include "kitsu.h"

static int show_progress(uint64_t done, uint64_t total, void *user_data) {
    (void)user_data;
    if (total > 0) {
        int width = 40, filled = (int)(done * width / total), i;
        printf("\r[");
        for (i = 0; i < width; i++) putchar(i < filled ? '#' : ' ');
        printf("] %3d%% %llu/%llu bytes", (int)(done * 100 / total),
               (unsigned long long)done, (unsigned long long)total);
    } else {
        printf("\r%llu bytes", (unsigned long long)done); /* no Content-Length */
    }
    fflush(stdout);
    return KITSU_PROGRESS_CONTINUE; /* KITSU_PROGRESS_ABORT would cancel */
}

static int fail(const char *what, kitsu_result rc) {
    char message[KITSU_ERROR_SIZE];
    kitsu_last_error_message(message, sizeof message, NULL);
    fprintf(stderr, "%s: %s (%u, HTTP %d): %s\n", what, kitsu_result_str(rc), rc,
            kitsu_last_error_http_status(), message);
    return 1;
}

int main(int argc, char **argv) {
    kitsu_client *client = NULL;
    kitsu_result rc;
    if (argc != 6) {
        fprintf(stderr, "usage: %s <host> <email> <password> <route> <target>\n", argv[0]);
        return 2;
    }
    if ((rc = kitsu_client_new(argv[1], &client)) != KITSU_RESULT_OK) return fail("client", rc);
    if ((rc = kitsu_client_log_in(client, argv[2], argv[3], NULL)) != KITSU_RESULT_OK) {
        kitsu_client_free(client);
        return fail("log in", rc);
    }
    rc = kitsu_client_download(client, argv[4], argv[5], NULL, show_progress, NULL);
    printf("\n");
    kitsu_client_free(client);
    if (rc != KITSU_RESULT_OK) return fail("download", rc);
    printf("saved %s\n", argv[5]);
    return 0;
}
