//! Every gazu-named entry point against the real Zou, through the exported
//! C functions: real files up, bytes back (sha256 where Zou keeps bytes;
//! type and size where it makes its own), and the progress contract.

mod common;

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::capi::{
    c, check, cpath, kitsu_result, take_string, ApiResult, Client, Progress, NO_OPTIONS, PROGRESS,
};
use common::zou::{id, media, sha_file, shared_avatar_lock, Scene, Zou};
use kitsu::ffi::{asset::*, files::*, person::*, playlist::*, project::*, shot::*, task::*};
use serde_json::{json, Value};

macro_rules! live {
    () => {
        match Zou::get() {
            Some(zou) => zou,
            None => return,
        }
    };
}

/// Runs an entry point that answers JSON through `char **out_json`.
fn json_out(call: impl FnOnce(*mut *mut c_char) -> kitsu_result) -> ApiResult<Value> {
    let mut out = std::ptr::null_mut();
    check(call(&mut out))?;
    Ok(serde_json::from_str(&take_string(out)).unwrap())
}

fn paths(files: &[&Path]) -> (Vec<CString>, Vec<*const c_char>) {
    let owned: Vec<CString> = files.iter().map(|p| cpath(p)).collect();
    let pointers = owned.iter().map(|p| p.as_ptr()).collect();
    (owned, pointers)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn png_size(path: &Path) -> (u32, u32) {
    common::png_size(&std::fs::read(path).unwrap())
}

fn is_mp4(path: &Path) -> bool {
    std::fs::read(path).unwrap().get(4..8) == Some(b"ftyp")
}

/// Downloads through `call(target, progress)` and checks the contract.
fn download_checked(
    what: &str,
    target: &Path,
    call: impl FnOnce(*const c_char, &mut Progress) -> kitsu_result,
) -> u64 {
    let mut progress = Progress::new();
    let target_c = cpath(target);
    check(call(target_c.as_ptr(), &mut progress)).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let len = size(target);
    assert!(len > 0, "{what}: empty file");
    progress.assert_contract(len, len, what);
    len
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn working_files_and_the_file_tree() {
    let zou = live!();
    let scene = Scene::new(zou, "gwf");
    let client = scene.client.ptr();
    let project = c(id(&scene.project));
    let tree = c(&common::zou::file_tree().to_string());
    let answer = json_out(|out| unsafe {
        kitsu_files_update_project_file_tree(client, project.as_ptr(), tree.as_ptr(), out)
    })
    .unwrap();
    assert!(answer["file_tree"]["working"].is_object());

    let task = c(id(&scene.task));
    let options = c(r#"{"name": "main", "comment": "first", "revision": 3}"#);
    let working_file = json_out(|out| unsafe {
        kitsu_files_new_working_file(client, task.as_ptr(), options.as_ptr(), out)
    })
    .unwrap();
    assert_eq!(working_file["revision"], 3);
    let bad = c(r#"{"sep": "/"}"#);
    let error = json_out(|out| unsafe {
        kitsu_files_new_working_file(client, task.as_ptr(), bad.as_ptr(), out)
    })
    .unwrap_err();
    assert_eq!(error.code, kitsu_result::InvalidParameter);
    assert!(
        error.message.contains("unknown option \"sep\""),
        "{}",
        error.message
    );

    let wf = c(id(&working_file));
    let source = &media().binary;
    let source_c = cpath(source);
    let mut up = Progress::new();
    let uploaded = json_out(|out| unsafe {
        kitsu_files_upload_working_file(
            client,
            wf.as_ptr(),
            source_c.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    assert_eq!(uploaded["id"], working_file["id"]);
    up.assert_contract(size(source), size(source), "upload_working_file");

    let fetched =
        json_out(|out| unsafe { kitsu_files_get_working_file(client, wf.as_ptr(), out) }).unwrap();
    assert_eq!(fetched["id"], working_file["id"]);

    let target = scene.path("back.blend");
    download_checked("download_working_file", &target, |t, p| unsafe {
        kitsu_files_download_working_file(
            client,
            wf.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    assert_eq!(sha_file(&target), sha_file(source));
}

#[test]
fn avatars_up_and_down() {
    let zou = live!();
    let scene = Scene::new(zou, "gav");
    let client = scene.client.ptr();
    let png = cpath(&media().png);
    let png_len = size(&media().png);
    let person = scene
        .client
        .post(
            "data/persons",
            &json!({"first_name": "Avatar", "last_name": scene.name, "email": format!("{}@example.com", scene.name), "role": "user"}),
        )
        .unwrap();
    let person_id = c(id(&person));
    let project_id = c(id(&scene.project));

    let mut up = Progress::new();
    let answer = json_out(|out| unsafe {
        kitsu_files_upload_person_avatar(
            client,
            person_id.as_ptr(),
            png.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    assert!(answer["thumbnail_path"]
        .as_str()
        .unwrap()
        .contains(id(&person)));
    up.assert_contract(png_len, png_len, "upload_person_avatar");
    let mut progress = Progress::new();
    let answer = json_out(|out| unsafe {
        kitsu_person_set_avatar(
            client,
            person_id.as_ptr(),
            png.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            progress.user_data(),
            out,
        )
    })
    .unwrap();
    progress.assert_contract(png_len, png_len, "person_set_avatar");
    assert!(answer["thumbnail_path"].is_string());
    let mut progress = Progress::new();
    json_out(|out| unsafe {
        kitsu_files_upload_project_avatar(
            client,
            project_id.as_ptr(),
            png.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            progress.user_data(),
            out,
        )
    })
    .unwrap();
    progress.assert_contract(png_len, png_len, "upload_project_avatar");

    let organisation = scene.client.get("auth/authenticated").unwrap()["organisation"].clone();
    let organisation_id = c(id(&organisation));
    {
        // Zou races on concurrent avatar uploads of one entity.
        let _lock = shared_avatar_lock();
        let mut progress = Progress::new();
        json_out(|out| unsafe {
            kitsu_files_upload_organisation_avatar(
                client,
                organisation_id.as_ptr(),
                png.as_ptr(),
                NO_OPTIONS,
                PROGRESS,
                progress.user_data(),
                out,
            )
        })
        .unwrap();
        progress.assert_contract(png_len, png_len, "upload_organisation_avatar");
    }

    let avatars: [(&str, Download2, &CString); 3] = [
        (
            "download_person_avatar",
            kitsu_files_download_person_avatar,
            &person_id,
        ),
        (
            "download_project_avatar",
            kitsu_files_download_project_avatar,
            &project_id,
        ),
        (
            "download_organisation_avatar",
            kitsu_files_download_organisation_avatar,
            &organisation_id,
        ),
    ];
    for (what, call, entity) in avatars {
        let target = scene.path(&format!("{what}.png"));
        download_checked(what, &target, |t, p| unsafe {
            call(
                client,
                entity.as_ptr(),
                t,
                NO_OPTIONS,
                PROGRESS,
                p.user_data(),
            )
        });
        let (width, height) = png_size(&target);
        assert!(width > 0 && height > 0, "{what}");
    }
}

/// The shape of the one-id downloads.
type Download2 = unsafe extern "C" fn(
    *const kitsu::ffi::client::kitsu_client,
    *const c_char,
    *const c_char,
    *const kitsu::ffi::kitsu_transfer_options,
    kitsu::ffi::kitsu_progress_cb,
    *mut std::ffi::c_void,
) -> kitsu_result;

/// Waits until Zou's job queue has built a preview's variants.
fn wait_ready(client: &Client, preview_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let preview = client
            .get(&format!("data/preview-files/{preview_id}"))
            .unwrap();
        match preview["status"].as_str() {
            Some("ready") => return preview,
            Some("broken") => panic!("preview {preview_id} broken: {preview}"),
            _ if Instant::now() > deadline => panic!("preview {preview_id} still processing"),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

#[test]
fn previews_pictures_movies_frames_and_tiles() {
    let zou = live!();
    let scene = Scene::new(zou, "gpv");
    let client = scene.client.ptr();
    let task = c(id(&scene.task));
    let comment = scene.comment("previews");
    let comment_id = c(id(&comment));

    // create_preview + upload_preview_file (synchronous with no_job).
    let revision = c(r#"{"revision": 2}"#);
    let preview = json_out(|out| unsafe {
        kitsu_task_create_preview(
            client,
            task.as_ptr(),
            comment_id.as_ptr(),
            revision.as_ptr(),
            out,
        )
    })
    .unwrap();
    assert_eq!(preview["revision"], 2);
    let picture_id = c(id(&preview));
    let png = cpath(&media().png);
    let no_job = c(r#"{"no_job": true, "normalize_movie": true}"#);
    let mut up = Progress::new();
    let uploaded = json_out(|out| unsafe {
        kitsu_task_upload_preview_file(
            client,
            picture_id.as_ptr(),
            png.as_ptr(),
            no_job.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    assert_eq!(
        uploaded["status"], "ready",
        "no_job processes in the request: {uploaded}"
    );
    up.assert_contract(
        size(&media().png),
        size(&media().png),
        "upload_preview_file",
    );
    let record =
        json_out(|out| unsafe { kitsu_files_get_preview_file(client, picture_id.as_ptr(), out) })
            .unwrap();
    assert_eq!(record["extension"], "png");

    let original = scene.path("original.png");
    download_checked(
        "download_preview_file (picture)",
        &original,
        |t, p| unsafe {
            kitsu_files_download_preview_file(
                client,
                picture_id.as_ptr(),
                t,
                NO_OPTIONS,
                PROGRESS,
                p.user_data(),
            )
        },
    );
    assert_eq!(png_size(&original), png_size(&media().png));
    let cover = scene.path("cover.png");
    download_checked("download_preview_file_cover", &cover, |t, p| unsafe {
        kitsu_files_download_preview_file_cover(
            client,
            picture_id.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    let thumbnail = scene.path("thumbnail.png");
    download_checked(
        "download_preview_file_thumbnail",
        &thumbnail,
        |t, p| unsafe {
            kitsu_files_download_preview_file_thumbnail(
                client,
                picture_id.as_ptr(),
                t,
                NO_OPTIONS,
                PROGRESS,
                p.user_data(),
            )
        },
    );
    assert!(png_size(&thumbnail).0 <= png_size(&media().png).0);

    // add_preview: a movie, one progress stream, processed by the job queue.
    let mp4 = cpath(&media().mp4);
    let mut up = Progress::new();
    let movie = json_out(|out| unsafe {
        kitsu_task_add_preview(
            client,
            task.as_ptr(),
            comment_id.as_ptr(),
            mp4.as_ptr(),
            std::ptr::null(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(size(&media().mp4), size(&media().mp4), "add_preview");
    let movie_id = c(id(&movie));
    // The movie routes answer 202 while processing: the library waits.
    let movie_file = scene.path("movie.mp4");
    download_checked("download_preview_movie", &movie_file, |t, p| unsafe {
        kitsu_files_download_preview_movie(
            client,
            movie_id.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    assert!(is_mp4(&movie_file));
    wait_ready(&scene.client, id(&movie));
    let via_record = scene.path("movie-original.mp4");
    download_checked(
        "download_preview_file (movie)",
        &via_record,
        |t, p| unsafe {
            kitsu_files_download_preview_file(
                client,
                movie_id.as_ptr(),
                t,
                NO_OPTIONS,
                PROGRESS,
                p.user_data(),
            )
        },
    );
    assert_eq!(sha_file(&via_record), sha_file(&movie_file));
    let lowdef = scene.path("lowdef.mp4");
    download_checked("download_preview_lowdef_movie", &lowdef, |t, p| unsafe {
        kitsu_files_download_preview_lowdef_movie(
            client,
            movie_id.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    assert!(is_mp4(&lowdef));
    let frame = scene.path("frame.png");
    download_checked("extract_frame_from_preview", &frame, |t, p| unsafe {
        kitsu_files_extract_frame_from_preview(
            client,
            movie_id.as_ptr(),
            5,
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    // Zou normalises movies to the project's resolution (1920x1080 by default).
    let (width, height) = png_size(&frame);
    assert!(width >= 320 && height >= 240, "{width}x{height}");
    let tile = scene.path("tile.png");
    download_checked("extract_tile_from_preview", &tile, |t, p| unsafe {
        kitsu_files_extract_tile_from_preview(
            client,
            movie_id.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    assert!(png_size(&tile).0 > 0);

    // add_extra_preview: shares the revision of the movie preview.
    let png2 = cpath(&media().png2);
    let mut progress = Progress::new();
    let extra = json_out(|out| unsafe {
        kitsu_task_add_extra_preview(
            client,
            task.as_ptr(),
            comment_id.as_ptr(),
            movie_id.as_ptr(),
            png2.as_ptr(),
            no_job.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            progress.user_data(),
            out,
        )
    })
    .unwrap();
    progress.assert_contract(
        size(&media().png2),
        size(&media().png2),
        "add_extra_preview",
    );
    assert_eq!(extra["revision"], movie["revision"]);
    assert_ne!(extra["id"], movie["id"]);

    // A missing file is refused before any preview record is created.
    let before = scene
        .client
        .get(&format!("data/tasks/{}/previews", id(&scene.task)))
        .map(|v| v.to_string());
    let missing = c("/nonexistent/libkitsu/preview.png");
    let error = json_out(|out| unsafe {
        kitsu_task_add_preview(
            client,
            task.as_ptr(),
            comment_id.as_ptr(),
            missing.as_ptr(),
            std::ptr::null(),
            NO_OPTIONS,
            None,
            std::ptr::null_mut(),
            out,
        )
    })
    .unwrap_err();
    assert_eq!(error.code, kitsu_result::FileNotFound);
    let after = scene
        .client
        .get(&format!("data/tasks/{}/previews", id(&scene.task)))
        .map(|v| v.to_string());
    assert_eq!(before.ok(), after.ok());
}

#[test]
fn comments_attachments_and_their_downloads() {
    let zou = live!();
    let scene = Scene::new(zou, "gcm");
    let client = scene.client.ptr();
    let task = c(id(&scene.task));
    let status = c(id(&scene.status));
    let first = write(scene.dir.path(), "a first note.txt", "first attachment\n");
    let second = write(
        scene.dir.path(),
        "second#2.txt",
        "second attachment, with a # in its name\n",
    );

    // Without attachments: JSON.
    let options = c(
        r#"{"comment": "plain", "checklist": [{"text": "check", "checked": false}], "for_client": false}"#,
    );
    let plain = json_out(|out| unsafe {
        kitsu_task_add_comment(
            client,
            task.as_ptr(),
            status.as_ptr(),
            std::ptr::null(),
            0,
            options.as_ptr(),
            NO_OPTIONS,
            None,
            std::ptr::null_mut(),
            out,
        )
    })
    .unwrap();
    assert_eq!(plain["text"], "plain");
    assert_eq!(plain["checklist"][0]["text"], "check");

    // With attachments: multipart, the caller's order kept.
    let (_owned, pointers) = paths(&[&first, &second]);
    let options = c(r#"{"comment": "with files", "links": ["https://example.com"]}"#);
    let mut up = Progress::new();
    let commented = json_out(|out| unsafe {
        kitsu_task_add_comment(
            client,
            task.as_ptr(),
            status.as_ptr(),
            pointers.as_ptr(),
            2,
            options.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(
        size(&first) + size(&second),
        size(&first) + size(&second),
        "add_comment with attachments",
    );
    let names: Vec<&str> = commented["attachment_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a first note.txt", "second#2.txt"]);
    let comment_id = c(id(&commented));

    let third = write(scene.dir.path(), "third.txt", "added later\n");
    let (_owned3, pointers3) = paths(&[&third]);
    let mut progress = Progress::new();
    let added = json_out(|out| unsafe {
        kitsu_task_add_attachment_files_to_comment(
            client,
            task.as_ptr(),
            comment_id.as_ptr(),
            pointers3.as_ptr(),
            1,
            NO_OPTIONS,
            PROGRESS,
            progress.user_data(),
            out,
        )
    })
    .unwrap();
    progress.assert_contract(
        size(&third),
        size(&third),
        "add_attachment_files_to_comment",
    );
    assert_eq!(added[0]["name"], "third.txt");
    let error = json_out(|out| unsafe {
        kitsu_task_add_attachment_files_to_comment(
            client,
            task.as_ptr(),
            comment_id.as_ptr(),
            pointers3.as_ptr(),
            0,
            NO_OPTIONS,
            None,
            std::ptr::null_mut(),
            out,
        )
    })
    .unwrap_err();
    assert_eq!(error.code, kitsu_result::InvalidParameter);

    // Each attachment back, byte for byte (a '#' in the name is percent-encoded).
    for (attachment, source) in commented["attachment_files"]
        .as_array()
        .unwrap()
        .iter()
        .zip([&first, &second])
    {
        let attachment_id = c(id(attachment));
        let record = json_out(|out| unsafe {
            kitsu_files_get_attachment_file(client, attachment_id.as_ptr(), out)
        })
        .unwrap();
        assert_eq!(record["id"], attachment["id"]);
        let target = scene.path(&format!("back-{}", attachment["name"].as_str().unwrap()));
        download_checked("download_attachment_file", &target, |t, p| unsafe {
            kitsu_files_download_attachment_file(
                client,
                attachment_id.as_ptr(),
                t,
                NO_OPTIONS,
                PROGRESS,
                p.user_data(),
            )
        });
        assert_eq!(sha_file(&target), sha_file(source));
    }

    // Comment attachments have no thumbnail in Zou: a 404, nothing written.
    let first_id = c(id(&commented["attachment_files"][0]));
    let target = scene.path("no-thumbnail.png");
    let target_c = cpath(&target);
    let error = check(unsafe {
        kitsu_files_download_attachment_thumbnail(
            client,
            first_id.as_ptr(),
            target_c.as_ptr(),
            NO_OPTIONS,
            None,
            std::ptr::null_mut(),
        )
    })
    .unwrap_err();
    assert_eq!(error.code, kitsu_result::NotFound);
    assert!(!target.exists());
    // Picture attachments of chat messages have one (the part says image/png).
    scene
        .client
        .post(
            &format!("actions/user/chats/{}/join", id(&scene.asset)),
            &json!({}),
        )
        .unwrap();
    let chat = scene
        .client
        .upload(
            &format!("data/entities/{}/chat/messages", id(&scene.asset)),
            &[&media().png],
            Some(&json!({"message": "a picture"})),
            None,
        )
        .unwrap();
    let chat_attachment = c(id(&chat["attachment_files"][0]));
    download_checked("download_attachment_thumbnail", &target, |t, p| unsafe {
        kitsu_files_download_attachment_thumbnail(
            client,
            chat_attachment.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    png_size(&target);

    let comments =
        json_out(|out| unsafe { kitsu_task_all_comments_for_task(client, task.as_ptr(), out) })
            .unwrap();
    assert_eq!(comments.as_array().unwrap().len(), 2);
    assert_eq!(comments[0]["id"], commented["id"], "newest first");
}

#[test]
fn batch_comments_and_multiple_comments_with_files() {
    let zou = live!();
    let scene = Scene::new(zou, "gbt");
    let client = scene.client.ptr();
    let task = c(id(&scene.task));
    let note = write(scene.dir.path(), "batch note.txt", "batch attachment\n");
    let comments = json!([
        {"task_status_id": id(&scene.status), "text": "batch one", "attachment_files": [note], "preview_files": [media().png]},
        {"task_status_id": id(&scene.status), "text": "batch two"},
    ]);
    let comments_c = c(&comments.to_string());
    let total = size(&note) + size(&media().png);
    let mut up = Progress::new();
    let created = json_out(|out| unsafe {
        kitsu_task_batch_comments(
            client,
            task.as_ptr(),
            comments_c.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(total, total, "batch_comments");
    assert_eq!(created[0]["text"], "batch one");
    assert_eq!(created[0]["attachment_files"][0]["name"], "batch note.txt");
    assert_eq!(created[0]["preview_files"].as_array().unwrap().len(), 1);
    assert_eq!(created[1]["text"], "batch two");

    // Without a task: each comment names its own.
    let comments = json!([{"task_id": id(&scene.task), "task_status_id": id(&scene.status), "text": "taskless route"}]);
    let comments_c = c(&comments.to_string());
    let created = json_out(|out| unsafe {
        kitsu_task_batch_comments(
            client,
            std::ptr::null(),
            comments_c.as_ptr(),
            NO_OPTIONS,
            None,
            std::ptr::null_mut(),
            out,
        )
    })
    .unwrap();
    assert_eq!(created[0]["text"], "taskless route");

    // create_multiple_comments: JSON to comment-many, then the files.
    let project = c(id(&scene.project));
    let comments = json!([
        {"task_id": id(&scene.task), "task_status_id": id(&scene.status), "comment": "many one", "attachment_files": [note], "preview_files": [media().png2]},
        {"object_id": id(&scene.task), "task_status_id": id(&scene.status), "comment": "many two"},
    ]);
    let comments_c = c(&comments.to_string());
    let total = size(&note) + size(&media().png2);
    let mut up = Progress::new();
    let created = json_out(|out| unsafe {
        kitsu_task_create_multiple_comments(
            client,
            project.as_ptr(),
            comments_c.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(total, total, "create_multiple_comments");
    assert_eq!(created.as_array().unwrap().len(), 2);
    assert_eq!(created[0]["attachment_files"][0]["name"], "batch note.txt");
    assert_eq!(created[0]["preview_files"].as_array().unwrap().len(), 1);
    let all = scene
        .client
        .get(&format!("data/tasks/{}/comments", id(&scene.task)))
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 5);
}

#[test]
fn publish_preview_reports_one_progress_stream() {
    let zou = live!();
    let scene = Scene::new(zou, "gpb");
    let client = scene.client.ptr();
    let task = c(id(&scene.task));
    let status = c(id(&scene.status));
    let note = write(scene.dir.path(), "notes.txt", "publish notes\n");
    let (_owned, pointers) = paths(&[&note]);
    let preview = cpath(&media().png);
    let options = c(r#"{"comment": "published", "set_thumbnail": true, "no_job": true}"#);
    let total = size(&note) + size(&media().png);
    let mut up = Progress::new();
    let published = json_out(|out| unsafe {
        kitsu_task_publish_preview(
            client,
            task.as_ptr(),
            status.as_ptr(),
            preview.as_ptr(),
            pointers.as_ptr(),
            1,
            options.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(total, total, "publish_preview");
    assert_eq!(published["comment"]["text"], "published");
    assert_eq!(
        published["comment"]["attachment_files"][0]["name"],
        "notes.txt"
    );
    assert_eq!(published["preview_file"]["status"], "ready");
    let asset = scene
        .client
        .get(&format!("data/assets/{}", id(&scene.asset)))
        .unwrap();
    assert_eq!(
        asset["preview_file_id"], published["preview_file"]["id"],
        "set_thumbnail"
    );
}

#[test]
fn csv_and_otio_imports_and_exports() {
    let zou = live!();
    let scene = Scene::new(zou, "gcsv");
    let client = scene.client.ptr();
    let project = c(id(&scene.project));
    let asset_type = scene.asset_type["name"].as_str().unwrap();
    let assets_csv = write(scene.dir.path(), "assets.csv", &format!("Episode,Type,Name,Description\n,{asset_type},lamp,a lamp\n,{asset_type},table,a table\n"));
    let assets_csv_c = cpath(&assets_csv);
    let mut up = Progress::new();
    let imported = json_out(|out| unsafe {
        kitsu_asset_import_assets_with_csv(
            client,
            project.as_ptr(),
            assets_csv_c.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(
        size(&assets_csv),
        size(&assets_csv),
        "import_assets_with_csv",
    );
    assert_eq!(imported.as_array().unwrap().len(), 2, "{imported}");

    let exported = scene.path("assets-export.csv");
    download_checked("export_assets_with_csv", &exported, |t, p| unsafe {
        kitsu_asset_export_assets_with_csv(
            client,
            project.as_ptr(),
            t,
            std::ptr::null(),
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.contains("lamp") && text.contains("table") && text.contains("chair"),
        "{text}"
    );

    let shots_csv = write(scene.dir.path(), "shots.csv", "Sequence,Name,Description,Nb Frames\nSQ01,SH010,first shot,24\nSQ01,SH020,second shot,48\n");
    let shots_csv_c = cpath(&shots_csv);
    let mut progress = Progress::new();
    let imported = json_out(|out| unsafe {
        kitsu_shot_import_shots_with_csv(
            client,
            project.as_ptr(),
            shots_csv_c.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            progress.user_data(),
            out,
        )
    })
    .unwrap();
    progress.assert_contract(size(&shots_csv), size(&shots_csv), "import_shots_with_csv");
    assert_eq!(imported.as_array().unwrap().len(), 2, "{imported}");
    let exported = scene.path("shots-export.csv");
    download_checked("export_shots_with_csv", &exported, |t, p| unsafe {
        kitsu_shot_export_shots_with_csv(
            client,
            project.as_ptr(),
            t,
            std::ptr::null(),
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("SH010") && text.contains("SH020"), "{text}");

    let otio = scene.path("edit.otio");
    make_otio(zou, &otio, &["SQ02-SH030", "SQ02-SH040"]);
    let otio_c = cpath(&otio);
    let options =
        c(r#"{"naming_convention": "${sequence_name}-${shot_name}", "match_case": true}"#);
    let mut up = Progress::new();
    let imported = json_out(|out| unsafe {
        kitsu_shot_import_otio(
            client,
            project.as_ptr(),
            otio_c.as_ptr(),
            options.as_ptr(),
            NO_OPTIONS,
            PROGRESS,
            up.user_data(),
            out,
        )
    })
    .unwrap();
    up.assert_contract(size(&otio), size(&otio), "import_otio");
    assert_eq!(
        imported["created_shots"].as_array().unwrap().len(),
        2,
        "{imported}"
    );
}

/// An OTIO timeline with one clip per name, written by the OpenTimelineIO
/// that Zou itself uses.
fn make_otio(zou: &Zou, target: &Path, clips: &[&str]) {
    let script = "import sys, opentimelineio as otio\n\
        timeline = otio.schema.Timeline(name='edit')\n\
        track = otio.schema.Track(name='V1', kind=otio.schema.TrackKind.Video)\n\
        timeline.tracks.append(track)\n\
        for name in sys.argv[2:]:\n\
        \x20   track.append(otio.schema.Clip(name=name, source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24))))\n\
        otio.adapters.write_to_file(timeline, sys.argv[1])";
    let status = std::process::Command::new(&zou.python)
        .arg("-c")
        .arg(script)
        .arg(target)
        .args(clips)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn playlist_build_and_zip() {
    let zou = live!();
    let scene = Scene::new(zou, "gpl");
    let client = scene.client.ptr();
    let comment = scene.comment("for the playlist");
    let preview = scene.add_preview(&comment, &media().mp4);
    wait_ready(&scene.client, id(&preview));
    let playlist = scene
        .client
        .post("data/playlists", &json!({"name": "daily", "project_id": id(&scene.project), "for_entity": "asset", "for_client": false}))
        .unwrap();
    let mut playlist_update = playlist.clone();
    playlist_update["shots"] =
        json!([{"entity_id": id(&scene.asset), "preview_file_id": id(&preview)}]);
    scene
        .client
        .put(
            &format!("data/playlists/{}", id(&playlist)),
            &playlist_update,
        )
        .unwrap();
    let playlist_id = c(id(&playlist));

    let zip = scene.path("daily.zip");
    download_checked("download_playlist_zip", &zip, |t, p| unsafe {
        kitsu_playlist_download_playlist_zip(
            client,
            playlist_id.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    assert!(std::fs::read(&zip).unwrap().starts_with(b"PK"));

    let job = scene
        .client
        .get(&format!("data/playlists/{}/build/mp4", id(&playlist)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = scene
            .client
            .get(&format!(
                "data/playlists/{}/jobs/{}",
                id(&playlist),
                id(&job)
            ))
            .unwrap();
        match status["status"].as_str() {
            Some("succeeded") => break,
            Some("failed") => panic!("playlist build failed: {status}"),
            _ if Instant::now() > deadline => panic!("playlist build still running: {status}"),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let job_id = c(id(&job));
    let movie = scene.path("daily.mp4");
    download_checked("download_playlist_build", &movie, |t, p| unsafe {
        kitsu_playlist_download_playlist_build(
            client,
            playlist_id.as_ptr(),
            job_id.as_ptr(),
            t,
            NO_OPTIONS,
            PROGRESS,
            p.user_data(),
        )
    });
    assert!(is_mp4(&movie));
}

#[test]
fn lookups_a_batch_script_starts_from() {
    let zou = live!();
    let scene = Scene::new(zou, "glk");
    let client = scene.client.ptr();
    let name = c(scene.project["name"].as_str().unwrap());
    let project =
        json_out(|out| unsafe { kitsu_project_get_project_by_name(client, name.as_ptr(), out) })
            .unwrap();
    assert_eq!(project["id"], scene.project["id"]);
    let nobody = c("no such project & co");
    assert_eq!(
        json_out(|out| unsafe { kitsu_project_get_project_by_name(client, nobody.as_ptr(), out) })
            .unwrap(),
        Value::Null
    );
    let open = json_out(|out| unsafe { kitsu_project_all_open_projects(client, out) }).unwrap();
    assert!(open
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == scene.project["id"]));

    let project_id = c(id(&scene.project));
    let by_type = c(&json!({"task_type": {"id": id(&scene.task_type)}}).to_string());
    let tasks = json_out(|out| unsafe {
        kitsu_task_all_tasks_for_project(client, project_id.as_ptr(), by_type.as_ptr(), out)
    })
    .unwrap();
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert_eq!(tasks[0]["id"], scene.task["id"]);

    let short_name = c(scene.status["short_name"].as_str().unwrap());
    let status = json_out(|out| unsafe {
        kitsu_task_get_task_status_by_short_name(client, short_name.as_ptr(), out)
    })
    .unwrap();
    assert_eq!(status["id"], scene.status["id"]);

    let email = c(&zou.email);
    let person =
        json_out(|out| unsafe { kitsu_person_get_person_by_email(client, email.as_ptr(), out) })
            .unwrap();
    assert_eq!(person["email"], zou.email.as_str());

    // A malformed id never reaches the server.
    let bad = c("../../etc");
    let error =
        json_out(|out| unsafe { kitsu_task_all_comments_for_task(client, bad.as_ptr(), out) })
            .unwrap_err();
    assert_eq!(error.code, kitsu_result::InvalidParameter);
}
