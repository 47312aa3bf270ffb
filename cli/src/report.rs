//! What a run shows while it moves files, and its summary. One reporter
//! serves every transfer command: items are added, libkitsu's events move
//! them along, and each ends once (done, skipped, failed or cancelled).
//!
//! - Terminal (stderr is one indicatif draws on): a bar per active
//!   transfer (name, bytes, speed, ETA, or the phase when no bytes move:
//!   waiting for Zou, retrying) above a total line, as rclone's `-P`.
//! - Plain (a log, CI, NO_COLOR, TERM=dumb): one line per finished file and
//!   a summary line every 10 s, as aria2 does; no escape codes.
//! - JSON: one object per finished item on stdout, then a summary object.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kitsu::{Event, Phase};
use serde_json::{json, Map, Value};

use crate::failure::Failure;

#[derive(Clone, Copy, Debug, Default)]
pub struct OutputOptions {
    pub json: bool,
    pub quiet: bool,
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Terminal,
    Plain,
    Json,
}

impl Mode {
    /// Bars only where indicatif would draw them (stderr a terminal, TERM
    /// not dumb); anything else gets the plain log.
    pub fn detect(options: OutputOptions) -> Mode {
        if options.json {
            Mode::Json
        } else if ProgressDrawTarget::stderr().is_hidden() {
            Mode::Plain
        } else {
            Mode::Terminal
        }
    }
}

/// A line of machine data on stdout. A reader that went away (`| head`)
/// is not an error: the run goes on and ends as it would have.
pub fn stdout_line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|_| stdout.flush());
}

const SUMMARY_EVERY: Duration = Duration::from_secs(10);
const LABEL_WIDTH: usize = 36;

/// How an item ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Done { bytes: u64 },
    Skipped { reason: String },
    Failed { error: String },
    Cancelled,
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "ok",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// An item's outcome from libkitsu's result.
    pub fn of(result: Option<&kitsu::Result<kitsu::transfer::Outcome>>) -> Outcome {
        match result {
            Some(Ok(outcome)) => Outcome::Done {
                bytes: outcome.bytes,
            },
            Some(Err(error)) if matches!(error.root(), kitsu::Error::Cancelled) => {
                Outcome::Cancelled
            }
            Some(Err(error)) => Outcome::Failed {
                error: error.to_string(),
            },
            None => Outcome::Cancelled,
        }
    }
}

/// Where an item's bytes are on this machine.
enum Local {
    Target(PathBuf),
    Files(Vec<PathBuf>),
}

struct Item {
    label: String,
    route: String,
    local: Local,
    /// More fields of its JSON record (a preview id...).
    extra: Map<String, Value>,
    /// Its first event (Queued aside): its seconds count from there.
    started: Option<Instant>,
    /// Its first moving byte: the rate shown leaves out waits for Zou.
    moving_since: Option<Instant>,
    moving_seconds: f64,
    seconds: f64,
    attempts: u32,
    bytes: u64,
    total: u64,
    phase: Option<Phase>,
    look: Option<Look>,
    /// Ended by the command, not by its call's last event (a publish waits
    /// for processing after its upload).
    held: bool,
    bar: Option<ProgressBar>,
    outcome: Option<Outcome>,
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub items: usize,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub bytes: u64,
}

impl Summary {
    /// The command's end: interrupted, some failed, or all done.
    pub fn result(&self, interrupted: bool) -> Result<(), Failure> {
        if interrupted {
            Err(Failure::Interrupted)
        } else if self.failed > 0 || self.cancelled > 0 {
            Err(Failure::ItemsFailed {
                failed: self.failed + self.cancelled,
                total: self.items,
            })
        } else {
            Ok(())
        }
    }
}

pub struct Reporter {
    mode: Mode,
    options: OutputOptions,
    started: Instant,
    multi: Option<MultiProgress>,
    total_bar: Option<ProgressBar>,
    items: Vec<Item>,
    last_summary: Instant,
}

/// What an item's bar shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    /// Bytes of a known total: bar, speed, ETA.
    Bytes,
    /// Bytes of an unknown total.
    Open,
    /// No bytes moving: the phase alone (waiting for Zou, retrying).
    Phase,
}

fn item_style(look: Look) -> ProgressStyle {
    let template = match look {
        Look::Bytes => {
            "{prefix} [{bar:20}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4} {wide_msg}"
        }
        Look::Open => "{prefix} [{bar:20}] {bytes:>10}            {binary_bytes_per_sec:>12}      {wide_msg}",
        Look::Phase => "{prefix} {wide_msg}",
    };
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
}

