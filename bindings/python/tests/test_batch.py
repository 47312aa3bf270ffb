"""libkitsu.batch against the real Zou: every preview of a project in one
call, byte for byte the same as single downloads; a missing preview among
them; the combined progress contract; events per item; cancel."""

from __future__ import annotations

import hashlib
import threading

import pytest

import libkitsu
from libkitsu import CancelToken, Operation, Phase, TransferCancelled, exception

from conftest import Recorder


def check_combined(recorder: Recorder, total: int) -> None:
    """The batch's contract: first call (0, 0 or the total), last (total,
    total), never decreasing, a total that once known stays."""
    calls = recorder.calls
    assert calls[0][0] == 0 and calls[0][1] in (0, total), calls[:3]
    assert calls[-1] == (total, total), calls[-3:]
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:])), "decreasing"
    known = [t for _, t in calls if t]
    assert set(known) == {total}, "the total changed"
    assert all(d <= t for d, t in calls if t), "over the total"
    assert recorder.threads == {recorder.caller}


@pytest.fixture
def previews(scene, media):
    """Six picture previews and a movie on the scene's task, as Zou lists them."""
    client = scene.client
    comment = scene.comment("batch")
    for _ in range(6):
        libkitsu.task.add_preview(scene.task, comment, media.png, no_job=True, client=client)
    movie = libkitsu.task.add_preview(scene.task, comment, media.mp4, client=client)
    scene.wait_ready(movie)
    listed = client.get(f"data/preview-files?task_id={scene.task['id']}")
    assert len(listed) == 7
    return listed


def test_every_preview_of_a_project_matches_single_downloads(scene, previews):
    client = scene.client
    singles = scene.dir / "single"
    batched = scene.dir / "batch"
    singles.mkdir()
    batched.mkdir()
    for preview in previews:
        libkitsu.files.download_preview_file(preview, singles / f"{preview['id']}.{preview['extension']}", client=client)
        libkitsu.files.download_preview_file_thumbnail(preview, singles / f"{preview['id']}-t.png", client=client)

    recorder = Recorder()
    events = []
    targets = [batched / f"{p['id']}.{p['extension']}" for p in previews]
    results = libkitsu.batch.download_preview_files(
        previews, targets, max_in_flight=4, progress_callback=recorder, event_callback=events.append, client=client
    )
    assert [r.ok for r in results] == [True] * len(previews), [r.error for r in results]
    total = sum(r.size for r in results)
    check_combined(recorder, total)
    for preview, result, target in zip(previews, results, targets):
        assert result.path == str(target)
        assert target.read_bytes() == (singles / target.name).read_bytes()
        assert result.size == target.stat().st_size
    items = [e for e in events if e.operation != Operation.BATCH]
    assert {e.item_index for e in items if e.phase == Phase.QUEUED} == set(range(len(previews)))
    assert {e.item_index for e in items if e.phase == Phase.DONE} == set(range(len(previews)))
    assert all(e.item_count == len(previews) for e in events)
    assert [e.phase for e in events if e.operation == Operation.BATCH][-1] == Phase.DONE

    # Thumbnails by id (no dicts): the same bytes as the single downloads.
    ids = [p["id"] for p in previews]
    thumbs = [batched / f"{i}-t.png" for i in ids]
    results = libkitsu.batch.download_preview_files(ids, thumbs, kind="thumbnail", client=client, checksum=True)
    assert all(r.ok for r in results)
    for result, target in zip(results, thumbs):
        assert target.read_bytes() == (singles / target.name).read_bytes()
        # Each item's SHA-256, computed while it downloaded, and its record.
        assert result.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
        assert result.attempts == 1 and result.http_status == 200


def test_a_missing_preview_fails_alone(scene, previews):
    client = scene.client
    missing = "0e5ad4bd-0000-4000-8000-000000000404"
    items = [previews[0]["id"], missing, previews[1]["id"]]
    targets = [scene.dir / f"{n}.png" for n in range(3)]
    results = libkitsu.batch.download_preview_files(items, targets, kind="thumbnail", client=client)
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, exception.RouteNotFoundException)
    assert results[1].error.http_status == 404
    assert not targets[1].exists()
    assert not [p.name for p in scene.dir.iterdir() if p.name.startswith(".")]

    with pytest.raises(exception.BatchIncomplete) as raised:
        libkitsu.batch.download_preview_files(items, targets, kind="thumbnail", client=client, raise_on_error=True)
    assert [r.ok for r in raised.value.results] == [True, False, True]


def test_cancel_stops_the_items_not_finished(scene, previews):
    client = scene.client
    token = CancelToken()
    ids = [p["id"] for p in previews] * 4
    targets = [scene.dir / f"c{n}.png" for n in range(len(ids))]

    def on_event(event):
        # The first item done: cancel (any thread may; this one too).
        if event.operation != Operation.BATCH and event.phase == Phase.DONE:
            token.cancel()

    with pytest.raises(TransferCancelled):
        libkitsu.batch.download_preview_files(ids, targets, kind="thumbnail", max_in_flight=2, event_callback=on_event, cancel=token, client=client)
    written = [t for t in targets if t.exists()]
    assert 1 <= len(written) <= 2
    assert not [p.name for p in scene.dir.iterdir() if p.name.startswith(".")]


def test_a_batch_object_mixes_uploads_and_downloads_and_reruns(scene, media):
    client = scene.client
    with libkitsu.batch.Batch(client) as batch:
        preview = libkitsu.task.create_preview(scene.task, scene.comment("batch upload"), client=client)
        upload = batch.add_upload(f"pictures/preview-files/{preview['id']}", [media.png])
        download = batch.add_download("data/projects/no-such-project/file", scene.dir / "x.bin")
        assert (upload, download) == (0, 1)
        results = batch.run(max_in_flight=2)
        assert results[0].ok and results[0].answer["id"] == preview["id"]
        assert results[0].size == media.png.stat().st_size
        assert isinstance(results[1].error, exception.GazuException)
        # A second run moves only what failed.
        results = batch.run()
        assert results[0].ok and not results[1].ok
    with pytest.raises(ValueError):
        batch.run()


def test_callbacks_come_on_the_calling_thread_with_the_gil_released(scene, previews):
    client = scene.client
    threads = set()
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.005)

    other = threading.Thread(target=ticker)
    other.start()
    ids = [p["id"] for p in previews] * 10
    targets = [scene.dir / f"g{n}.png" for n in range(len(ids))]
    libkitsu.batch.download_preview_files(
        ids, targets, kind="thumbnail", progress_callback=lambda d, t: threads.add(threading.get_ident()), client=client
    )
    stop.set()
    other.join()
    assert threads == {threading.get_ident()}
    assert len(ticks) > 3, "another Python thread could not run during the batch"
