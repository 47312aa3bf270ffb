/*
 * The C ABI contract, checked from C (and compiled as C++ too) against the
 * fake Kitsu server of the Rust test harness (tests/c_abi.rs).
 *
 * usage: contract <base-url> <scratch-folder>
 * Prints one line per check and "N passed, M failed"; exits non-zero on failure.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#endif
#include "harness.h"

#include <stddef.h>

/* Only in builds with the test-panic feature (the tests enable it); not in kitsu.h. */
#ifdef __cplusplus
extern "C"
#endif
KITSU_API kitsu_result kitsu_test_panic(void);

#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    long size;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    return size;
}

static void write_file(const char *path, const char *content, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(content, 1, len, f);
    fclose(f);
}

static int thread_count(void) {
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    int count = 0;
    if (!dir) return -1;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(dir);
    return count;
}

/* ---- progress recording ------------------------------------------------ */

#define MAX_CALLS 4096
typedef struct {
    uint64_t done[MAX_CALLS];
    uint64_t total[MAX_CALLS];
    int calls;
    int wrong_thread;
    pthread_t caller;
    int abort_after; /* abort at this call index (0-based), -1: never */
    kitsu_client *reenter_client;
    kitsu_result reenter_result;
} recorder;

static void recorder_init(recorder *r) {
    memset(r, 0, sizeof *r);
    r->caller = pthread_self();
    r->abort_after = -1;
    r->reenter_result = KITSU_RESULT_OK;
}

static int record_progress(uint64_t done, uint64_t total, void *user_data) {
    recorder *r = (recorder *)user_data;
    if (!pthread_equal(pthread_self(), r->caller)) r->wrong_thread = 1;
    if (r->calls < MAX_CALLS) {
        r->done[r->calls] = done;
        r->total[r->calls] = total;
    }
    if (r->reenter_client && r->calls == 0) {
        char *json = NULL;
        r->reenter_result = kitsu_client_get(r->reenter_client, "data/projects", &json);
        kitsu_string_free(json);
    }
    r->calls++;
    if (r->abort_after >= 0 && r->calls > r->abort_after) return KITSU_PROGRESS_ABORT;
    return KITSU_PROGRESS_CONTINUE;
}

/* The contract on a finished successful transfer. */
static void check_contract(const recorder *r, uint64_t total, uint64_t done, const char *what) {
    int i, monotonic = 1, bounded = 1, same_total = 1;
    CHECK(r->calls >= 2, "%s: %d calls", what, r->calls);
    if (r->calls < 2) return;
    CHECK(r->done[0] == 0 && r->total[0] == total, "%s: first call (%llu, %llu)", what,
          (unsigned long long)r->done[0], (unsigned long long)r->total[0]);
    CHECK(r->done[r->calls - 1] == done && r->total[r->calls - 1] == total, "%s: last call (%llu, %llu)",
          what, (unsigned long long)r->done[r->calls - 1], (unsigned long long)r->total[r->calls - 1]);
    for (i = 1; i < r->calls && i < MAX_CALLS; i++) {
        if (r->done[i] < r->done[i - 1]) monotonic = 0;
        if (r->total[i] != total) same_total = 0;
        if (total > 0 && r->done[i] > total) bounded = 0;
    }
    CHECK(monotonic, "%s: bytes_read decreased", what);
    CHECK(bounded, "%s: bytes_read above total", what);
    CHECK(same_total, "%s: total changed", what);
    CHECK(!r->wrong_thread, "%s: callback ran on another thread", what);
}

/* ---- the checks --------------------------------------------------------- */

static kitsu_client *logged_in_checked(void) {
    kitsu_client *client = NULL;
    char *json = NULL;
    kitsu_result rc = kitsu_client_new(base_url, &client);
    CHECK(rc == KITSU_RESULT_OK && client != NULL, "client_new: %u %s", rc, last_message());
    rc = kitsu_client_log_in(client, "admin@example.com", "secret", &json);
    CHECK(rc == KITSU_RESULT_OK, "log_in: %u %s", rc, last_message());
    CHECK(json != NULL && strstr(json, "access_token") != NULL, "log_in answer: %s", json ? json : "(null)");
    kitsu_string_free(json);
    return client;
}

