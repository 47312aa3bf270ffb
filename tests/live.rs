//! The live suite: the C ABI against a real Zou on loopback, started by
//! scripts/zou-server (scripts/test does it). Skipped, with a note, when no
//! server runs and KITSU_LIVE_REQUIRED is unset.

mod common;

use common::capi::{kitsu_phase, kitsu_result, Client, Events, Progress};
use common::png_size;
use common::zou::{id, media, sha_file, Scene, Zou};
use serde_json::json;

macro_rules! live {
    () => {
        match Zou::get() {
            Some(zou) => zou,
            None => return,
        }
    };
}

#[test]
fn log_in_and_a_wrong_password_on_a_separate_user() {
    let zou = live!();
    let admin = zou.admin();
    let tag = format!(
        "{}-{}",
        std::process::id(),
        std::time::UNIX_EPOCH.elapsed().unwrap().as_millis()
    );
    let email = format!("locked-{tag}@example.com");
    let person = admin
        .post(
            "data/persons",
            &json!({"first_name": "Wrong", "last_name": "Password", "email": email, "role": "user"}),
        )
        .unwrap();
    admin
        .post(
            &format!("actions/persons/{}/change-password", id(&person)),
            &json!({"password": "right-password-1", "password_2": "right-password-1"}),
        )
        .unwrap();

    let client = Client::new(&zou.url).unwrap();
    let error = client.log_in(&email, "wrong-password").unwrap_err();
    assert_eq!(error.code, kitsu_result::AuthFailed, "{error:?}");
    assert_eq!(error.http_status, 400);
    assert!(
        error.message.contains("Wrong email or password"),
        "{}",
        error.message
    );
    // Not logged in: a data route answers 401.
    let error = client.get("data/projects/open").unwrap_err();
    assert_eq!(error.code, kitsu_result::Unauthorized);

    let answer = client.log_in(&email, "right-password-1").unwrap();
    assert_eq!(answer["user"]["email"], email.as_str());
    assert!(client.get("data/user/context").is_ok() || client.get("auth/authenticated").is_ok());
}

#[test]
fn an_expired_token_is_refreshed_and_the_request_replayed() {
    let zou = live!();
    let login = zou.admin().log_in(&zou.email, &zou.password).unwrap();
    let access = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let expired = zou.expired_copy(access);

    // Without a refresh token the expired token is refused, with Zou's message.
    let client = Client::new(&zou.url).unwrap();
    client.set_tokens(Some(&expired), None);
    let error = client.get("data/projects/open").unwrap_err();
    assert_eq!(error.code, kitsu_result::Unauthorized, "{error:?}");
    assert!(
        error.message.contains("Signature has expired"),
        "{}",
        error.message
    );

    // With it, the library refreshes and replays: JSON calls and transfers.
    client.set_tokens(Some(&expired), Some(refresh));
    assert!(client.get("data/projects/open").unwrap().is_array());
    let scene = Scene::new(zou, "refresh");
    let working_file = scene
        .client
        .post(&format!("data/tasks/{}/working-files/new", id(&scene.task)), &json!({"name": "main", "mode": "working", "revision": 0, "comment": "", "task_id": id(&scene.task)}))
        .unwrap();
    let route = format!("data/working-files/{}/file", id(&working_file));
    let uploader = Client::new(&zou.url).unwrap();
    uploader.set_tokens(Some(&expired), Some(refresh));
    let mut progress = Progress::new();
    uploader
        .upload(&route, &[&media().binary], None, Some(&mut progress))
        .unwrap();
    let size = std::fs::metadata(&media().binary).unwrap().len();
    progress.assert_contract(size, size, "upload replayed after a refresh");
}

#[test]
fn working_file_round_trip_keeps_every_byte_and_the_progress_contract() {
    let zou = live!();
    let scene = Scene::new(zou, "wf");
    let working_file = scene
        .client
        .post(&format!("data/tasks/{}/working-files/new", id(&scene.task)), &json!({"name": "main", "mode": "working", "revision": 0, "comment": "v1", "task_id": id(&scene.task)}))
        .unwrap();
    let route = format!("data/working-files/{}/file", id(&working_file));
    let source = &media().binary;
    let size = std::fs::metadata(source).unwrap().len();

    let mut up = Progress::new();
    let answer = scene
        .client
        .upload(&route, &[source], None, Some(&mut up))
        .unwrap();
    assert_eq!(answer["id"], working_file["id"]);
    up.assert_contract(size, size, "working file upload");

    let target = scene.path("back.blend");
    let mut down = Progress::new();
    scene
        .client
        .download(&route, &target, Some(&mut down))
        .unwrap();
    assert_eq!(sha_file(&target), sha_file(source));
    down.assert_contract(size, size, "working file download");
    assert_eq!(
        scene.client.get_bytes(&route).unwrap(),
        std::fs::read(source).unwrap()
    );
}

