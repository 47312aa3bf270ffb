//! Compiles the C programs of tests/c against the committed header and the
//! built library (shared and static, as C11 and as C++17), and runs them
//! against the fake server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::FakeKitsu;

/// target/<profile>/deps: where `cargo test` puts the libkitsu.so and
/// libkitsu.a of this very build, beside this test binary. (The copies in
/// target/<profile> are only refreshed by `cargo build` and may be stale.)
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Clone, Copy)]
enum Language {
    C,
    Cxx,
}

#[derive(Clone, Copy)]
enum Linking {
    Shared,
    Static,
}

/// Compiles `source` and returns the program's path.
fn compile(source: &str, language: Language, linking: Linking, out: &Path) -> PathBuf {
    compile_with(source, language, linking, out, &[])
}

/// As [`compile`], with extra compiler flags (sanitizers).
fn compile_with(
    source: &str,
    language: Language,
    linking: Linking,
    out: &Path,
    extra: &[&str],
) -> PathBuf {
    let lib_dir = target_dir();
    let (compiler, std_flag) = match language {
        Language::C => ("cc", "-std=c11"),
        Language::Cxx => ("c++", "-std=c++17"),
    };
    let mut cmd = Command::new(compiler);
    cmd.arg(std_flag)
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"])
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("include"));
    if let Language::Cxx = language {
        cmd.args(["-x", "c++"]);
    }
    cmd.arg(crate_dir().join(source));
    if let Language::Cxx = language {
        cmd.args(["-x", "none"]);
    }
    match linking {
        Linking::Shared => {
            assert!(
                lib_dir.join("libkitsu.so").exists(),
                "libkitsu.so not built in {}",
                lib_dir.display()
            );
            // DT_RPATH, not RUNPATH: it wins over the LD_LIBRARY_PATH cargo
            // sets, which also names target/<profile>, where a libkitsu.so of
            // another build (without the test-panic feature) may sit.
            cmd.arg("-L").arg(&lib_dir).arg("-lkitsu").arg(format!(
                "-Wl,--disable-new-dtags,-rpath,{}",
                lib_dir.display()
            ));
        }
        Linking::Static => {
            // The documented static-link line for Linux (see README).
            cmd.arg(lib_dir.join("libkitsu.a")).args([
                "-lgcc_s",
                "-lutil",
                "-lrt",
                "-lpthread",
                "-lm",
                "-ldl",
                "-lc",
            ]);
        }
    }
    cmd.arg("-lpthread").arg("-o").arg(out);
    let output = cmd.output().expect("run the C compiler");
    assert!(
        output.status.success(),
        "compiling {source} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}

/// Compiles and runs a C test program (`<program> <base-url> <scratch>`)
/// against a fresh fake server; returns the server for checks of what reached it.
fn run_c_program(source: &str, language: Language, linking: Linking) -> FakeKitsu {
    let server = FakeKitsu::start();
    let dir = tempfile::tempdir().unwrap();
    let program = compile(source, language, linking, &dir.path().join("program"));
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let output = Command::new(&program)
        .arg(&server.base)
        .arg(&scratch)
        // A caught panic (kitsu_test_panic) must not print, backtrace or not.
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{source} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(
        !stderr.contains("panicked"),
        "libkitsu wrote on the host's stderr:\n{stderr}"
    );
    server
}

/// Runs a compiled C test program with `wrapper` (valgrind) and `env`, and
/// checks its own report and exit status.
fn run_checked(program: &Path, wrapper: &[&str], env: &[(&str, &str)], what: &str) -> FakeKitsu {
    let server = FakeKitsu::start();
    let scratch = tempfile::tempdir().unwrap();
    let mut command = match wrapper.split_first() {
        Some((tool, args)) => {
            let mut c = Command::new(tool);
            c.args(args).arg(program);
            c
        }
        None => Command::new(program),
    };
    let output = command
        .arg(&server.base)
        .arg(scratch.path())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(" passed, 0 failed"),
        "{what}: {:?}\n{stdout}\n{stderr}",
        output.status
    );
    server
}

