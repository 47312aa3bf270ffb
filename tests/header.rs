//! include/kitsu.h is committed and no build writes it; this fails when it
//! differs from a fresh cbindgen generation (scripts/regen-header writes it
//! anew: KITSU_WRITE_HEADER=1 on this test), or when its version macros
//! disagree with Cargo.toml and src/lib.rs.

use std::path::Path;

include!("../build/header.rs");

#[test]
fn committed_header_is_fresh() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fresh = generate_header(crate_dir, env!("CARGO_PKG_VERSION")).unwrap();
    let path = crate_dir.join("include/kitsu.h");
    if std::env::var_os("KITSU_WRITE_HEADER").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/kitsu.h is stale: run scripts/regen-header and commit it"
    );
}

#[test]
fn version_macros_match_cargo_toml() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/kitsu.h"))
            .unwrap();
    let macro_value = |name: &str| -> String {
        header
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing"))
            .trim()
            .to_string()
    };
    assert_eq!(
        macro_value("KITSU_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        macro_value("KITSU_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        macro_value("KITSU_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    assert_eq!(
        macro_value("KITSU_VERSION_STRING"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        macro_value("KITSU_ABI_VERSION"),
        kitsu::ABI_VERSION.to_string()
    );
    // SAFETY: kitsu_version returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(kitsu::ffi::kitsu_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

/// The result-code table (`kitsu_result::ALL` with its descriptions and
/// statuses) covers exactly the header's enum, and the numbers agree.
#[test]
fn the_result_table_covers_the_header_enum() {
    use kitsu::ffi::kitsu_result;
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/kitsu.h"))
            .unwrap();
    let declared: Vec<u32> = header
        .lines()
        .filter_map(|line| line.trim().strip_prefix("KITSU_RESULT_"))
        .filter_map(|rest| rest.split(" = ").nth(1))
        .map(|value| value.trim_end_matches(',').parse().unwrap())
        .collect();
    let table: Vec<u32> = kitsu_result::ALL.iter().map(|&c| c as u32).collect();
    assert_eq!(declared, table);
    for &code in kitsu_result::ALL {
        // SAFETY: kitsu_result_str returns a static NUL-terminated string.
        let text = unsafe { std::ffi::CStr::from_ptr(kitsu::ffi::kitsu_result_str(code as u32)) };
        assert_eq!(text, code.description());
        if let Some(status) = code.info().http_status {
            assert_eq!(kitsu_result::for_http_status(status), code);
        }
    }
    assert_eq!(
        kitsu_result::for_http_status(599),
        kitsu_result::ServerError
    );
    assert_eq!(kitsu_result::for_http_status(418), kitsu_result::HttpStatus);
}
