//! The real Zou behind the fault proxy: a movie's upload dropped inside
//! `publish_preview` leaves exactly one comment and one preview, and a
//! preview download dropped at 50% is continued by Range.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::fault::{Direction, Fault, FaultProxy};
use common::zou::{id, Scene, Zou};
use kitsu::api::{files, task, Options};
use kitsu::{Client, TransferOptions};
use serde_json::Value;

/// A movie of several MB, so a drop can land in its bytes. With a sound
/// track: Zou 1.0.97's worker fails to normalise this video-only movie
/// ("Stream map '0:v' matches no streams" after it adds silence).
fn big_movie(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("shot_big.mp4");
    let status = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=duration=6:size=1280x720:rate=24")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=6"])
        .args(["-c:v", "libx264", "-b:v", "8M", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn a_movie_dropped_inside_publish_preview_is_sent_again_once() {
    let Some(zou) = Zou::get() else { return };
    let scene = Scene::new(zou, "drop");
    let movie = big_movie(scene.dir.path());
    let size = std::fs::metadata(&movie).unwrap().len();
    assert!(size > 3_000_000, "{size}");
    let proxy = FaultProxy::in_front_of(&zou.url);
    let client = Client::new(&proxy.base_for(&zou.url)).unwrap();
    client.log_in(&zou.email, &zou.password).unwrap();
    client
        .update_config(|c| c.retry.initial_delay = Duration::from_millis(100))
        .unwrap();
    proxy.clear_requests();
    // Past the comment and the preview record, inside the movie's bytes.
    proxy.arm(Fault::Reset(Direction::Up, 1_500_000));
    let options = Options::from_value(
        serde_json::json!({"comment": "dropped once"}),
        task::PUBLISH_PREVIEW_OPTIONS,
    )
    .unwrap();
    let answer = task::blocking::publish_preview(
        &client,
        id(&scene.task),
        id(&scene.status),
        &movie,
        &[],
        &options,
        TransferOptions::default(),
    )
    .unwrap();
    assert_eq!(proxy.fired(), 1);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let requests = proxy.requests();
    let count = |test: &dyn Fn(&str) -> bool| requests.iter().filter(|r| test(r)).count();
    assert_eq!(count(&|r| r.ends_with("/comment")), 1, "{requests:?}");
    assert_eq!(count(&|r| r.ends_with("/add-preview")), 1, "{requests:?}");
    // The movie twice; between them the record was read to see if it was stored.
    assert_eq!(
        count(&|r| r.starts_with("POST /api/pictures/preview-files/")),
        2,
        "{requests:?}"
    );
    assert_eq!(
        count(&|r| r.starts_with("GET /api/data/preview-files/")),
        1,
        "{requests:?}"
    );

    // On the server: one comment, one preview, and it holds the movie.
    let comments = scene
        .client
        .get(&format!("data/tasks/{}/comments", id(&scene.task)))
        .unwrap();
    let comments = comments.as_array().unwrap();
    assert_eq!(comments.len(), 1, "{comments:?}");
    let previews = comments[0]["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{previews:?}");
    let preview_id = answer["preview_file"]["id"].as_str().unwrap();
    let record = scene
        .client
        .get(&format!("data/preview-files/{preview_id}"))
        .unwrap();
    assert_eq!(record["extension"], "mp4", "{record}");

    // The same movie, downloaded through the proxy dropped at 50%: continued
    // with Range, identical to a download without faults.
    let direct = Client::new(&zou.url).unwrap();
    direct.log_in(&zou.email, &zou.password).unwrap();
    let plain = scene.path("plain.mp4");
    let resumed = scene.path("resumed.mp4");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        // Directly: the proxy counts bytes per connection, so the faulty
        // download must start on a connection of its own.
        match files::blocking::download_preview_movie(
            &direct,
            preview_id,
            &plain,
            TransferOptions::default(),
        ) {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("waiting for Zou to encode: {e}");
                std::thread::sleep(Duration::from_secs(2));
            }
            Err(e) => panic!("{e}"),
        }
    }
    let length = std::fs::metadata(&plain).unwrap().len();
    proxy.clear_requests();
    proxy.arm(Fault::Reset(Direction::Down, length / 2));
    files::blocking::download_preview_movie(
        &client,
        preview_id,
        &resumed,
        TransferOptions::default(),
    )
    .unwrap();
    assert_eq!(proxy.fired(), 2, "both faults fired");
    assert_eq!(
        std::fs::read(&resumed).unwrap(),
        std::fs::read(&plain).unwrap()
    );
    let ranged: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.contains("Range: bytes="))
        .collect();
    assert_eq!(ranged.len(), 1, "{:?}", proxy.requests());
    let table = format!(
        "| fault (real Zou {size}-byte movie) | outcome | asked again |\n|---|---|---|\n\
         | `publish_preview`: connection dropped at 1.5 MB of the movie | one comment, one preview; the movie sent again after reading the record | the movie's POST |\n\
         | preview movie download dropped at 50% of {length} bytes | resumed, identical | `{}` |\n",
        ranged[0].split(" Range: ").nth(1).unwrap_or("")
    );
    let work = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".work");
    let _ = std::fs::create_dir_all(&work);
    let _ = std::fs::write(work.join("fault-matrix-zou.md"), &table);
    println!("{table}");
}
