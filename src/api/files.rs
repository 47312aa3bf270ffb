//! gazu's `files` module: working files, previews, attachments, avatars,
//! frame and tile extraction.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::{check_id, download, field, json, parse_json, upload_one, Options};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::route::{segment, with_query};
use crate::transfer::{Call, Idempotency};

/// POST `data/working-files/{id}/file`, part `file`.
pub async fn upload_working_file(
    client: &Client,
    call: &mut Call<'_>,
    working_file_id: &str,
    file: &Path,
) -> Result<String> {
    let id = check_id("working_file_id", working_file_id)?;
    // Zou overwrites the working file's bytes: repeating the upload is safe.
    upload_one(
        client,
        call,
        &format!("data/working-files/{id}/file"),
        file,
        Idempotency::Repeatable,
    )
    .await
}

/// The kinds of entity that have an avatar.
#[derive(Clone, Copy, Debug)]
pub enum AvatarOf {
    Person,
    Project,
    Organisation,
}

impl AvatarOf {
    fn route(self, id: &str) -> String {
        let kind = match self {
            AvatarOf::Person => "persons",
            AvatarOf::Project => "projects",
            AvatarOf::Organisation => "organisations",
        };
        format!("pictures/thumbnails/{kind}/{id}")
    }
}

/// POST `pictures/thumbnails/{persons,projects,organisations}/{id}`, part `file`
/// (gazu's `upload_person_avatar`, `upload_project_avatar`,
/// `upload_organisation_avatar` and `person.set_avatar`).
pub async fn upload_avatar(
    client: &Client,
    call: &mut Call<'_>,
    of: AvatarOf,
    id: &str,
    file: &Path,
) -> Result<String> {
    let id = check_id("id", id)?;
    upload_one(client, call, &of.route(id), file, Idempotency::Repeatable).await
}

/// GET `pictures/thumbnails/{kind}/{id}.png`.
pub async fn download_avatar(
    client: &Client,
    call: &mut Call<'_>,
    of: AvatarOf,
    id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("id", id)?;
    download(client, call, &format!("{}.png", of.route(id)), target).await
}

/// GET `data/working-files/{id}/file`. gazu falls back to the server-given
/// `path` when no target is given; libkitsu always wants a target, so a
/// server-given path never decides where a file lands.
pub async fn download_working_file(
    client: &Client,
    call: &mut Call<'_>,
    working_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("working_file_id", working_file_id)?;
    download(
        client,
        call,
        &format!("data/working-files/{id}/file"),
        target,
    )
    .await
}

/// The original of a preview: `movies/originals/preview-files/{id}.mp4`
/// for movies, `pictures/originals/preview-files/{id}.{extension}` otherwise,
/// after reading the record for its extension (as gazu does).
pub async fn download_preview_file(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    let record_route = format!("data/preview-files/{id}");
    let record = json(client, call, Method::GET, &record_route, None).await?;
    let route = preview_route(
        id,
        PreviewKind::Original,
        Some(extension_of(&record, &record_route)?),
    )?;
    download(client, call, &route, target).await
}

/// gazu's `wait_for_preview_file`: polls `data/preview-files/{id}` every
/// `poll_interval` until its `status` is no longer `processing` (Zou builds
/// the variants of an upload in the background), in the call's waiting
/// phase. Returns the record (`ready`, or `broken` when Zou failed to
/// process it); [`Error::ProcessingTimeout`] after `timeout`, as gazu's
/// `PreviewFileProcessingException`.
pub async fn wait_for_preview_file(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    timeout: Duration,
    poll_interval: Duration,
) -> Result<String> {
    let id = check_id("preview_file_id", preview_file_id)?;
    let route = format!("data/preview-files/{id}");
    let started = Instant::now();
    loop {
        let record = json(client, call, Method::GET, &route, None).await?;
        if record.get("status").and_then(Value::as_str) != Some("processing") {
            return Ok(record.to_string());
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(Error::ProcessingTimeout {
                path: route,
                secs: timeout.as_secs(),
            });
        }
        call.wait_polling(poll_interval.min(timeout - waited), timeout, started)
            .await?;
    }
}

/// What of a preview to download (gazu's download_preview_file* functions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewKind {
    /// The uploaded file as Zou stores it: `.mp4` for movies, else its extension.
    Original,
    /// `pictures/thumbnails/preview-files/{id}.png`.
    Thumbnail,
    /// `pictures/thumbnails-square/preview-files/{id}.png`.
    SquareThumbnail,
    /// `pictures/originals/preview-files/{id}.png`: the full-size picture (a movie's frame).
    Cover,
    /// `movies/originals/preview-files/{id}.mp4`.
    Movie,
    /// `movies/low/preview-files/{id}.mp4`.
    LowDefMovie,
}