#[test]
fn picture_preview_round_trip_waits_out_processing() {
    let zou = live!();
    let scene = Scene::new(zou, "pic");
    let comment = scene.comment("a picture");
    let preview = scene
        .client
        .post(
            &format!(
                "actions/tasks/{}/comments/{}/add-preview",
                id(&scene.task),
                id(&comment)
            ),
            &json!({}),
        )
        .unwrap();
    let png = &media().png;
    let size = std::fs::metadata(png).unwrap().len();
    assert_eq!(png_size(&std::fs::read(png).unwrap()), (320, 240));
    let mut up = Progress::new();
    let answer = scene
        .client
        .upload(
            &format!("pictures/preview-files/{}", id(&preview)),
            &[png],
            None,
            Some(&mut up),
        )
        .unwrap();
    assert_eq!(answer["id"], preview["id"]);
    up.assert_contract(size, size, "preview upload");

    let target = scene.path("original.png");
    let mut down = Progress::new();
    scene
        .client
        .download(
            &format!("pictures/originals/preview-files/{}.png", id(&preview)),
            &target,
            Some(&mut down),
        )
        .unwrap();
    // Zou re-encodes pictures with Pillow: the original keeps its pixels'
    // size, not its bytes (working files and attachments keep their bytes).
    let original = std::fs::read(&target).unwrap();
    assert_eq!(png_size(&original), png_size(&std::fs::read(png).unwrap()));
    let served = original.len() as u64;
    down.assert_contract(served, served, "preview download");

    let thumbnail = scene.path("thumb.png");
    scene
        .client
        .download(
            &format!("pictures/thumbnails/preview-files/{}.png", id(&preview)),
            &thumbnail,
            None,
        )
        .unwrap();
    assert!(std::fs::read(&thumbnail).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn movie_preview_in_job_queue_mode_answers_202_then_downloads() {
    let zou = live!();
    assert!(
        zou.job_queue,
        "the live suite runs Zou with its job queue (ZOU_JOB_QUEUE=1)"
    );
    let scene = Scene::new(zou, "movie");
    let comment = scene.comment("a movie");
    let preview = scene
        .client
        .post(
            &format!(
                "actions/tasks/{}/comments/{}/add-preview",
                id(&scene.task),
                id(&comment)
            ),
            &json!({}),
        )
        .unwrap();
    let answer = scene
        .client
        .upload(
            &format!("pictures/preview-files/{}", id(&preview)),
            &[&media().mp4],
            None,
            None,
        )
        .unwrap();
    assert_eq!(answer["status"], "processing", "{answer}");

    let route = format!("movies/originals/preview-files/{}.mp4", id(&preview));
    let target = scene.path("movie.mp4");
    // Right after the upload the worker is still encoding (about 4.6 s):
    // with no patience the server's 202 shows as a processing timeout...
    set_processing_timeout(&scene.client, 0);
    let error = scene.client.download(&route, &target, None).unwrap_err();
    assert_eq!(error.code, kitsu_result::ProcessingTimeout, "{error:?}");
    assert!(!target.exists());
    // ...and the default patience waits it out (Retry-After: 5) and downloads,
    // the wait shown as its own phase with Zou's Retry-After.
    set_processing_timeout(&scene.client, 60);
    let mut down = Progress::new();
    let mut events = Events::new();
    let options = events.options();
    scene
        .client
        .download_with(&route, &target, &options, Some(&mut down))
        .unwrap();
    let bytes = std::fs::read(&target).unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "not an mp4");
    down.assert_contract(bytes.len() as u64, bytes.len() as u64, "movie download");
    assert_eq!(
        events.phases(),
        [
            kitsu_phase::Connecting,
            kitsu_phase::Waiting,
            kitsu_phase::Transferring,
            kitsu_phase::Done
        ],
        "{:?}",
        events.seen
    );
    assert!(!events.foreign_thread);
    let waiting: Vec<_> = events
        .seen
        .iter()
        .filter(|e| e.phase == kitsu_phase::Waiting)
        .collect();
    assert!(
        waiting.iter().all(|e| e.deadline_ms == 60_000
            && e.message.contains("Retry-After 5 s")
            && e.key == route),
        "{waiting:?}"
    );
    // At least one heartbeat a second while Zou encodes.
    assert!(waiting.len() >= 2, "{waiting:?}");
    let done = events.seen.last().unwrap();
    assert_eq!(
        (done.bytes_done, done.total),
        (bytes.len() as u64, bytes.len() as u64)
    );
}

fn set_processing_timeout(client: &Client, seconds: u32) {
    // SAFETY: a valid client.
    let code =
        unsafe { kitsu::ffi::client::kitsu_client_set_processing_timeout(client.ptr(), seconds) };
    assert_eq!(code, kitsu_result::Ok);
}

#[test]
fn real_error_answers_are_typed_and_never_written() {
    let zou = live!();
    let client = zou.admin();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing.png");
    std::fs::write(&target, b"keep me").unwrap();
    let missing = "pictures/originals/preview-files/00000000-0000-0000-0000-000000000000.png";
    let error = client.download(missing, &target, None).unwrap_err();
    assert_eq!(error.code, kitsu_result::NotFound, "{error:?}");
    assert_eq!(error.http_status, 404);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let error = client.get("data/projects/not-a-uuid").unwrap_err();
    assert!(error.http_status >= 400, "{error:?}");
}

/// A C batch of every preview of a project (originals with the listing's
/// extension, and thumbnails), compared byte for byte with single downloads.
#[test]
fn a_c_batch_of_every_preview_matches_single_downloads() {
    use kitsu::ffi::batch::*;
    let zou = live!();
    let scene = Scene::new(zou, "cbatch");
    let comment = scene.comment("batch");
    for _ in 0..5 {
        scene.add_preview(&comment, &media().png);
    }
    let listed = scene
        .client
        .get(&format!("data/preview-files?task_id={}", id(&scene.task)))
        .unwrap();
    let previews = listed.as_array().unwrap().clone();
    assert_eq!(previews.len(), 5, "{listed}");

    let mut batch = std::ptr::null_mut();
    common::capi::check(unsafe { kitsu_batch_new(scene.client.ptr(), &mut batch) }).unwrap();
    let mut expected = Vec::new();
    for preview in &previews {
        let preview_id = id(preview);
        let extension = preview["extension"].as_str().unwrap();
        for (kind, route, name) in [
            (
                kitsu_preview_kind::Original,
                format!("pictures/originals/preview-files/{preview_id}.{extension}"),
                format!("{preview_id}.{extension}"),
            ),
            (
                kitsu_preview_kind::Thumbnail,
                format!("pictures/thumbnails/preview-files/{preview_id}.png"),
                format!("{preview_id}-thumb.png"),
            ),
        ] {
            let single = scene.path(&format!("single-{name}"));
            scene.client.download(&route, &single, None).unwrap();
            let target = scene.path(&format!("batch-{name}"));
            let ext = common::capi::c(extension);
            let mut index = 0;
            common::capi::check(unsafe {
                kitsu_batch_add_preview_download(
                    batch,
                    common::capi::c(preview_id).as_ptr(),
                    kind as u32,
                    ext.as_ptr(),
                    common::capi::cpath(&target).as_ptr(),
                    &mut index,
                )
            })
            .unwrap();
            expected.push((index, single, target));
        }
    }
    let mut progress = Progress::new();
    let (callback, user_data) = common::capi::callback(Some(&mut progress));
    common::capi::check(unsafe {
        kitsu_batch_run(batch, 4, common::capi::NO_OPTIONS, callback, user_data)
    })
    .unwrap();
    let mut total = 0;
    for (index, single, target) in &expected {
        let mut bytes = 0;
        common::capi::check(unsafe { kitsu_batch_item_bytes(batch, *index, &mut bytes) }).unwrap();
        assert_eq!(sha_file(single), sha_file(target), "{}", target.display());
        assert_eq!(bytes, std::fs::metadata(target).unwrap().len());
        total += bytes;
    }
    assert_eq!(progress.calls.last(), Some(&(total, total)));
    unsafe { kitsu_batch_free(batch) };
}
