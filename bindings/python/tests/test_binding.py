"""The Python binding against the real Zou: gazu's names, bytes compared
with what was uploaded, the callback contract, exceptions, threads."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

import libkitsu
from libkitsu import exception

from conftest import Recorder

CHECKOUT = Path(__file__).resolve().parents[3]


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_versions_match_the_library_and_cargo():
    cargo = (CHECKOUT / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert libkitsu.__version__ == version
    assert libkitsu._native.lib.kitsu_version().decode() == version
    assert libkitsu._native.lib.kitsu_abi_version() == libkitsu.ABI_VERSION


def test_a_missing_library_is_explained():
    env = dict(os.environ, LIBKITSU_LIBRARY="/nonexistent/libkitsu.so")
    result = subprocess.run([sys.executable, "-c", "import libkitsu"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "LIBKITSU_LIBRARY=/nonexistent/libkitsu.so is not a file" in result.stderr


def test_gazu_style_default_client_and_a_wrong_password(zou, client):
    libkitsu.set_host(zou["ZOU_API_URL"])
    assert libkitsu.get_host() == zou["ZOU_API_URL"]
    answer = libkitsu.log_in(zou["ZOU_ADMIN_EMAIL"], zou["ZOU_ADMIN_PASSWORD"])
    assert answer["user"]["email"] == zou["ZOU_ADMIN_EMAIL"]
    assert libkitsu.project.all_open_projects() is not None
    libkitsu.log_out()
    with pytest.raises(exception.NotAuthenticatedException) as raised:
        libkitsu.project.all_open_projects()
    assert raised.value.http_status == 401

    # A wrong password on a separate user (5 wrong ones lock an account).
    email = f"py-{uuid.uuid4().hex[:8]}@example.com"
    person = client.post("data/persons", {"first_name": "Py", "last_name": "Wrong", "email": email, "role": "user"})
    client.post(f"actions/persons/{person['id']}/change-password", {"password": "right-password-1", "password_2": "right-password-1"})
    other = libkitsu.KitsuClient(zou["ZOU_API_URL"])
    with pytest.raises(libkitsu.AuthFailedException) as raised:
        other.log_in(email, "wrong-password")
    assert raised.value.http_status == 400
    assert "Wrong email or password" in str(raised.value)
    assert other.log_in(email, "right-password-1")["user"]["email"] == email
    other.close()

    with pytest.raises(exception.HostException):
        libkitsu.KitsuClient("not a url")


def test_working_file_round_trip_with_the_callback_contract(scene, media):
    client = scene.client
    working_file = libkitsu.files.new_working_file(scene.task, comment="v1", client=client)
    up = Recorder()
    answer = libkitsu.files.upload_working_file(working_file, media.blend, client=client, progress_callback=up)
    assert answer["id"] == working_file["id"]
    size = media.blend.stat().st_size
    up.check(size)
    assert libkitsu.files.get_working_file(working_file["id"], client=client)["id"] == working_file["id"]

    down = Recorder()
    target = scene.dir / "back.blend"
    result = libkitsu.files.download_working_file(working_file, target, client=client, progress_callback=down, checksum=True)
    assert result == libkitsu.DownloadResult(str(target), size)
    path, got = result  # still a (path, size) pair
    assert (path, got) == (str(target), size)
    assert sha(target) == sha(media.blend)
    # Computed while the bytes streamed, and the call's record.
    assert result.sha256 == sha(media.blend)
    assert (result.attempts, result.http_status) == (1, 200)
    down.check(size)
    assert client.get_file_data_from_url(f"data/working-files/{working_file['id']}/file") == media.blend.read_bytes()
    with pytest.raises(ValueError):
        libkitsu.files.download_working_file(working_file, client=client)


def test_previews_through_gazu_names(scene, media):
    client = scene.client
    comment = scene.comment("previews")
    preview = libkitsu.task.create_preview(scene.task, comment, client=client)
    uploaded = libkitsu.task.upload_preview_file(preview, media.png, no_job=True, client=client)
    assert uploaded["status"] == "ready"
    for function, name in [
        (libkitsu.files.download_preview_file, "original.png"),
        (libkitsu.files.download_preview_file_cover, "cover.png"),
        (libkitsu.files.download_preview_file_thumbnail, "thumb.png"),
    ]:
        recorder = Recorder()
        result = function(preview["id"], scene.dir / name, client=client, progress_callback=recorder)
        recorder.check(result.size)
        png_size((scene.dir / name).read_bytes())
    assert png_size((scene.dir / "original.png").read_bytes()) == (320, 240)

    up = Recorder()
    movie = libkitsu.task.add_preview(scene.task, comment, media.mp4, client=client, progress_callback=up)
    up.check(media.mp4.stat().st_size)
    result = libkitsu.files.download_preview_movie(movie, scene.dir / "movie.mp4", client=client)
    assert (scene.dir / "movie.mp4").read_bytes()[4:8] == b"ftyp" and result.size > 0
    scene.wait_ready(movie)
    libkitsu.files.download_preview_lowdef_movie(movie, scene.dir / "low.mp4", client=client)
    frame = libkitsu.files.extract_frame_from_preview(movie, 3, client=client)
    assert png_size(frame)[0] > 0
    tile = libkitsu.files.extract_tile_from_preview(movie, scene.dir / "tile.png", client=client)
    assert tile.size > 0
    extra = libkitsu.task.add_extra_preview(scene.task, comment, movie, media.png, no_job=True, client=client)
    assert extra["revision"] == movie["revision"]

    comment2, preview2 = libkitsu.task.publish_preview(
        scene.task, scene.status, comment="published", attachments=[str(media.png)],
        preview_file_path=media.png, set_thumbnail=True, no_job=True, client=client,
    )
    assert comment2["text"] == "published" and preview2["status"] == "ready"


def test_comments_attachments_batches(scene, media):
    client = scene.client
    note = scene.dir / "note.txt"
    note.write_text("attached\n")
    comment = libkitsu.task.add_comment(scene.task, scene.status, "with files", attachments=[str(note), str(media.png)], client=client)
    names = [a["name"] for a in comment["attachment_files"]]
    assert names == ["note.txt", "frame.png"], names
    added = libkitsu.task.add_attachment_files_to_comment(scene.task, comment, str(note), client=client)
    assert added[0]["name"] == "note.txt"
    with pytest.raises(ValueError):
        libkitsu.task.add_attachment_files_to_comment(scene.task, comment, [], client=client)
    attachment = libkitsu.files.get_attachment_file(comment["attachment_files"][0]["id"], client=client)
    libkitsu.files.download_attachment_file(attachment, scene.dir / "back.txt", client=client)
    assert (scene.dir / "back.txt").read_text() == "attached\n"
    with pytest.raises(exception.RouteNotFoundException):
        libkitsu.files.download_attachment_thumbnail(attachment, scene.dir / "none.png", client=client)
    assert not (scene.dir / "none.png").exists()

    created = libkitsu.task.batch_comments(
        [{"task_status_id": scene.status["id"], "text": "batch", "attachment_files": [str(note)]}], task=scene.task, client=client
    )
    assert created[0]["attachment_files"][0]["name"] == "note.txt"
    many = libkitsu.task.create_multiple_comments(
        scene.project,
        [{"task_id": scene.task["id"], "task_status_id": scene.status["id"], "comment": "many", "preview_files": [str(media.png)]}],
        client=client,
    )
    assert len(many[0]["preview_files"]) == 1
    assert [c["id"] for c in libkitsu.task.all_comments_for_task(scene.task, client=client)][0] == many[0]["id"]


def test_avatars_csv_otio_lookups(scene, media, zou):
    client = scene.client
    assert "thumbnail_path" in libkitsu.files.upload_project_avatar(scene.project, media.png, client=client)
    libkitsu.files.download_project_avatar(scene.project, scene.dir / "avatar.png", client=client)
    person = client.post("data/persons", {"first_name": "Py", "last_name": "Avatar", "email": f"py-av-{uuid.uuid4().hex[:8]}@example.com"})
    libkitsu.person.set_avatar(person, media.png, client=client)
    libkitsu.files.download_person_avatar(person, scene.dir / "person.png", client=client)

    csv = scene.dir / "assets.csv"
    csv.write_text(f"Episode,Type,Name,Description\n,{scene.asset_type['name']},lamp,a lamp\n")
    assert len(libkitsu.asset.import_assets_with_csv(scene.project, csv, client=client)) == 1
    exported = libkitsu.asset.export_assets_with_csv(scene.project, scene.dir / "out.csv", client=client)
    assert "lamp" in Path(exported.path).read_text()
    shots = scene.dir / "shots.csv"
    shots.write_text("Sequence,Name\nSQ01,SH010\n")
    assert len(libkitsu.shot.import_shots_with_csv(scene.project, shots, client=client)) == 1
    assert "SH010" in Path(libkitsu.shot.export_shots_with_csv(scene.project, scene.dir / "shots-out.csv", client=client).path).read_text()

    assert libkitsu.project.get_project_by_name(scene.project["name"], client=client)["id"] == scene.project["id"]
    assert libkitsu.project.get_project_by_name("nothing like this", client=client) is None
    tasks = libkitsu.task.all_tasks_for_project(scene.project, task_type=scene.task_type, client=client)
    # The CSV import gave the new asset a task of the project's task type too.
    assert scene.task["id"] in [t["id"] for t in tasks]
    assert all(t["task_type_id"] == scene.task_type["id"] for t in tasks)
    assert libkitsu.task.get_task_status_by_short_name(scene.status["short_name"], client=client)["id"] == scene.status["id"]
    assert libkitsu.person.get_person_by_email(zou["ZOU_ADMIN_EMAIL"], client=client)["email"] == zou["ZOU_ADMIN_EMAIL"]


def test_an_exception_in_the_callback_aborts_and_is_reraised(scene, media):
    client = scene.client
    working_file = libkitsu.files.new_working_file(scene.task, client=client)
    libkitsu.files.upload_working_file(working_file, media.blend, client=client)
    target = scene.dir / "precious.blend"
    target.write_bytes(b"precious")

    class Boom(Exception):
        pass

    def explode(bytes_read, total):
        raise Boom(f"at {bytes_read}/{total}")

    with pytest.raises(Boom, match="at 0/"):
        libkitsu.files.download_working_file(working_file, target, client=client, progress_callback=explode)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in scene.dir.iterdir()) == ["precious.blend"], "temporary file left"

    with pytest.raises(exception.TransferAbortedException):
        libkitsu.files.download_working_file(working_file, target, client=client, progress_callback=lambda d, t: False)
    assert target.read_bytes() == b"precious"

    # Uploads too: nothing is created when the callback raises at once.
    with pytest.raises(KeyboardInterrupt):
        libkitsu.files.upload_working_file(working_file, media.blend, client=client, progress_callback=lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt()))


def test_missing_ids_and_malformed_ids(client):
    with pytest.raises(exception.RouteNotFoundException) as raised:
        libkitsu.files.get_preview_file("00000000-0000-0000-0000-000000000000", client=client)
    assert raised.value.http_status == 404
    with pytest.raises(ValueError, match="Wrong format"):
        libkitsu.files.get_preview_file("../etc", client=client)
    with pytest.raises(exception.FileDoesntExistException):
        libkitsu.files.upload_project_avatar("00000000-0000-0000-0000-000000000000", "/nonexistent/x.png", client=client)


def test_two_threads_transfer_at_once_and_callbacks_stay_on_their_thread(scene, media):
    """The GIL is released during a transfer: while one thread waits out
    Zou's 202 (several seconds), another completes whole transfers."""
    client = scene.client
    comment = scene.comment("threads")
    movie = libkitsu.task.add_preview(scene.task, comment, media.mp4, client=client)
    working_file = libkitsu.files.new_working_file(scene.task, client=client)
    libkitsu.files.upload_working_file(working_file, media.blend, client=client)

    slow = {}

    def slow_download():
        recorder = Recorder()
        libkitsu.files.download_preview_movie(movie, scene.dir / "movie.mp4", client=client, progress_callback=recorder)
        slow["end"] = time.monotonic()
        slow["recorder"] = recorder

    thread = threading.Thread(target=slow_download)
    thread.start()
    fast_recorder = Recorder()
    for index in range(5):
        libkitsu.files.download_working_file(working_file, scene.dir / f"wf{index}.blend", client=client, progress_callback=fast_recorder)
    fast_end = time.monotonic()
    thread.join(120)
    assert "end" in slow, "the slow download did not finish"
    assert fast_end < slow["end"], "the main thread could not transfer while the other waited: GIL held?"
    assert slow["recorder"].threads == {slow["recorder"].caller}
    assert fast_recorder.threads == {threading.get_ident()}
    assert sha(scene.dir / "wf4.blend") == sha(media.blend)


