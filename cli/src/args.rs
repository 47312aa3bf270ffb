//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::OutputOptions;

const ENVIRONMENT: &str = "\
Environment:
  KITSU_HOST      the server's API, e.g. https://kitsu.example.com/api (or --host)
  KITSU_EMAIL     the account's email, with KITSU_PASSWORD
  KITSU_PASSWORD  the account's password (never taken on the command line)
  KITSU_TOKEN     an access token, instead of the email and password

Exit status: 0 all done, 1 some items failed (listed at the end), 2 usage
error (also an unknown project, task type or status), 3 authentication
failed, 4 server unreachable, 130 interrupted (Ctrl-C).";

/// Transfers with Kitsu (Zou) through libkitsu: previews in batches,
/// publishing, any route to or from files.
#[derive(Parser, Debug)]
#[command(name = "kitsu", version, after_help = ENVIRONMENT)]
pub struct Cli {
    /// The server's API URL.
    #[arg(long, env = "KITSU_HOST", global = true, hide_env_values = true)]
    pub host: Option<String>,
    /// One JSON object per finished item on stdout, then a summary object.
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Every finished file, waits and retries too.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// How long to wait for Zou to process a new preview (a download
    /// answered 202, a publish waiting for its variants).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 600)]
    pub processing_timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn output(&self) -> OutputOptions {
        OutputOptions {
            json: self.json,
            quiet: self.quiet,
            verbose: self.verbose,
        }
    }

    pub fn processing_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.processing_timeout)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every preview of the chosen projects into
    /// DIR/<project>/<entity>/<task type>/<revision>-<name>.<ext>, N at a
    /// time; files already there with the right size are skipped, partial
    /// ones (from a killed run) resumed.
    DownloadPreviews(DownloadPreviewsArgs),
    /// Uploads FILE as a new preview of a task, with a comment and a status
    /// (more files become extra previews of the same revision), waits for
    /// Zou to process them and prints the preview ids.
    Publish(PublishArgs),
    /// Any route to a file (gazu's raw.download).
    Download(DownloadArgs),
    /// Files (parts file, file-1, ...) and form fields to a route (gazu's raw.upload).
    Upload(UploadArgs),
    /// GETs a JSON route; the answer on stdout.
    Get { route: String },
    /// POSTs JSON to a route; the answer on stdout.
    Post {
        route: String,
        /// The request's body, a JSON value (`--json` is the output flag).
        #[arg(value_name = "JSON")]
        body: String,
    },
    /// A completion script for SHELL on stdout.
    Completions { shell: clap_complete::Shell },
    /// Creates a demo project on the server, publishes generated previews,
    /// uploads working files, then downloads every preview of the project.
    Demo(DemoArgs),
}

/// What of a preview to download.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The file as Zou stores it (pictures as uploaded, movies normalized).
    Original,
    /// The PNG thumbnail.
    Thumbnail,
    /// The full-definition movie (movies only).
    Movie,
    /// The low-definition movie (movies only).
    Lowdef,
}

#[derive(Args, Debug, Clone)]
pub struct DownloadPreviewsArgs {
    /// A project by name (repeat for more); every open project without it.
    #[arg(long = "project", value_name = "NAME")]
    pub projects: Vec<String>,
    /// Only tasks of this task type (its name).
    #[arg(long, value_name = "NAME")]
    pub task_type: Option<String>,
    /// Only tasks in this status (its short name, e.g. wfa).
    #[arg(long, value_name = "SHORT")]
    pub status: Option<String>,
    #[arg(long, value_enum, default_value_t = Kind::Original)]
    pub kind: Kind,
    #[arg(long, value_name = "DIR", default_value = "kitsu-previews")]
    pub out: PathBuf,
    /// Transfers in flight at once.
    #[arg(long, short, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Only each task's newest revision.
    #[arg(long)]
    pub latest_only: bool,
    /// Lists what would be downloaded; writes nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// On Ctrl-C, keep what the interrupted downloads received, for the next
    /// run to resume (by default nothing partial is left).
    #[arg(long)]
    pub keep_partial: bool,
    /// The SHA-256 of every file, computed while it downloads, in each
    /// item's record and in DIR/SHA256SUMS (files already there are read
    /// for it), which `sha256sum -c` checks.
    #[arg(long)]
    pub checksum: bool,
}

