//! gazu's `task` module: comments with attachments, batch comments, preview
//! uploads and the composites `add_preview`, `add_extra_preview` and
//! `publish_preview` (which in gazu have no progress callback; here one
//! progress stream covers every byte they move).

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{check_id, json, numbered_file_parts, parse_json, send_parts, upload, Options};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::route::with_query;
use crate::transfer::retry::retrying;
use crate::transfer::upload::{total_size, Part};
use crate::transfer::{Call, Idempotency, Operation};

/// Options of [`upload_preview_file`].
pub const UPLOAD_PREVIEW_OPTIONS: &[&str] = &["normalize_movie", "no_job"];
/// Options of [`add_comment`].
pub const ADD_COMMENT_OPTIONS: &[&str] = &[
    "comment",
    "person",
    "checklist",
    "created_at",
    "links",
    "for_client",
];
/// Options of [`add_preview`].
pub const ADD_PREVIEW_OPTIONS: &[&str] = &["normalize_movie", "revision", "no_job"];
/// Options of [`add_extra_preview`].
pub const ADD_EXTRA_PREVIEW_OPTIONS: &[&str] = &["normalize_movie", "no_job"];
/// Options of [`publish_preview`] (gazu's, plus `no_job`, which gazu's
/// `publish_preview` forgets to pass on to `add_preview`).
pub const PUBLISH_PREVIEW_OPTIONS: &[&str] = &[
    "comment",
    "person",
    "checklist",
    "created_at",
    "links",
    "normalize_movie",
    "revision",
    "set_thumbnail",
    "no_job",
];
/// Options of [`create_preview`].
pub const CREATE_PREVIEW_OPTIONS: &[&str] = &["revision"];
/// Options of [`all_tasks_for_project`].
pub const ALL_TASKS_FOR_PROJECT_OPTIONS: &[&str] = &["task_type", "episode"];

/// The route of a preview upload, with gazu's query: `normalize=false`,
/// `no_job=true` or both, from the options `normalize_movie` and `no_job`.
fn preview_upload_route(preview_file_id: &str, options: &Options) -> Result<String> {
    let normalize = options.bool("normalize_movie", true)?;
    let no_job = options.bool("no_job", false)?;
    Ok(with_query(
        &format!("pictures/preview-files/{preview_file_id}"),
        &[
            ("normalize", (!normalize).then_some("false")),
            ("no_job", no_job.then_some("true")),
        ],
    ))
}

/// POST the preview file to `pictures/preview-files/{id}` (options
/// `normalize_movie` (true), `no_job` (false)). Zou refuses to upload twice
/// to one preview file.
pub async fn upload_preview_file(
    client: &Client,
    call: &mut Call<'_>,
    preview_file_id: &str,
    file: &Path,
    options: &Options,
) -> Result<String> {
    let id = check_id("preview_file_id", preview_file_id)?;
    let route = preview_upload_route(id, options)?;
    let preview = upload_preview_bytes(client, call, id, &route, file).await?;
    Ok(preview.to_string())
}

/// The bytes of a preview file, retried after any failure worth another
/// attempt. Zou refuses a second upload to one preview file (400), so
/// before sending again the record is read: if it already holds a file
/// (the answer of an earlier attempt was lost), that record is the answer.
async fn upload_preview_bytes(
    client: &Client,
    call: &mut Call<'_>,
    preview_id: &str,
    route: &str,
    file: &Path,
) -> Result<Value> {
    let record_route = format!("data/preview-files/{preview_id}");
    retrying(call, Idempotency::Repeatable, async |call| {
        if call.attempt() > 1 {
            let record = crate::transfer::json::request(
                call,
                client,
                Method::GET,
                &record_route,
                None,
                Idempotency::Once,
            )
            .await?;
            if stored_preview(&record) {
                // The bytes arrived in an earlier attempt: count them as sent.
                call.end_request(crate::transfer::upload::file_size(file)?, 1)?;
                return Ok(record);
            }
        }
        let parts = [Part::file("file", file)];
        let answer = send_parts(client, call, route, &parts, Idempotency::Once).await?;
        json_answer(route, &answer)
    })
    .await
}

/// True when a preview record already holds an uploaded file.
fn stored_preview(record: &Value) -> bool {
    record.get("file_size").and_then(Value::as_u64).unwrap_or(0) > 0
        || record
            .get("original_name")
            .is_some_and(|name| !name.is_null())
}

