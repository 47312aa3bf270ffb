//! gazu-named entry points against the fake server, for what Zou does not
//! do on demand: chunked answers, Zou's 503 media limiter, drops, 202.

mod common;

use common::capi::{c, check, cpath, kitsu_result, Client, Progress, NO_OPTIONS, PROGRESS};
use common::{pattern, FakeKitsu, EMAIL, PASSWORD};
use kitsu::ffi::files::{kitsu_files_download_attachment_file, kitsu_files_download_preview_file};

const ID: &str = "0e5ad4bd-0000-4000-8000-00000000000";

fn download_preview(
    client: &Client,
    last_digit: char,
    target: &std::path::Path,
    progress: &mut Progress,
) -> Result<(), kitsu_result> {
    let id = c(&format!("{ID}{last_digit}"));
    let target = cpath(target);
    check(unsafe {
        kitsu_files_download_preview_file(
            client.ptr(),
            id.as_ptr(),
            target.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            progress.user_data(),
        )
    })
    .map_err(|e| e.code)
}

#[test]
fn download_preview_file_through_chunked_503_drop_and_202() {
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    client.log_in(EMAIL, PASSWORD).unwrap();
    client.try_once();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("preview.png");

    let mut progress = Progress::new();
    download_preview(&client, '1', &target, &mut progress).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(20_000));
    progress.assert_contract(0, 20_000, "chunked: total 0");

    // gazu writes Zou's 503 JSON into the picture; here it is an error and the picture stays.
    let mut progress = Progress::new();
    assert_eq!(
        download_preview(&client, '2', &target, &mut progress),
        Err(kitsu_result::ServiceUnavailable)
    );
    assert_eq!(std::fs::read(&target).unwrap(), pattern(20_000));
    assert!(progress.calls.is_empty(), "no progress for an error answer");

    let mut progress = Progress::new();
    assert_eq!(
        download_preview(&client, '3', &target, &mut progress),
        Err(kitsu_result::IncompleteBody)
    );
    assert_eq!(std::fs::read(&target).unwrap(), pattern(20_000));

    let fresh = dir.path().join("processing.png");
    let mut progress = Progress::new();
    download_preview(&client, '4', &fresh, &mut progress).unwrap();
    assert_eq!(std::fs::read(&fresh).unwrap(), pattern(20_000));
    progress.assert_contract(20_000, 20_000, "after a 202");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "temporary files left"
    );
}

#[test]
fn attachment_names_are_percent_encoded() {
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    client.log_in(EMAIL, PASSWORD).unwrap();
    client.try_once();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("notes.txt");
    let id = c(&format!("{ID}9"));
    let target_c = cpath(&target);
    check(unsafe {
        kitsu_files_download_attachment_file(
            client.ptr(),
            id.as_ptr(),
            target_c.as_ptr(),
            NO_OPTIONS,
            None,
            std::ptr::null_mut(),
        )
    })
    .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"attachment");
}