static void test_versions_and_strings(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", KITSU_VERSION_MAJOR, KITSU_VERSION_MINOR, KITSU_VERSION_PATCH);
    CHECK(strcmp(kitsu_version(), expected) == 0, "version %s vs header %s", kitsu_version(), expected);
    CHECK(strcmp(kitsu_version(), KITSU_VERSION_STRING) == 0, "version string");
    CHECK(kitsu_abi_version() == KITSU_ABI_VERSION, "abi %u", kitsu_abi_version());
    CHECK(strcmp(kitsu_result_str(KITSU_RESULT_OK), "success") == 0, "result_str ok");
    CHECK(strstr(kitsu_result_str(KITSU_RESULT_NOT_FOUND), "404") != NULL, "result_str 404");
    CHECK(strcmp(kitsu_result_str(123456), "unknown result code") == 0, "unknown code");
    CHECK(KITSU_RESULT_OK == 0 && KITSU_RESULT_NULL_PARAMETER == 1000 && KITSU_RESULT_ABORTED_BY_CALLBACK == 5000,
          "stable numbers");
}

static void test_bad_host_and_panic(void) {
    kitsu_client *client = NULL;
    kitsu_result rc = kitsu_client_new("not a url", &client);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "bad host: %u", rc);
    CHECK(client == NULL, "out written on failure");
    CHECK(kitsu_last_error_code() == KITSU_RESULT_INVALID_PARAMETER, "last code");
    CHECK(strstr(last_message(), "not a URL") != NULL, "message: %s", last_message());

    rc = kitsu_test_panic();
    CHECK(rc == KITSU_RESULT_PANIC, "panic boundary: %u", rc);
    CHECK(strstr(last_message(), "kitsu_test_panic") != NULL, "panic message: %s", last_message());
}

static void test_last_error_buffer(void) {
    char small[8];
    size_t full = 0, len = 0;
    kitsu_result rc;
    kitsu_client *client = NULL;
    kitsu_client_new("::bad::", &client);
    rc = kitsu_last_error_message(NULL, 0, &full);
    CHECK(rc == KITSU_RESULT_OK && full > 8, "length query: %u %zu", rc, full);
    rc = kitsu_last_error_message(small, sizeof small, &len);
    CHECK(rc == KITSU_RESULT_BUFFER_TOO_SMALL, "truncation code: %u", rc);
    CHECK(len == full, "full length reported: %zu vs %zu", len, full);
    CHECK(strlen(small) == sizeof small - 1, "NUL-terminated within the buffer");
    /* The message survives reading it. */
    CHECK(kitsu_last_error_code() == KITSU_RESULT_INVALID_PARAMETER, "still there");
    kitsu_last_error_clear();
    CHECK(kitsu_last_error_code() == KITSU_RESULT_OK && kitsu_last_error_http_status() == 0, "cleared");
}

static void test_log_in_failures(void) {
    kitsu_client *client = NULL;
    char *json = (char *)"untouched";
    kitsu_result rc;
    kitsu_client_new(base_url, &client);
    rc = kitsu_client_log_in(client, "admin@example.com", "wrong", &json);
    CHECK(rc == KITSU_RESULT_AUTH_FAILED, "wrong password: %u", rc);
    CHECK(kitsu_last_error_http_status() == 400, "status %d", kitsu_last_error_http_status());
    CHECK(strstr(last_message(), "Wrong email or password.") != NULL, "message: %s", last_message());
    CHECK(strcmp(json, "untouched") == 0, "out_json written on failure");

    rc = kitsu_client_get(client, "data/projects", &json);
    CHECK(rc == KITSU_RESULT_UNAUTHORIZED, "not logged in: %u", rc);
    CHECK(kitsu_last_error_http_status() == 401, "401 status");
    kitsu_client_free(client);
}

static void test_download_progress(kitsu_client *client) {
    char target[1024];
    recorder r;
    kitsu_result rc;
    path_in_scratch(target, sizeof target, "slow.bin");
    recorder_init(&r);
    rc = kitsu_client_download(client, "files/slow/300000", target, NULL, record_progress, &r);
    CHECK(rc == KITSU_RESULT_OK, "download: %u %s", rc, last_message());
    CHECK(file_size(target) == 300000, "size %ld", file_size(target));
    check_contract(&r, 300000, 300000, "download");
    CHECK(r.calls >= 4 && r.calls <= 25, "throttled calls: %d", r.calls);

    path_in_scratch(target, sizeof target, "chunked.bin");
    recorder_init(&r);
    rc = kitsu_client_download(client, "files/chunked/100000", target, NULL, record_progress, &r);
    CHECK(rc == KITSU_RESULT_OK, "chunked: %u %s", rc, last_message());
    check_contract(&r, 0, 100000, "chunked download (total 0)");

    /* No callback at all is fine. */
    path_in_scratch(target, sizeof target, "nocb.bin");
    rc = kitsu_client_download(client, "files/fixed/5000", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK && file_size(target) == 5000, "no callback: %u", rc);
}

