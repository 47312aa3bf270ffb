//! Batches of Kitsu transfers: the items batch scripts move most (previews,
//! attachments, working files, any route), run N at a time in one call by
//! [`crate::transfer::batch`].

use std::path::{Path, PathBuf};

use super::files::{self, PreviewKind};
use super::{check_id, raw};
use crate::client::Client;
use crate::error::Result;
use crate::transfer::batch::{run_batch, ItemSpec, Outcome};
use crate::transfer::download::check_file_path;
use crate::transfer::{Call, Idempotency, Operation, TransferOptions};

/// One transfer of a batch.
#[derive(Clone, Debug)]
pub enum Item {
    /// gazu's `raw.download`: any route to a file.
    Download { route: String, target: PathBuf },
    /// gazu's `raw.upload`: files (`file`, `file-1`...) and form fields to a route.
    Upload {
        route: String,
        files: Vec<PathBuf>,
        fields: Vec<(String, String)>,
    },
    /// A preview of `kind`; the original's `extension` read from the record
    /// when not given.
    Preview {
        id: String,
        kind: PreviewKind,
        extension: Option<String>,
        target: PathBuf,
    },
    /// gazu's `download_attachment_file`.
    Attachment { id: String, target: PathBuf },
    /// gazu's `download_working_file`.
    WorkingFile { id: String, target: PathBuf },
}

impl Item {
    /// Checks what can be checked before any request: ids, an upload's files.
    fn check(&self) -> Result<()> {
        match self {
            Item::Download { target, .. } => check_file_path(target),
            Item::Upload { files, .. } => {
                for file in files {
                    crate::transfer::upload::file_size(file)?;
                }
                Ok(())
            }
            Item::Preview {
                id,
                kind,
                extension,
                target,
            } => {
                if extension.is_some() || *kind != PreviewKind::Original {
                    files::preview_route(id, *kind, extension.as_deref())?;
                }
                check_id("preview_file_id", id)?;
                check_file_path(target)
            }
            Item::Attachment { id, target } => {
                check_id("attachment_file_id", id)?;
                check_file_path(target)
            }
            Item::WorkingFile { id, target } => {
                check_id("working_file_id", id)?;
                check_file_path(target)
            }
        }
    }

    /// The route its events name before it runs (the first request's).
    fn key(&self) -> String {
        match self {
            Item::Download { route, .. } | Item::Upload { route, .. } => route.clone(),
            Item::Preview {
                id,
                kind,
                extension,
                ..
            } => files::preview_route(id, *kind, extension.as_deref())
                .unwrap_or_else(|_| format!("data/preview-files/{id}")),
            Item::Attachment { id, .. } => format!("data/attachment-files/{id}"),
            Item::WorkingFile { id, .. } => format!("data/working-files/{id}/file"),
        }
    }

    fn spec(&self, index: usize) -> ItemSpec {
        let (operation, known_total) = match self {
            Item::Upload { files, .. } => (
                Operation::Upload,
                crate::transfer::upload::total_size(files).ok(),
            ),
            _ => (Operation::Download, None),
        };
        ItemSpec {
            index,
            key: self.key(),
            operation,
            known_total,
        }
    }

    async fn run(&self, client: &Client, call: &mut Call<'_>) -> Result<Outcome> {
        let bytes = match self {
            Item::Download { route, target } => raw::download(client, call, route, target).await?,
            Item::Upload {
                route,
                files,
                fields,
            } => {
                let answer = super::upload(
                    client,
                    call,
                    route,
                    files,
                    fields,
                    Idempotency::CreatesRecord,
                )
                .await?;
                let bytes = crate::transfer::upload::total_size(files)?;
                return Ok(Outcome {
                    bytes,
                    answer: Some(answer),
                    receipt: Default::default(),
                });
            }
            Item::Preview {
                id,
                kind,
                extension,
                target,
            } => {
                files::download_preview(client, call, id, *kind, extension.as_deref(), target)
                    .await?
            }
            Item::Attachment { id, target } => {
                files::download_attachment_file(client, call, id, target).await?
            }
            Item::WorkingFile { id, target } => {
                files::download_working_file(client, call, id, target).await?
            }
        };
        Ok(Outcome {
            bytes,
            answer: None,
            receipt: Default::default(),
        })
    }

    /// The file a download item writes.
    fn target(&self) -> Option<&Path> {
        match self {
            Item::Upload { .. } => None,
            Item::Download { target, .. }
            | Item::Preview { target, .. }
            | Item::Attachment { target, .. }
            | Item::WorkingFile { target, .. } => Some(target),
        }
    }
}

/// A target as one place on disk: its folder resolved (links, `..`, a
/// relative path), its name as given; two items with the same key would
/// write the same file.
fn target_key(target: &Path) -> PathBuf {
    let folder = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let folder = std::fs::canonicalize(&folder).unwrap_or(folder);
    match target.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    }
}

/// Items and, once run, their results. A run moves every item that has not
/// succeeded yet: running again retries the failed ones and runs the new.
#[derive(Default)]
pub struct Batch {
    items: Vec<Item>,
    results: Vec<Option<Result<Outcome>>>,
    /// Each download's [`target_key`], and its item.
    targets: std::collections::HashMap<PathBuf, usize>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds an item after checking its ids and files; returns its index.
    /// A download to a target another item of the batch already writes is
    /// refused: two transfers into one file would leave one's bytes under
    /// the other's success.
    pub fn add(&mut self, item: Item) -> Result<usize> {
        item.check()?;
        if let Some(target) = item.target() {
            let key = target_key(target);
            if let Some(other) = self.targets.get(&key) {
                return Err(crate::Error::InvalidParameter(format!(
                    "{} is already the target of item {other} of this batch",
                    target.display()
                )));
            }
            self.targets.insert(key, self.items.len());
        }
        self.items.push(item);
        self.results.push(None);
        Ok(self.items.len() - 1)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn item(&self, index: usize) -> Option<&Item> {
        self.items.get(index)
    }

    /// The item's result: `None` until a run reached it.
    pub fn result(&self, index: usize) -> Option<&Result<Outcome>> {
        self.results.get(index).and_then(Option::as_ref)
    }

    pub fn succeeded(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r, Some(Ok(_))))
            .count()
    }

    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r, Some(Err(_))))
            .count()
    }

    /// Runs every item not yet succeeded, at most `max_in_flight` at once
    /// (0: [`crate::transfer::DEFAULT_MAX_IN_FLIGHT`]). Ok when all
    /// succeeded; [`crate::Error::BatchIncomplete`] when some failed;
    /// [`crate::Error::Cancelled`] / [`crate::Error::AbortedByCallback`] when stopped.
    pub fn run(
        &mut self,
        client: &Client,
        max_in_flight: u32,
        options: TransferOptions<'_>,
    ) -> Result<()> {
        let to_run: Vec<usize> = (0..self.items.len())
            .filter(|&i| !matches!(self.results[i], Some(Ok(_))))
            .collect();
        let specs: Vec<ItemSpec> = to_run.iter().map(|&i| self.items[i].spec(i)).collect();
        let items = &self.items;
        let (results, outcome) = run_batch(
            client,
            options,
            max_in_flight,
            items.len(),
            &specs,
            async |index, call| items[index].run(client, call).await,
        );
        for (index, result) in to_run.into_iter().zip(results) {
            self.results[index] = Some(result);
        }
        outcome
    }
}