/// The C test programs, each run plain, as C++, under sanitizers and valgrind.
const C_PROGRAMS: [&str; 3] = [
    "tests/c/contract.c",
    "tests/c/call_context.c",
    "tests/c/batch.c",
];

/// The C programs built with AddressSanitizer and UndefinedBehaviorSanitizer
/// (leak detection on): no error, no leak.
#[test]
fn c_programs_under_asan_and_ubsan() {
    let dir = tempfile::tempdir().unwrap();
    for source in C_PROGRAMS {
        let name = Path::new(source).file_stem().unwrap().to_str().unwrap();
        let program = compile_with(
            source,
            Language::C,
            Linking::Shared,
            &dir.path().join(format!("{name}_asan")),
            &[
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all",
                "-fno-omit-frame-pointer",
            ],
        );
        run_checked(
            &program,
            &[],
            &[
                (
                    "ASAN_OPTIONS",
                    "detect_leaks=1:halt_on_error=1:abort_on_error=0",
                ),
                ("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"),
            ],
            &format!("{source} under ASan+UBSan"),
        );
    }
}

/// The C programs under valgrind (memcheck): 0 errors, no definite leak.
/// Timing checks are relaxed (valgrind slows everything about 20 times).
#[test]
fn c_programs_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        // scripts/test installs valgrind; a developer without it is told, not failed.
        assert!(
            std::env::var_os("KITSU_VALGRIND_REQUIRED").is_none(),
            "valgrind is not installed"
        );
        eprintln!("valgrind not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for source in C_PROGRAMS {
        let name = Path::new(source).file_stem().unwrap().to_str().unwrap();
        let program = compile(source, Language::C, Linking::Shared, &dir.path().join(name));
        run_checked(
            &program,
            &[
                "valgrind",
                "--quiet",
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
            ],
            &[("KITSU_TEST_SLOW", "1")],
            &format!("{source} under valgrind"),
        );
    }
}