/// The short text of a phase that moves no bytes (the event's own message
/// is for logs: a bar has one line).
fn phase_text(event: &Event<'_>) -> String {
    let elapsed = event.elapsed.as_secs();
    match event.phase {
        Phase::Waiting => match event.deadline {
            Some(limit) => format!(
                "waiting for Zou to process it: {elapsed} s of {} s",
                limit.as_secs()
            ),
            None => format!("waiting for Zou: {elapsed} s"),
        },
        Phase::Retrying => {
            let left = event
                .deadline
                .unwrap_or_default()
                .saturating_sub(event.elapsed)
                .as_secs_f64();
            format!("retrying in {left:.0} s: {}", event.message)
        }
        Phase::Connecting => "connecting".into(),
        _ => String::new(),
    }
}

fn total_style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{prefix} [{bar:20}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4} {msg}"
    } else {
        "{prefix} {bytes:>10} {binary_bytes_per_sec:>12} {msg}"
    };
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
}

/// `text` in exactly `width` columns: the end kept (a file name is more
/// telling than its folders), padded.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else {
        let tail: String = text.chars().skip(count - (width - 1)).collect();
        format!("…{tail}")
    }
}

fn rate(bytes: u64, seconds: f64) -> String {
    if seconds > 0.0 {
        format!("{}/s", HumanBytes((bytes as f64 / seconds) as u64))
    } else {
        "-".into()
    }
}

impl Reporter {
    pub fn new(options: OutputOptions) -> Reporter {
        let mode = Mode::detect(options);
        let (multi, total_bar) = if mode == Mode::Terminal && !options.quiet {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::no_length());
            total.set_style(total_style(false));
            total.set_prefix(fit("total", LABEL_WIDTH));
            (Some(multi), Some(total))
        } else {
            (None, None)
        };
        let now = Instant::now();
        Reporter {
            mode,
            options,
            started: now,
            multi,
            total_bar,
            items: Vec::new(),
            last_summary: now,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn add(&mut self, label: &str, route: &str, local: Local) -> usize {
        self.items.push(Item {
            label: label.to_string(),
            route: route.to_string(),
            local,
            extra: Map::new(),
            started: None,
            moving_since: None,
            moving_seconds: 0.0,
            seconds: 0.0,
            attempts: 0,
            bytes: 0,
            total: 0,
            phase: None,
            look: None,
            held: false,
            bar: None,
            outcome: None,
        });
        self.refresh_total();
        self.items.len() - 1
    }

    pub fn add_download(&mut self, label: &str, route: &str, target: &Path) -> usize {
        self.add(label, route, Local::Target(target.to_path_buf()))
    }

    pub fn add_upload(&mut self, label: &str, route: &str, files: &[PathBuf]) -> usize {
        self.add(label, route, Local::Files(files.to_vec()))
    }

    /// The item ends when [`Reporter::finish`] says, not at its call's last event.
    pub fn hold(&mut self, index: usize) {
        self.items[index].held = true;
    }

    pub fn set_extra(&mut self, index: usize, key: &str, value: Value) {
        self.items[index].extra.insert(key.to_string(), value);
    }

    /// A line for people (not in JSON mode, nor with --quiet).
    pub fn note(&self, text: &str) {
        if self.mode == Mode::Json || self.options.quiet {
            return;
        }
        self.println(text);
    }

    fn println(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None if self.mode == Mode::Terminal => eprintln!("{text}"),
            None => eprintln!("[{:>7.1}s] {text}", self.started.elapsed().as_secs_f64()),
        }
    }