/// The multipart fields of a comment, in gazu's order. `for_client` is sent
/// only when true, as "True" (Zou reads the string "False" as true).
fn comment_fields(task_status_id: &str, options: &Options) -> Result<Vec<Part>> {
    let mut fields = vec![
        Part::field("task_status_id", task_status_id),
        Part::field("comment", options.string("comment")?.unwrap_or_default()),
        Part::field(
            "checklist",
            options
                .value("checklist")
                .cloned()
                .unwrap_or(json!([]))
                .to_string(),
        ),
        Part::field(
            "links",
            options
                .value("links")
                .cloned()
                .unwrap_or(json!([]))
                .to_string(),
        ),
    ];
    if options.bool("for_client", false)? {
        fields.push(Part::field("for_client", "True"));
    }
    if let Some(person) = options.id("person")? {
        fields.push(Part::field("person_id", person));
    }
    if let Some(created_at) = options.string("created_at")? {
        fields.push(Part::field("created_at", created_at));
    }
    Ok(fields)
}

/// The comment as JSON, for the route without attachments.
fn comment_body(task_status_id: &str, options: &Options) -> Result<Value> {
    let mut body = json!({
        "task_status_id": task_status_id,
        "comment": options.string("comment")?.unwrap_or_default(),
        "checklist": options.value("checklist").cloned().unwrap_or(json!([])),
        "links": options.value("links").cloned().unwrap_or(json!([])),
        "for_client": options.bool("for_client", false)?,
    });
    if let Some(person) = options.id("person")? {
        body["person_id"] = person.into();
    }
    if let Some(created_at) = options.string("created_at")? {
        body["created_at"] = created_at.into();
    }
    Ok(body)
}

/// Posts a comment, multipart when there are attachments.
async fn post_comment(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    task_status_id: &str,
    attachments: &[PathBuf],
    options: &Options,
) -> Result<Value> {
    let route = format!("actions/tasks/{task_id}/comment");
    if attachments.is_empty() {
        let body = comment_body(task_status_id, options)?;
        return json(client, call, Method::POST, &route, Some(&body)).await;
    }
    let mut parts = comment_fields(task_status_id, options)?;
    parts.extend(numbered_file_parts(attachments));
    let answer = send_parts(client, call, &route, &parts, Idempotency::CreatesRecord).await?;
    json_answer(&route, &answer)
}

fn json_answer(route: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::InvalidResponse {
        path: route.into(),
        message: format!("the answer is not JSON: {e}"),
    })
}

/// Declares an upload of `files` (checked now, before any request) as the
/// call's one progress stream: first call `(0, sum of their sizes)`.
fn expect_upload(call: &mut Call<'_>, files: &[PathBuf]) -> Result<()> {
    let total = total_size(files)?;
    call.expect(Operation::Upload, total, files.len())
}

/// POST `actions/tasks/{id}/comment`: a JSON comment, or multipart with the
/// attachments as `file`, `file-1`, ... in the order given (gazu sends the
/// last attachment first; Zou stores them in part order, so here they keep
/// the caller's order). Options: comment, person, checklist, created_at,
/// links, for_client.
pub async fn add_comment(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    task_status_id: &str,
    attachments: &[PathBuf],
    options: &Options,
) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    let task_status_id = check_id("task_status_id", task_status_id)?;
    expect_upload(call, attachments)?;
    let comment = post_comment(client, call, task_id, task_status_id, attachments, options).await?;
    Ok(comment.to_string())
}

/// POST `actions/tasks/{task}/comments/{comment}/add-attachment`, files as
/// `file`, `file-1`, ... in the order given. At least one file.
pub async fn add_attachment_files_to_comment(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    comment_id: &str,
    attachments: &[PathBuf],
) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    let comment_id = check_id("comment_id", comment_id)?;
    if attachments.is_empty() {
        return Err(Error::InvalidParameter(
            "the attachments list is empty".into(),
        ));
    }
    upload(
        client,
        call,
        &format!("actions/tasks/{task_id}/comments/{comment_id}/add-attachment"),
        attachments,
        &[],
        Idempotency::CreatesRecord,
    )
    .await
}

/// A list of comments as gazu's batch functions take it: objects that may
/// carry local paths under `attachment_files` and `preview_files`.
struct CommentBatch {
    /// The comments without the local paths (gazu sends them to the server).
    comments: Vec<Map<String, Value>>,
    attachments: Vec<Vec<PathBuf>>,
    previews: Vec<Vec<PathBuf>>,
}