static void test_abort_and_failures_leave_nothing(kitsu_client *client) {
    char target[1024];
    recorder r;
    kitsu_result rc;
    path_in_scratch(target, sizeof target, "precious.bin");
    write_file(target, "precious", 8);

    recorder_init(&r);
    r.abort_after = 1;
    rc = kitsu_client_download(client, "files/slow/300000", target, NULL, record_progress, &r);
    CHECK(rc == KITSU_RESULT_ABORTED_BY_CALLBACK, "abort: %u", rc);
    CHECK(file_size(target) == 8, "pre-existing target touched by abort");

    rc = kitsu_client_download(client, "files/drop/200000", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_INCOMPLETE_BODY, "drop: %u %s", rc, last_message());
    CHECK(file_size(target) == 8, "pre-existing target touched by a drop");

    path_in_scratch(target, sizeof target, "dropped-new.bin");
    rc = kitsu_client_download(client, "files/drop/200000", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_INCOMPLETE_BODY, "drop: %u", rc);
    CHECK(!file_exists(target), "a dropped download left a file");

    path_in_scratch(target, sizeof target, "error.png");
    rc = kitsu_client_download(client, "status/404", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_NOT_FOUND, "404: %u", rc);
    CHECK(kitsu_last_error_http_status() == 404, "404 status");
    CHECK(strstr(last_message(), "fake 404 message") != NULL, "404 message: %s", last_message());
    rc = kitsu_client_download(client, "status/503", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_SERVICE_UNAVAILABLE, "503: %u", rc);
    CHECK(kitsu_last_error_http_status() == 503, "503 status");
    CHECK(strstr(last_message(), "fake 503 message") != NULL, "503 message: %s", last_message());
    CHECK(!file_exists(target), "an error body was written to the target");
    CHECK(partial_files() == 0, "temporary files left: %d", partial_files());
}

static void test_stall_and_processing(kitsu_client *client) {
    char target[1024];
    kitsu_result rc;
    CHECK(kitsu_client_set_stall_timeout(client, 0) == KITSU_RESULT_INVALID_PARAMETER, "stall 0 refused");
    CHECK(kitsu_client_set_stall_timeout(client, 1) == KITSU_RESULT_OK, "stall 1");
    path_in_scratch(target, sizeof target, "stalled.bin");
    rc = kitsu_client_download(client, "files/stall/100000", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_STALLED, "stall: %u %s", rc, last_message());
    CHECK(!file_exists(target), "a stalled download left a file");
    CHECK(kitsu_client_set_stall_timeout(client, 60) == KITSU_RESULT_OK, "stall 60");

    path_in_scratch(target, sizeof target, "processed.png");
    rc = kitsu_client_download(client, "files/processing/c/1", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK && file_size(target) == 4096, "202 then 200: %u %s", rc, last_message());
    CHECK(kitsu_client_set_processing_timeout(client, 0) == KITSU_RESULT_OK, "processing 0");
    rc = kitsu_client_download(client, "files/processing/d/5", target, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_PROCESSING_TIMEOUT, "processing timeout: %u", rc);
    CHECK(file_size(target) == 4096, "target kept after a processing timeout");
    kitsu_client_set_processing_timeout(client, 60);
}

static void test_reentrancy(kitsu_client *client) {
    uint8_t *data = NULL;
    size_t len = 0;
    recorder r;
    kitsu_result rc;
    recorder_init(&r);
    r.reenter_client = client;
    rc = kitsu_client_get_bytes(client, "files/fixed/1000", NULL, record_progress, &r, &data, &len);
    CHECK(rc == KITSU_RESULT_OK && len == 1000, "outer call: %u", rc);
    CHECK(r.reenter_result == KITSU_RESULT_REENTRANT_CALL, "inner call: %u", r.reenter_result);
    kitsu_bytes_free(data, len);
}

