/*
 * A plugin-style download: the transfer runs on a worker thread, the main
 * (UI) thread shows its phase and progress and has a Cancel button, here
 * pressed after a delay. The UI never blocks and never waits for a callback:
 * the worker publishes what the events say, the UI reads it, and the cancel
 * token stops the transfer from the UI thread, in any phase.
 *
 * usage: worker_cancel <host> <email> <password> <route> <target> <cancel-after-ms>
 * (cancel-after-ms 0: never press Cancel). Exit status 0 when the transfer
 * finished or was cancelled cleanly.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kitsu.h"

/* What the worker shares with the UI, under a lock. */
typedef struct {
    pthread_mutex_t lock;
    kitsu_phase phase;
    uint64_t done, total;
    char message[160];
    int finished;
    kitsu_result result;
    char error[KITSU_ERROR_SIZE];
} job_state;

typedef struct {
    kitsu_client *client;
    const char *route;
    const char *target;
    kitsu_cancel_token *cancel;
    job_state *state;
} job;

/* Runs on the worker thread (the one that called libkitsu). */
static int on_event(const kitsu_progress_event *event, void *user_data) {
    job_state *state = (job_state *)user_data;
    pthread_mutex_lock(&state->lock);
    state->phase = event->phase;
    state->done = event->bytes_done;
    state->total = event->total;
    snprintf(state->message, sizeof state->message, "%s", event->message);
    pthread_mutex_unlock(&state->lock);
    return KITSU_PROGRESS_CONTINUE;
}

static void *worker(void *arg) {
    job *j = (job *)arg;
    kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;
    kitsu_result rc;
    options.cancel = j->cancel;
    options.on_event = on_event;
    options.event_user_data = j->state;
    rc = kitsu_client_download(j->client, j->route, j->target, &options, NULL, NULL);
    pthread_mutex_lock(&j->state->lock);
    j->state->result = rc;
    if (rc != KITSU_RESULT_OK) {
        /* The last error is per thread: read it here, on the worker. */
        kitsu_last_error_message(j->state->error, sizeof j->state->error, NULL);
    }
    j->state->finished = 1;
    pthread_mutex_unlock(&j->state->lock);
    return NULL;
}

static const char *phase_name(kitsu_phase phase) {
    switch (phase) {
    case KITSU_PHASE_CONNECTING: return "connecting";
    case KITSU_PHASE_WAITING: return "waiting for the server";
    case KITSU_PHASE_TRANSFERRING: return "transferring";
    case KITSU_PHASE_RETRYING: return "retrying";
    case KITSU_PHASE_DONE: return "done";
    default: return "busy";
    }
}

static void sleep_ms(long ms) {
    struct timespec pause;
    pause.tv_sec = ms / 1000;
    pause.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&pause, NULL);
}

int main(int argc, char **argv) {
    kitsu_client *client = NULL;
    kitsu_cancel_token *cancel = NULL;
    job_state state;
    job j;
    pthread_t thread;
    long cancel_after, waited = 0;
    int finished = 0, pressed = 0;
    kitsu_result rc;

    if (argc != 7) {
        fprintf(stderr, "usage: %s <host> <email> <password> <route> <target> <cancel-after-ms>\n",
                argv[0]);
        return 2;
    }
    cancel_after = atol(argv[6]);
    if (kitsu_client_new(argv[1], &client) != KITSU_RESULT_OK ||
        kitsu_client_log_in(client, argv[2], argv[3], NULL) != KITSU_RESULT_OK ||
        kitsu_cancel_token_new(&cancel) != KITSU_RESULT_OK) {
        char message[KITSU_ERROR_SIZE];
        kitsu_last_error_message(message, sizeof message, NULL);
        fprintf(stderr, "setup failed: %s\n", message);
        kitsu_client_free(client);
        return 1;
    }

    memset(&state, 0, sizeof state);
    pthread_mutex_init(&state.lock, NULL);
    j.client = client;
    j.route = argv[4];
    j.target = argv[5];
    j.cancel = cancel;
    j.state = &state;
    pthread_create(&thread, NULL, worker, &j);

    /* The UI loop: redraw every 100 ms, press Cancel when the time comes. */
    while (!finished) {
        pthread_mutex_lock(&state.lock);
        finished = state.finished;
        printf("[ui] %-22s %llu/%llu bytes  %s\n", phase_name(state.phase),
               (unsigned long long)state.done, (unsigned long long)state.total, state.message);
        pthread_mutex_unlock(&state.lock);
        if (!finished && !pressed && cancel_after > 0 && waited >= cancel_after) {
            printf("[ui] Cancel pressed\n");
            kitsu_cancel_token_cancel(cancel); /* any thread, any time */
            pressed = 1;
        }
        sleep_ms(100);
        waited += 100;
    }
    pthread_join(thread, NULL);

    rc = state.result;
    if (rc == KITSU_RESULT_OK) {
        printf("finished: %s\n", argv[5]);
    } else if (rc == KITSU_RESULT_CANCELLED) {
        printf("cancelled: nothing was left at %s\n", argv[5]);
    } else {
        printf("failed: %s (%u): %s\n", kitsu_result_str(rc), rc, state.error);
    }
    kitsu_cancel_token_free(cancel);
    kitsu_client_free(client);
    pthread_mutex_destroy(&state.lock);
    return rc == KITSU_RESULT_OK || rc == KITSU_RESULT_CANCELLED ? 0 : 1;
}