impl CommentBatch {
    fn parse(comments_json: &str) -> Result<CommentBatch> {
        let Value::Array(items) = parse_json("comments_json", comments_json)? else {
            return Err(Error::InvalidParameter(
                "comments_json must be a JSON array of comments".into(),
            ));
        };
        let mut batch = CommentBatch {
            comments: Vec::new(),
            attachments: Vec::new(),
            previews: Vec::new(),
        };
        for (index, item) in items.into_iter().enumerate() {
            let Value::Object(mut comment) = item else {
                return Err(Error::InvalidParameter(format!(
                    "comment {index} is not an object"
                )));
            };
            let mut paths = |key: &str| -> Result<Vec<PathBuf>> {
                match comment.remove(key) {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(Value::Array(list)) => list
                        .into_iter()
                        .map(|p| match p {
                            Value::String(s) => Ok(PathBuf::from(s)),
                            other => Err(Error::InvalidParameter(format!(
                                "comment {index}: {key} holds {other}, not a path"
                            ))),
                        })
                        .collect(),
                    Some(other) => Err(Error::InvalidParameter(format!(
                        "comment {index}: {key} must be a list of paths, not {other}"
                    ))),
                }
            };
            let attachments = paths("attachment_files")?;
            let previews = paths("preview_files")?;
            batch.attachments.push(attachments);
            batch.previews.push(previews);
            batch.comments.push(comment);
        }
        Ok(batch)
    }

    /// Every local file of the batch.
    fn files(&self) -> Vec<PathBuf> {
        self.attachments
            .iter()
            .chain(&self.previews)
            .flatten()
            .cloned()
            .collect()
    }
}

/// POST `actions/tasks/{task}/batch-comment` (or `actions/tasks/batch-comment`
/// without a task): parts `attachment_file-{x}-{y}` and `preview_file-{x}-{y}`
/// for comment x's files, then the `comments` JSON part. Unlike gazu, the
/// local paths are not sent to the server inside that JSON.
pub async fn batch_comments(
    client: &Client,
    call: &mut Call<'_>,
    task_id: Option<&str>,
    comments_json: &str,
) -> Result<String> {
    let route = match task_id {
        Some(id) => format!("actions/tasks/{}/batch-comment", check_id("task_id", id)?),
        None => "actions/tasks/batch-comment".to_string(),
    };
    let batch = CommentBatch::parse(comments_json)?;
    let mut parts = Vec::new();
    for (x, (attachments, previews)) in batch.attachments.iter().zip(&batch.previews).enumerate() {
        for (y, path) in attachments.iter().enumerate() {
            parts.push(Part::file(format!("attachment_file-{x}-{y}"), path.clone()));
        }
        for (y, path) in previews.iter().enumerate() {
            parts.push(Part::file(format!("preview_file-{x}-{y}"), path.clone()));
        }
    }
    parts.push(Part::Json {
        name: "comments".into(),
        json: Value::Array(batch.comments.into_iter().map(Value::Object).collect()).to_string(),
    });
    send_parts(client, call, &route, &parts, Idempotency::CreatesRecord).await
}