def test_the_examples_run_unchanged(scene, media, zou):
    client = scene.client
    comment = scene.comment("examples")
    preview = libkitsu.task.add_preview(scene.task, comment, media.png, no_job=True, client=client)
    env = dict(
        os.environ,
        KITSU_HOST=zou["ZOU_API_URL"],
        KITSU_EMAIL=zou["ZOU_ADMIN_EMAIL"],
        KITSU_PASSWORD=zou["ZOU_ADMIN_PASSWORD"],
    )
    examples = CHECKOUT / "bindings" / "python" / "examples"
    target = scene.dir / "tqdm.png"
    result = subprocess.run(
        [sys.executable, str(examples / "tqdm_progress.py"), preview["id"], str(target)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert png_size(target.read_bytes()) == (320, 240)
    assert "100%" in result.stderr, result.stderr

    result = subprocess.run(
        [sys.executable, str(examples / "batch_download.py"), scene.project["name"], str(scene.dir / "batch")],
        env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 previews" in result.stdout and "0 failed" in result.stdout, result.stdout


def test_remaining_functions_playlists_otio_avatars_sessions(scene, media, zou):
    client = scene.client
    # Avatars of a person and of the organisation (serialised: the suites run one after the other).
    person = client.post("data/persons", {"first_name": "Py", "last_name": "Org", "email": f"py-org-{uuid.uuid4().hex[:8]}@example.com"})
    recorder = Recorder()
    libkitsu.files.upload_person_avatar(person, media.png, client=client, progress_callback=recorder)
    recorder.check(media.png.stat().st_size)
    organisation = client.get("auth/authenticated")["organisation"]
    libkitsu.files.upload_organisation_avatar(organisation, media.png, client=client)
    result = libkitsu.files.download_organisation_avatar(organisation, scene.dir / "org.png", client=client)
    assert png_size(Path(result.path).read_bytes())[0] > 0

    # OTIO, written by the OpenTimelineIO Zou uses.
    otio = scene.dir / "edit.otio"
    script = (
        "import sys, opentimelineio as otio\n"
        "t = otio.schema.Timeline(name='edit'); track = otio.schema.Track(name='V1')\n"
        "t.tracks.append(track)\n"
        "track.append(otio.schema.Clip(name='SQ09-SH090', source_range=otio.opentime.TimeRange("
        "otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(24, 24))))\n"
        "otio.adapters.write_to_file(t, sys.argv[1])\n"
    )
    subprocess.run([zou["ZOU_PYTHON"], "-c", script, str(otio)], check=True)
    imported = libkitsu.shot.import_otio(scene.project, otio, naming_convention="${sequence_name}-${shot_name}", client=client)
    assert len(imported["created_shots"]) == 1

    # A playlist: zip, then a built movie.
    comment = scene.comment("playlist")
    preview = libkitsu.task.add_preview(scene.task, comment, media.mp4, no_job=True, client=client)
    scene.wait_ready(preview)
    playlist = client.post("data/playlists", {"name": "py daily", "project_id": scene.project["id"], "for_entity": "asset"})
    playlist["shots"] = [{"entity_id": scene.asset["id"], "preview_file_id": preview["id"]}]
    client.put(f"data/playlists/{playlist['id']}", playlist)
    zipped = libkitsu.playlist.download_playlist_zip(playlist, scene.dir / "daily.zip", client=client)
    assert Path(zipped.path).read_bytes()[:2] == b"PK"
    job = client.get(f"data/playlists/{playlist['id']}/build/mp4")
    deadline = time.monotonic() + 120
    while client.get(f"data/playlists/{playlist['id']}/jobs/{job['id']}")["status"] != "succeeded":
        assert time.monotonic() < deadline, "playlist build too slow"
        time.sleep(0.5)
    built = libkitsu.playlist.download_playlist_build(playlist, job, scene.dir / "daily.mp4", client=client)
    assert Path(built.path).read_bytes()[4:8] == b"ftyp"

    # create_session, as a context manager that logs out and frees.
    with libkitsu.create_session(zou["ZOU_API_URL"], zou["ZOU_ADMIN_EMAIL"], zou["ZOU_ADMIN_PASSWORD"]) as session:
        assert libkitsu.project.get_project_by_name(scene.project["name"], client=session)["id"] == scene.project["id"]
    assert session._handle is None
