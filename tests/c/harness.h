/*
 * What the C test programs share: the CHECK macro and its counters, the
 * last error's text, and files in the scratch folder the harness gives.
 * Each program sets `scratch` (and `base_url`) from its arguments.
 */
#ifndef KITSU_TEST_HARNESS_H
#define KITSU_TEST_HARNESS_H

#include "kitsu.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static int passed = 0;
static int failed = 0;
static const char *base_url;
static const char *scratch;

#define CHECK(cond, ...)                                           \
    do {                                                           \
        if (cond) {                                                \
            passed++;                                              \
        } else {                                                   \
            failed++;                                              \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            printf(__VA_ARGS__);                                   \
            printf("\n");                                          \
        }                                                          \
    } while (0)

static inline const char *last_message(void) {
    static char buf[KITSU_ERROR_SIZE * 4];
    size_t len = 0;
    kitsu_last_error_message(buf, sizeof buf, &len);
    return buf;
}

static inline void path_in_scratch(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", scratch, name);
}

static inline int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return 1;
    }
    return 0;
}

/* Entries of the scratch folder a download may have left: temporary files. */
static inline int partial_files(void) {
    DIR *dir = opendir(scratch);
    struct dirent *entry;
    int count = 0;
    if (!dir) return -1;
    while ((entry = readdir(dir)) != NULL) {
        if (strstr(entry->d_name, ".part")) count++;
    }
    closedir(dir);
    return count;
}

/* Logs in as the fake server's admin; NULL on failure. */
static inline kitsu_client *logged_in_client(void) {
    kitsu_client *client = NULL;
    if (kitsu_client_new(base_url, &client) != KITSU_RESULT_OK) return NULL;
    if (kitsu_client_log_in(client, "admin@example.com", "secret", NULL) != KITSU_RESULT_OK) {
        kitsu_client_free(client);
        return NULL;
    }
    return client;
}

#endif
