//! The installed packages, used as C and C++ users use them: the prefix
//! scripts/install made (KITSU_INSTALL_PREFIX; scripts/test sets it and
//! KITSU_PACKAGING_REQUIRED), a CMake consumer project (shared and static),
//! C programs built with pkg-config (shared and static), the installed
//! header alone, the soname and RPATHs, and the static link line checked
//! against what rustc prints. The programs run against the fake server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{pattern, FakeKitsu, EMAIL, PASSWORD};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The install prefix, or `None` (skipped) unless KITSU_PACKAGING_REQUIRED is set.
fn prefix() -> Option<PathBuf> {
    match std::env::var_os("KITSU_INSTALL_PREFIX") {
        Some(prefix) => Some(PathBuf::from(prefix)),
        None => {
            assert!(
                std::env::var_os("KITSU_PACKAGING_REQUIRED").is_none(),
                "KITSU_PACKAGING_REQUIRED is set but KITSU_INSTALL_PREFIX is not (scripts/install --prefix P)"
            );
            eprintln!("no KITSU_INSTALL_PREFIX (scripts/install): packaging test skipped");
            None
        }
    }
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The real file of the shared library: lib/libkitsu.so.X.Y.Z.
fn shared_library(prefix: &Path) -> PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    let path = prefix.join(format!("lib/libkitsu.so.{version}"));
    assert!(path.is_file(), "{} is not installed", path.display());
    path
}

fn dynamic_section(file: &Path) -> String {
    text(&run(Command::new("readelf").arg("-d").arg(file)))
}

/// Downloads 100 000 bytes from the fake server with `program` (arguments
/// as examples/c/download.c takes them) and checks the file.
fn download_with(program: &Path, extra_env: &[(&str, &Path)]) {
    let server = FakeKitsu::start();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fixed.bin");
    let mut command = Command::new(program);
    command
        .args([server.base.as_str(), EMAIL, PASSWORD, "files/fixed/100000"])
        .arg(&target);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = run(&mut command);
    eprintln!("{}", text(&output));
    assert_eq!(std::fs::read(&target).unwrap(), pattern(100_000));
}

#[test]
fn the_shared_library_has_its_soname_and_no_rpath_into_the_build_tree() {
    let Some(prefix) = prefix() else { return };
    let library = shared_library(&prefix);
    let dynamic = dynamic_section(&library);
    let version = env!("CARGO_PKG_VERSION");
    let (major, minor) = {
        let mut parts = version.split('.');
        (parts.next().unwrap(), parts.next().unwrap())
    };
    // cargo-c's scheme for 0.x: the soname names major.minor (a 0.x minor may break the ABI).
    let soname = if major == "0" {
        format!("libkitsu.so.0.{minor}")
    } else {
        format!("libkitsu.so.{major}")
    };
    assert!(
        dynamic.contains(&format!("Library soname: [{soname}]")),
        "{dynamic}"
    );
    assert!(
        !dynamic.contains("RPATH") && !dynamic.contains("RUNPATH"),
        "{dynamic}"
    );
    let checkout = crate_dir().display().to_string();
    assert!(!dynamic.contains(&checkout), "{dynamic}");
    // The links a linker and the loader look for.
    for link in ["libkitsu.so".to_string(), soname] {
        let target = std::fs::read_link(prefix.join("lib").join(&link))
            .unwrap_or_else(|e| panic!("lib/{link}: {e}"));
        assert!(
            target.to_string_lossy().starts_with("libkitsu.so."),
            "{link} -> {target:?}"
        );
    }
    assert!(prefix.join("lib/libkitsu.a").is_file());
    assert!(prefix.join("include/kitsu.h").is_file());
    // The CMake package is relocatable: no absolute path of the prefix in it.
    for file in ["kitsuConfig.cmake", "kitsuConfigVersion.cmake"] {
        let config = std::fs::read_to_string(prefix.join("lib/cmake/kitsu").join(file)).unwrap();
        assert!(
            !config.contains(&*prefix.to_string_lossy()),
            "{file} names the prefix"
        );
        assert!(!config.contains('@'), "{file} has an unfilled @VAR@");
    }
}

#[test]
fn the_installed_header_compiles_alone_as_c11_and_cxx17() {
    let Some(prefix) = prefix() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (compiler, standard, file) in [
        ("cc", "-std=c11", "alone.c"),
        ("c++", "-std=c++17", "alone.cpp"),
    ] {
        let source = dir.path().join(file);
        std::fs::write(
            &source,
            "#include <kitsu.h>\nint main(void) { return kitsu_abi_version() == KITSU_ABI_VERSION ? 0 : 1; }\n",
        )
        .unwrap();
        run(Command::new(compiler)
            .args([
                standard,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
            ])
            .arg("-I")
            .arg(prefix.join("include"))
            .arg(&source));
    }
}

fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let output = run(Command::new("pkg-config")
        .args(args)
        .arg("kitsu")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")));
    text(&output)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_c_program_builds_with_pkg_config_shared_and_static() {
    let Some(prefix) = prefix() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = crate_dir().join("examples/c/download.c");

    let shared = dir.path().join("download-shared");
    run(Command::new("cc")
        .arg(&source)
        .args(pkg_config(&prefix, &["--cflags", "--libs"]))
        .arg("-o")
        .arg(&shared));
    assert!(dynamic_section(&shared).contains("libkitsu.so.0"));
    download_with(&shared, &[("LD_LIBRARY_PATH", &prefix.join("lib"))]);

    // --static: libkitsu.a by name, then Libs.private.
    let flags: Vec<String> = pkg_config(&prefix, &["--static", "--cflags", "--libs"])
        .into_iter()
        .map(|flag| {
            if flag == "-lkitsu" {
                "-l:libkitsu.a".into()
            } else {
                flag
            }
        })
        .collect();
    let static_program = dir.path().join("download-static");
    run(Command::new("cc")
        .arg(&source)
        .args(&flags)
        .arg("-o")
        .arg(&static_program));
    assert!(!dynamic_section(&static_program).contains("libkitsu"));
    download_with(&static_program, &[]);
}

/// kitsu.pc's Libs.private holds every system library rustc says a static
/// link of Rust's standard library needs (`--print native-static-libs` of
/// a staticlib with nothing in it: a second; the library's own build prints
/// the same list, which scripts/install writes into kitsu.pc, and none of
/// its dependencies adds one: ring compiles its C into the archive).
#[test]
fn the_static_link_line_is_what_rustc_prints() {
    let Some(prefix) = prefix() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.rs"), "").unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .args([
            "--crate-type",
            "staticlib",
            "--edition",
            "2021",
            "--print",
            "native-static-libs",
            "-o",
        ])
        .arg(dir.path().join("libempty.a"))
        .arg(dir.path().join("empty.rs"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let printed: Vec<&str> = stderr
        .lines()
        .find_map(|line| line.split("native-static-libs: ").nth(1))
        .unwrap_or_else(|| panic!("no native-static-libs in:\n{stderr}"))
        .split_whitespace()
        .collect();
    let pc = std::fs::read_to_string(prefix.join("lib/pkgconfig/kitsu.pc")).unwrap();
    let private: Vec<&str> = pc
        .lines()
        .find_map(|line| line.strip_prefix("Libs.private:"))
        .expect("Libs.private in kitsu.pc")
        .split_whitespace()
        .collect();
    for lib in &printed {
        assert!(
            private.contains(lib),
            "kitsu.pc's Libs.private {private:?} lacks {lib} (rustc: {printed:?})"
        );
    }
}

/// The C++17 consumer project finds the package with find_package and links
/// kitsu::kitsu or kitsu::kitsu_static; the package is then moved elsewhere
/// and found again (relocatable).
#[test]
fn a_cmake_project_finds_the_package_shared_and_static_and_after_a_move() {
    let Some(prefix) = prefix() else { return };
    let project = crate_dir().join("tests/packaging/consumer");
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("moved-prefix");
    run(Command::new("cp").arg("-a").arg(&prefix).arg(&moved));
    for (name, root, link) in [
        ("shared", &prefix, "shared"),
        ("static", &prefix, "static"),
        ("moved", &moved, "shared"),
    ] {
        let build = dir.path().join(format!("build-{name}"));
        run(Command::new("cmake")
            .arg("-S")
            .arg(&project)
            .arg("-B")
            .arg(&build)
            .arg(format!("-DCMAKE_PREFIX_PATH={}", root.display()))
            .arg(format!("-DKITSU_LINK={link}"))
            .arg("-DCMAKE_BUILD_TYPE=Release"));
        run(Command::new("cmake").arg("--build").arg(&build));
        let program = build.join("kitsu_consumer");
        let dynamic = dynamic_section(&program);
        if link == "static" {
            assert!(!dynamic.contains("libkitsu"), "{dynamic}");
        } else {
            assert!(dynamic.contains("libkitsu.so.0"), "{dynamic}");
            // CMake's build RPATH points at the package it found.
            assert!(
                dynamic.contains(&*root.join("lib").to_string_lossy()),
                "{dynamic}"
            );
        }
        download_with(&program, &[]);
    }
}

/// The README block after `<!-- tested as written by tests/packaging.rs: NAME -->`.
fn readme_block(name: &str) -> String {
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    let marker = format!("<!-- tested as written by tests/packaging.rs: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no {marker} in README.md"))
        .1;
    let body = after
        .trim_start()
        .split_once('\n')
        .expect("a fenced block after the marker")
        .1;
    body.split_once("\n```")
        .expect("the block's closing fence")
        .0
        .to_string()
}

/// The README's C and CMake snippets, run as written (the install prefix
/// put for /opt/kitsu), from the checkout's root: each program they build
/// downloads from the fake server with nothing set for the loader.
#[test]
fn the_readmes_c_and_cmake_snippets_work_as_written() {
    let Some(prefix) = prefix() else { return };
    let prefix_text = prefix.display().to_string();
    let shell = |name: &str, script: &str| {
        let script = script.replace("/opt/kitsu", &prefix_text);
        let output = run(Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(crate_dir())
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("PKG_CONFIG_PATH"));
        eprintln!("README {name}: {}", String::from_utf8_lossy(&output.stderr));
    };

    shell("pkg-config", &readme_block("pkg-config"));
    for program in ["target/kitsu-download", "target/kitsu-download-static"] {
        let program = crate_dir().join(program);
        download_with(&program, &[]);
        std::fs::remove_file(&program).unwrap();
    }

    shell("checkout", &readme_block("checkout"));
    let program = crate_dir().join("target/kitsu-download");
    assert!(dynamic_section(&program).contains("target/dist"));
    download_with(&program, &[]);
    std::fs::remove_file(&program).unwrap();

    // The CMake lines in a project of their own around examples/c/download.c.
    let project = tempfile::tempdir().unwrap();
    let lists = format!(
        "cmake_minimum_required(VERSION 3.16)\nproject(readme_snippet C)\n\
         add_executable(myplugin {})\n{}\n",
        crate_dir().join("examples/c/download.c").display(),
        readme_block("cmake")
    );
    std::fs::write(project.path().join("CMakeLists.txt"), lists).unwrap();
    let build = project.path().join("build");
    run(Command::new("cmake")
        .arg("-S")
        .arg(project.path())
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={prefix_text}")));
    run(Command::new("cmake").arg("--build").arg(&build));
    download_with(&build.join("myplugin"), &[]);
}
