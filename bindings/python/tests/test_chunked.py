"""Chunked uploads through the binding, against the real servers of
scripts/upload-servers/run (resumable.js sample backend, @tus/server)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.request
from pathlib import Path

import pytest

import libkitsu

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def servers() -> dict:
    default = Path(__file__).resolve().parents[3] / ".work" / "upload-servers" / "servers.env"
    path = Path(os.environ.get("KITSU_UPLOAD_SERVERS_ENV", default))
    if not path.is_file():
        if os.environ.get("KITSU_UPLOAD_SERVERS_REQUIRED"):
            pytest.fail(f"{path} is missing (scripts/upload-servers/run start)")
        pytest.skip("no upload servers (scripts/upload-servers/run start)")
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture
def client():
    with libkitsu.KitsuClient("http://127.0.0.1:1/api") as client:
        yield client


def _file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def test_resumable_upload_with_resumable_py_names(servers, client, tmp_path):
    path = _file(tmp_path, "plate.exr", 6 * MIB + 77)
    calls = []
    chunks = set()
    result = libkitsu.chunked.upload_resumable(
        path,
        servers["RESUMABLE_URL"],
        chunk_size=MIB,
        simultaneous_uploads=2,
        headers={"X-Studio": "tests"},
        client=client,
        progress_callback=lambda done, total: calls.append((done, total)),
        event_callback=lambda event: chunks.add((event.item_index, event.item_count)),
    )
    assert result["chunks"] == 6 and result["chunks_sent"] == 6 and result["answer"] == "done"
    assert calls[0] == (0, path.stat().st_size) and calls[-1] == (path.stat().st_size,) * 2
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))
    assert all(count == 6 and index < 6 for index, count in chunks)
    with urllib.request.urlopen(servers["RESUMABLE_DOWNLOAD"] + result["upload"]) as answer:
        assert answer.read() == path.read_bytes()
    again = libkitsu.chunked.upload_resumable(path, servers["RESUMABLE_URL"], client=client)
    assert (again["chunks_sent"], again["chunks_skipped"]) == (0, 6)


def test_tus_cancelled_then_resumed_from_the_store(servers, client, tmp_path):
    path = _file(tmp_path, "comp.mov", 64 * MIB)
    store = tmp_path / "tus.json"
    token = libkitsu.CancelToken()

    def progress(done, total):
        if done >= total // 3:
            token.cancel()

    # Slow enough on loopback to cancel in the middle: 512 requests of 128 KiB.
    with pytest.raises(libkitsu.TransferCancelled):
        libkitsu.chunked.upload_tus(path, servers["TUS_URL"], chunk_size=128 * 1024, store_path=store, client=client, progress_callback=progress, cancel=token)
    stored = json.loads(store.read_text())["uploads"]
    assert len(stored) == 1
    url = next(iter(stored.values()))["url"]
    result = libkitsu.chunked.upload_tus(path, servers["TUS_URL"], store_path=store, client=client, checksum=True)
    assert result["upload"] == url
    # The file's digest, though only the rest was sent this time.
    assert result["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert 0 < result["bytes_sent"] < 64 * MIB
    assert (Path(servers["TUS_DIR"]) / url.rsplit("/", 1)[1]).read_bytes() == path.read_bytes()
    assert json.loads(store.read_text())["uploads"] == {}


def test_a_permanent_error_raises_with_its_status(servers, client, tmp_path):
    path = _file(tmp_path, "a.bin", MIB)
    url = servers["RESUMABLE_URL"].replace("/upload", "/nowhere")
    with pytest.raises(libkitsu.exception.RouteNotFoundException) as raised:
        libkitsu.chunked.upload_resumable(path, url, client=client)
    assert "404" in str(raised.value)
    with pytest.raises(ValueError):
        libkitsu.chunked.upload_tus(path, servers["TUS_URL"], chunk_size=0, client=client)
