//! Batches and segmented downloads through the Rust API, against the fake
//! server: what the C program (tests/c/batch.c) cannot see from outside.

mod common;

use std::path::Path;
use std::time::Instant;

use common::fault::{Direction, Fault, FaultProxy};
use common::{pattern, FakeKitsu, EMAIL, PASSWORD};
use kitsu::api::batch::{Batch, Item};
use kitsu::api::files::PreviewKind;
use kitsu::api::raw::blocking as raw;
use kitsu::{Client, Event, Operation, Phase, TransferOptions};

const MIB: usize = 1024 * 1024;

fn logged_in(base: &str) -> Client {
    let client = Client::new(base).unwrap();
    client.log_in(EMAIL, PASSWORD).unwrap();
    client
        .update_config(|c| c.retry.initial_delay = std::time::Duration::from_millis(20))
        .unwrap();
    client
}

fn segmented(segments: u32, progress: &mut dyn FnMut(u64, u64) -> bool) -> TransferOptions<'_> {
    TransferOptions {
        progress: Some(progress),
        segments,
        ..TransferOptions::default()
    }
}

fn ranges(server: &FakeKitsu, route: &str) -> Vec<String> {
    let mut seen: Vec<String> = server
        .state
        .lock()
        .unwrap()
        .ranges
        .iter()
        .filter(|r| r.starts_with(&format!("/api/{route} ")))
        .map(|r| r.rsplit(' ').next().unwrap().to_string())
        .collect();
    seen.sort();
    seen
}

fn hidden_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn a_ranged_file_comes_in_four_segments_with_the_progress_contract() {
    let server = FakeKitsu::start();
    let client = logged_in(&server.base);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("movie.mp4");
    let len = 5 * MIB;
    let mut calls = Vec::new();
    let mut progress = |done, total| {
        calls.push((done, total));
        true
    };
    let route = format!("files/ranged/{len}");
    let count = raw::download(&client, &route, &target, segmented(4, &mut progress)).unwrap();
    assert_eq!(count, len as u64);
    assert_eq!(std::fs::read(&target).unwrap(), pattern(len));
    // One open-ended request, then the other three segments, bounded.
    let quarter = (len as u64).div_ceil(4);
    let mut expected = vec!["bytes=0-".to_string()];
    for i in 1..4u64 {
        expected.push(format!(
            "bytes={}-{}",
            i * quarter,
            ((i + 1) * quarter).min(len as u64) - 1
        ));
    }
    expected.sort();
    assert_eq!(ranges(&server, &route), expected);
    assert_eq!(calls.last(), Some(&(len as u64, len as u64)));
    assert!(calls.windows(2).all(|w| w[1].0 >= w[0].0), "{calls:?}");
    assert!(calls.iter().all(|&(d, t)| t == 0 || d <= t));
    assert!(hidden_files(dir.path()).is_empty());
}

#[test]
fn segments_fall_back_to_one_stream_where_ranges_are_not_answered_or_the_file_is_small() {
    let server = FakeKitsu::start();
    let client = logged_in(&server.base);
    let dir = tempfile::tempdir().unwrap();
    let mut progress = |_, _| true;
    // No ranges: the server answers 200 with the whole body.
    let target = dir.path().join("whole.bin");
    let route = format!("files/fixed/{}", 3 * MIB);
    raw::download(&client, &route, &target, segmented(4, &mut progress)).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(3 * MIB));
    // Smaller than two segments: one request.
    let target = dir.path().join("small.bin");
    let route = "files/ranged/1500000";
    raw::download(&client, route, &target, segmented(4, &mut progress)).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(1_500_000));
    assert_eq!(ranges(&server, route), vec!["bytes=0-"]);
    assert!(hidden_files(dir.path()).is_empty());
}

#[test]
fn a_segment_cut_short_is_asked_again_only_for_what_is_missing() {
    let server = FakeKitsu::start();
    let proxy = FaultProxy::in_front_of(&server.base);
    let client = logged_in(&proxy.base_for(&server.base));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cut.bin");
    let len = 4 * MIB;
    proxy.clear_requests();
    // Whichever connection first carries 600 KB down is reset.
    proxy.arm(Fault::Reset(Direction::Down, 600_000));
    let mut progress = |_, _| true;
    let route = format!("files/ranged/{len}");
    raw::download(&client, &route, &target, segmented(4, &mut progress)).unwrap();
    assert_eq!(proxy.fired(), 1);
    assert_eq!(std::fs::read(&target).unwrap(), pattern(len));
    let asked = ranges(&server, &route);
    // 4 first requests, then one more for the rest of the cut segment.
    assert_eq!(asked.len(), 5, "{asked:?}");
    let segment = (len as u64).div_ceil(4);
    let continued = asked
        .iter()
        .filter_map(|r| r.strip_prefix("bytes=")?.split_once('-'))
        .filter_map(|(from, _)| from.parse::<u64>().ok())
        .filter(|from| from % segment != 0)
        .count();
    assert_eq!(
        continued, 1,
        "the retry starts inside its segment: {asked:?}"
    );
    assert!(hidden_files(dir.path()).is_empty());
}

