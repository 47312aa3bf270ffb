"""gazu's ``files`` module: working files, previews, attachments, avatars,
frames and tiles. Same names and arguments as gazu 1.3.1.

Downloads return a :class:`~libkitsu.client.DownloadResult` (path, size)
and write atomically: nothing partial and no error answer ever lands at the
target, and a file already there survives any failure. ``progress_callback``
is called as gazu calls it, ``(bytes_read, total)``, on the calling thread;
``total`` is 0 when the server sends no size. Returning False aborts; an
exception raised inside it aborts and is re-raised here, as itself. Every
function also takes ``cancel=`` (a :class:`~libkitsu.CancelToken`) and
``event_callback=`` (called with a :class:`~libkitsu.ProgressEvent`).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from . import _native
from ._native import CancelToken, EventCallback, Transfer, c_str, options
from .client import DownloadResult, KitsuClient, Model, PathLike, get_bytes, model_id, resolve

Progress = Optional[Callable[[int, int], Any]]


def _download(function: str, args: list, file_path: Any, client: KitsuClient, transfer: Transfer) -> DownloadResult:
    path = os.fspath(file_path)
    receipt = _native.Receipt()
    _native.call_with_progress(function, [client.handle, *args, c_str(path)], transfer, receipt=receipt)
    return DownloadResult.of(path, receipt)


def _upload(function: str, args: list, file_path: Any, client: KitsuClient, transfer: Transfer) -> Any:
    return _native.call_with_progress(function, [client.handle, *args, c_str(os.fspath(file_path))], transfer, out_json=True)


def upload_working_file(working_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Uploads the file of a working file; returns the working file."""
    return _upload("kitsu_files_upload_working_file", [c_str(model_id(working_file, "working_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback))


def upload_person_avatar(person: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Uploads a person's avatar; returns ``{"thumbnail_path": ...}``."""
    return _upload("kitsu_files_upload_person_avatar", [c_str(model_id(person, "person"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback))


def upload_project_avatar(project: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Uploads a project's avatar; returns ``{"thumbnail_path": ...}``."""
    return _upload("kitsu_files_upload_project_avatar", [c_str(model_id(project, "project"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback))


def upload_organisation_avatar(organisation: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Uploads the organisation's avatar; returns ``{"thumbnail_path": ...}``."""
    return _upload("kitsu_files_upload_organisation_avatar", [c_str(model_id(organisation, "organisation"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback))


def download_working_file(working_file: Model, file_path: Optional[PathLike] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a working file. Unlike gazu, ``file_path`` is required: the
    server-given path of the record never decides where a file lands."""
    if file_path is None:
        raise ValueError("file_path is required (libkitsu never writes to a server-given path)")
    return _download("kitsu_files_download_working_file", [c_str(model_id(working_file, "working_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_preview_file(preview_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a preview's original (movie or picture)."""
    return _download("kitsu_files_download_preview_file", [c_str(model_id(preview_file, "preview_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_preview_file_thumbnail(preview_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a preview's thumbnail (PNG)."""
    return _download("kitsu_files_download_preview_file_thumbnail", [c_str(model_id(preview_file, "preview_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_preview_file_cover(preview_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a preview's full-size picture (for a movie, a frame)."""
    return _download("kitsu_files_download_preview_file_cover", [c_str(model_id(preview_file, "preview_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_preview_movie(preview_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a movie preview (mp4)."""
    return _download("kitsu_files_download_preview_movie", [c_str(model_id(preview_file, "preview_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_preview_lowdef_movie(preview_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads the low-definition version of a movie preview."""
    return _download("kitsu_files_download_preview_lowdef_movie", [c_str(model_id(preview_file, "preview_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_attachment_file(attachment_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a comment attachment."""
    return _download("kitsu_files_download_attachment_file", [c_str(model_id(attachment_file, "attachment_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_attachment_thumbnail(attachment_file: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads an attachment's thumbnail (Zou has them for chat pictures only)."""
    return _download("kitsu_files_download_attachment_thumbnail", [c_str(model_id(attachment_file, "attachment_file"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_person_avatar(person: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """gazu's ``files.download_person_avatar``: see ``kitsu_files_download_person_avatar`` in kitsu.h for the route and details."""
    return _download("kitsu_files_download_person_avatar", [c_str(model_id(person, "person"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_project_avatar(project: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """gazu's ``files.download_project_avatar``: see ``kitsu_files_download_project_avatar`` in kitsu.h for the route and details."""
    return _download("kitsu_files_download_project_avatar", [c_str(model_id(project, "project"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def download_organisation_avatar(organisation: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """gazu's ``files.download_organisation_avatar``: see ``kitsu_files_download_organisation_avatar`` in kitsu.h for the route and details."""
    return _download("kitsu_files_download_organisation_avatar", [c_str(model_id(organisation, "organisation"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))


def extract_frame_from_preview(preview_file: Model, frame_number: int, file_path: Optional[PathLike] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None):
    """A frame of a movie preview as PNG: written to ``file_path``
    (returns a DownloadResult), or returned as bytes when it is None (as gazu)."""
    client = resolve(client)
    preview_id = model_id(preview_file, "preview_file")
    if file_path is None:
        return get_bytes(client, f"actions/preview-files/{preview_id}/extract-frame?frame_number={int(frame_number)}", progress_callback, cancel, event_callback)
    path = os.fspath(file_path)
    _native.call_with_progress(
        "kitsu_files_extract_frame_from_preview",
        [client.handle, c_str(preview_id), int(frame_number), c_str(path)],
        Transfer(progress_callback, cancel, event_callback),
    )
    return DownloadResult(path, os.path.getsize(path))


def extract_tile_from_preview(preview_file: Model, file_path: Optional[PathLike] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None):
    """A tile of a movie preview's frames as PNG: to ``file_path``, or bytes when None."""
    client = resolve(client)
    preview_id = model_id(preview_file, "preview_file")
    if file_path is None:
        return get_bytes(client, f"actions/preview-files/{preview_id}/extract-tile", progress_callback, cancel, event_callback)
    return _download("kitsu_files_extract_tile_from_preview", [c_str(preview_id)], file_path, client, Transfer(progress_callback, cancel, event_callback))


def get_preview_file(preview_file_id: Model, client: Optional[KitsuClient] = None) -> dict:
    """gazu's ``files.get_preview_file``: see ``kitsu_files_get_preview_file`` in kitsu.h for the route and details."""
    return _native.call_json("kitsu_files_get_preview_file", resolve(client).handle, c_str(model_id(preview_file_id, "preview_file_id")))


def get_working_file(working_file_id: Model, client: Optional[KitsuClient] = None) -> dict:
    """gazu's ``files.get_working_file``: see ``kitsu_files_get_working_file`` in kitsu.h for the route and details."""
    return _native.call_json("kitsu_files_get_working_file", resolve(client).handle, c_str(model_id(working_file_id, "working_file_id")))


def get_attachment_file(attachment_file_id: Model, client: Optional[KitsuClient] = None) -> dict:
    """gazu's ``files.get_attachment_file``: see ``kitsu_files_get_attachment_file`` in kitsu.h for the route and details."""
    return _native.call_json("kitsu_files_get_attachment_file", resolve(client).handle, c_str(model_id(attachment_file_id, "attachment_file_id")))


def new_working_file(task: Model, name: str = "main", mode: str = "working", software: Optional[Model] = None, comment: str = "", person: Optional[Model] = None, revision: int = 0, sep: str = "/", client: Optional[KitsuClient] = None) -> dict:
    """A new working-file record for a task (``sep`` is unused, as in gazu)."""
    opts = options(
        name=name,
        mode=mode,
        software=model_id(software, "software", required=False),
        comment=comment,
        person=model_id(person, "person", required=False),
        revision=revision,
    )
    return _native.call_json("kitsu_files_new_working_file", resolve(client).handle, c_str(model_id(task, "task")), opts)


def update_project_file_tree(project: Model, file_tree: dict, client: Optional[KitsuClient] = None) -> dict:
    """gazu's ``files.update_project_file_tree``: see ``kitsu_files_update_project_file_tree`` in kitsu.h for the route and details."""
    import json

    return _native.call_json(
        "kitsu_files_update_project_file_tree", resolve(client).handle, c_str(model_id(project, "project")), json.dumps(file_tree).encode()
    )
