//! The real Zou started by scripts/zou-server, and per-test fixtures on it.
//! Every test makes its own project (with a file tree), asset type, asset,
//! task type and task, so tests run in parallel without sharing state.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use super::capi::Client;

/// Where to find the server: `KITSU_LIVE_ENV` (an env file written by
/// `scripts/zou-server start`), else the script's default location.
pub struct Zou {
    pub url: String,
    pub email: String,
    pub password: String,
    pub job_queue: bool,
    /// The venv's python (has zou, gazu, PyJWT) and the server's work folder.
    pub python: String,
    pub work_dir: PathBuf,
}

impl Zou {
    /// The live server, or `None` (test skipped, with a note) when none runs
    /// and `KITSU_LIVE_REQUIRED` is not set. scripts/test sets it.
    pub fn get() -> Option<&'static Zou> {
        static ZOU: OnceLock<Option<Zou>> = OnceLock::new();
        let zou = ZOU.get_or_init(|| {
            let file = std::env::var("KITSU_LIVE_ENV")
                .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.work/zou.env").into());
            let text = std::fs::read_to_string(&file).ok()?;
            let value = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{key}=")))
                    .map(str::to_string)
            };
            Some(Zou {
                url: value("ZOU_API_URL")?,
                email: value("ZOU_ADMIN_EMAIL")?,
                password: value("ZOU_ADMIN_PASSWORD")?,
                job_queue: value("ZOU_JOB_QUEUE").as_deref() == Some("1"),
                python: value("ZOU_PYTHON")?,
                work_dir: PathBuf::from(value("ZOU_WORK_DIR")?),
            })
        });
        if zou.is_none() {
            assert!(
                std::env::var_os("KITSU_LIVE_REQUIRED").is_none(),
                "KITSU_LIVE_REQUIRED is set but no live Zou was found (scripts/zou-server start)"
            );
            eprintln!("no live Zou (scripts/zou-server start): live test skipped");
        }
        zou.as_ref()
    }

    /// The same token, re-signed with the server's secret so that it expired
    /// a minute ago: Zou answers it with 401 "Signature has expired".
    pub fn expired_copy(&self, token: &str) -> String {
        let server_env = std::fs::read_to_string(self.work_dir.join("server.env")).unwrap();
        let secret = server_env
            .lines()
            .find_map(|l| l.strip_prefix("SECRET_KEY="))
            .expect("SECRET_KEY in server.env");
        let script = "import jwt, sys, time\n\
            claims = jwt.decode(sys.argv[2], sys.argv[1], algorithms=['HS256'])\n\
            now = int(time.time())\n\
            claims.update(iat=now - 120, nbf=now - 120, exp=now - 60)\n\
            print(jwt.encode(claims, sys.argv[1], algorithm='HS256'))";
        let output = Command::new(&self.python)
            .args(["-c", script, secret, token])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    pub fn admin(&self) -> Client {
        let client = Client::new(&self.url).unwrap();
        client.log_in(&self.email, &self.password).unwrap();
        client
    }
}