static void test_upload(kitsu_client *client) {
    char a[1024], b[1024];
    const char *files[2];
    char *json = NULL;
    recorder r;
    kitsu_result rc;
    static char big[1000000];
    memset(big, 'x', sizeof big);
    path_in_scratch(a, sizeof a, "movie.mp4");
    path_in_scratch(b, sizeof b, "notes.txt");
    write_file(a, big, sizeof big);
    write_file(b, "hello", 5);
    files[0] = a;
    files[1] = b;
    recorder_init(&r);
    rc = kitsu_client_upload(client, "upload/echo", files, 2, "{\"comment\":\"hi\",\"for_client\":true,\"person_id\":null}",
                             NULL, record_progress, &r, &json);
    CHECK(rc == KITSU_RESULT_OK, "upload: %u %s", rc, last_message());
    check_contract(&r, 1000005, 1000005, "upload (total = sum of files)");
    CHECK(json && strstr(json, "\"name\":\"file-1\""), "parts: %s", json ? json : "(null)");
    CHECK(json && strstr(json, "\"value\":\"True\""), "booleans as True: %s", json ? json : "(null)");
    CHECK(json && !strstr(json, "person_id"), "null fields dropped");
    kitsu_string_free(json);

    json = NULL;
    rc = kitsu_client_upload(client, "upload/failed", files, 1, NULL, NULL, NULL, NULL, &json);
    CHECK(rc == KITSU_RESULT_UPLOAD_FAILED && json == NULL, "upload failed: %u", rc);
    rc = kitsu_client_upload(client, "upload/echo", files, 0, NULL, NULL, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "no files: %u", rc);
    files[1] = "/nonexistent/file.png";
    rc = kitsu_client_upload(client, "upload/echo", files, 2, NULL, NULL, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_FILE_NOT_FOUND, "missing file: %u", rc);
    rc = kitsu_client_upload(client, "upload/echo", files, 1, "[1,2]", NULL, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "form_json not an object: %u", rc);
}

static void test_json_calls(kitsu_client *client) {
    char *json = NULL;
    kitsu_result rc = kitsu_client_get(client, "data/projects", &json);
    CHECK(rc == KITSU_RESULT_OK && json && strstr(json, "Demo"), "get");
    kitsu_string_free(json);
    rc = kitsu_client_post(client, "data/echo", "{\"name\":\"x\"}", &json);
    CHECK(rc == KITSU_RESULT_OK && strstr(json, "\"POST\""), "post");
    kitsu_string_free(json);
    rc = kitsu_client_put(client, "data/echo", NULL, &json);
    CHECK(rc == KITSU_RESULT_OK && strstr(json, "\"PUT\""), "put");
    kitsu_string_free(json);
    rc = kitsu_client_delete(client, "data/echo", &json);
    CHECK(rc == KITSU_RESULT_OK && strstr(json, "\"DELETE\""), "delete");
    kitsu_string_free(json);
    rc = kitsu_client_post(client, "data/echo", "{broken", &json);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "bad json body: %u", rc);
}

static void test_settings(kitsu_client *client) {
    char bundle[1024];
    CHECK(kitsu_client_set_tls_verify(client, 0) == KITSU_RESULT_OK, "verify off");
    CHECK(kitsu_client_set_tls_verify(client, 1) == KITSU_RESULT_OK, "verify on");
    CHECK(kitsu_client_set_connect_timeout(client, 5) == KITSU_RESULT_OK, "connect timeout");
    CHECK(kitsu_client_set_connect_timeout(client, 0) == KITSU_RESULT_INVALID_PARAMETER, "connect 0");
    CHECK(kitsu_client_set_ca_bundle(client, "/nonexistent/ca.pem") == KITSU_RESULT_FILE_NOT_FOUND, "missing CA");
    path_in_scratch(bundle, sizeof bundle, "garbage.pem");
    write_file(bundle, "garbage", 7);
    CHECK(kitsu_client_set_ca_bundle(client, bundle) == KITSU_RESULT_INVALID_PARAMETER, "garbage CA");
    CHECK(kitsu_client_set_ca_bundle(client, NULL) == KITSU_RESULT_OK, "no CA bundle");
}

