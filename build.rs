//! Generates include/kitsu.h with cbindgen. The header is committed; the
//! test suite (tests/header.rs) fails when the committed one is stale.

use std::path::PathBuf;

include!("build/header.rs");

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build/header.rs");
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let header = match generate_header(&crate_dir, &version) {
        Ok(header) => header,
        Err(e) => {
            // A syntax error in src is reported better by rustc than by cbindgen.
            println!("cargo:warning=kitsu.h not regenerated: {e}");
            return;
        }
    };
    let target = crate_dir.join("include").join("kitsu.h");
    // Rewrite only on change, so the file's mtime means something.
    if std::fs::read_to_string(&target).ok().as_deref() != Some(header.as_str()) {
        std::fs::create_dir_all(target.parent().expect("include dir")).expect("create include/");
        std::fs::write(&target, header).expect("write include/kitsu.h");
    }
}
