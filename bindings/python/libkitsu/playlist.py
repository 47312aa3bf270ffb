"""gazu's ``playlist`` module: built movies and zips."""

from __future__ import annotations

from typing import Any, Callable, Optional

from ._native import CancelToken, EventCallback, Transfer, c_str
from .client import DownloadResult, KitsuClient, Model, PathLike, model_id, resolve
from .files import _download


def download_playlist_build(playlist: Model, build_job: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Optional[Callable[[int, int], Any]] = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads a built playlist movie."""
    return _download(
        "kitsu_playlist_download_playlist_build",
        [c_str(model_id(playlist, "playlist")), c_str(model_id(build_job, "build_job"))],
        file_path,
        resolve(client),
        Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum),
    )


def download_playlist_zip(playlist: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Optional[Callable[[int, int], Any]] = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, checksum: bool = False) -> DownloadResult:
    """Downloads every preview of a playlist as a zip."""
    return _download("kitsu_playlist_download_playlist_zip", [c_str(model_id(playlist, "playlist"))], file_path, resolve(client), Transfer(progress_callback, cancel, event_callback, resume, checksum=checksum))