/// POST `actions/projects/{id}/tasks/comment-many`. Zou 1.0.97 takes a JSON
/// array there (`object_id` or gazu's `task_id`, `task_status_id`,
/// `comment`) and no files, so gazu's multipart request fails; here the
/// comments are posted as JSON, then each comment's `attachment_files` are
/// added to it and its `preview_files` become its previews, in one progress
/// stream. Returns the created comments.
pub async fn create_multiple_comments(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    comments_json: &str,
) -> Result<String> {
    let project_id = check_id("project_id", project_id)?;
    let mut batch = CommentBatch::parse(comments_json)?;
    for (index, comment) in batch.comments.iter_mut().enumerate() {
        if !comment.contains_key("object_id") {
            if let Some(task_id) = comment.remove("task_id") {
                comment.insert("object_id".into(), task_id);
            }
        }
        for key in ["object_id", "task_status_id", "comment"] {
            if !comment.contains_key(key) {
                return Err(Error::InvalidParameter(format!(
                    "comment {index} has no {key}"
                )));
            }
        }
    }
    expect_upload(call, &batch.files())?;
    {
        let route = format!("actions/projects/{}/tasks/comment-many", project_id);
        let body = Value::Array(batch.comments.iter().cloned().map(Value::Object).collect());
        let created = json(client, call, Method::POST, &route, Some(&body)).await?;
        let mut created = match created {
            Value::Array(list) => list,
            other => {
                return Err(Error::InvalidResponse {
                    path: route,
                    message: format!("expected a list, got {other}"),
                })
            }
        };
        let has_files = batch
            .attachments
            .iter()
            .chain(&batch.previews)
            .any(|f| !f.is_empty());
        if has_files && created.len() != batch.comments.len() {
            return Err(Error::InvalidResponse {
                path: route,
                message: format!(
                    "{} of {} comments were created (not allowed on some tasks?): their files were not sent",
                    created.len(),
                    batch.comments.len()
                ),
            });
        }
        for (index, comment) in created.iter_mut().enumerate() {
            let (Some(attachments), Some(previews)) =
                (batch.attachments.get(index), batch.previews.get(index))
            else {
                continue;
            };
            let task_id = super::field(comment, "object_id", &route)?.to_string();
            let comment_id = super::field(comment, "id", &route)?.to_string();
            if !attachments.is_empty() {
                let add = format!("actions/tasks/{task_id}/comments/{comment_id}/add-attachment");
                let parts = numbered_file_parts(attachments);
                let answer =
                    send_parts(client, call, &add, &parts, Idempotency::CreatesRecord).await?;
                comment["attachment_files"] = json_answer(&add, &answer)?;
            }
            let mut preview_files = Vec::new();
            for path in previews {
                let preview = add_preview_steps(
                    client,
                    call,
                    &task_id,
                    &comment_id,
                    path,
                    None,
                    &Options::default(),
                )
                .await?;
                preview_files.push(preview);
            }
            if !previews.is_empty() {
                comment["preview_files"] = Value::Array(preview_files);
            }
        }
        Ok(Value::Array(created).to_string())
    }
}

/// POST `actions/tasks/{task}/comments/{comment}/add-preview`: a new, empty
/// preview-file record (option `revision`).
pub fn create_preview(
    client: &Client,
    task_id: &str,
    comment_id: &str,
    options: &Options,
) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    let comment_id = check_id("comment_id", comment_id)?;
    let body = revision_body(options)?;
    let route = format!("actions/tasks/{task_id}/comments/{comment_id}/add-preview");
    client.post(&route, Some(&body.to_string()))
}

fn revision_body(options: &Options) -> Result<Value> {
    Ok(match options.integer("revision")? {
        Some(revision) => json!({ "revision": revision }),
        None => json!({}),
    })
}

/// create_preview (or create_extra_preview when `extra_of` is given), then
/// the upload of the file. Returns the uploaded preview file.
async fn add_preview_steps(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    comment_id: &str,
    file: &Path,
    extra_of: Option<&str>,
    options: &Options,
) -> Result<Value> {
    let (route, body) = match extra_of {
        None => (
            format!("actions/tasks/{task_id}/comments/{comment_id}/add-preview"),
            revision_body(options)?,
        ),
        Some(preview_file_id) => (
            format!(
                "actions/tasks/{task_id}/comments/{comment_id}/preview-files/{preview_file_id}"
            ),
            json!({}),
        ),
    };
    let preview = json(client, call, Method::POST, &route, Some(&body)).await?;
    let preview_id = super::field(&preview, "id", &route)?;
    let upload = preview_upload_route(preview_id, options)?;
    upload_preview_bytes(client, call, preview_id, &upload, file).await
}

/// gazu's `add_preview`: create_preview, then upload_preview_file, with one
/// progress stream (gazu has none). Options: normalize_movie (true),
/// revision, no_job (false). The file is checked before anything is
/// created, so a bad path leaves no empty preview behind.
pub async fn add_preview(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    comment_id: &str,
    preview_file_path: &Path,
    options: &Options,
) -> Result<String> {
    add_preview_or_extra(
        client,
        call,
        task_id,
        comment_id,
        None,
        preview_file_path,
        options,
    )
    .await
}

/// gazu's `add_extra_preview`: create_extra_preview (POST
/// `actions/tasks/{task}/comments/{comment}/preview-files/{preview}`), then
/// upload_preview_file. Options: normalize_movie (true), no_job (false).
pub async fn add_extra_preview(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    comment_id: &str,
    preview_file_id: &str,
    preview_file_path: &Path,
    options: &Options,
) -> Result<String> {
    let preview_file_id = check_id("preview_file_id", preview_file_id)?;
    add_preview_or_extra(
        client,
        call,
        task_id,
        comment_id,
        Some(preview_file_id),
        preview_file_path,
        options,
    )
    .await
}

