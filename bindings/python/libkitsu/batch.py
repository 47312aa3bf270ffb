"""Batches: many files in one call, ``max_in_flight`` requests at once.

Where a gazu script loops over previews (or runs a thread pool), one call
moves them all::

    previews = gazu.files.get_all_preview_files_for_task(task)   # or any listing
    targets = [f"out/{p['id']}.{p['extension']}" for p in previews]
    results = libkitsu.batch.download_preview_files(previews, targets, max_in_flight=8)
    for result in results:
        print(result.path, result.size if result.ok else result.error)

The whole run happens in libkitsu with the GIL released; callbacks come on
the calling thread. ``progress_callback(bytes_read, total)`` gets the
combined count (``total`` is the sum of the lengths once every one is known,
0 before); ``event_callback`` gets each item's events (``item_index`` in the
batch; ``Phase.QUEUED`` and ``Phase.FAILED`` besides the usual phases) and
the batch's own (``Operation.BATCH``). One failing item does not stop the
others, and raises nothing unless ``raise_on_error=True``; ``cancel=`` stops
everything at once (:class:`~libkitsu.exception.TransferCancelled`).
Nothing partial is ever left at a target.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
from typing import Any, Iterable, List, Optional, Sequence

from . import _native
from . import exception as _exc
from ._native import CancelToken, EventCallback, ProgressCallback, Transfer, c_paths, c_str
from .client import KitsuClient, PathLike, model_id, resolve

#: Preview kinds by name (``kitsu_preview_kind``), gazu's download_preview_file* functions.
PREVIEW_KINDS = {
    "original": 0,
    "thumbnail": 1,
    "square_thumbnail": 2,
    "cover": 3,
    "movie": 4,
    "lowdef": 5,
}

#: The default of ``max_in_flight``.
DEFAULT_MAX_IN_FLIGHT = 8


@dataclasses.dataclass
class BatchResult:
    """One item's result: ``path`` and ``size`` for a download that
    succeeded, ``answer`` (the server's JSON) for an upload, ``error`` (the
    exception the item raised) for a failure."""

    index: int
    path: Optional[str]
    size: Optional[int] = None
    error: Optional[BaseException] = None
    answer: Any = None
    #: The SHA-256 (hex) of the item's file, computed while it moved, when
    #: the run had ``checksum=True``; else None.
    sha256: Optional[str] = None
    #: The attempts its request took, and its last HTTP status (0: none).
    attempts: int = 0
    http_status: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class Batch:
    """A batch of transfers on one client (``kitsu_batch``). Add items, then
    :meth:`run`; running again moves only the items not yet succeeded."""

    def __init__(self, client: Optional[KitsuClient] = None) -> None:
        self._client = resolve(client)
        handle = ctypes.c_void_p()
        _native.raise_for(_native.lib.kitsu_batch_new(self._client.handle, ctypes.byref(handle)))
        self._handle: Optional[ctypes.c_void_p] = handle
        self._paths: List[Optional[str]] = []

    @property
    def handle(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise ValueError("this Batch was closed")
        return self._handle

    def _add(self, function: str, args: list, path: Optional[str]) -> int:
        """Calls ``kitsu_batch_add_<function>(batch, *args, &index)``; returns the index."""
        index = ctypes.c_size_t()
        _native.raise_for(getattr(_native.lib, f"kitsu_batch_add_{function}")(self.handle, *args, ctypes.byref(index)))
        self._paths.append(path)
        return index.value

    def add_download(self, route: str, file_path: PathLike) -> int:
        """Any route to a file (gazu's ``raw.download``); returns the item's index."""
        path = os.fspath(file_path)
        return self._add("download", [c_str(route), c_str(path)], path)

    def add_upload(self, route: str, file_paths: Sequence[PathLike], data: Optional[dict] = None) -> int:
        """Files (parts ``file``, ``file-1``...) and form ``data`` to a route (gazu's ``raw.upload``)."""
        if isinstance(file_paths, (str, os.PathLike)):
            file_paths = [file_paths]
        array, count = c_paths([os.fspath(p) for p in file_paths])
        form = json.dumps(data).encode() if data else None
        return self._add("upload", [c_str(route), array, count, form], None)

    def add_preview_download(self, preview: Any, file_path: PathLike, kind: str = "original") -> int:
        """A preview (dict or id) of ``kind`` (see :data:`PREVIEW_KINDS`). For
        the original, a dict's ``extension`` saves the record request gazu makes."""
        if kind not in PREVIEW_KINDS:
            raise ValueError(f"kind must be one of {', '.join(PREVIEW_KINDS)}, not {kind!r}")
        extension = preview.get("extension") if isinstance(preview, dict) else None
        path = os.fspath(file_path)
        args = [c_str(model_id(preview, "preview")), PREVIEW_KINDS[kind], c_str(extension or None), c_str(path)]
        return self._add("preview_download", args, path)

    def add_attachment_download(self, attachment_file: Any, file_path: PathLike) -> int:
        """gazu's ``download_attachment_file``."""
        path = os.fspath(file_path)
        return self._add("attachment_download", [c_str(model_id(attachment_file, "attachment_file")), c_str(path)], path)

    def add_working_file_download(self, working_file: Any, file_path: PathLike) -> int:
        """gazu's ``download_working_file`` (``file_path`` required)."""
        path = os.fspath(file_path)
        return self._add("working_file_download", [c_str(model_id(working_file, "working_file")), c_str(path)], path)

    def __len__(self) -> int:
        return len(self._paths)

    def run(
        self,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        progress_callback: ProgressCallback = None,
        event_callback: EventCallback = None,
        cancel: Optional[CancelToken] = None,
        raise_on_error: bool = False,
        segments: int = 0,
        checksum: bool = False,
    ) -> List[BatchResult]:
        """Runs every item not yet succeeded; returns every item's result, in
        order. A failed item raises nothing unless ``raise_on_error``
        (then :class:`~libkitsu.exception.BatchIncomplete`, with ``results``).
        ``checksum=True``: each result's ``sha256``, computed in the same pass."""
        try:
            _native.call_with_progress(
                "kitsu_batch_run",
                [self.handle, max(0, int(max_in_flight))],
                Transfer(progress_callback, cancel, event_callback, segments=segments, checksum=checksum),
            )
        except _exc.BatchIncomplete as error:
            error.results = self.results()
            if raise_on_error:
                raise
        return self.results()

    def results(self) -> List[BatchResult]:
        """Every item's result so far (``error`` None and ``size`` None for an item not run yet)."""
        return [self._result(i) for i in range(len(self._paths))]

    def _result(self, index: int) -> BatchResult:
        lib = _native.lib
        code = ctypes.c_uint32()
        status = ctypes.c_int32()
        length = ctypes.c_size_t()
        path = self._paths[index]
        rc = lib.kitsu_batch_item_result(self.handle, index, ctypes.byref(code), ctypes.byref(status), None, 0, ctypes.byref(length))
        if rc != _native.OK:
            return BatchResult(index, path)  # not run yet
        if code.value != _native.OK:
            buffer = ctypes.create_string_buffer(length.value + 1)
            lib.kitsu_batch_item_result(self.handle, index, ctypes.byref(code), ctypes.byref(status), buffer, len(buffer), None)
            name = _native._RESULT_NAMES.get(code.value, "")
            error = _exc.from_result(name, code.value, status.value, buffer.value.decode("utf-8", "replace"))
            return BatchResult(index, path, error=error)
        size = ctypes.c_uint64()
        _native.raise_for(lib.kitsu_batch_item_bytes(self.handle, index, ctypes.byref(size)))
        answer = ctypes.c_void_p()
        _native.raise_for(lib.kitsu_batch_item_answer(self.handle, index, ctypes.byref(answer)))
        text = _native.take_string(answer)
        record = _native.TransferResultC(ctypes.sizeof(_native.TransferResultC))
        _native.raise_for(lib.kitsu_batch_item_receipt(self.handle, index, ctypes.byref(record)))
        receipt = _native.Receipt()
        receipt._take(record)
        return BatchResult(
            index,
            path,
            size=size.value,
            answer=json.loads(text) if text else None,
            sha256=receipt.sha256,
            attempts=receipt.attempts,
            http_status=receipt.http_status,
        )

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            _native.lib.kitsu_batch_free(handle)

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _pairs(sources: Iterable[Any], targets: Iterable[PathLike], what: str) -> list:
    sources, targets = list(sources), list(targets)
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} {what} but {len(targets)} targets: give one target per {what[:-1]}")
    return list(zip(sources, targets))


def download_preview_files(
    previews: Iterable[Any],
    targets: Iterable[PathLike],
    kind: str = "original",
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    progress_callback: ProgressCallback = None,
    event_callback: EventCallback = None,
    cancel: Optional[CancelToken] = None,
    client: Optional[KitsuClient] = None,
    raise_on_error: bool = False,
    segments: int = 0,
    checksum: bool = False,
) -> List[BatchResult]:
    """Downloads previews (dicts as gazu's listings give them, or ids), one
    per target path, ``max_in_flight`` at once. Returns one
    :class:`BatchResult` per preview, in order."""
    with Batch(client) as batch:
        for preview, target in _pairs(previews, targets, "previews"):
            batch.add_preview_download(preview, target, kind)
        return batch.run(max_in_flight, progress_callback, event_callback, cancel, raise_on_error, segments, checksum)


def download_files(
    routes: Iterable[str],
    targets: Iterable[PathLike],
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    progress_callback: ProgressCallback = None,
    event_callback: EventCallback = None,
    cancel: Optional[CancelToken] = None,
    client: Optional[KitsuClient] = None,
    raise_on_error: bool = False,
    segments: int = 0,
    checksum: bool = False,
) -> List[BatchResult]:
    """Downloads any routes (gazu's ``raw.download``), one per target path,
    ``max_in_flight`` at once. Returns one :class:`BatchResult` per route."""
    with Batch(client) as batch:
        for route, target in _pairs(routes, targets, "routes"):
            batch.add_download(route, target)
        return batch.run(max_in_flight, progress_callback, event_callback, cancel, raise_on_error, segments, checksum)
