"""Chunked uploads to upload services (review tools, farm ingest, drop
boxes) that speak resumable.js (or flow.js) or tus 1.0, on a client's
connection settings. resumable.py's names: ``chunk_size`` (1 MiB),
``simultaneous_uploads`` (3), ``headers``, ``test_chunks`` (on).

Unlike resumable.py, a restarted upload resumes: the identifier is the
file's size and fingerprint, the same in every run, and ``test_chunks``
asks the server which chunks it has. Failures wait with backoff before the
next attempt, network errors are retried, progress counts bytes.

tus uploads keep their URL in a small JSON store (``store_path``; default
``$XDG_STATE_HOME/libkitsu/tus-uploads.json``; ``False``: none), so a new
process resumes where the last one stopped.

The client's token is sent only to its own host; another service's
credentials go in ``headers``. Both return a dict: ``upload`` (the
identifier, or the tus upload's URL), ``chunks``, ``chunks_sent``,
``chunks_skipped``, ``bytes_sent``, ``answer``.

    client = libkitsu.KitsuClient("https://ingest.studio.example")
    libkitsu.chunked.upload_tus("plate.exr", "files/", client=client,
                                progress_callback=lambda done, total: print(done, total))
"""

from __future__ import annotations

import ctypes
import json
import os
from typing import Any, Callable, Optional, Union

from . import _native
from ._native import CancelToken, ChunkedOptionsC, EventCallback, Transfer, c_str
from .client import KitsuClient, PathLike, resolve

Progress = Optional[Callable[[int, int], Any]]


def _options(
    chunk_size: int,
    simultaneous_uploads: int,
    headers: Optional[dict],
    test_chunks: bool,
    relative_path: Optional[str],
    store_path: Union[PathLike, None, bool],
    terminate_on_cancel: bool,
) -> ChunkedOptionsC:
    if chunk_size <= 0:
        raise ValueError("chunk_size must be at least 1 byte")
    if not 1 <= simultaneous_uploads <= 64:
        raise ValueError("simultaneous_uploads must be 1 to 64")
    if store_path is True:
        raise ValueError("store_path is a path, None (the default store) or False (none)")
    store = b"" if store_path is False else c_str(store_path)
    return ChunkedOptionsC(
        ctypes.sizeof(ChunkedOptionsC),
        int(chunk_size),
        int(simultaneous_uploads),
        0 if test_chunks else 1,
        json.dumps(headers).encode() if headers else None,
        c_str(relative_path),
        store,
        1 if terminate_on_cancel else 0,
    )


def upload_resumable(
    file_path: PathLike,
    url: str,
    chunk_size: int = 1024 * 1024,
    simultaneous_uploads: int = 3,
    headers: Optional[dict] = None,
    test_chunks: bool = True,
    relative_path: Optional[str] = None,
    client: Optional[KitsuClient] = None,
    progress_callback: Progress = None,
    cancel: Optional[CancelToken] = None,
    event_callback: EventCallback = None,
    checksum: bool = False,
) -> dict:
    """Uploads a file to a resumable.js endpoint ``url`` (absolute, or a
    route of the client's host) in chunks, ``simultaneous_uploads`` at once.
    resumable.js's permanent errors (400, 404, 409, 415, 500, 501) raise at
    once; other failures are retried."""
    options = _options(chunk_size, simultaneous_uploads, headers, test_chunks, relative_path, None, False)
    return _with_checksum(
        "kitsu_chunked_upload_resumable",
        [resolve(client).handle, c_str(url), c_str(os.fspath(file_path)), ctypes.byref(options)],
        Transfer(progress_callback, cancel, event_callback, checksum=checksum),
    )


def upload_tus(
    file_path: PathLike,
    url: str,
    chunk_size: int = 1024 * 1024,
    headers: Optional[dict] = None,
    store_path: Union[PathLike, None, bool] = None,
    terminate_on_cancel: bool = False,
    client: Optional[KitsuClient] = None,
    progress_callback: Progress = None,
    cancel: Optional[CancelToken] = None,
    event_callback: EventCallback = None,
    checksum: bool = False,
) -> dict:
    """Uploads a file to the tus 1.0 creation endpoint ``url`` (absolute,
    or a route of the client's host), resuming an upload of the same file
    the store knows. With ``terminate_on_cancel`` a cancelled upload is
    deleted on the server instead of kept to resume."""
    options = _options(chunk_size, 1, headers, True, None, store_path, terminate_on_cancel)
    return _with_checksum(
        "kitsu_chunked_upload_tus",
        [resolve(client).handle, c_str(url), c_str(os.fspath(file_path)), ctypes.byref(options)],
        Transfer(progress_callback, cancel, event_callback, checksum=checksum),
    )


def _with_checksum(function: str, args: list, transfer: Transfer) -> dict:
    """The call's summary, with ``sha256`` (hex) when ``checksum`` was asked."""
    receipt = _native.Receipt()
    summary = _native.call_with_progress(function, args, transfer, out_json=True, receipt=receipt)
    if transfer.checksum:
        summary["sha256"] = receipt.sha256
    return summary