/* Every pointer parameter of every entry point, NULL in turn. */
static void test_null_parameters(kitsu_client *c) {
    const char *files[1] = {"x"};
    const char *null_files[1] = {NULL};
    char *json = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    kitsu_client *out = NULL;
    const kitsu_result N = KITSU_RESULT_NULL_PARAMETER;

    CHECK(kitsu_client_new(NULL, &out) == N, "new host");
    CHECK(kitsu_client_new(base_url, NULL) == N, "new out");
    CHECK(kitsu_client_log_in(NULL, "e", "p", &json) == N, "log_in client");
    CHECK(kitsu_client_log_in(c, NULL, "p", &json) == N, "log_in email");
    CHECK(kitsu_client_log_in(c, "e", NULL, &json) == N, "log_in password");
    CHECK(kitsu_client_log_out(NULL) == N, "log_out client");
    CHECK(kitsu_client_set_tokens(NULL, "a", "r") == N, "set_tokens client");
    CHECK(kitsu_client_set_tls_verify(NULL, 1) == N, "tls client");
    CHECK(kitsu_client_set_ca_bundle(NULL, "x") == N, "ca client");
    CHECK(kitsu_client_set_connect_timeout(NULL, 1) == N, "connect client");
    CHECK(kitsu_client_set_stall_timeout(NULL, 1) == N, "stall client");
    CHECK(kitsu_client_set_processing_timeout(NULL, 1) == N, "processing client");
    CHECK(kitsu_client_download(NULL, "p", "t", NULL, NULL, NULL) == N, "download client");
    CHECK(kitsu_client_download(c, NULL, "t", NULL, NULL, NULL) == N, "download path");
    CHECK(kitsu_client_download(c, "p", NULL, NULL, NULL, NULL) == N, "download target");
    CHECK(kitsu_client_get_bytes(NULL, "p", NULL, NULL, NULL, &data, &len) == N, "bytes client");
    CHECK(kitsu_client_get_bytes(c, NULL, NULL, NULL, NULL, &data, &len) == N, "bytes path");
    CHECK(kitsu_client_get_bytes(c, "p", NULL, NULL, NULL, NULL, &len) == N, "bytes out_data");
    CHECK(kitsu_client_get_bytes(c, "p", NULL, NULL, NULL, &data, NULL) == N, "bytes out_len");
    CHECK(kitsu_client_upload(NULL, "p", files, 1, NULL, NULL, NULL, NULL, NULL) == N, "upload client");
    CHECK(kitsu_client_upload(c, NULL, files, 1, NULL, NULL, NULL, NULL, NULL) == N, "upload path");
    CHECK(kitsu_client_upload(c, "p", NULL, 1, NULL, NULL, NULL, NULL, NULL) == N, "upload files");
    CHECK(kitsu_client_upload(c, "p", null_files, 1, NULL, NULL, NULL, NULL, NULL) == N, "upload files[0]");
    CHECK(kitsu_client_get(NULL, "p", &json) == N, "get client");
    CHECK(kitsu_client_get(c, NULL, &json) == N, "get path");
    CHECK(kitsu_client_get(c, "p", NULL) == N, "get out");
    CHECK(kitsu_client_post(NULL, "p", NULL, &json) == N, "post client");
    CHECK(kitsu_client_post(c, NULL, NULL, &json) == N, "post path");
    CHECK(kitsu_client_post(c, "p", NULL, NULL) == N, "post out");
    CHECK(kitsu_client_put(NULL, "p", NULL, &json) == N, "put client");
    CHECK(kitsu_client_put(c, NULL, NULL, &json) == N, "put path");
    CHECK(kitsu_client_put(c, "p", NULL, NULL) == N, "put out");
    CHECK(kitsu_client_delete(NULL, "p", &json) == N, "delete client");
    CHECK(kitsu_client_delete(c, NULL, &json) == N, "delete path");
    CHECK(kitsu_client_delete(c, "p", NULL) == N, "delete out");
    CHECK(kitsu_last_error_message(NULL, 10, NULL) == N, "last_error buf");
    CHECK(strstr(last_message(), "must not be NULL") != NULL, "null message: %s", last_message());
    /* NULL-safe frees. */
    kitsu_client_free(NULL);
    kitsu_string_free(NULL);
    kitsu_bytes_free(NULL, 0);
    CHECK(out == NULL && json == NULL && data == NULL, "outputs untouched on failure");
}

/* The result record: status, attempts, bytes and the SHA-256 computed in
 * the same pass, for a download and for the upload of what was downloaded;
 * an older, shorter struct gets only the fields that fit. */