/// A name no other test (or run) uses, short enough for Zou's 30-character
/// type names: the tag, then 8 hex digits of process and time, then a counter.
fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let stamp = (u64::from(std::process::id()).wrapping_mul(0x9E37_79B9) ^ nanos) as u32;
    format!(
        "{tag}-{stamp:08x}{:x}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A working-file tree, as gazu's `update_project_file_tree` takes it.
pub fn file_tree() -> Value {
    let section = |mountpoint: &str| {
        json!({
            "mountpoint": mountpoint,
            "root": "productions",
            "folder_path": {
                "shot": "<Project>/shots/<Sequence>/<Shot>/<TaskType>",
                "asset": "<Project>/assets/<AssetType>/<Asset>/<TaskType>",
                "sequence": "<Project>/sequences/<Sequence>/<TaskType>",
                "style": "lowercase"
            },
            "file_name": {
                "shot": "<Project>_<Sequence>_<Shot>_<TaskType>",
                "asset": "<Project>_<AssetType>_<Asset>_<TaskType>",
                "sequence": "<Project>_<Sequence>_<TaskType>",
                "style": "lowercase"
            }
        })
    };
    json!({ "working": section("/working_files"), "output": section("/output_files") })
}

/// One test's own production: project, asset, task type, task, status.
pub struct Scene {
    pub client: Client,
    pub name: String,
    pub project: Value,
    pub asset_type: Value,
    pub asset: Value,
    pub task_type: Value,
    pub task: Value,
    pub status: Value,
    pub dir: tempfile::TempDir,
}

pub fn id(value: &Value) -> &str {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
}

impl Scene {
    pub fn new(zou: &Zou, tag: &str) -> Scene {
        let client = zou.admin();
        let name = unique(tag);
        let project = client
            .post(
                "data/projects",
                &json!({"name": format!("lk {name}"), "production_type": "short",
                        "production_style": "2d3d", "team": [], "asset_types": [],
                        "task_statuses": [], "task_types": []}),
            )
            .unwrap();
        let pid = id(&project).to_string();
        client
            .put(
                &format!("data/projects/{pid}"),
                &json!({"file_tree": file_tree()}),
            )
            .unwrap();
        let asset_type = client
            .post(
                "data/entity-types",
                &json!({"name": format!("Props {name}")}),
            )
            .unwrap();
        let asset = client
            .post(
                &format!(
                    "data/projects/{pid}/asset-types/{}/assets/new",
                    id(&asset_type)
                ),
                &json!({"name": "chair", "data": {}, "is_shared": false, "description": "a chair"}),
            )
            .unwrap();
        let task_type = client
            .post(
                "data/task-types",
                &json!({"name": format!("Anim {name}"), "color": "#336699", "for_entity": "Asset"}),
            )
            .unwrap();
        client
            .post(
                &format!("data/projects/{pid}/settings/task-types"),
                &json!({"task_type_id": id(&task_type), "priority": 1}),
            )
            .unwrap();
        let status = client.get("data/task-status?is_default=True").unwrap()[0].clone();
        let task = client
            .post(
                "data/tasks",
                &json!({"project_id": pid, "entity_id": id(&asset), "task_type_id": id(&task_type),
                        "task_status_id": id(&status), "assignees": [], "name": "main"}),
            )
            .unwrap();
        Scene {
            client,
            name,
            project,
            asset_type,
            asset,
            task_type,
            task,
            status,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A preview of `file` on `comment` (made through the generic C calls,
    /// `no_job`: Zou processes it before answering); returns the preview record.
    pub fn add_preview(&self, comment: &Value, file: &Path) -> Value {
        let preview = self
            .client
            .post(
                &format!(
                    "actions/tasks/{}/comments/{}/add-preview",
                    id(&self.task),
                    id(comment)
                ),
                &json!({}),
            )
            .unwrap();
        self.client
            .upload(
                &format!("pictures/preview-files/{}?no_job=true", id(&preview)),
                &[file],
                None,
                None,
            )
            .unwrap();
        preview
    }

    /// A plain comment on the scene's task.
    pub fn comment(&self, text: &str) -> Value {
        self.client
            .post(
                &format!("actions/tasks/{}/comment", id(&self.task)),
                &json!({"task_status_id": id(&self.status), "comment": text}),
            )
            .unwrap()
    }
}

/// Avatar uploads to one shared entity race inside Zou (it writes
/// TMP_DIR/<id>.png): tests that upload an avatar of a shared entity
/// (the organisation, the admin) hold this.
pub fn shared_avatar_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Test media made once per test binary with ffmpeg (installed by
/// scripts/zou-server): a PNG, an mp4 with an audio track (a silent one
/// ends up broken in Zou with Debian's ffmpeg), a binary working file.
pub struct Media {
    pub png: PathBuf,
    pub png2: PathBuf,
    pub mp4: PathBuf,
    pub binary: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("frame.png");
        let png2 = dir.path().join("other frame.png");
        let mp4 = dir.path().join("clip.mp4");
        let binary = dir.path().join("scene_v001.blend");
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=1",
                "-frames:v",
                "1",
            ],
            &png,
        );
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "smptebars=size=160x120:rate=1",
                "-frames:v",
                "1",
            ],
            &png2,
        );
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=2:size=320x240:rate=24",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=2",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
            ],
            &mp4,
        );
        std::fs::write(&binary, super::pattern(3 * 1024 * 1024 + 17)).unwrap();
        Media {
            png,
            png2,
            mp4,
            binary,
            _dir: dir,
        }
    })
}

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg (installed by scripts/zou-server)");
    assert!(status.success(), "ffmpeg failed for {}", out.display());
}

pub fn sha_file(path: &Path) -> String {
    super::sha256_hex(&std::fs::read(path).unwrap())
}
