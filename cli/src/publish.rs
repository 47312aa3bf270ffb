//! `kitsu publish`: a comment with a status on a task, the first file as its
//! preview and the others as extra previews of the same revision (gazu's
//! publish_preview and add_extra_preview), then the wait for Zou to build
//! the variants, shown as the waiting phase.

use std::path::PathBuf;
use std::time::Duration;

use kitsu::api::{files, task, Options};
use kitsu::{Client, Event, TransferOptions};
use serde_json::{json, Value};

use crate::args::PublishArgs;
use crate::failure::Failure;
use crate::interrupt;
use crate::report::{Mode, Outcome, OutputOptions, Reporter};

/// How often Zou is asked whether a preview is processed.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub fn publish_command(
    client: &Client,
    args: &PublishArgs,
    output: OutputOptions,
    processing_timeout: Duration,
) -> Result<(), Failure> {
    let mut reporter = Reporter::new(output);
    let published = publish(
        client,
        &mut reporter,
        &Publication {
            task_id: &args.task,
            status: &args.status,
            comment: &args.comment,
            files: &args.files,
            wait: Some(processing_timeout),
        },
    );
    let json_mode = reporter.mode() == Mode::Json;
    let interrupted = interrupt::interrupted();
    let summary = reporter.close(interrupted);
    let published = published?;
    if !json_mode {
        for id in published.preview_ids.iter().flatten() {
            crate::report::stdout_line(id);
        }
    }
    summary.result(interrupted)
}

pub struct Publication<'a> {
    pub task_id: &'a str,
    /// The task status's short name.
    pub status: &'a str,
    pub comment: &'a str,
    pub files: &'a [PathBuf],
    /// Wait up to this long for each preview to be processed.
    pub wait: Option<Duration>,
}

pub struct Published {
    pub comment_id: Option<String>,
    /// One per file, in order; `None` for a file that did not make it.
    pub preview_ids: Vec<Option<String>>,
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Runs one call whose events go to item `index` of `reporter`.
fn in_call<T>(
    client: &Client,
    reporter: &mut Reporter,
    index: usize,
    run: impl AsyncFnOnce(&mut kitsu::Call<'_>) -> kitsu::Result<T>,
) -> kitsu::Result<T> {
    let mut on_event = |event: &Event<'_>| {
        reporter.item_event(index, event);
        true
    };
    let options = TransferOptions {
        on_event: Some(&mut on_event),
        cancel: Some(interrupt::token()),
        ..TransferOptions::default()
    };
    client.run(options, run)
}

/// Publishes `publication.files` as items of `reporter`. Errors that stop
/// everything (an unknown status, a missing file) are returned; a file that
/// fails is reported as a failed item.
pub fn publish(
    client: &Client,
    reporter: &mut Reporter,
    publication: &Publication<'_>,
) -> Result<Published, Failure> {
    for file in publication.files {
        if !file.is_file() {
            return Err(Failure::Usage(format!("{}: no such file", file.display())));
        }
    }
    let status = serde_json::from_str::<Value>(&task::get_task_status_by_short_name(
        client,
        publication.status,
    )?)
    .unwrap_or(Value::Null);
    let Some(status_id) = status.get("id").and_then(Value::as_str) else {
        return Err(Failure::Usage(format!(
            "no task status with the short name {:?}",
            publication.status
        )));
    };
    let task_id = publication.task_id;
    let indices: Vec<usize> = publication
        .files
        .iter()
        .map(|file| {
            let index = reporter.add_upload(
                &file_name(file),
                &format!("actions/tasks/{task_id}/comments/new"),
                std::slice::from_ref(file),
            );
            reporter.hold(index);
            index
        })
        .collect();
    let mut published = Published {
        comment_id: None,
        preview_ids: vec![None; publication.files.len()],
    };
    let options = Options::from_value(
        json!({"comment": publication.comment}),
        task::PUBLISH_PREVIEW_OPTIONS,
    )?;
    let first = &publication.files[0];
    let answer = in_call(client, reporter, indices[0], async |call| {
        task::publish_preview(client, call, task_id, status_id, first, &[], &options).await
    });
    let answer = match answer {
        Ok(answer) => serde_json::from_str::<Value>(&answer).unwrap_or(Value::Null),
        Err(error) => {
            let reason = error.to_string();
            reporter.finish(indices[0], failed(error));
            for &index in &indices[1..] {
                reporter.finish(
                    index,
                    Outcome::Failed {
                        error: format!("not sent: the first preview failed ({reason})"),
                    },
                );
            }
            return Ok(published);
        }
    };
    let comment_id = answer["comment"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let first_id = answer["preview_file"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    published.comment_id = Some(comment_id.clone());
    published.preview_ids[0] = Some(first_id.clone());
    for (position, file) in publication.files.iter().enumerate().skip(1) {
        let index = indices[position];
        let answer = in_call(client, reporter, index, async |call| {
            task::add_extra_preview(
                client,
                call,
                task_id,
                &comment_id,
                &first_id,
                file,
                &Options::default(),
            )
            .await
        });
        match answer {
            Ok(answer) => {
                let record = serde_json::from_str::<Value>(&answer).unwrap_or(Value::Null);
                published.preview_ids[position] = record["id"].as_str().map(str::to_string);
            }
            Err(error) => reporter.finish(index, failed(error)),
        }
    }
    for (position, id) in published.preview_ids.iter().enumerate() {
        let (index, Some(id)) = (indices[position], id) else {
            continue;
        };
        reporter.set_extra(index, "preview_id", json!(id));
        reporter.set_extra(index, "comment_id", json!(comment_id));
        let bytes = std::fs::metadata(&publication.files[position])
            .map(|m| m.len())
            .unwrap_or(0);
        let Some(timeout) = publication.wait else {
            reporter.finish(index, Outcome::Done { bytes });
            continue;
        };
        let record = in_call(client, reporter, index, async |call| {
            files::wait_for_preview_file(client, call, id, timeout, POLL_INTERVAL).await
        });
        let outcome = match record {
            Ok(record) => {
                let record = serde_json::from_str::<Value>(&record).unwrap_or(Value::Null);
                let status = record["status"].as_str().unwrap_or("unknown").to_string();
                reporter.set_extra(index, "status", json!(status));
                if status == "broken" {
                    Outcome::Failed {
                        error: format!("Zou could not process preview {id} (status broken)"),
                    }
                } else {
                    Outcome::Done { bytes }
                }
            }
            Err(error) => failed(error),
        };
        reporter.finish(index, outcome);
    }
    Ok(published)
}

fn failed(error: kitsu::Error) -> Outcome {
    if matches!(error.root(), kitsu::Error::Cancelled) {
        Outcome::Cancelled
    } else {
        Outcome::Failed {
            error: error.to_string(),
        }
    }
}
