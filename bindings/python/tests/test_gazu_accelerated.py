"""gazu 1.3.1 itself, accelerated by libkitsu, against the real Zou: every
file function of gazu's surface called through gazu, with the bytes
compared with the same call without libkitsu; tokens refreshed on either
side seen by the other; gazu's exception classes; restore."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import libkitsu
from libkitsu import gazu_bridge

gazu = pytest.importorskip("gazu")

CHECKOUT = Path(__file__).resolve().parents[3]


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def gc(zou):
    """A gazu client of its own, logged in, refreshing its token as a studio sets it up."""
    libkitsu.restore_gazu()
    client = gazu.client.create_client(zou["ZOU_API_URL"], use_refresh_token=True)
    gazu.log_in(zou["ZOU_ADMIN_EMAIL"], zou["ZOU_ADMIN_PASSWORD"], client=client)
    yield client
    libkitsu.restore_gazu()


def expired_copy(zou: dict, token: str) -> str:
    """The same token, re-signed with Zou's secret so that it expired a minute ago."""
    server_env = Path(zou["ZOU_WORK_DIR"], "server.env").read_text()
    secret = next(line.split("=", 1)[1] for line in server_env.splitlines() if line.startswith("SECRET_KEY="))
    script = ("import jwt, sys, time\nclaims = jwt.decode(sys.argv[2], sys.argv[1], algorithms=['HS256'])\n"
              "now = int(time.time())\nclaims.update(iat=now - 120, nbf=now - 120, exp=now - 60)\n"
              "print(jwt.encode(claims, sys.argv[1], algorithm='HS256'))")
    done = subprocess.run([zou["ZOU_PYTHON"], "-c", script, secret, token], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_every_gazu_file_function_runs_through_libkitsu_with_the_same_bytes(scene, media, gc):
    task, status, d = scene.task, scene.status, scene.dir
    # Set-up through plain gazu.
    comment = gazu.task.add_comment(task, status, "gazu accelerated", attachments=[str(media.blend)], client=gc)
    picture = gazu.task.add_preview(task, comment, str(media.png), client=gc)
    movie = gazu.task.add_preview(task, comment, str(media.mp4), client=gc)
    scene.wait_ready(movie)
    attachment = comment["attachment_files"][0]
    person = gazu.client.get("data/persons", client=gc)[0]
    gazu.files.upload_person_avatar(person, str(media.png), client=gc)
    gazu.files.upload_project_avatar(scene.project, str(media.png), client=gc)
    working_file = gazu.files.new_working_file(task, name="main", client=gc)
    gazu.files.upload_working_file(working_file, str(media.blend), client=gc)

    downloads = [
        ("download_preview_file", lambda p, cb: gazu.files.download_preview_file(picture, p, client=gc, progress_callback=cb)),
        ("download_preview_file_thumbnail", lambda p, cb: gazu.files.download_preview_file_thumbnail(picture, p, client=gc, progress_callback=cb)),
        ("download_preview_file_cover", lambda p, cb: gazu.files.download_preview_file_cover(picture, p, client=gc, progress_callback=cb)),
        ("download_preview_movie", lambda p, cb: gazu.files.download_preview_movie(movie, p, client=gc, progress_callback=cb)),
        ("download_preview_lowdef_movie", lambda p, cb: gazu.files.download_preview_lowdef_movie(movie, p, client=gc, progress_callback=cb)),
        ("download_attachment_file", lambda p, cb: gazu.files.download_attachment_file(attachment, p, client=gc, progress_callback=cb)),
        ("download_person_avatar", lambda p, cb: gazu.files.download_person_avatar(person, p, client=gc, progress_callback=cb)),
        ("download_project_avatar", lambda p, cb: gazu.files.download_project_avatar(scene.project, p, client=gc, progress_callback=cb)),
        ("download_working_file", lambda p, cb: gazu.files.download_working_file(working_file, p, client=gc, progress_callback=cb)),
        ("extract_frame_from_preview", lambda p, cb: gazu.files.extract_frame_from_preview(movie, 3, p, client=gc, progress_callback=cb)),
        ("extract_tile_from_preview", lambda p, cb: gazu.files.extract_tile_from_preview(movie, p, client=gc, progress_callback=cb)),
        ("export_assets_with_csv", lambda p, cb: gazu.asset.export_assets_with_csv(scene.project, p, client=gc)),
        ("export_shots_with_csv", lambda p, cb: gazu.shot.export_shots_with_csv(scene.project, p, client=gc)),
    ]
    plain = {}
    for name, call in downloads:
        call(str(d / f"plain-{name}"), None)
        plain[name] = sha(d / f"plain-{name}")
    frame_in_memory = gazu.files.extract_frame_from_preview(movie, 3, client=gc).content

    with libkitsu.accelerate_gazu() as acceleration:
        assert getattr(gazu.client.download, "libkitsu_accelerated", False)
        for name, call in downloads:
            calls = []
            response = call(str(d / f"fast-{name}"), lambda done, total: calls.append((done, total)))
            target = d / f"fast-{name}"
            assert sha(target) == plain[name], name
            assert response.status_code == 200 and response.ok and response.size == target.stat().st_size, name
            if name not in ("export_assets_with_csv", "export_shots_with_csv"):
                assert calls and calls[-1][0] == target.stat().st_size, (name, calls[-3:])
        # No file_path: the bytes in memory, as gazu's response.content.
        assert gazu.files.extract_frame_from_preview(movie, 3, client=gc).content[:8] == frame_in_memory[:8]
        assert gazu.client.get_file_data_from_url(f"pictures/thumbnails/preview-files/{picture['id']}.png", client=gc) == \
            (d / "plain-download_preview_file_thumbnail").read_bytes()
        full_url = gazu.client.get_full_url(f"pictures/thumbnails/preview-files/{picture['id']}.png", gc)
        assert gazu.client.get_file_data_from_url(full_url, full=True, client=gc)[:8] == b"\x89PNG\r\n\x1a\n"

        # Uploads, each read back through plain routes.
        up = []
        gazu.files.upload_working_file(working_file, str(media.blend), client=gc, progress_callback=lambda a, b: up.append((a, b)))
        assert up[-1] == (media.blend.stat().st_size, media.blend.stat().st_size)
        gazu.files.upload_person_avatar(person, str(media.png), client=gc)
        gazu.files.upload_project_avatar(scene.project, str(media.png), client=gc)
        comment2 = gazu.task.add_comment(task, status, "with files", attachments=[str(media.blend), str(media.png)], client=gc)
        # The parts are gazu's own (its module builds them), only their transport changes.
        assert sorted(a["name"] for a in comment2["attachment_files"]) == sorted([media.blend.name, media.png.name])
        gazu.task.add_attachment_files_to_comment(task, comment2, [str(media.blend)], client=gc)
        preview2 = gazu.task.add_preview(task, comment2, str(media.png), client=gc)
        _, preview3 = gazu.task.publish_preview(task, status, comment="published", preview_file_path=str(media.png), client=gc)
        csv = d / "assets.csv"
        csv.write_text(f"Episode,Type,Name,Description\n,{scene.asset_type['name']},lamp,a lamp\n")
        gazu.asset.import_assets_with_csv(scene.project, str(csv), client=gc)
        assert acceleration.calls["upload"] >= 8 and acceleration.calls["download"] >= len(downloads)
        assert acceleration.fallbacks == {}

    assert not getattr(gazu.client.download, "libkitsu_accelerated", False)
    gazu.files.download_working_file(working_file, str(d / "wf-back"), client=gc)
    assert sha(d / "wf-back") == sha(media.blend)
    blend = next(a for a in comment2["attachment_files"] if a["name"] == media.blend.name)
    gazu.files.download_attachment_file(blend, str(d / "att-back"), client=gc)
    assert sha(d / "att-back") == sha(media.blend)
    for preview in (preview2, preview3):
        gazu.files.download_preview_file(preview, str(d / "p-back.png"), client=gc)
        assert (d / "p-back.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(a["name"] == "lamp" for a in gazu.asset.all_assets_for_project(scene.project, client=gc))


def test_tokens_refreshed_on_either_side_are_seen_by_the_other(scene, media, gc, zou):
    comment = scene.comment("tokens")
    picture = libkitsu.task.add_preview(scene.task, comment, media.png, no_job=True, client=scene.client)
    refreshes = []
    original_refresh = gc.refresh_access_token

    def counting_refresh():
        refreshes.append(1)
        return original_refresh()

    gc.refresh_access_token = counting_refresh
    libkitsu.accelerate_gazu()
    bridge = libkitsu.gazu_bridge.active()

    # libkitsu refreshes; gazu's own JSON calls then use its token.
    expired = expired_copy(zou, gc.access_token)
    gc.access_token = expired
    gazu.files.download_preview_file_thumbnail(picture, str(scene.dir / "a.png"), client=gc)
    assert gc.access_token != expired
    assert gazu.project.all_projects(client=gc)
    assert refreshes == []

    # gazu refreshes; libkitsu's next call uses gazu's new token as it is.
    gc.access_token = expired_copy(zou, gc.access_token)
    assert gazu.project.all_projects(client=gc)
    assert len(refreshes) == 1
    gazu.files.download_preview_file_thumbnail(picture, str(scene.dir / "b.png"), client=gc)
    native_access, _ = bridge.bridges[gc].client.native_tokens()
    assert native_access == gc.access_token
    assert len(refreshes) == 1


def test_gazu_exceptions_and_nothing_written(scene, gc):
    missing = "0e5ad4bd-0000-4000-8000-000000000404"
    target = scene.dir / "missing.png"
    with libkitsu.accelerate_gazu():
        with pytest.raises(gazu.exception.RouteNotFoundException) as raised:
            gazu.files.download_preview_file_thumbnail(missing, str(target), client=gc)
        assert isinstance(raised.value, libkitsu.exception.RouteNotFoundException)
        assert raised.value.http_status == 404
        with pytest.raises(gazu.exception.GazuException):
            gazu.files.upload_working_file(missing, str(scene.dir / "no-such-file.blend"), client=gc)
    assert not target.exists()
    assert not [p.name for p in scene.dir.iterdir() if p.name.startswith(".")]


def test_restore_and_version_and_absent_gazu(monkeypatch):
    originals = (gazu.client.upload, gazu.client.download, gazu.client.get_file_data_from_url)
    acceleration = libkitsu.accelerate_gazu()
    assert libkitsu.accelerate_gazu() is acceleration
    assert gazu.client.upload is not originals[0]
    libkitsu.restore_gazu()
    assert (gazu.client.upload, gazu.client.download, gazu.client.get_file_data_from_url) == originals
    libkitsu.restore_gazu()  # twice: nothing to do

    old = types.SimpleNamespace(__version__="0.9.0", client=gazu.client, exception=gazu.exception)
    with pytest.raises(RuntimeError, match="1.3.1"):
        libkitsu.accelerate_gazu(old)
    assert gazu.client.upload is originals[0]

    monkeypatch.setitem(sys.modules, "gazu", None)
    with pytest.raises(ImportError, match="gazu is not installed"):
        gazu_bridge.accelerate_gazu()


def test_the_gazu_recipe_runs_unchanged_after_one_added_line(scene, media, zou):
    comment = scene.comment("recipe")
    libkitsu.task.add_preview(scene.task, comment, media.png, no_job=True, client=scene.client)
    libkitsu.task.add_preview(scene.task, comment, media.mp4, no_job=True, client=scene.client)
    env = dict(os.environ, KITSU_HOST=zou["ZOU_API_URL"], KITSU_EMAIL=zou["ZOU_ADMIN_EMAIL"], KITSU_PASSWORD=zou["ZOU_ADMIN_PASSWORD"])
    out = scene.dir / "recipe"
    done = subprocess.run([sys.executable, str(CHECKOUT / "bindings/python/examples/gazu_recipe.py"), scene.project["name"], str(out)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 previews" in done.stdout and "through libkitsu" in done.stdout, done.stdout
    assert "100%" in done.stderr
    assert len(list(out.rglob("*.*"))) == 2
