"""Fixtures: the real Zou of scripts/zou-server (its env file), a logged-in
client, a per-test production, and media made with ffmpeg."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import libkitsu


def _zou_env() -> dict:
    # The checkout's own server (scripts/zou-server start writes .work/zou.env).
    path = Path(os.environ.get("KITSU_LIVE_ENV", Path(__file__).resolve().parents[3] / ".work" / "zou.env"))
    if not path.is_file():
        if os.environ.get("KITSU_LIVE_REQUIRED"):
            pytest.fail(f"KITSU_LIVE_REQUIRED is set but {path} does not exist (scripts/zou-server start)")
        pytest.skip("no live Zou (scripts/zou-server start)")
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


@pytest.fixture(scope="session")
def zou() -> dict:
    return _zou_env()


@pytest.fixture
def client(zou):
    with libkitsu.KitsuClient(zou["ZOU_API_URL"]) as client:
        client.log_in(zou["ZOU_ADMIN_EMAIL"], zou["ZOU_ADMIN_PASSWORD"])
        yield client


FILE_TREE = {
    "working": {
        "mountpoint": "/working_files",
        "root": "productions",
        "folder_path": {"asset": "<Project>/assets/<AssetType>/<Asset>/<TaskType>", "style": "lowercase"},
        "file_name": {"asset": "<Project>_<AssetType>_<Asset>_<TaskType>", "style": "lowercase"},
    }
}


class Scene:
    """One test's production: project (with a file tree), asset, task, status."""

    def __init__(self, client: libkitsu.KitsuClient, tmp_path: Path):
        tag = uuid.uuid4().hex[:10]
        self.client = client
        self.dir = tmp_path
        self.project = client.post("data/projects", {"name": f"py {tag}", "production_type": "short", "production_style": "2d3d"})
        libkitsu.files.update_project_file_tree(self.project, FILE_TREE, client=client)
        self.asset_type = client.post("data/entity-types", {"name": f"PyProps {tag}"})
        self.asset = client.post(
            f"data/projects/{self.project['id']}/asset-types/{self.asset_type['id']}/assets/new",
            {"name": "chair", "data": {}, "is_shared": False},
        )
        self.task_type = client.post("data/task-types", {"name": f"PyAnim {tag}", "color": "#336699", "for_entity": "Asset"})
        client.post(f"data/projects/{self.project['id']}/settings/task-types", {"task_type_id": self.task_type["id"], "priority": 1})
        self.status = client.get("data/task-status?is_default=True")[0]
        self.task = client.post(
            "data/tasks",
            {"project_id": self.project["id"], "entity_id": self.asset["id"], "task_type_id": self.task_type["id"],
             "task_status_id": self.status["id"], "assignees": [], "name": "main"},
        )

    def comment(self, text: str) -> dict:
        return libkitsu.task.add_comment(self.task, self.status, text, client=self.client)

    def wait_ready(self, preview: dict, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            record = libkitsu.files.get_preview_file(preview, client=self.client)
            if record["status"] != "processing" or time.monotonic() > deadline:
                return record
            time.sleep(0.5)


@pytest.fixture
def scene(client, tmp_path) -> Scene:
    return Scene(client, tmp_path)


class Media:
    def __init__(self, folder: Path):
        self.png = folder / "frame.png"
        self.mp4 = folder / "clip.mp4"
        self.blend = folder / "scene_v001.blend"
        ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=1", "-frames:v", "1"], self.png)
        ffmpeg(
            ["-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
             "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
            self.mp4,
        )
        self.blend.write_bytes(os.urandom(2 * 1024 * 1024 + 13))


def ffmpeg(args, out: Path) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args, str(out)], check=True)


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    return Media(tmp_path_factory.mktemp("media"))


class Recorder:
    """A gazu-style progress_callback that records its calls and threads."""

    def __init__(self):
        import threading

        self.calls = []
        self.threads = set()
        self.caller = threading.get_ident()

    def __call__(self, bytes_read, total):
        import threading

        self.calls.append((bytes_read, total))
        self.threads.add(threading.get_ident())

    def check(self, total, done=None):
        done = total if done is None else done
        assert self.calls, "no progress call"
        calls = self.calls
        if total > 0:
            # Heartbeats before the answer's headers (a 202 wait) come as (0, 0).
            while calls and calls[0] == (0, 0):
                calls = calls[1:]
        assert calls, "only heartbeats"
        assert calls[0] == (0, total), calls[:3]
        assert calls[-1] == (done, total), calls[-3:]
        assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:])), "decreasing"
        assert all(t == total and (t == 0 or d <= t) for d, t in calls), "out of bounds"
        assert self.threads == {self.caller}, "callback on another thread"