/// The route of `kind` of preview `id`; the original needs the record's
/// `extension` (an error without one).
pub fn preview_route(id: &str, kind: PreviewKind, extension: Option<&str>) -> Result<String> {
    let id = check_id("preview_file_id", id)?;
    Ok(match kind {
        PreviewKind::Original => match extension.map(|e| e.trim_start_matches('.')) {
            Some("mp4") => format!("movies/originals/preview-files/{id}.mp4"),
            Some(extension) if !extension.is_empty() => format!(
                "pictures/originals/preview-files/{id}.{}",
                segment(extension)
            ),
            _ => {
                return Err(Error::InvalidParameter(
                    "the original of a preview needs its extension".into(),
                ))
            }
        },
        PreviewKind::Thumbnail => format!("pictures/thumbnails/preview-files/{id}.png"),
        PreviewKind::SquareThumbnail => {
            format!("pictures/thumbnails-square/preview-files/{id}.png")
        }
        PreviewKind::Cover => format!("pictures/originals/preview-files/{id}.png"),
        PreviewKind::Movie => format!("movies/originals/preview-files/{id}.mp4"),
        PreviewKind::LowDefMovie => format!("movies/low/preview-files/{id}.mp4"),
    })
}

/// A preview record's extension (gazu would build ".../{id}.None" without one).
fn extension_of<'r>(record: &'r Value, record_route: &str) -> Result<&'r str> {
    match record.get("extension").and_then(Value::as_str) {
        Some(extension) if !extension.is_empty() => Ok(extension),
        _ => Err(Error::InvalidResponse {
            path: record_route.into(),
            message: "the preview has no file yet (no extension)".into(),
        }),
    }
}

/// `kind` of preview `id` to `target`; the record is read only for an
/// original whose `extension` the caller does not give.
pub async fn download_preview(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    kind: PreviewKind,
    extension: Option<&str>,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    if kind == PreviewKind::Original && extension.is_none() {
        return download_preview_file(client, call, id, target).await;
    }
    let route = preview_route(id, kind, extension)?;
    download(client, call, &route, target).await
}

/// GET `pictures/thumbnails/preview-files/{id}.png`.
pub async fn download_preview_file_thumbnail(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    download(
        client,
        call,
        &format!("pictures/thumbnails/preview-files/{id}.png"),
        target,
    )
    .await
}

/// GET `pictures/originals/preview-files/{id}.png` (the full-size picture;
/// for a movie, a full-size frame).
pub async fn download_preview_file_cover(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    download(
        client,
        call,
        &format!("pictures/originals/preview-files/{id}.png"),
        target,
    )
    .await
}

/// GET `movies/originals/preview-files/{id}.mp4`. gazu reads the record for
/// an extension first, but Zou stores and serves every movie as `.mp4`.
pub async fn download_preview_movie(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    download(
        client,
        call,
        &format!("movies/originals/preview-files/{id}.mp4"),
        target,
    )
    .await
}

/// GET `movies/low/preview-files/{id}.mp4` (no record read: not needed).
pub async fn download_preview_lowdef_movie(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    download(
        client,
        call,
        &format!("movies/low/preview-files/{id}.mp4"),
        target,
    )
    .await
}

/// GET `data/attachment-files/{id}/file/{name}` after reading the record for
/// its name (Zou's route wants one); the name is percent-encoded.
pub async fn download_attachment_file(
    client: &Client,
    call: &mut Call<'_>,
    attachment_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("attachment_file_id", attachment_file_id)?;
    let record_route = format!("data/attachment-files/{id}");
    let record = json(client, call, Method::GET, &record_route, None).await?;
    let name = field(&record, "name", &record_route)?;
    download(
        client,
        call,
        &format!("data/attachment-files/{id}/file/{}", segment(name)),
        target,
    )
    .await
}

/// GET `pictures/thumbnails/attachment-files/{id}.png` (Zou makes these for
/// chat attachments that are pictures, not for comment attachments).
pub async fn download_attachment_thumbnail(
    client: &Client,
    call: &mut Call<'_>,
    attachment_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("attachment_file_id", attachment_file_id)?;
    download(
        client,
        call,
        &format!("pictures/thumbnails/attachment-files/{id}.png"),
        target,
    )
    .await
}

