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
    let lib_dir = target_dir();
    let (compiler, std_flag) = match language {
        Language::C => ("cc", "-std=c11"),
        Language::Cxx => ("c++", "-std=c++17"),
    };
    let mut cmd = Command::new(compiler);
    cmd.arg(std_flag)
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"])
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
            cmd.arg("-L")
                .arg(&lib_dir)
                .arg("-lkitsu")
                .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
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

fn run_contract(language: Language, linking: Linking) {
    let server = FakeKitsu::start();
    let dir = tempfile::tempdir().unwrap();
    let program = compile(
        "tests/c/contract.c",
        language,
        linking,
        &dir.path().join("contract"),
    );
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let output = Command::new(&program)
        .arg(&server.base)
        .arg(&scratch)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "C contract failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
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

/// The shared library exports the C API and nothing else.
#[test]
fn exported_symbols_all_carry_the_prefix() {
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(target_dir().join("libkitsu.so"))
        .output()
        .expect("nm");
    let text = String::from_utf8_lossy(&output.stdout);
    let functions: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _address = fields.next()?;
            let kind = fields.next()?;
            let name = fields.next()?;
            matches!(kind, "T" | "D" | "B" | "R").then_some(name)
        })
        .collect();
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
