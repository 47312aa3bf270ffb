"""gazu's ``asset`` module: CSV import and export."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from . import _native
from ._native import CancelToken, EventCallback, Transfer, c_str, options
from .client import DownloadResult, KitsuClient, Model, PathLike, model_id, resolve

Progress = Optional[Callable[[int, int], Any]]


def import_assets_with_csv(project: Model, csv_file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> list:
    """gazu's ``asset.import_assets_with_csv``; see ``kitsu_asset_import_assets_with_csv`` in kitsu.h for the details."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_asset_import_assets_with_csv",
        [client.handle, c_str(model_id(project, "project")), c_str(os.fspath(csv_file_path))],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def export_assets_with_csv(project: Model, csv_file_path: PathLike, episode: Optional[Model] = None, assigned_to: Optional[Model] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """gazu's ``asset.export_assets_with_csv``: see ``kitsu_asset_export_assets_with_csv`` in kitsu.h for the route and details."""
    client = resolve(client)
    path = os.fspath(csv_file_path)
    _native.call_with_progress(
        "kitsu_asset_export_assets_with_csv",
        [client.handle, c_str(model_id(project, "project")), c_str(path),
         options(episode=model_id(episode, "episode", required=False), assigned_to=model_id(assigned_to, "assigned_to", required=False))],
        Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum),
    )
    return DownloadResult(path, os.path.getsize(path))
