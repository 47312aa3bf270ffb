/*
 * What the C test programs that cancel from another thread share: clocks,
 * a thread that cancels a token after a delay, the cancel time limit, and
 * a file of the harness's byte pattern. Include after harness.h, with
 * _POSIX_C_SOURCE defined (clock_gettime, nanosleep).
 */
#ifndef KITSU_TEST_THREADS_H
#define KITSU_TEST_THREADS_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kitsu.h"

/* Cancelling must end a call within this many milliseconds (relaxed under
 * valgrind, KITSU_TEST_SLOW, which slows everything about twenty times). */
#define CANCEL_LIMIT_MS (getenv("KITSU_TEST_SLOW") ? 5000.0 : 200.0)

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(int ms) {
    struct timespec pause;
    pause.tv_sec = ms / 1000;
    pause.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&pause, NULL);
}

/* `len` bytes of the pattern i % 251 at `path`. */
static inline void write_bytes(const char *path, size_t len) {
    FILE *f = fopen(path, "wb");
    size_t i;
    if (!f) return;
    for (i = 0; i < len; i++) fputc((int)(i % 251), f);
    fclose(f);
}

/* A thread that cancels `token` after `delay_ms` and notes when. */
typedef struct {
    const kitsu_cancel_token *token;
    int delay_ms;
    double cancelled_at;
} canceller;

static inline void *cancel_later(void *arg) {
    canceller *c = (canceller *)arg;
    sleep_ms(c->delay_ms);
    c->cancelled_at = now_ms();
    kitsu_cancel_token_cancel(c->token);
    return NULL;
}

#endif