#[derive(Args, Debug, Clone)]
pub struct PublishArgs {
    /// The task's id.
    #[arg(long, value_name = "ID")]
    pub task: String,
    /// The task status to set, by short name (e.g. wfa).
    #[arg(long, value_name = "SHORT")]
    pub status: String,
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
    /// The preview, then extra previews of the same revision.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// A route under the API, e.g. pictures/thumbnails/preview-files/<id>.png.
    pub route: String,
    pub target: PathBuf,
    /// Streams at once over byte ranges (a server that honours Range).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub segments: u32,
    /// Prints the file's SHA-256, computed while it downloads, as
    /// `sha256sum` does (in the JSON record with --json).
    #[arg(long)]
    pub checksum: bool,
}

#[derive(Args, Debug, Clone)]
pub struct UploadArgs {
    /// A route of the server; with --resumable or --tus, the upload
    /// service's URL (absolute, or a route of --host).
    pub route: String,
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Form fields, as a JSON object (converted as gazu does).
    #[arg(long, value_name = "JSON", conflicts_with_all = ["resumable", "tus"])]
    pub form: Option<String>,
    /// Each FILE in chunks with the resumable.js protocol (flow.js servers
    /// take it too); a re-run sends only the chunks the server lacks.
    #[arg(long, conflicts_with = "tus", help_heading = "Chunked uploads")]
    pub resumable: bool,
    /// Each FILE with the tus 1.0 protocol; a re-run resumes at the
    /// server's offset (the upload URLs are kept in --store).
    #[arg(long, help_heading = "Chunked uploads")]
    pub tus: bool,
    /// Bytes per chunk (suffixes K, M, G: powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size, help_heading = "Chunked uploads")]
    pub chunk_size: u64,
    /// resumable.js: chunks in flight at once.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Chunked uploads")]
    pub simultaneous: u32,
    /// An extra header on every request ("Name: value"; repeat it). The
    /// Kitsu token goes only to --host's own server.
    #[arg(
        long = "header",
        short = 'H',
        value_name = "HEADER",
        help_heading = "Chunked uploads"
    )]
    pub headers: Vec<String>,
    /// resumable.js: send every chunk without asking the server first.
    #[arg(long, help_heading = "Chunked uploads")]
    pub no_test_chunks: bool,
    /// tus: the JSON file keeping upload URLs between runs [default:
    /// $XDG_STATE_HOME/libkitsu/tus-uploads.json].
    #[arg(long, value_name = "FILE", help_heading = "Chunked uploads")]
    pub store: Option<PathBuf>,
    /// tus: on Ctrl-C, delete the upload on the server instead of keeping
    /// it to resume.
    #[arg(long, help_heading = "Chunked uploads")]
    pub terminate_on_cancel: bool,
    /// Prints each file's SHA-256, computed while it is sent, as
    /// `sha256sum` does (in the JSON records with --json).
    #[arg(long)]
    pub checksum: bool,
}

impl UploadArgs {
    /// A chunked upload (--resumable or --tus).
    pub fn chunked(&self) -> bool {
        self.resumable || self.tus
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks (a positional named like a global
    /// flag made `kitsu post` panic before any request).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

/// `1048576`, `512K`, `64M`, `1G` (powers of 1024; a trailing `B` or `iB` is allowed).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let number = upper.trim_end_matches("IB").trim_end_matches('B');
    let (digits, shift) = match number.chars().last() {
        Some('K') => (&number[..number.len() - 1], 10),
        Some('M') => (&number[..number.len() - 1], 20),
        Some('G') => (&number[..number.len() - 1], 30),
        _ => (number, 0),
    };
    let value: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 1048576, 512K or 64M"))?;
    let bytes = value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    Ok(bytes)
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where the demo's downloads go.
    #[arg(long, value_name = "DIR", default_value = "kitsu-demo-downloads")]
    pub out: PathBuf,
    /// Where the generated media are made (kept between runs).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    #[arg(long, short, value_name = "N", default_value_t = 8)]
    pub jobs: u32,
}
