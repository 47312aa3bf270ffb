// Generation of include/kitsu.h, shared by build.rs and the staleness test
// (tests/header.rs), so both produce the header the same way.

/// The header's hand-written part: version and export macros, and the
/// contract every function follows. cbindgen adds the items after it.
fn header_preamble(version: &str) -> String {
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
 * Strings. Inputs are NUL-terminated UTF-8 (paths too, on every platform);
 * a string that is not UTF-8 gives KITSU_RESULT_INVALID_UTF8 and a NULL
 * where a value is required gives KITSU_RESULT_NULL_PARAMETER. Strings
 * returned through `char **` are owned by the caller and freed only with
 * kitsu_string_free(), never with free(). Static strings (kitsu_version(),
 * kitsu_result_str()) are never freed.
 *
 * Paths. `path` arguments are routes relative to the host, as in gazu:
 * `"data/projects"`, `"pictures/thumbnails/persons/<id>.png"`.
 *
 * Threads. A ::kitsu_client is thread-safe: several threads may transfer
 * through one client at once. Never free it while a call on it is running.
 * Calls block the calling thread until done. Progress callbacks run only on
 * the thread that made the call, and only before the call returns, so a
 * plugin's UI thread and Python's GIL are safe. kitsu_client_free() stops
 * and joins every thread the client started. Safe from any thread at any
 * time: kitsu_version(), kitsu_abi_version(), kitsu_result_str().
 *
 * Progress. See ::kitsu_progress_cb: first call (0, total), at most about
 * 10 calls a second, a last call with the final count on success; total is 0
 * when unknown; bytes_read never decreases nor exceeds a known total; a
 * non-zero return aborts and leaves nothing behind.
 *
 * Panics. No Rust panic ever unwinds into the caller: it becomes
 * KITSU_RESULT_PANIC with its text in the last error.
 *
 * Files. A download never leaves a partial file at the target and never
 * writes an error answer as the file: the body goes to a temporary
 * `.<name>.<random>.part` beside the target and is renamed onto it when
 * complete; on failure it is removed and any earlier file at the target is
 * left untouched.
 */

#define KITSU_VERSION_MAJOR {major}
#define KITSU_VERSION_MINOR {minor}
#define KITSU_VERSION_PATCH {patch}
/** The version as one number: major * 10000 + minor * 100 + patch. */
#define KITSU_VERSION_NUMBER (KITSU_VERSION_MAJOR * 10000 + KITSU_VERSION_MINOR * 100 + KITSU_VERSION_PATCH)
#define KITSU_VERSION_STRING "{version}"
/** Compare with kitsu_abi_version() at load time. */
#define KITSU_ABI_VERSION {abi}

/** A comfortable buffer size for kitsu_last_error_message(). */
#define KITSU_ERROR_SIZE 256

/** Return from a ::kitsu_progress_cb to go on. */
#define KITSU_PROGRESS_CONTINUE 0
/** Return from a ::kitsu_progress_cb to abort (any non-zero value does). */
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
        abi = ABI_VERSION_FOR_HEADER,
    )
}

/// Generates the header text from the crate at `crate_dir`.
fn generate_header(crate_dir: &std::path::Path, version: &str) -> Result<String, String> {
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    config.after_includes = Some(header_preamble(version));
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| e.to_string())
}