/// GET `actions/preview-files/{id}/extract-frame?frame_number=N`: a PNG of
/// that frame, made anew by the server.
pub async fn extract_frame_from_preview(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    frame_number: u32,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    let frame = frame_number.to_string();
    let route = with_query(
        &format!("actions/preview-files/{id}/extract-frame"),
        &[("frame_number", Some(&frame))],
    );
    download(client, call, &route, target).await
}

/// GET `actions/preview-files/{id}/extract-tile`: a PNG tile of a movie's frames.
pub async fn extract_tile_from_preview(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    target: &Path,
) -> Result<u64> {
    let id = check_id("preview_file_id", preview_file_id)?;
    download(
        client,
        call,
        &format!("actions/preview-files/{id}/extract-tile"),
        target,
    )
    .await
}

/// GET `data/preview-files/{id}`.
pub fn get_preview_file(client: &Client, preview_file_id: &str) -> Result<String> {
    let id = check_id("preview_file_id", preview_file_id)?;
    client.get(&format!("data/preview-files/{id}"))
}

/// GET `data/working-files/{id}`.
pub fn get_working_file(client: &Client, working_file_id: &str) -> Result<String> {
    let id = check_id("working_file_id", working_file_id)?;
    client.get(&format!("data/working-files/{id}"))
}

/// GET `data/attachment-files/{id}`.
pub fn get_attachment_file(client: &Client, attachment_file_id: &str) -> Result<String> {
    let id = check_id("attachment_file_id", attachment_file_id)?;
    client.get(&format!("data/attachment-files/{id}"))
}

/// Options of [`new_working_file`], with gazu's defaults.
pub const NEW_WORKING_FILE_OPTIONS: &[&str] =
    &["name", "mode", "software", "comment", "person", "revision"];

/// POST `data/tasks/{id}/working-files/new`: a new working-file record
/// (options: name "main", mode "working", software, comment "", person, revision 0).
pub fn new_working_file(client: &Client, task_id: &str, options: &Options) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    let mut body = json!({
        "name": options.string("name")?.unwrap_or_else(|| "main".into()),
        "comment": options.string("comment")?.unwrap_or_default(),
        "task_id": task_id,
        "revision": options.integer("revision")?.unwrap_or(0),
        "mode": options.string("mode")?.unwrap_or_else(|| "working".into()),
    });
    if let Some(person) = options.id("person")? {
        body["person_id"] = person.into();
    }
    if let Some(software) = options.id("software")? {
        body["software_id"] = software.into();
    }
    client.post(
        &format!("data/tasks/{task_id}/working-files/new"),
        Some(&body.to_string()),
    )
}

/// PUT `data/projects/{id}` with `{"file_tree": tree}` (a project needs a
/// file tree before it can have working files).
pub fn update_project_file_tree(
    client: &Client,
    project_id: &str,
    file_tree_json: &str,
) -> Result<String> {
    let project_id = check_id("project_id", project_id)?;
    let tree = parse_json("file_tree_json", file_tree_json)?;
    if !tree.is_object() {
        return Err(Error::InvalidParameter(
            "file_tree_json must be a JSON object".into(),
        ));
    }
    let body = json!({ "file_tree": tree });
    client.put(
        &format!("data/projects/{project_id}"),
        Some(&body.to_string()),
    )
}

blocking! {
    fn upload_working_file(working_file_id: &str, file: &Path) -> String;
    fn upload_avatar(of: AvatarOf, id: &str, file: &Path) -> String;
    fn download_avatar(of: AvatarOf, id: &str, target: &Path) -> u64;
    fn download_working_file(working_file_id: &str, target: &Path) -> u64;
    fn download_preview_file(preview_file_id: &str, target: &Path) -> u64;
    fn download_preview_file_thumbnail(preview_file_id: &str, target: &Path) -> u64;
    fn download_preview_file_cover(preview_file_id: &str, target: &Path) -> u64;
    fn download_preview_movie(preview_file_id: &str, target: &Path) -> u64;
    fn download_preview_lowdef_movie(preview_file_id: &str, target: &Path) -> u64;
    fn download_attachment_file(attachment_file_id: &str, target: &Path) -> u64;
    fn download_attachment_thumbnail(attachment_file_id: &str, target: &Path) -> u64;
    fn extract_frame_from_preview(preview_file_id: &str, frame_number: u32, target: &Path) -> u64;
    fn extract_tile_from_preview(preview_file_id: &str, target: &Path) -> u64;
    fn wait_for_preview_file(preview_file_id: &str, timeout: Duration, poll_interval: Duration) -> String;
}