    /// One of libkitsu's events about item `index` (any call's events: a
    /// batch's items or a single call's).
    pub fn item_event(&mut self, index: usize, event: &Event<'_>) {
        if self.items[index].outcome.is_some() {
            return;
        }
        match event.phase {
            Phase::Queued => return,
            Phase::Done if !self.items[index].held => {
                self.finish(
                    index,
                    Outcome::Done {
                        bytes: event.bytes_done,
                    },
                );
                return;
            }
            Phase::Failed if !self.items[index].held => {
                let outcome = if crate::interrupt::interrupted() {
                    Outcome::Cancelled
                } else {
                    Outcome::Failed {
                        error: event.message.to_string(),
                    }
                };
                self.finish(index, outcome);
                return;
            }
            _ => {}
        }
        let (verbose, plain) = (self.options.verbose, self.mode == Mode::Plain);
        let item = &mut self.items[index];
        item.started.get_or_insert_with(Instant::now);
        if event.phase == Phase::Transferring {
            item.moving_since.get_or_insert_with(Instant::now);
        }
        item.attempts = item.attempts.max(event.attempt);
        // A later call of the same item that moves no bytes (a publish's
        // wait for processing) keeps the bytes shown.
        if event.total > 0 || item.total == 0 {
            item.bytes = event.bytes_done;
            item.total = event.total;
        }
        // The requests of a wait (202 polls) pass through Connecting: a
        // wait is one phase for people.
        let phase_changed = event.phase != Phase::Connecting && item.phase != Some(event.phase);
        if event.phase != Phase::Connecting {
            item.phase = Some(event.phase);
        }
        if let (Some(multi), Some(total_bar)) = (&self.multi, &self.total_bar) {
            let bar = item.bar.get_or_insert_with(|| {
                let bar = multi.insert_before(total_bar, ProgressBar::no_length());
                bar.set_prefix(fit(&item.label, LABEL_WIDTH));
                bar
            });
            let moving = matches!(event.phase, Phase::Transferring)
                || item.bytes > 0 && event.phase == Phase::Connecting;
            let look = match (moving, item.total > 0) {
                (false, _) => Look::Phase,
                (true, true) => Look::Bytes,
                (true, false) => Look::Open,
            };
            if item.look != Some(look) {
                item.look = Some(look);
                bar.set_style(item_style(look));
            }
            if item.total > 0 && bar.length() != Some(item.total) {
                bar.set_length(item.total);
            }
            bar.set_position(item.bytes);
            bar.set_message(phase_text(event));
        }
        if phase_changed
            && verbose
            && plain
            && matches!(event.phase, Phase::Waiting | Phase::Retrying)
        {
            let line = format!("{}: {}", item.label, event.message);
            self.println(&line);
        }
        self.refresh_total();
        self.periodic_summary();
    }

