"""The call context from Python against the real Zou: a CancelToken used
from a second thread during a 202 wait and while bytes flow, events of real
uploads and downloads, and the exceptions read from the header."""

from __future__ import annotations

import os
import threading
import time

import pytest

import libkitsu
from libkitsu import CancelToken, Operation, Phase, ProgressEvent, TransferCancelled, exception

#: A cancelled call must end within this many seconds.
CANCEL_LIMIT = 0.2


class EventLog:
    """An event_callback that records events and signals the first one of a phase."""

    def __init__(self, signal_phase=None, signal_when=lambda event: True):
        self.events = []
        self.threads = set()
        self.signal = threading.Event()
        self.signal_phase = signal_phase
        self.signal_when = signal_when

    def __call__(self, event: ProgressEvent):
        self.events.append(event)
        self.threads.add(threading.get_ident())
        if event.phase == self.signal_phase and self.signal_when(event):
            self.signal.set()

    def phases(self):
        phases = []
        for event in self.events:
            if not phases or phases[-1] != event.phase:
                phases.append(event.phase)
        return phases


def cancel_when_signalled(token: CancelToken, log: EventLog, timeout: float = 30):
    """Starts a thread that cancels `token` once `log` signals; returns (thread, times)."""
    times = {}

    def run():
        if log.signal.wait(timeout):
            times["cancelled"] = time.monotonic()
            token.cancel()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, times


def test_cancel_from_a_second_thread_during_zou_s_202_wait(scene, media):
    client = scene.client
    comment = scene.comment("cancel the wait")
    movie = libkitsu.task.add_preview(scene.task, comment, media.mp4, client=client)
    target = scene.dir / "movie.mp4"
    token = CancelToken()
    log = EventLog(signal_phase=Phase.WAITING)
    thread, times = cancel_when_signalled(token, log)
    with pytest.raises(TransferCancelled) as raised:
        libkitsu.files.download_preview_movie(movie, target, client=client, cancel=token, event_callback=log)
    returned = time.monotonic()
    thread.join()
    assert "cancelled" in times, f"no waiting phase: Zou did not answer 202? {log.phases()}"
    assert returned - times["cancelled"] < CANCEL_LIMIT, returned - times["cancelled"]
    assert isinstance(raised.value, exception.GazuException)
    assert raised.value.code == libkitsu._native.RESULTS["CANCELLED"]
    assert token.cancelled
    waiting = [e for e in log.events if e.phase == Phase.WAITING]
    assert waiting[0].deadline == 60.0 and "Retry-After" in waiting[0].message, waiting[0]
    assert log.threads == {threading.get_ident()}, "an event came on another thread"
    assert not target.exists() and list(scene.dir.iterdir()) == [], "something was left behind"


def test_cancel_from_a_second_thread_while_bytes_flow(scene, tmp_path):
    client = scene.client
    big = tmp_path / "big_scene.blend"
    with open(big, "wb") as out:  # sparse: quick to make, 400 MB to send
        out.truncate(400 * 1024 * 1024)
    working_file = libkitsu.files.new_working_file(scene.task, client=client)
    token = CancelToken()
    log = EventLog(signal_phase=Phase.TRANSFERRING, signal_when=lambda e: e.bytes_done > 0)
    thread, times = cancel_when_signalled(token, log)
    with pytest.raises(TransferCancelled):
        libkitsu.files.upload_working_file(working_file, big, client=client, cancel=token, event_callback=log)
    returned = time.monotonic()
    thread.join()
    assert "cancelled" in times, log.phases()
    assert returned - times["cancelled"] < CANCEL_LIMIT, returned - times["cancelled"]
    sent = max(e.bytes_done for e in log.events)
    assert 0 < sent < big.stat().st_size, sent


def test_a_token_cancelled_before_the_call_fails_at_once(scene, media):
    token = CancelToken()
    token.cancel()
    started = time.monotonic()
    with pytest.raises(TransferCancelled):
        libkitsu.files.upload_working_file(
            libkitsu.files.new_working_file(scene.task, client=scene.client), media.blend, client=scene.client, cancel=token
        )
    assert time.monotonic() - started < CANCEL_LIMIT
    with pytest.raises(TypeError):
        libkitsu.files.download_preview_file("0e5ad4bd-0000-4000-8000-00000000abcd", "x", client=scene.client, cancel=object())
    token.close()
    assert "closed" in repr(token)


