//! The generic commands: any route to a file or from files (gazu's
//! raw.download and raw.upload, through the batch engine so they show and
//! end like every other transfer), JSON routes, completions.

use clap::CommandFactory;
use kitsu::api::batch::{Batch, Item};
use kitsu::api::form_fields_from_json;
use kitsu::Client;
use serde_json::json;

use crate::args::{Cli, DownloadArgs, UploadArgs};
use crate::failure::Failure;
use crate::interrupt;
use crate::previews::{discard_partials, run_batch, sha256_of, sha256sum_line, RunSettings};
use crate::report::{Mode, OutputOptions, Reporter};

fn route_of(route: &str) -> &str {
    route.trim_start_matches('/')
}

pub fn download(
    client: &Client,
    args: &DownloadArgs,
    output: OutputOptions,
) -> Result<(), Failure> {
    let route = route_of(&args.route);
    let mut batch = Batch::new();
    batch.add(Item::Download {
        route: route.to_string(),
        target: args.target.clone(),
    })?;
    let mut reporter = Reporter::new(output);
    let label = args.target.display().to_string();
    let indices = [reporter.add_download(&label, route, &args.target)];
    let cancel = interrupt::token();
    let settings = RunSettings {
        jobs: 1,
        segments: args.segments,
        checksum: args.checksum,
    };
    let outcome = run_batch(
        client,
        &mut batch,
        &mut reporter,
        &indices,
        settings,
        &cancel,
    );
    let interrupted = interrupt::interrupted() || matches!(outcome, Err(kitsu::Error::Cancelled));
    if interrupted {
        discard_partials(&batch, std::slice::from_ref(&args.target));
    }
    let json_mode = reporter.mode() == Mode::Json;
    let summary = reporter.close(interrupted);
    if let (false, Some(digest)) = (json_mode, sha256_of(&batch, 0)) {
        crate::report::stdout_line(&sha256sum_line(&digest, &args.target));
    }
    summary.result(interrupted)
}

pub fn upload(client: &Client, args: &UploadArgs, output: OutputOptions) -> Result<(), Failure> {
    let route = route_of(&args.route);
    let fields = match &args.form {
        Some(form) => form_fields_from_json(form)?,
        None => Vec::new(),
    };
    let mut batch = Batch::new();
    batch.add(Item::Upload {
        route: route.to_string(),
        files: args.files.clone(),
        fields,
    })?;
    let mut reporter = Reporter::new(output);
    let label = match args.files.as_slice() {
        [one] => one.display().to_string(),
        many => format!("{} files", many.len()),
    };
    let indices = [reporter.add_upload(&label, route, &args.files)];
    let answer = |batch: &Batch| {
        batch
            .result(0)
            .and_then(|r| r.as_ref().ok())
            .and_then(|outcome| outcome.answer.clone())
    };
    let cancel = interrupt::token();
    // The answer goes in the item's record, so it is set before the item ends.
    let settings = RunSettings {
        jobs: 1,
        segments: 1,
        checksum: args.checksum,
    };
    let outcome = run_batch(
        client,
        &mut batch,
        &mut reporter,
        &indices,
        settings,
        &cancel,
    );
    let interrupted = interrupt::interrupted() || matches!(outcome, Err(kitsu::Error::Cancelled));
    let json_mode = reporter.mode() == Mode::Json;
    let answer = answer(&batch);
    if json_mode {
        if let Some(text) = &answer {
            let value = serde_json::from_str(text).unwrap_or_else(|_| json!(text));
            crate::report::stdout_line(
                &json!({"type": "answer", "route": route, "answer": value}).to_string(),
            );
        }
    }
    let summary = reporter.close(interrupted);
    if !json_mode {
        if let Some(text) = answer {
            crate::report::stdout_line(&text);
        }
        // The first file's: a batch item's upload carries one digest.
        if let (Some(digest), Some(file)) = (sha256_of(&batch, 0), args.files.first()) {
            crate::report::stdout_line(&sha256sum_line(&digest, file));
        }
    }
    summary.result(interrupted)
}

pub fn get(client: &Client, route: &str) -> Result<(), Failure> {
    crate::report::stdout_line(&client.get(route_of(route))?);
    Ok(())
}

pub fn post(client: &Client, route: &str, body: &str) -> Result<(), Failure> {
    crate::report::stdout_line(&client.post(route_of(route), Some(body))?);
    Ok(())
}

pub fn completions(shell: clap_complete::Shell) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "kitsu", &mut std::io::stdout());
}