/// tests/c/chunked.c against the real upload servers (scripts/upload-servers/run),
/// as C, as C++ and under ASan+UBSan; skipped when they are not running,
/// unless KITSU_UPLOAD_SERVERS_REQUIRED is set.
#[test]
fn chunked_uploads_from_c_and_cxx_and_under_asan() {
    let file = std::env::var("KITSU_UPLOAD_SERVERS_ENV").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/.work/upload-servers/servers.env"
        )
        .into()
    });
    let env = std::fs::read_to_string(&file).unwrap_or_default();
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    let (Some(resumable), Some(tus)) = (var("RESUMABLE_URL"), var("TUS_URL")) else {
        assert!(
            std::env::var_os("KITSU_UPLOAD_SERVERS_REQUIRED").is_none(),
            "{file} is missing: scripts/upload-servers/run start"
        );
        eprintln!("skipped: no upload servers ({file})");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let builds = [
        ("c", Language::C, &[][..]),
        ("cxx", Language::Cxx, &[][..]),
        (
            "asan",
            Language::C,
            &[
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all",
                "-fno-omit-frame-pointer",
            ][..],
        ),
    ];
    for (name, language, flags) in builds {
        let program = compile_with(
            "tests/c/chunked.c",
            language,
            Linking::Shared,
            &dir.path().join(name),
            flags,
        );
        let scratch = tempfile::tempdir().unwrap();
        let output = Command::new(&program)
            .args([&resumable, &tus])
            .arg(scratch.path())
            .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(" passed, 0 failed"),
            "chunked.c ({name}): {:?}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn run_contract(language: Language, linking: Linking) {
    run_c_program("tests/c/contract.c", language, linking);
}

#[test]
fn c_contract_shared() {
    run_contract(Language::C, Linking::Shared);
}

#[test]
fn cxx_contract_shared() {
    run_contract(Language::Cxx, Linking::Shared);
}

#[test]
fn c_contract_static() {
    run_contract(Language::C, Linking::Static);
}

/// Runs tests/c/call_context.c, then checks what reached the server.
fn run_call_context(language: Language) {
    let server = run_c_program("tests/c/call_context.c", language, Linking::Shared);
    let requests = server.state.lock().unwrap().requests.clone();
    let count = |prefix: &str| requests.iter().filter(|r| r.starts_with(prefix)).count();
    // A token cancelled before the call sends nothing.
    assert_eq!(count("GET /api/files/fixed/7777"), 0, "{requests:?}");
    // Both cancelled publish_preview calls posted their comment; only the one
    // cancelled during its second step sent that step; neither sent the file.
    assert_eq!(count("POST /api/actions/tasks/"), 3, "{requests:?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.ends_with("/add-preview"))
            .count(),
        1,
        "{requests:?}"
    );
    assert_eq!(
        count("POST /api/pictures/preview-files/"),
        0,
        "{requests:?}"
    );
}

/// Runs tests/c/batch.c, then checks what reached the server.
fn run_batch(language: Language) {
    let server = run_c_program("tests/c/batch.c", language, Linking::Shared);
    check_batch_server(&server);
}

/// What tests/c/batch.c must have made the server see.
fn check_batch_server(server: &FakeKitsu) {
    let fifty = server.peak_concurrency("fifty");
    assert!(
        (2..=8).contains(&fifty),
        "50 items with 8 in flight: the server saw {fifty} at once"
    );
    assert_eq!(
        server.refresh_calls(),
        1,
        "eight expired items in flight share one refresh"
    );
    assert!(server.peak_concurrency("refresh") >= 2);
}

#[test]
fn c_batch() {
    run_batch(Language::C);
}

#[test]
fn cxx_batch() {
    run_batch(Language::Cxx);
}

#[test]
fn c_call_context() {
    run_call_context(Language::C);
}

#[test]
fn cxx_call_context() {
    run_call_context(Language::Cxx);
}

#[test]
fn header_stands_alone_in_c_and_cxx() {
    let dir = tempfile::tempdir().unwrap();
    for (language, name) in [(Language::C, "alone_c"), (Language::Cxx, "alone_cxx")] {
        let program = compile(
            "tests/c/header_alone.c",
            language,
            Linking::Shared,
            &dir.path().join(name),
        );
        assert!(Command::new(program).status().unwrap().success());
    }
}

/// The README's example, built as documented and run against the fake server.
#[test]
fn readme_example_downloads_with_a_progress_bar() {
    let server = FakeKitsu::start();
    let dir = tempfile::tempdir().unwrap();
    let program = compile(
        "examples/c/download.c",
        Language::C,
        Linking::Shared,
        &dir.path().join("download"),
    );
    let target = dir.path().join("avatar.png");
    let output = Command::new(&program)
        .args([
            &server.base,
            common::EMAIL,
            common::PASSWORD,
            "files/fixed/50000",
        ])
        .arg(&target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("100% 50000/50000 bytes"), "{stdout}");
    assert_eq!(std::fs::read(&target).unwrap(), common::pattern(50_000));

    let output = Command::new(&program)
        .args([&server.base, common::EMAIL, "wrong", "files/fixed/1", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Wrong email or password."));
}

/// The plugin-style example: a worker thread transfers, the UI thread shows
/// the events and presses Cancel; then the same without pressing it.
#[test]
fn worker_thread_example_cancels_from_the_ui_thread() {
    let server = FakeKitsu::start();
    let dir = tempfile::tempdir().unwrap();
    let program = compile(
        "examples/c/worker_cancel.c",
        Language::C,
        Linking::Shared,
        &dir.path().join("worker_cancel"),
    );
    let target = dir.path().join("movie.mp4");
    let run = |route: &str, cancel_after: &str| {
        let output = Command::new(&program)
            .args([&server.base, common::EMAIL, common::PASSWORD, route])
            .arg(&target)
            .arg(cancel_after)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    // Cancelled during a 202 wait, then while bytes flow: nothing left.
    let stdout = run("files/processing/example/100", "1500");
    assert!(stdout.contains("waiting for the server"), "{stdout}");
    assert!(stdout.contains("[ui] Cancel pressed"), "{stdout}");
    assert!(stdout.contains("cancelled: nothing was left"), "{stdout}");
    let stdout = run("files/trickle/3000000", "800");
    assert!(stdout.contains("[ui] transferring"), "{stdout}");
    assert!(stdout.contains("cancelled: nothing was left"), "{stdout}");
    assert!(!target.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the program"
    );
    // Not cancelled: the file arrives.
    let stdout = run("files/slow/300000", "0");
    assert!(stdout.contains("finished:"), "{stdout}");
    assert_eq!(std::fs::read(&target).unwrap(), common::pattern(300_000));
}

/// The shared library exports the C API and nothing else.
#[test]
fn exported_symbols_all_carry_the_prefix() {
    let symbols = exported_symbols();
    let functions: Vec<&str> = symbols.iter().map(String::as_str).collect();
    assert!(functions.contains(&"kitsu_client_download"));
    let foreign: Vec<&&str> = functions
        .iter()
        .filter(|name| !name.starts_with("kitsu_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "exported without the kitsu_ prefix: {foreign:?}"
    );
    // Every function in the header is exported.
    let header = std::fs::read_to_string(crate_dir().join("include/kitsu.h")).unwrap();
    let declared = declared_functions(&header);
    assert!(declared.len() >= 25, "{declared:?}");
    for name in &declared {
        assert!(
            functions.contains(&name.as_str()),
            "{name} is declared but not exported"
        );
    }
}

/// Names of the functions the header declares (`KITSU_API <type> name(`,
/// possibly over several lines).
fn declared_functions(header: &str) -> Vec<String> {
    header
        .split("KITSU_API")
        .skip(1)
        .filter(|chunk| chunk.starts_with(' ') || chunk.starts_with('\n'))
        .filter_map(|chunk| {
            let before_paren = chunk.split('(').next()?;
            if before_paren.contains('#') || before_paren.contains(';') {
                return None; // the macro's own definition lines
            }
            let name = before_paren
                .split_whitespace()
                .last()?
                .trim_start_matches('*');
            name.starts_with("kitsu_").then(|| name.to_string())
        })
        .collect()
}

/// A function declared in the header: name and `(type, name)` parameters.
struct Declaration {
    name: String,
    params: Vec<(String, String)>,
    /// Byte offset of its `KITSU_API` in the header.
    position: usize,
}

fn declarations(header: &str) -> Vec<Declaration> {
    let mut found = Vec::new();
    for (position, _) in header.match_indices("KITSU_API") {
        let chunk = &header[position + "KITSU_API".len()..];
        let Some(end) = chunk.find(';') else { continue };
        let text = &chunk[..end];
        let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
            continue;
        };
        let Some(name) = text[..open].split_whitespace().last() else {
            continue;
        };
        let name = name.trim_start_matches('*');
        if !name.starts_with("kitsu_") {
            continue;
        }
        let params = text[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "void")
            .map(|p| {
                let split = p.rfind([' ', '*']).unwrap();
                (p[..=split].trim().to_string(), p[split + 1..].to_string())
            })
            .collect();
        found.push(Declaration {
            name: name.to_string(),
            params,
            position,
        });
    }
    found
}

/// Pointer arguments a function documents as optional (NULL is a value).
fn null_allowed(function: &Declaration, param: &str) -> bool {
    let has_progress = function.params.iter().any(|(_, n)| n == "progress");
    match param {
        "options_json" | "form_json" | "json_body" | "access" | "refresh" | "pem_path"
        | "user_data" | "transfer" | "out_index" | "extension" | "chunked" => true,
        "http_status" | "message" | "out_len" => function.name == "kitsu_batch_item_result",
        "out_json" => has_progress || function.name == "kitsu_client_log_in",
        "task_id" => function.name == "kitsu_task_batch_comments",
        _ => false,
    }
}

/// A valid C expression for a parameter.
fn dummy_value(ty: &str, name: &str) -> String {
    match (ty, name) {
        (t, _) if t.contains("kitsu_client **") => "&out_client".into(),
        (t, _) if t.contains("kitsu_client") => "client".into(),
        (t, _) if t.contains("kitsu_cancel_token **") => "&out_token".into(),
        (t, _) if t.contains("kitsu_batch **") => "&out_batch".into(),
        (t, _) if t.contains("kitsu_batch") => "batch".into(),
        ("kitsu_result *", _) => "&code".into(),
        ("int32_t *", _) => "&status".into(),
        ("uint64_t *", _) => "&bytes".into(),
        (t, _) if t.contains("kitsu_transfer_result *") => "&record".into(),
        ("char *", "message") => "message".into(),
        (t, _) if t.contains("kitsu_cancel_token") => "token".into(),
        (t, _) if t.contains("kitsu_transfer_options") => "NULL".into(),
        (t, _) if t.contains("kitsu_chunked_options") => "NULL".into(),
        (_, "progress") => "NULL".into(),
        (_, "user_data") => "NULL".into(),
        ("const char *const *", _) => "one_path".into(),
        ("size_t", _) => "1".into(),
        ("uint32_t", _) | ("uint64_t", _) | ("int", _) => "1".into(),
        ("char **", _) => "&json".into(),
        ("uint8_t **", _) => "&data".into(),
        ("size_t *", _) => "&len".into(),
        ("const char *", "host") => "base".into(),
        ("const char *", n) if n.ends_with("_id") => {
            "\"0e5ad4bd-0000-4000-8000-00000000abcd\"".into()
        }
        ("const char *", n) if n.ends_with("_json") => "\"{}\"".into(),
        ("const char *", n) if n.contains("path") => "scratch_file".into(),
        ("const char *", _) => "\"x\"".into(),
        (t, n) => panic!("no dummy value for {t} {n}: extend dummy_value"),
    }
}

/// Writes a C program that calls every function of the header with NULL for
/// each required pointer argument in turn and expects
/// KITSU_RESULT_NULL_PARAMETER, and calls the free functions with NULL.
fn null_argument_program(header: &str) -> (String, usize) {
    let mut body = String::new();
    let mut calls = 0;
    for function in declarations(header) {
        let params = &function.params;
        if function.name.ends_with("_free") {
            let args: Vec<&str> = params
                .iter()
                .map(|(t, _)| if t.contains('*') { "NULL" } else { "0" })
                .collect();
            body.push_str(&format!("    {}({});\n", function.name, args.join(", ")));
            continue;
        }
        if matches!(
            function.name.as_str(),
            "kitsu_last_error_message" | "kitsu_cancel_token_is_cancelled"
        ) {
            continue; // their own NULL rules (a length, 0): tested in contract.c
        }
        for (index, (ty, name)) in params.iter().enumerate() {
            if !ty.contains('*') || null_allowed(&function, name) {
                continue;
            }
            let args: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, (t, n))| {
                    if i == index {
                        "NULL".into()
                    } else {
                        dummy_value(t, n)
                    }
                })
                .collect();
            body.push_str(&format!(
                "    json = NULL; data = NULL; out_client = NULL;\n    rc = {}({});\n    expect_null(rc, \"{}\", \"{}\", json == NULL && data == NULL && out_client == NULL);\n",
                function.name,
                args.join(", "),
                function.name,
                name
            ));
            calls += 1;
        }
    }
    let program = format!(
        r#"/* Generated by tests/c_abi.rs from include/kitsu.h: NULL for every required pointer argument. */
#include "kitsu.h"
#include <stdio.h>

static int passed = 0, failed = 0;

static void expect_null(kitsu_result rc, const char *function, const char *param, int untouched) {{
    if (rc == KITSU_RESULT_NULL_PARAMETER && untouched) {{
        passed++;
    }} else {{
        failed++;
        printf("FAIL %s with %s = NULL: %u (outputs untouched: %d)\n", function, param, rc, untouched);
    }}
}}

int main(int argc, char **argv) {{
    const char *base, *scratch_file;
    const char *one_path[1];
    kitsu_client *client = NULL, *out_client = NULL;
    kitsu_cancel_token *token = NULL, *out_token = NULL;
    kitsu_batch *batch = NULL, *out_batch = NULL;
    kitsu_result code;
    int32_t status;
    uint64_t bytes;
    kitsu_transfer_result record = KITSU_TRANSFER_RESULT_INIT;
    char message[64];
    char *json = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    kitsu_result rc;
    if (argc != 3) return 2;
    base = argv[1];
    scratch_file = argv[2];
    one_path[0] = scratch_file;
    if (kitsu_client_new(base, &client) != KITSU_RESULT_OK) return 2;
    if (kitsu_cancel_token_new(&token) != KITSU_RESULT_OK) return 2;
    if (kitsu_batch_new(client, &batch) != KITSU_RESULT_OK) return 2;
{body}
    kitsu_batch_free(batch);
    kitsu_cancel_token_free(token);
    kitsu_client_free(client);
    (void)out_token;
    (void)out_batch;
    (void)code;
    (void)status;
    (void)bytes;
    (void)record;
    (void)message;
    (void)len;
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}}
"#
    );
    (program, calls)
}

#[test]
fn every_pointer_argument_of_every_function_refuses_null() {
    let header = std::fs::read_to_string(crate_dir().join("include/kitsu.h")).unwrap();
    let (program, calls) = null_argument_program(&header);
    assert!(calls > 100, "only {calls} NULL calls generated");
    let server = FakeKitsu::start();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("null_args.c");
    std::fs::write(&source, program).unwrap();
    let scratch = dir.path().join("scratch.bin");
    std::fs::write(&scratch, b"x").unwrap();
    for (language, name) in [
        (Language::C, "null_args_c"),
        (Language::Cxx, "null_args_cxx"),
    ] {
        let binary = compile(
            source.to_str().unwrap(),
            language,
            Linking::Shared,
            &dir.path().join(name),
        );
        let output = Command::new(&binary)
            .arg(&server.base)
            .arg(&scratch)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("{calls} passed, 0 failed")),
            "{stdout}"
        );
    }
    // Nothing reached the server: every check came before the network.
    assert!(server.state.lock().unwrap().requests.is_empty());
}