def test_events_of_a_real_upload_and_download(scene, media):
    client = scene.client
    working_file = libkitsu.files.new_working_file(scene.task, client=client)
    size = media.blend.stat().st_size
    up = EventLog()
    progress = []
    libkitsu.files.upload_working_file(
        working_file, media.blend, client=client, event_callback=up, progress_callback=lambda d, t: progress.append((d, t))
    )
    assert up.phases() == [Phase.CONNECTING, Phase.TRANSFERRING, Phase.DONE], up.phases()
    assert all(e.operation == Operation.UPLOAD and e.total == size for e in up.events)
    assert all(e.key == f"data/working-files/{working_file['id']}/file" for e in up.events)
    assert up.events[0].file and os.path.basename(up.events[0].file) == media.blend.name
    assert up.events[-1].bytes_done == size and up.events[-1].percentage == 100.0
    assert progress[0] == (0, size) and progress[-1] == (size, size), "the simple callback keeps its contract"

    down = EventLog()
    target = scene.dir / "back.blend"
    libkitsu.files.download_working_file(working_file, target, client=client, event_callback=down)
    assert down.phases() == [Phase.CONNECTING, Phase.TRANSFERRING, Phase.DONE], down.phases()
    assert all(e.operation == Operation.DOWNLOAD and e.item_index == 0 and e.item_count == 1 for e in down.events)
    assert down.events[-1].bytes_done == down.events[-1].total == size
    assert os.path.basename(down.events[0].file) == "back.blend"
    assert all(b.bytes_done >= a.bytes_done for a, b in zip(down.events, down.events[1:]))
    assert down.threads == {threading.get_ident()}

    # A publish: one stream over its steps, the comment's request first.
    publish = EventLog()
    libkitsu.task.publish_preview(
        scene.task, scene.status, comment="events", preview_file_path=media.png, client=client, event_callback=publish
    )
    keys = [e.key for e in publish.events if e.phase == Phase.CONNECTING]
    assert keys[0].endswith("/comment") and any(k.endswith("/add-preview") for k in keys), keys
    assert publish.events[-1].phase == Phase.DONE and publish.events[-1].total == media.png.stat().st_size


def test_an_exception_in_the_event_callback_aborts_and_is_reraised(scene, media):
    working_file = libkitsu.files.new_working_file(scene.task, client=scene.client)

    class Stop(Exception):
        pass

    def stop(event):
        raise Stop(event.phase.name)

    with pytest.raises(Stop, match="CONNECTING"):
        libkitsu.files.upload_working_file(working_file, media.blend, client=scene.client, event_callback=stop)


def test_progress_event_percentage_and_codes_from_the_header():
    event = ProgressEvent(Operation.DOWNLOAD, Phase.TRANSFERRING, "r", None, 5, 0, 1, 0.0, None, 0, 1, "")
    assert event.percentage is None
    assert ProgressEvent(Operation.DOWNLOAD, Phase.DONE, "r", None, 5, 10, 1, 0.0, None, 0, 1, "").percentage == 50.0
    results = libkitsu._native.RESULTS
    assert results["OK"] == 0 and results["CANCELLED"] == 5001 and results["NOT_FOUND"] == 3404
    assert exception.from_result("CANCELLED", 5001, 0, "m").__class__ is TransferCancelled
    assert isinstance(exception.from_result("HTTP_STATUS", 3000, 502, "m"), exception.ServerErrorException)


def test_retry_settings_resume_and_the_attempts_of_a_failure(scene, media, zou):
    client = scene.client
    client.set_retry_policy(max_attempts=2, initial_delay=0.05)
    # A 404 is not retried: one attempt, no Retry-After.
    with pytest.raises(exception.RouteNotFoundException) as raised:
        libkitsu.files.download_preview_file_thumbnail("0e5ad4bd-0000-4000-8000-00000000abcd", scene.dir / "x.png", client=client)
    assert raised.value.attempts == 1 and raised.value.retry_after is None
    # An unreachable server: retried (the request never left), then the error with its attempts.
    dead = libkitsu.KitsuClient("http://127.0.0.1:9/api", access_token="x")
    dead.set_retry_policy(max_attempts=3, initial_delay=0.01)
    with pytest.raises(exception.DownloadFileException) as raised:
        dead.download("data/x", scene.dir / "never.bin")
    assert raised.value.attempts == 3, raised.value.message
    assert "after 3 attempts" in raised.value.message
    # resume=True: a download that completes leaves nothing but the file.
    working_file = libkitsu.files.new_working_file(scene.task, client=client)
    libkitsu.files.upload_working_file(working_file, media.blend, client=client)
    target = scene.dir / "resumable.blend"
    libkitsu.files.download_working_file(working_file, target, client=client, resume=True)
    assert target.read_bytes() == media.blend.read_bytes()
    assert sorted(p.name for p in scene.dir.iterdir()) == ["resumable.blend"]
    with pytest.raises(exception.ParameterException):
        client.set_max_memory_answer(0)
