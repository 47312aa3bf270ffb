//! The committed `include/kitsu.h` is the C contract and the source of truth:
//! no build writes into the source tree (`scripts/regen-header` does, and
//! `tests/header.rs` fails when the file is stale). This script only warns
//! early when the header's version disagrees with Cargo.toml, the version's
//! one home: a version bump without a regenerated header.

fn main() {
    println!("cargo:rerun-if-changed=include/kitsu.h");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let expected = format!("#define KITSU_VERSION_STRING \"{version}\"");
    match std::fs::read_to_string("include/kitsu.h") {
        Ok(header) if header.contains(&expected) => {}
        Ok(_) => println!(
            "cargo:warning=include/kitsu.h is not the header of version {version}: run scripts/regen-header"
        ),
        Err(e) => println!("cargo:warning=include/kitsu.h: {e}"),
    }
}
