//! Issue 21.13: a batch asked for 100,000 transfers in flight under a limit
//! of 1024 open files runs as many as the process can open, and every item
//! succeeds (991 of 1500 failed with "Too many open files" before). A test
//! binary of its own: the limit is the whole process's.

mod common;

use common::{pattern, FakeKitsu};
use kitsu::api::batch::{Batch, Item};
use kitsu::{Client, TransferOptions};

#[test]
fn max_in_flight_is_capped_by_the_open_file_limit() {
    let limit = libc::rlimit {
        rlim_cur: 1024,
        rlim_max: 1024,
    };
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit structs.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut current);
        let lowered = libc::rlimit {
            rlim_cur: limit.rlim_cur.min(current.rlim_max),
            rlim_max: current.rlim_max,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lowered), 0);
    }
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    client.set_tokens(Some(&server.issue_token()), None);
    let dir = tempfile::tempdir().unwrap();
    let mut batch = Batch::new();
    for i in 0..1500 {
        batch
            .add(Item::Download {
                route: "files/fixed/2000".into(),
                target: dir.path().join(format!("{i}.bin")),
            })
            .unwrap();
    }
    let result = batch.run(&client, 100_000, TransferOptions::default());
    let failures: Vec<String> = (0..batch.len())
        .filter_map(|i| match batch.result(i) {
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        })
        .take(3)
        .collect();
    assert!(
        result.is_ok(),
        "{} failed, e.g. {failures:?}",
        batch.failed()
    );
    assert_eq!(batch.succeeded(), 1500);
    assert_eq!(
        std::fs::read(dir.path().join("1499.bin")).unwrap(),
        pattern(2000)
    );
}