async fn add_preview_or_extra(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    comment_id: &str,
    extra_of: Option<&str>,
    file: &Path,
    options: &Options,
) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    let comment_id = check_id("comment_id", comment_id)?;
    preview_upload_route(comment_id, options)?; // options checked before anything is created
    expect_upload(call, &[file.to_path_buf()])?;
    let preview =
        add_preview_steps(client, call, task_id, comment_id, file, extra_of, options).await?;
    Ok(preview.to_string())
}

/// gazu's `publish_preview`: a comment (with its attachments), then a
/// preview on it, then, with `set_thumbnail`, that preview as the entity's
/// thumbnail; one progress stream over every file. Returns
/// `{"comment": ..., "preview_file": ...}`. As in gazu, a failure after the
/// comment leaves the comment in place.
pub async fn publish_preview(
    client: &Client,
    call: &mut Call<'_>,
    task_id: &str,
    task_status_id: &str,
    preview_file_path: &Path,
    attachments: &[PathBuf],
    options: &Options,
) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    let task_status_id = check_id("task_status_id", task_status_id)?;
    // Options checked before anything is created.
    comment_fields(task_status_id, options)?;
    preview_upload_route(task_id, options)?;
    let set_thumbnail = options.bool("set_thumbnail", false)?;
    let mut files = attachments.to_vec();
    files.push(preview_file_path.to_path_buf());
    expect_upload(call, &files)?;
    let comment = post_comment(client, call, task_id, task_status_id, attachments, options).await?;
    let comment_id = super::field(&comment, "id", "comment")?.to_string();
    let preview = add_preview_steps(
        client,
        call,
        task_id,
        &comment_id,
        preview_file_path,
        None,
        options,
    )
    .await?;
    if set_thumbnail {
        let preview_id = super::field(&preview, "id", "preview")?;
        let route = format!("actions/preview-files/{preview_id}/set-main-preview");
        json(client, call, Method::PUT, &route, Some(&json!({}))).await?;
    }
    Ok(json!({ "comment": comment, "preview_file": preview }).to_string())
}

/// GET `data/projects/{id}/tasks` (options `task_type`, `episode`: ids).
pub fn all_tasks_for_project(
    client: &Client,
    project_id: &str,
    options: &Options,
) -> Result<String> {
    let project_id = check_id("project_id", project_id)?;
    let task_type = options.id("task_type")?;
    let episode = options.id("episode")?;
    client.get(&with_query(
        &format!("data/projects/{project_id}/tasks"),
        &[
            ("task_type_id", task_type.as_deref()),
            ("episode_id", episode.as_deref()),
        ],
    ))
}

/// GET `data/tasks/{id}/comments` (newest first).
pub fn all_comments_for_task(client: &Client, task_id: &str) -> Result<String> {
    let task_id = check_id("task_id", task_id)?;
    client.get(&format!("data/tasks/{task_id}/comments"))
}

/// GET `data/task-status?short_name=...`: the first match, or `null`.
pub fn get_task_status_by_short_name(client: &Client, short_name: &str) -> Result<String> {
    client.get_first(&with_query(
        "data/task-status",
        &[("short_name", Some(short_name))],
    ))
}

blocking! {
    fn upload_preview_file(preview_file_id: &str, file: &Path, options: &Options) -> String;
    fn add_comment(
        task_id: &str,
        task_status_id: &str,
        attachments: &[PathBuf],
        options: &Options,
    ) -> String;
    fn add_attachment_files_to_comment(
        task_id: &str,
        comment_id: &str,
        attachments: &[PathBuf],
    ) -> String;
    fn batch_comments(task_id: Option<&str>, comments_json: &str) -> String;
    fn create_multiple_comments(project_id: &str, comments_json: &str) -> String;
    fn add_preview(
        task_id: &str,
        comment_id: &str,
        preview_file_path: &Path,
        options: &Options,
    ) -> String;
    fn add_extra_preview(
        task_id: &str,
        comment_id: &str,
        preview_file_id: &str,
        preview_file_path: &Path,
        options: &Options,
    ) -> String;
    fn publish_preview(
        task_id: &str,
        task_status_id: &str,
        preview_file_path: &Path,
        attachments: &[PathBuf],
        options: &Options,
    ) -> String;
}
