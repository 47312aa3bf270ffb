// Generation of include/kitsu.h with cbindgen, for tests/header.rs: its
// staleness check, and scripts/regen-header (which writes the file through it).

/// The header's hand-written part: version and export macros, and the
/// contract every function follows. cbindgen adds the items after it.
fn header_preamble(version: &str, abi: u32) -> String {
    let mut numbers = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
    );
    format!(
        r#"
/**
 * @file kitsu.h
 * @brief libkitsu: file transfers with Kitsu (Zou) from C and C++.
 *
 * @section contract The contract
 *
 * Results. Every fallible function returns a ::kitsu_result; KITSU_RESULT_OK
 * (0) is success. Outputs (`out`, `out_json`, ...) are written only on
 * success. On failure the calling thread's last error holds the code, the
 * HTTP status (if any) and a message with the server's own text:
 * kitsu_last_error_message(), kitsu_last_error_http_status(),
 * kitsu_last_error_code(). Successful calls do not clear it.
 *
 * Arguments. Every pointer argument must be valid for the duration of the
 * call (and NULL only where a function says so). Inputs are NUL-terminated
 * UTF-8 (paths too, on every platform); a string that is not UTF-8 gives
 * KITSU_RESULT_INVALID_UTF8 and a NULL where a value is required gives
 * KITSU_RESULT_NULL_PARAMETER, before anything is sent. Arrays of paths
 * hold their count of such strings. Strings returned through `char **` are
 * owned by the caller and freed only with kitsu_string_free(), never with
 * free(). Static strings (kitsu_version(), kitsu_result_str()) are never freed.
 *
 * Routes. `path` arguments are routes relative to the host, as in gazu:
 * `"data/projects"`, `"pictures/thumbnails/persons/<id>.png"`.
 *
 * Threads. A ::kitsu_client is thread-safe: several threads may transfer
 * through one client at once. Never free it while a call on it is running.
 * Calls block the calling thread until done. Callbacks run only on the
 * thread that made the call, and only before the call returns, so a
 * plugin's UI thread and Python's GIL are safe. Calling a blocking libkitsu
 * function from inside a callback returns KITSU_RESULT_REENTRANT_CALL.
 * Callbacks must not throw C++ exceptions or `longjmp` out.
 * kitsu_client_free() stops and joins every thread the client started.
 * Safe from any thread at any time: kitsu_version(), kitsu_abi_version(),
 * kitsu_result_str(), kitsu_cancel_token_cancel(),
 * kitsu_cancel_token_is_cancelled().
 *
 * Transfers. Every function that moves a file (every upload, download and
 * composite such as kitsu_task_publish_preview(), and kitsu_client_download(),
 * kitsu_client_upload(), kitsu_client_get_bytes()) takes, in this order:
 * - `const kitsu_transfer_options *transfer`: NULL for the defaults, or a
 *   ::kitsu_transfer_options started from KITSU_TRANSFER_OPTIONS_INIT, with
 *   a ::kitsu_cancel_token and a ::kitsu_event_cb;
 * - `kitsu_progress_cb progress, void *user_data`: the simple callback (NULL for none).
 * Both callbacks may be given. A non-zero return from either aborts:
 * KITSU_RESULT_ABORTED_BY_CALLBACK. A cancelled token gives
 * KITSU_RESULT_CANCELLED within 200 ms, in every phase (waiting for the
 * answer's headers, a 202 wait, a stall, while bytes flow, between the steps
 * of a composite); a token cancelled before the call fails it at once,
 * before any request. An aborted or cancelled call leaves nothing behind,
 * like any failed one.
 *
 * Progress (::kitsu_progress_cb). The first call is (0, total) and, on
 * success, the last one gives the final count ((total, total) when the total
 * is known); at most about 10 calls a second while bytes flow, and at least
 * one a second while they do not, in every phase: before the answer's headers
 * (then as (0, 0): the total is not known yet), during a 202 wait, during a
 * stall. `total` is 0 while unknown (no Content-Length); it is set once,
 * when known, and never changes afterwards; for an upload it is the sum of
 * the file sizes, known from the start. `bytes_read` never decreases and
 * never exceeds a known total.
 *
 * Events (::kitsu_event_cb, ::kitsu_progress_event). An event at every phase
 * change, always: ::kitsu_phase CONNECTING (a request sent, its answer
 * awaited; again for each request of a composite), WAITING (the server asked
 * to wait: Zou's 202 while a preview is processed, with `deadline_ms` and a
 * `message` such as "the server is processing the file (202, Retry-After 5
 * s): 12 s of 60 s"), TRANSFERRING (bytes moving), RETRYING (waiting before
 * another attempt), DONE (success, the last event). Byte updates follow the
 * progress throttle, and a heartbeat comes at least once a second in every
 * phase. `item_index`/`item_count` tell the file within a multi-file upload
 * or a composite. The event and its strings are valid only during the callback.
 *
 * Downloads. A download never leaves a partial file at the target and never
 * writes an error answer as the file: the body goes to a temporary
 * `.<name>.<random>.part` beside the target and is renamed onto it when
 * complete and checked against its length; on failure, abort or cancel it
 * is removed (unless `resume` keeps it, see "Retries") and any earlier file
 * at the target is left untouched. Before any request: the temporary file
 * is created (a read-only or missing folder fails at once); a device, FIFO
 * or socket at the target gives KITSU_RESULT_NOT_A_REGULAR_FILE; a symlink
 * is written through to the regular file it points to, replaced atomically
 * in that file's folder. A file replaced keeps its mode; a new one gets
 * `0666 & ~umask`. A 202 ("still processing")
 * is waited out, honouring Retry-After, up to the processing timeout
 * (kitsu_client_set_processing_timeout()).
 *
 * Uploads. Files stream at constant memory as one multipart/form-data POST
 * per request, each file checked (a readable regular file) before anything
 * is sent. On success `*out_json`, when `out_json` is not NULL, receives the
 * server's JSON answer (freed with kitsu_string_free()); a 2xx answer
 * carrying an error message gives KITSU_RESULT_UPLOAD_FAILED.
 *
 * Retries. A failure worth another attempt (a connection that could not be
 * made or broke, a stall, a body cut short, HTTP 408, 429, 500, 502, 503,
 * 504) is retried: up to 5 attempts in a row without progress, exponential
 * backoff with full jitter from 500 ms to 30 s, the server's Retry-After
 * (seconds or a date) honoured up to that, within a 10 min budget
 * (kitsu_client_set_retry_policy(), and per call in ::kitsu_transfer_options);
 * the wait is the RETRYING phase, which the cancel token ends at once. What
 * is repeatable (a GET, a PUT, bytes Zou overwrites) is sent again after any
 * of these; a request that creates something (a comment, a preview record,
 * a POST through kitsu_client_upload()) only when the server surely did not
 * act: no connection was made, or it answered 429, or 503 with Retry-After.
 * Each entry point says which it is. A download cut short continues with
 * `Range: bytes=N-` (and `If-Range` when the server gave an ETag or
 * Last-Modified); only a 206 that continues the same file is appended, a
 * 200 starts it again, and progress never goes back. A failed call's last
 * error says how many attempts it made (kitsu_last_error_attempts()) and the
 * server's last Retry-After (kitsu_last_error_retry_after()). With `resume`
 * in the options, a failed or cancelled download keeps its bytes in
 * `.<name>.kitsu-partial` (and a `.json` sidecar) and the next call with
 * `resume` for the same route and target continues from them. A resumed
 * request asks again for 16 KiB before the end of what is held and
 * continues only when those bytes are the same (with or without a
 * validator); a 416, other bytes, or a 200 of another length start the file
 * again, once per call (progress then starts again too: the one case where
 * it goes down, so that its last call is still `(n, n)`). What stays
 * unprovable without a validator: a file changed on the server after the
 * held prefix and the overlap, at the same length (ask `checksum` and
 * compare with a digest you trust). The partial file is never followed
 * through a link (a symlink there is removed, its target untouched), a
 * FIFO, device or folder there gives KITSU_RESULT_NOT_A_REGULAR_FILE before
 * it is opened, and it is locked (`flock`) for the call: a second process
 * resuming the same target fails at once with KITSU_RESULT_IO ("locked").
 * A batch refuses a second download to the same target.
 *
 * Checksums and the result record. With `checksum` in the options the
 * SHA-256 of the file is computed as its bytes stream (downloads, uploads,
 * chunked uploads); what did not stream in order (a resumed prefix, the
 * segments after the first, chunks the server already had) is read once
 * from the local file at the end. It comes in the ::kitsu_transfer_result
 * the options' `result` points to, with the last HTTP status, the attempts
 * and the bytes; the library fills it when the call returns, on failure too.
 *
 * Signals. libkitsu never changes the process's signal dispositions or
 * handlers. A server that resets a connection in the middle of an upload
 * never raises SIGPIPE in the host: the library's own threads block it,
 * and around each call the calling thread blocks it too and takes off a
 * SIGPIPE its writes left pending before restoring the thread's mask (a
 * SIGPIPE sent to the process with kill() during a call may be taken off
 * with it). A host that blocks SIGPIPE itself is left as it is.
 *
 * Batches (::kitsu_batch). kitsu_batch_run() moves many items in one call,
 * at most `max_in_flight` requests at once, on the calling thread (fewer
 * when the process's limit on open files would not hold them: about
 * (limit - open files) / 4, so `ulimit -n 1024` runs about 240 at once). The
 * progress contract holds for the combined count: the bytes of every item,
 * and as `total` the sum of their lengths, 0 until every length is known
 * (then set once). Events come for each item (`item_index` its index in the
 * batch; QUEUED for every item at the start, FAILED with the reason) and
 * for the batch itself (KITSU_OPERATION_BATCH). A failing item does not
 * stop the others (KITSU_RESULT_BATCH_INCOMPLETE); the cancel token or a
 * callback's non-zero return stops them all. With `segments` in the
 * options, one download the server answers with ranges moves as that many
 * ranged requests at once.
 *
 * Panics. No Rust panic ever unwinds into the caller: it becomes
 * KITSU_RESULT_PANIC with its text in the last error, and nothing is
 * printed on the host's stderr.
 */

#define KITSU_VERSION_MAJOR {major}
#define KITSU_VERSION_MINOR {minor}
#define KITSU_VERSION_PATCH {patch}
/** The version as one number: major * 10000 + minor * 100 + patch. */
#define KITSU_VERSION_NUMBER (KITSU_VERSION_MAJOR * 10000 + KITSU_VERSION_MINOR * 100 + KITSU_VERSION_PATCH)
#define KITSU_VERSION_STRING "{version}"
/** Compare with kitsu_abi_version() at load time. */
#define KITSU_ABI_VERSION {abi}

/**
 * The defaults of ::kitsu_transfer_options, with `struct_size` set:
 * `kitsu_transfer_options options = KITSU_TRANSFER_OPTIONS_INIT;`
 */
#define KITSU_TRANSFER_OPTIONS_INIT {{ sizeof(kitsu_transfer_options), NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, NULL }}

/**
 * A ::kitsu_transfer_result ready to be filled:
 * `kitsu_transfer_result result = KITSU_TRANSFER_RESULT_INIT;`
 */
#define KITSU_TRANSFER_RESULT_INIT {{ sizeof(kitsu_transfer_result), 0, 0, 0, 0, {{ 0 }}, {{ 0 }} }}

/**
 * The defaults of ::kitsu_chunked_options, with `struct_size` set:
 * `kitsu_chunked_options chunked = KITSU_CHUNKED_OPTIONS_INIT;`
 */
#define KITSU_CHUNKED_OPTIONS_INIT {{ sizeof(kitsu_chunked_options), 0, 0, 0, NULL, NULL, NULL, 0 }}

/** A comfortable buffer size for kitsu_last_error_message(). */
#define KITSU_ERROR_SIZE 256

/** Return from a ::kitsu_progress_cb or ::kitsu_event_cb to go on. */
#define KITSU_PROGRESS_CONTINUE 0
/** Return from a ::kitsu_progress_cb or ::kitsu_event_cb to abort (any non-zero value does). */
#define KITSU_PROGRESS_ABORT 1

#if defined(_WIN32) && !defined(KITSU_STATIC)
#  define KITSU_API __declspec(dllimport)
#else
#  define KITSU_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define KITSU_DEPRECATED(note) __attribute__((deprecated(note)))
#elif defined(_MSC_VER)
#  define KITSU_DEPRECATED(note) __declspec(deprecated(note))
#else
#  define KITSU_DEPRECATED(note)
#endif
"#,
    )
}

/// `ABI_VERSION` of src/lib.rs: its one home.
fn abi_version(crate_dir: &std::path::Path) -> Result<u32, String> {
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).map_err(|e| e.to_string())?;
    lib.lines()
        .find_map(|line| line.trim().strip_prefix("pub const ABI_VERSION: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').trim().parse().ok())
        .ok_or_else(|| "src/lib.rs has no `pub const ABI_VERSION: u32 = N;`".to_string())
}

/// Generates the header text from the crate at `crate_dir`.
fn generate_header(crate_dir: &std::path::Path, version: &str) -> Result<String, String> {
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    config.after_includes = Some(header_preamble(version, abi_version(crate_dir)?));
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| e.to_string())
}
