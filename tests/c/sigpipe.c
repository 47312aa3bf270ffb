/*
 * A C host with the default SIGPIPE disposition (as Maya, Houdini and most
 * C programs have) survives servers that reset the connection in the
 * middle of an upload's body: 20 working-file uploads and 20 tus PATCHes
 * cut after about 1 MB. Arguments: BASE_URL TUS_URL SCRATCH. The process
 * must end by itself with its report, never by signal 13.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s BASE_URL TUS_URL SCRATCH\n", argv[0]);
        return 2;
    }
    base_url = argv[1];
    const char *tus_url = argv[2];
    scratch = argv[3];
    /* What a C host has unless it changed it: SIGPIPE kills. */
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);

    char file[4096];
    path_in_scratch(file, sizeof file, "scene_v001.ma");
    FILE *f = fopen(file, "wb");
    static char block[1 << 16];
    for (size_t i = 0; i < sizeof block; i++) block[i] = (char)(i * 31 + 7);
    for (int i = 0; i < 256; i++) fwrite(block, 1, sizeof block, f); /* 16 MiB */
    fclose(f);

    kitsu_client *client = NULL;
    CHECK(kitsu_client_new(base_url, &client) == KITSU_RESULT_OK, "%s", last_message());
    kitsu_client_set_tokens(client, "token", NULL);
    kitsu_transfer_options once = KITSU_TRANSFER_OPTIONS_INIT;
    once.max_attempts = 1;

    for (int i = 0; i < 20; i++) {
        char *json = NULL;
        kitsu_result r = kitsu_files_upload_working_file(client, "0e5ad4bd-0000-4000-8000-00000000abcd", file, &once, NULL, NULL, &json);
        CHECK(r != KITSU_RESULT_OK, "upload %d succeeded against a server that resets", i);
        if (i == 0) printf("upload: %s\n", last_message());
        if (json) kitsu_string_free(json);
    }

    kitsu_chunked_options chunked = KITSU_CHUNKED_OPTIONS_INIT;
    chunked.chunk_size = 8u << 20;
    chunked.store_path = "";
    for (int i = 0; i < 20; i++) {
        char *json = NULL;
        kitsu_result r = kitsu_chunked_upload_tus(client, tus_url, file, &chunked, &once, NULL, NULL, &json);
        CHECK(r != KITSU_RESULT_OK, "tus upload %d succeeded against a server that resets", i);
        if (i == 0) printf("tus: %s\n", last_message());
        if (json) kitsu_string_free(json);
    }
    kitsu_client_free(client);

    /* The host's own disposition and mask are as it set them. */
    struct sigaction now;
    sigaction(SIGPIPE, NULL, &now);
    CHECK(now.sa_handler == SIG_DFL, "the library changed the SIGPIPE disposition");
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    CHECK(!sigismember(&mask, SIGPIPE), "the library left SIGPIPE blocked in the host's thread");

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