    /// Ends item `index` (once; later calls are ignored).
    pub fn finish(&mut self, index: usize, outcome: Outcome) {
        let item = &mut self.items[index];
        if item.outcome.is_some() {
            return;
        }
        item.seconds = item
            .started
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        item.moving_seconds = item
            .moving_since
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(item.seconds);
        if let Outcome::Done { bytes } = outcome {
            item.bytes = bytes;
        }
        if let Some(bar) = item.bar.take() {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(&bar);
            }
        }
        item.outcome = Some(outcome.clone());
        let (label, seconds, bytes) = (item.label.clone(), item.seconds, item.bytes);
        let moving = item.moving_seconds;
        match self.mode {
            Mode::Json => {
                stdout_line(&self.record(index).to_string());
            }
            _ => {
                let line = match &outcome {
                    Outcome::Done { .. } => (!self.options.quiet
                        && (self.mode == Mode::Plain || self.options.verbose))
                        .then(|| {
                            let waited = seconds - moving;
                            let waited = if waited >= 1.0 {
                                format!(", after {waited:.1} s waiting")
                            } else {
                                String::new()
                            };
                            format!(
                                "done     {label}  {} in {seconds:.1} s ({}{waited})",
                                HumanBytes(bytes),
                                rate(bytes, moving)
                            )
                        }),
                    Outcome::Skipped { reason } => self
                        .options
                        .verbose
                        .then(|| format!("skipped  {label}  ({reason})")),
                    Outcome::Failed { error } => Some(format!("FAILED   {label}: {error}")),
                    Outcome::Cancelled => {
                        self.options.verbose.then(|| format!("cancelled {label}"))
                    }
                };
                if let Some(line) = line {
                    self.println(&line);
                }
            }
        }
        self.refresh_total();
        self.periodic_summary();
    }

    /// Ends every item of `batch` that its events have not ended, from its
    /// results (items a cancel kept from starting report no event).
    pub fn settle(&mut self, batch: &kitsu::api::batch::Batch, indices: &[usize]) {
        for (batch_index, &index) in indices.iter().enumerate() {
            if self.items[index].outcome.is_none() {
                self.finish(index, Outcome::of(batch.result(batch_index)));
            }
        }
    }

    fn record(&self, index: usize) -> Value {
        let item = &self.items[index];
        let mut record = Map::new();
        record.insert("type".into(), json!("item"));
        record.insert("route".into(), json!(item.route));
        match &item.local {
            Local::Target(target) => record.insert("target".into(), json!(target)),
            Local::Files(files) => record.insert("files".into(), json!(files)),
        };
        record.insert("bytes".into(), json!(item.bytes));
        record.insert(
            "seconds".into(),
            json!((item.seconds * 1000.0).round() / 1000.0),
        );
        record.insert("attempts".into(), json!(item.attempts));
        let outcome = item.outcome.as_ref().unwrap_or(&Outcome::Cancelled);
        record.insert("result".into(), json!(outcome.name()));
        match outcome {
            Outcome::Failed { error } => {
                record.insert("error".into(), json!(error));
            }
            Outcome::Skipped { reason } => {
                record.insert("reason".into(), json!(reason));
            }
            _ => {}
        }
        record.extend(item.extra.clone());
        Value::Object(record)
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            items: self.items.len(),
            ..Summary::default()
        };
        for item in &self.items {
            match &item.outcome {
                Some(Outcome::Done { bytes }) => {
                    summary.done += 1;
                    summary.bytes += bytes;
                }
                Some(Outcome::Skipped { .. }) => summary.skipped += 1,
                Some(Outcome::Failed { .. }) => summary.failed += 1,
                Some(Outcome::Cancelled) => summary.cancelled += 1,
                None => {}
            }
        }
        summary
    }

    /// Bytes moved so far, finished items and active ones.
    fn moved(&self) -> u64 {
        self.items
            .iter()
            .map(|item| match item.outcome {
                None | Some(Outcome::Done { .. }) => item.bytes,
                _ => 0,
            })
            .sum()
    }

    fn summary_line(&self) -> String {
        let summary = self.summary();
        let active = self
            .items
            .iter()
            .filter(|i| i.outcome.is_none() && i.started.is_some())
            .count();
        let seconds = self.started.elapsed().as_secs_f64();
        let moved = self.moved();
        let mut line = format!(
            "{}/{} files, {} in {:.1} s ({})",
            summary.done + summary.skipped,
            summary.items,
            HumanBytes(moved),
            seconds,
            rate(moved, seconds)
        );
        if summary.skipped > 0 {
            line += &format!(", {} already here", summary.skipped);
        }
        if active > 0 {
            line += &format!(", {active} active");
        }
        if summary.failed > 0 {
            line += &format!(", {} failed", summary.failed);
        }
        if summary.cancelled > 0 {
            line += &format!(", {} cancelled", summary.cancelled);
        }
        line
    }

    fn periodic_summary(&mut self) {
        if self.mode == Mode::Plain
            && !self.options.quiet
            && self.last_summary.elapsed() >= SUMMARY_EVERY
        {
            self.last_summary = Instant::now();
            let line = self.summary_line();
            self.println(&line);
        }
    }

    fn refresh_total(&self) {
        let Some(bar) = &self.total_bar else { return };
        let summary = self.summary();
        let mut total = 0u64;
        let mut all_known = true;
        for item in &self.items {
            match item.outcome {
                None if item.total == 0 => all_known = false,
                None => total += item.total,
                Some(Outcome::Done { bytes }) => total += bytes,
                Some(_) => {}
            }
        }
        if all_known && total > 0 {
            if bar.length() != Some(total) {
                bar.set_style(total_style(true));
                bar.set_length(total);
            }
        } else if bar.length().is_some() {
            bar.set_style(total_style(false));
            bar.unset_length();
        }
        bar.set_prefix(fit(
            &format!(
                "total {}/{} files",
                summary.done + summary.skipped,
                summary.items
            ),
            LABEL_WIDTH,
        ));
        let errors = summary.failed + summary.cancelled;
        bar.set_message(if errors > 0 {
            format!("{errors} failed")
        } else {
            String::new()
        });
        bar.set_position(self.moved());
    }

    /// Clears the bars and prints the summary (the failures listed, each
    /// with its error); returns the counts.
    pub fn close(self, interrupted: bool) -> Summary {
        if let Some(multi) = &self.multi {
            for item in &self.items {
                if let Some(bar) = &item.bar {
                    bar.finish_and_clear();
                }
            }
            if let Some(bar) = &self.total_bar {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
        }
        let summary = self.summary();
        let seconds = self.started.elapsed().as_secs_f64();
        if self.mode == Mode::Json {
            let record = json!({
                "type": "summary",
                "items": summary.items,
                "done": summary.done,
                "skipped": summary.skipped,
                "failed": summary.failed,
                "cancelled": summary.cancelled,
                "bytes": summary.bytes,
                "seconds": (seconds * 1000.0).round() / 1000.0,
                "interrupted": interrupted,
            });
            stdout_line(&record.to_string());
            return summary;
        }
        let failures: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| matches!(i.outcome, Some(Outcome::Failed { .. })))
            .collect();
        if !self.options.quiet || !failures.is_empty() || interrupted {
            let head = if interrupted { "interrupted: " } else { "" };
            eprintln!("{head}{}", self.summary_line());
        }
        if !failures.is_empty() {
            eprintln!("failed:");
            for item in failures {
                if let Some(Outcome::Failed { error }) = &item.outcome {
                    eprintln!("  {}: {error}", item.label);
                }
            }
        }
        summary
    }
}