/// Every name the gazu-surface issue lists is exported and declared.
#[test]
fn the_gazu_surface_is_exported() {
    const NAMES: &[&str] = &[
        "kitsu_files_upload_working_file",
        "kitsu_files_upload_person_avatar",
        "kitsu_files_upload_project_avatar",
        "kitsu_files_upload_organisation_avatar",
        "kitsu_person_set_avatar",
        "kitsu_task_upload_preview_file",
        "kitsu_task_add_comment",
        "kitsu_task_add_attachment_files_to_comment",
        "kitsu_task_batch_comments",
        "kitsu_task_create_multiple_comments",
        "kitsu_asset_import_assets_with_csv",
        "kitsu_shot_import_shots_with_csv",
        "kitsu_shot_import_otio",
        "kitsu_task_add_preview",
        "kitsu_task_add_extra_preview",
        "kitsu_task_publish_preview",
        "kitsu_files_download_working_file",
        "kitsu_files_download_preview_file",
        "kitsu_files_download_preview_file_thumbnail",
        "kitsu_files_download_preview_file_cover",
        "kitsu_files_download_preview_movie",
        "kitsu_files_download_preview_lowdef_movie",
        "kitsu_files_download_attachment_file",
        "kitsu_files_download_attachment_thumbnail",
        "kitsu_files_download_person_avatar",
        "kitsu_files_download_project_avatar",
        "kitsu_files_download_organisation_avatar",
        "kitsu_files_extract_frame_from_preview",
        "kitsu_files_extract_tile_from_preview",
        "kitsu_playlist_download_playlist_build",
        "kitsu_playlist_download_playlist_zip",
        "kitsu_asset_export_assets_with_csv",
        "kitsu_shot_export_shots_with_csv",
        "kitsu_project_get_project_by_name",
        "kitsu_project_all_open_projects",
        "kitsu_task_all_tasks_for_project",
        "kitsu_task_all_comments_for_task",
        "kitsu_task_get_task_status_by_short_name",
        "kitsu_task_create_preview",
        "kitsu_files_get_preview_file",
        "kitsu_files_new_working_file",
        "kitsu_files_get_working_file",
        "kitsu_files_get_attachment_file",
        "kitsu_files_update_project_file_tree",
        "kitsu_person_get_person_by_email",
    ];
    let header = std::fs::read_to_string(crate_dir().join("include/kitsu.h")).unwrap();
    let declared = declared_functions(&header);
    let exported = exported_symbols();
    for name in NAMES {
        assert!(
            declared.iter().any(|d| d == name),
            "{name} is not declared in kitsu.h"
        );
        assert!(
            exported.iter().any(|e| e == name),
            "{name} is not exported by libkitsu.so"
        );
    }
    // Every declared function has a doc comment right above its declaration.
    for function in declarations(&header) {
        let before = header[..function.position].trim_end();
        assert!(
            before.ends_with("*/"),
            "{} has no doc comment",
            function.name
        );
    }
}

