"""gazu's ``shot`` module: CSV and OTIO import, CSV export."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from . import _native
from ._native import CancelToken, EventCallback, Transfer, c_str, options
from .client import DownloadResult, KitsuClient, Model, PathLike, model_id, resolve

Progress = Optional[Callable[[int, int], Any]]


def import_shots_with_csv(project: Model, csv_file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> list:
    """gazu's ``shot.import_shots_with_csv``; see ``kitsu_shot_import_shots_with_csv`` in kitsu.h for the details."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_shot_import_shots_with_csv",
        [client.handle, c_str(model_id(project, "project")), c_str(os.fspath(csv_file_path))],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def export_shots_with_csv(project: Model, csv_file_path: PathLike, episode: Optional[Model] = None, assigned_to: Optional[Model] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """gazu's ``shot.export_shots_with_csv``: see ``kitsu_shot_export_shots_with_csv`` in kitsu.h for the route and details."""
    client = resolve(client)
    path = os.fspath(csv_file_path)
    _native.call_with_progress(
        "kitsu_shot_export_shots_with_csv",
        [client.handle, c_str(model_id(project, "project")), c_str(path),
         options(episode=model_id(episode, "episode", required=False), assigned_to=model_id(assigned_to, "assigned_to", required=False))],
        Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum),
    )
    return DownloadResult(path, os.path.getsize(path))


def import_otio(project: Model, otio_file_path: PathLike, episode: Optional[Model] = None, naming_convention: Optional[str] = None, match_case: bool = True, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Creates or updates the shots of an OTIO timeline; returns
    ``{"created_shots": [...], "updated_shots": [...]}``."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_shot_import_otio",
        [client.handle, c_str(model_id(project, "project")), c_str(os.fspath(otio_file_path)),
         options(episode=model_id(episode, "episode", required=False), naming_convention=naming_convention, match_case=match_case)],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )
