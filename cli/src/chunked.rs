//! `kitsu upload --resumable|--tus URL FILE...`: chunked uploads to an
//! upload service, one file after the other, each an item of the report.

use std::path::Path;

use kitsu::transfer::checksum::hex;
use kitsu::transfer::{resumable, tus, ChunkedOptions, ChunkedOutcome, Receipt, UrlStore};
use kitsu::{Client, Event, TransferOptions};
use serde_json::json;

use crate::args::UploadArgs;
use crate::failure::Failure;
use crate::interrupt;
use crate::previews::sha256sum_line;
use crate::report::{Mode, Outcome, OutputOptions, Reporter};

pub fn upload(client: &Client, args: &UploadArgs, output: OutputOptions) -> Result<(), Failure> {
    let options = chunked_options(args)?;
    let mut reporter = Reporter::new(output);
    let indices: Vec<usize> = args
        .files
        .iter()
        .map(|file| {
            reporter.add_upload(
                &file.display().to_string(),
                &args.route,
                std::slice::from_ref(file),
            )
        })
        .collect();
    let cancel = interrupt::token();
    let mut sums = Vec::new();
    for (file, &index) in args.files.iter().zip(&indices) {
        if cancel.is_cancelled() {
            reporter.finish(index, Outcome::Cancelled);
            continue;
        }
        reporter.hold(index);
        let mut receipt = Receipt::default();
        let result = {
            let mut on_event = |event: &Event<'_>| {
                reporter.item_event(index, event);
                true
            };
            let transfer = TransferOptions {
                on_event: Some(&mut on_event),
                cancel: Some(cancel.clone()),
                checksum: args.checksum,
                receipt: Some(&mut receipt),
                ..TransferOptions::default()
            };
            send(client, args, file, &options, transfer)
        };
        match result {
            Ok(outcome) => {
                if let Some(digest) = receipt.sha256.first() {
                    reporter.set_extra(index, "sha256", json!(hex(digest)));
                    sums.push(sha256sum_line(digest, file));
                }
                reporter.set_extra(index, "upload", json!(outcome.upload));
                reporter.set_extra(index, "chunks", json!(outcome.chunks));
                reporter.set_extra(index, "chunks_sent", json!(outcome.chunks_sent));
                reporter.set_extra(index, "chunks_skipped", json!(outcome.chunks_skipped));
                let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
                reporter.finish(index, Outcome::Done { bytes: size });
            }
            Err(error) => reporter.finish(index, Outcome::of(Some(&Err(error)))),
        }
    }
    let interrupted = interrupt::interrupted();
    let json_mode = reporter.mode() == Mode::Json;
    let summary = reporter.close(interrupted);
    if !json_mode {
        for line in sums {
            crate::report::stdout_line(&line);
        }
    }
    summary.result(interrupted)
}

fn send(
    client: &Client,
    args: &UploadArgs,
    file: &Path,
    options: &ChunkedOptions,
    transfer: TransferOptions<'_>,
) -> kitsu::Result<ChunkedOutcome> {
    if args.tus {
        tus::upload(client, &args.route, file, options, transfer)
    } else {
        resumable::upload(client, &args.route, file, options, transfer)
    }
}

fn chunked_options(args: &UploadArgs) -> Result<ChunkedOptions, Failure> {
    let headers = args
        .headers
        .iter()
        .map(|header| {
            header
                .split_once(':')
                .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
                .ok_or_else(|| {
                    Failure::Usage(format!("--header {header:?}: write it as \"Name: value\""))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ChunkedOptions {
        chunk_size: args.chunk_size,
        simultaneous: args.simultaneous,
        headers,
        test_chunks: !args.no_test_chunks,
        relative_path: None,
        store: match &args.store {
            Some(path) => UrlStore::At(path.clone()),
            None => UrlStore::Default,
        },
        terminate_on_cancel: args.terminate_on_cancel,
    })
}