static void test_transfer_result(kitsu_client *client) {
    static const char *expected = "011c84f4e24161691915bad9598e9c9fdb6c42ff2ba9bc081e540d54970fbd12";
    char target[1024];
    path_in_scratch(target, sizeof target, "digest.bin");
    kitsu_transfer_result result = KITSU_TRANSFER_RESULT_INIT;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    options.checksum = 1;
    options.result = &result;
    kitsu_result rc = kitsu_client_download(client, "files/fixed/5000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK, "download with checksum: %s", last_message());
    CHECK(result.http_status == 200 && result.attempts == 1 && result.bytes == 5000,
          "result %u %u %llu", result.http_status, result.attempts, (unsigned long long)result.bytes);
    CHECK(result.has_sha256 == 1 && strcmp(result.sha256_hex, expected) == 0, "sha256 %s", result.sha256_hex);
    CHECK(result.sha256[0] == 0x01 && result.sha256[31] == 0x12, "sha256 bytes");

    const char *files[1] = {target};
    kitsu_transfer_result sent = KITSU_TRANSFER_RESULT_INIT;
    options.result = &sent;
    rc = kitsu_client_upload(client, "upload/echo", files, 1, NULL, &options, NULL, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK && sent.has_sha256 == 1 && strcmp(sent.sha256_hex, expected) == 0,
          "upload digest %s: %s", sent.sha256_hex, last_message());

    /* Without checksum: none; a failure still fills the record. */
    kitsu_transfer_result failed_call = KITSU_TRANSFER_RESULT_INIT;
    kitsu_transfer_options plain = KITSU_TRANSFER_OPTIONS_INIT;
    plain.result = &failed_call;
    rc = kitsu_client_download(client, "status/404", target, &plain, NULL, NULL);
    CHECK(rc != KITSU_RESULT_OK && failed_call.http_status == 404 && failed_call.has_sha256 == 0,
          "failed call's record: %u", failed_call.http_status);

    /* A caller built against a header whose struct ended after `bytes`. */
    unsigned char older[sizeof(kitsu_transfer_result)];
    memset(older, 0xEE, sizeof older);
    size_t short_size = offsetof(kitsu_transfer_result, has_sha256);
    memcpy(older, &short_size, sizeof short_size);
    options.result = (kitsu_transfer_result *)(void *)older;
    rc = kitsu_client_download(client, "files/fixed/5000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_OK, "short result struct: %s", last_message());
    CHECK(older[short_size] == 0xEE && older[sizeof older - 1] == 0xEE, "wrote past the caller's struct_size");

    /* struct_size 0 is refused before anything is sent. */
    kitsu_transfer_result zero;
    memset(&zero, 0, sizeof zero);
    options.result = &zero;
    rc = kitsu_client_download(client, "files/fixed/5000", target, &options, NULL, NULL);
    CHECK(rc == KITSU_RESULT_INVALID_PARAMETER, "struct_size 0: %u", rc);
}

static void test_invalid_utf8(kitsu_client *c) {
    char *json = NULL;
    CHECK(kitsu_client_get(c, "data/\xff\xfe", &json) == KITSU_RESULT_INVALID_UTF8, "utf8");
}

static void test_threads_are_joined(void) {
    int before = thread_count(), tries;
    kitsu_client *client = logged_in_checked();
    char target[1024];
    path_in_scratch(target, sizeof target, "threads.bin");
    kitsu_client_download(client, "files/fixed/10000", target, NULL, NULL, NULL);
    CHECK(thread_count() > before, "the client started no thread?");
    kitsu_client_free(client);
    /* The runtime's threads have finished when free returns; the kernel may
       list a thread for a moment longer while it exits, so allow 1 s. */
    for (tries = 0; tries < 100 && thread_count() != before; tries++) {
        struct timespec pause = {0, 10 * 1000000L};
        nanosleep(&pause, NULL);
    }
    CHECK(thread_count() == before, "threads left after free: %d vs %d", thread_count(), before);
}

int main(int argc, char **argv) {
    kitsu_client *client;
    if (argc != 3) {
        fprintf(stderr, "usage: %s <base-url> <scratch-folder>\n", argv[0]);
        return 2;
    }
    base_url = argv[1];
    scratch = argv[2];

    test_threads_are_joined();
    test_versions_and_strings();
    test_bad_host_and_panic();
    test_last_error_buffer();
    test_log_in_failures();
    client = logged_in_checked();
    /* These checks are of how one failure is reported: one attempt each
       (retries are tested by the fault matrix). */
    CHECK(kitsu_client_set_retry_policy(client, 1, 0, 0) == KITSU_RESULT_OK, "retries off");
    test_download_progress(client);
    test_abort_and_failures_leave_nothing(client);
    test_stall_and_processing(client);
    test_reentrancy(client);
    test_upload(client);
    test_json_calls(client);
    test_settings(client);
    test_null_parameters(client);
    test_transfer_result(client);
    test_invalid_utf8(client);
    CHECK(kitsu_client_log_out(client) == KITSU_RESULT_OK, "log_out");
    kitsu_client_free(client);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