/// The symbols libkitsu.so defines and exports.
fn exported_symbols() -> Vec<String> {
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(target_dir().join("libkitsu.so"))
        .output()
        .expect("nm");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _address = fields.next()?;
            let kind = fields.next()?;
            let name = fields.next()?;
            matches!(kind, "T" | "D" | "B" | "R").then(|| name.to_string())
        })
        .collect()
}

/// A server that takes about 1 MB of any request body and then resets the
/// connection (SO_LINGER 0), as a proxy or an overloaded server does; tus
/// creation (a POST with Upload-Length) and HEAD are answered, so the tus
/// upload reaches its PATCH. Returns its base URL.
fn start_resetting_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let reply = |stream: &mut std::net::TcpStream, text: &str| {
                    let _ = stream.write_all(text.as_bytes());
                };
                if head.starts_with("post") && head.contains("upload-length:") {
                    reply(&mut stream, "HTTP/1.1 201 Created\r\nLocation: /tus/files/1\r\nTus-Resumable: 1.0.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    return;
                }
                if head.starts_with("options") {
                    // tus discovery: no extension offered.
                    reply(&mut stream, "HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\nTus-Version: 1.0.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    return;
                }
                if head.starts_with("head") {
                    reply(&mut stream, "HTTP/1.1 200 OK\r\nUpload-Offset: 0\r\nTus-Resumable: 1.0.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    return;
                }
                let mut taken = 0usize;
                let mut buffer = vec![0u8; 64 * 1024];
                while taken < 1_000_000 {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => taken += n,
                    }
                }
                // A FIN first (the client's side goes to CLOSE_WAIT), then
                // SO_LINGER 0: close() sends RST, which Linux reports to the
                // writer in CLOSE_WAIT as EPIPE, raising SIGPIPE.
                let linger = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                let _ = stream.shutdown(std::net::Shutdown::Write);
                // SAFETY: a valid socket and a linger struct of the right size.
                unsafe {
                    libc::setsockopt(
                        std::os::unix::io::AsRawFd::as_raw_fd(&stream),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        (&linger as *const libc::linger).cast(),
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    );
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// Issue 21.1: a C host with the default SIGPIPE disposition is never
/// killed by an upload cut mid-body (working files and tus PATCHes).
#[test]
fn a_c_host_with_default_sigpipe_survives_uploads_cut_by_reset() {
    use std::os::unix::process::ExitStatusExt;
    let base = start_resetting_server();
    let dir = tempfile::tempdir().unwrap();
    let program = compile(
        "tests/c/sigpipe.c",
        Language::C,
        Linking::Shared,
        &dir.path().join("sigpipe"),
    );
    let scratch = tempfile::tempdir().unwrap();
    let output = Command::new(&program)
        .arg(format!("{base}/api"))
        .arg(format!("{base}/tus/files"))
        .arg(scratch.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert_eq!(
        output.status.signal(),
        None,
        "the host died of signal {:?} (13 is SIGPIPE)\n{stdout}",
        output.status.signal()
    );
    assert!(
        output.status.success() && stdout.contains(" passed, 0 failed"),
        "{:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