/// A segmented download that fails leaves nothing behind, and the file
/// already at the target is untouched.
#[test]
fn a_failed_segmented_download_leaves_the_target_as_it_was() {
    let server = FakeKitsu::start();
    let proxy = FaultProxy::in_front_of(&server.base);
    let client = logged_in(&proxy.base_for(&server.base));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("kept.bin");
    std::fs::write(&target, b"precious").unwrap();
    proxy.arm(Fault::Reset(Direction::Down, 600_000));
    let mut progress = |_, _| true;
    let options = TransferOptions {
        retry: kitsu::transfer::RetryOverride {
            max_attempts: Some(1),
            ..Default::default()
        },
        ..segmented(4, &mut progress)
    };
    let error = raw::download(
        &client,
        &format!("files/ranged/{}", 4 * MIB),
        &target,
        options,
    )
    .unwrap_err();
    assert!(
        matches!(error.root(), kitsu::Error::IncompleteBody { .. }),
        "{error}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert!(hidden_files(dir.path()).is_empty());
}

/// 202 waits of several items overlap: while one waits, the others wait or move.
#[test]
fn the_processing_waits_of_batch_items_overlap() {
    let server = FakeKitsu::start();
    let client = logged_in(&server.base);
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Batch::new();
    for i in 0..4 {
        batch
            .add(Item::Download {
                // 202 (Retry-After 1) once, then the file.
                route: format!("files/processing/overlap-{i}/1"),
                target: dir.path().join(format!("{i}.png")),
            })
            .unwrap();
    }
    let started = Instant::now();
    let mut waiting: Vec<(u32, f64, Phase)> = Vec::new();
    let mut batch_phases = Vec::new();
    let mut on_event = |event: &Event<'_>| {
        if event.operation == Operation::Batch {
            batch_phases.push(event.phase);
        } else {
            waiting.push((
                event.item_index,
                started.elapsed().as_secs_f64(),
                event.phase,
            ));
        }
        true
    };
    batch
        .run(
            &client,
            4,
            TransferOptions {
                on_event: Some(&mut on_event),
                ..TransferOptions::default()
            },
        )
        .unwrap();
    // Each item's first Waiting and its Done: the intervals all intersect.
    let mut spans = Vec::new();
    for item in 0..4 {
        let first = |phase| {
            waiting
                .iter()
                .find(|(i, _, p)| *i == item && *p == phase)
                .map(|(_, t, _)| *t)
                .unwrap()
        };
        spans.push((first(Phase::Waiting), first(Phase::Done)));
    }
    let latest_start = spans.iter().map(|s| s.0).fold(0.0, f64::max);
    let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(
        latest_start < earliest_end,
        "every item waited at the same time: {spans:?}"
    );
    assert_eq!(batch_phases.first(), Some(&Phase::Connecting));
    assert_eq!(batch_phases.last(), Some(&Phase::Done));
    assert_eq!(batch.succeeded(), 4);
}

/// Preview items: the original with the caller's extension costs no record
/// request; without it the record is read, as gazu does.
#[test]
fn preview_items_read_the_record_only_when_the_extension_is_missing() {
    let server = FakeKitsu::start();
    let client = logged_in(&server.base);
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Batch::new();
    let with = "0e5ad4bd-0000-4000-8000-000000000010";
    let without = "0e5ad4bd-0000-4000-8000-000000000020";
    for (id, extension) in [(with, Some("png".to_string())), (without, None)] {
        batch
            .add(Item::Preview {
                id: id.into(),
                kind: PreviewKind::Original,
                extension,
                target: dir.path().join(format!("{id}.png")),
            })
            .unwrap();
    }
    batch.run(&client, 0, TransferOptions::default()).unwrap();
    let requests = server.state.lock().unwrap().requests.clone();
    let records = |id: &str| {
        requests
            .iter()
            .filter(|r| *r == &format!("GET /api/data/preview-files/{id}"))
            .count()
    };
    assert_eq!(records(with), 0, "{requests:?}");
    assert_eq!(records(without), 1, "{requests:?}");
    for (index, id) in [with, without].into_iter().enumerate() {
        let bytes = std::fs::read(dir.path().join(format!("{id}.png"))).unwrap();
        assert_eq!(bytes, pattern(20_000));
        assert_eq!(batch.result(index).unwrap().as_ref().unwrap().bytes, 20_000);
    }
}

/// A batch of segmented downloads: both options at once.
#[test]
fn a_batch_of_segmented_downloads() {
    let server = FakeKitsu::start();
    let client = logged_in(&server.base);
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Batch::new();
    for i in 0..3 {
        batch
            .add(Item::Download {
                route: format!("files/ranged/{}", 3 * MIB + i),
                target: dir.path().join(format!("{i}.bin")),
            })
            .unwrap();
    }
    let mut calls = Vec::new();
    let mut progress = |done, total| {
        calls.push((done, total));
        true
    };
    batch.run(&client, 3, segmented(3, &mut progress)).unwrap();
    for i in 0..3 {
        assert_eq!(
            std::fs::read(dir.path().join(format!("{i}.bin"))).unwrap(),
            pattern(3 * MIB + i)
        );
    }
    let total = (9 * MIB + 3) as u64;
    assert_eq!(calls.last(), Some(&(total, total)));
    assert!(calls.windows(2).all(|w| w[1].0 >= w[0].0));
    assert!(hidden_files(dir.path()).is_empty());
}
