"""gazu's ``task`` module: comments with attachments, batch comments and
previews. Same names and arguments as gazu 1.3.1, plus ``progress_callback``
on the composites (``add_preview``, ``add_extra_preview``,
``publish_preview``), which report one stream over every file they send."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from . import _native
from ._native import CancelToken, EventCallback, Transfer, c_paths, c_str, options
from .client import KitsuClient, Model, PathLike, model_id, resolve

Progress = Optional[Callable[[int, int], Any]]


def _attachment_list(attachments: Union[None, str, list]) -> list:
    if attachments is None:
        return []
    if isinstance(attachments, (str, os.PathLike)):
        return [os.fspath(attachments)]
    return [os.fspath(a) for a in attachments]


@contextlib.contextmanager
def _preview_source(preview_file_path: Optional[str], preview_file_url: Optional[str]) -> Iterator[str]:
    """The file to upload: the path, or the URL downloaded to a temporary
    folder that is removed afterwards (gazu leaks it)."""
    if preview_file_path is not None:
        yield os.fspath(preview_file_path)
        return
    if preview_file_url is None:
        raise ValueError("The preview_file_path or the preview_file_url must be given.")
    folder = tempfile.mkdtemp(prefix="libkitsu_")
    try:
        name = os.path.basename(urllib.parse.urlparse(preview_file_url).path) or "preview"
        path = os.path.join(folder, name)
        with urllib.request.urlopen(preview_file_url, timeout=60) as answer, open(path, "wb") as out:
            shutil.copyfileobj(answer, out, 1 << 20)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload_preview_file(preview_file: Model, file_path: PathLike, normalize_movie: bool = True, no_job: bool = False, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Uploads the file of a preview file; returns the preview file."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_task_upload_preview_file",
        [client.handle, c_str(model_id(preview_file, "preview_file")), c_str(os.fspath(file_path)),
         options(normalize_movie=normalize_movie, no_job=no_job)],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def add_comment(task: Model, task_status: Model, comment: str = "", person: Optional[Model] = None, checklist: Optional[list] = None, attachments: Union[None, PathLike, Sequence[PathLike]] = None, created_at: Optional[str] = None, links: Optional[list] = None, for_client: bool = False, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """A comment on a task, with attachments (kept in the order given)."""
    client = resolve(client)
    paths, count = c_paths(_attachment_list(attachments))
    opts = options(
        comment=comment,
        person=model_id(person, "person", required=False),
        checklist=checklist,
        created_at=None if created_at is None else str(created_at),
        links=links,
        for_client=for_client,
    )
    return _native.call_with_progress(
        "kitsu_task_add_comment",
        [client.handle, c_str(model_id(task, "task")), c_str(model_id(task_status, "task_status")), paths, count, opts],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def add_attachment_files_to_comment(task: Model, comment: Model, attachments: Union[None, PathLike, Sequence[PathLike]] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> list:
    """Adds files to an existing comment; returns the attachment files."""
    files = _attachment_list(attachments)
    if not files:
        raise ValueError("The attachments list is empty")
    client = resolve(client)
    paths, count = c_paths(files)
    return _native.call_with_progress(
        "kitsu_task_add_attachment_files_to_comment",
        [client.handle, c_str(model_id(task, "task")), c_str(model_id(comment, "comment")), paths, count],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def batch_comments(comments: Optional[list] = None, task: Optional[Model] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> list:
    """Several comments in one request; each may list local files under
    ``attachment_files`` and ``preview_files`` (not sent to the server as text)."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_task_batch_comments",
        [client.handle, c_str(model_id(task, "task", required=False)), json.dumps(comments or [], default=str).encode()],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def create_multiple_comments(project: Model, comments: Optional[list] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> list:
    """Comments on several tasks of a project, then their files (gazu's
    version of this fails against Zou 1.0.97; this one works)."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_task_create_multiple_comments",
        [client.handle, c_str(model_id(project, "project")), json.dumps(comments or [], default=str).encode()],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def create_preview(task: Model, comment: Model, revision: Optional[int] = None, client: Optional[KitsuClient] = None) -> dict:
    """An empty preview file on a comment, to upload to."""
    return _native.call_json(
        "kitsu_task_create_preview",
        resolve(client).handle,
        c_str(model_id(task, "task")),
        c_str(model_id(comment, "comment")),
        options(revision=revision),
    )


def add_preview(task: Model, comment: Model, preview_file_path: Optional[PathLike] = None, preview_file_url: Optional[str] = None, normalize_movie: bool = True, revision: Optional[int] = None, no_job: bool = False, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """create_preview, then upload_preview_file; returns the preview file."""
    client = resolve(client)
    with _preview_source(preview_file_path, preview_file_url) as path:
        return _native.call_with_progress(
            "kitsu_task_add_preview",
            [client.handle, c_str(model_id(task, "task")), c_str(model_id(comment, "comment")), c_str(path),
             options(normalize_movie=normalize_movie, revision=revision, no_job=no_job)],
            Transfer(progress_callback, cancel, event_callback),
            out_json=True,
        )


def add_extra_preview(task: Model, comment: Model, preview_file: Model, preview_file_path: Optional[PathLike] = None, preview_file_url: Optional[str] = None, normalize_movie: bool = True, no_job: bool = False, client: Optional[KitsuClient] = None, progress_callback: Progress = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """A preview sharing the revision of ``preview_file``; returns the new preview file."""
    client = resolve(client)
    with _preview_source(preview_file_path, preview_file_url) as path:
        return _native.call_with_progress(
            "kitsu_task_add_extra_preview",
            [client.handle, c_str(model_id(task, "task")), c_str(model_id(comment, "comment")),
             c_str(model_id(preview_file, "preview_file")), c_str(path),
             options(normalize_movie=normalize_movie, no_job=no_job)],
            Transfer(progress_callback, cancel, event_callback),
            out_json=True,
        )


def publish_preview(task: Model, task_status: Model, comment: str = "", person: Optional[Model] = None, checklist: Optional[list] = None, attachments: Union[None, PathLike, Sequence[PathLike]] = None, created_at: Optional[str] = None, preview_file_path: Optional[PathLike] = None, preview_file_url: Optional[str] = None, normalize_movie: bool = True, revision: Optional[int] = None, set_thumbnail: bool = False, links: Optional[list] = None, client: Optional[KitsuClient] = None, progress_callback: Progress = None, no_job: bool = False, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> tuple:
    """A comment with its attachments, then a preview on it (and with
    ``set_thumbnail`` the entity's thumbnail); returns ``(comment, preview_file)``."""
    client = resolve(client)
    paths, count = c_paths(_attachment_list(attachments))
    opts = options(
        comment=comment,
        person=model_id(person, "person", required=False),
        checklist=checklist,
        created_at=None if created_at is None else str(created_at),
        links=links,
        normalize_movie=normalize_movie,
        revision=revision,
        set_thumbnail=set_thumbnail,
        no_job=no_job,
    )
    with _preview_source(preview_file_path, preview_file_url) as path:
        answer = _native.call_with_progress(
            "kitsu_task_publish_preview",
            [client.handle, c_str(model_id(task, "task")), c_str(model_id(task_status, "task_status")), c_str(path), paths, count, opts],
            Transfer(progress_callback, cancel, event_callback),
            out_json=True,
        )
    return answer["comment"], answer["preview_file"]


def all_tasks_for_project(project: Model, task_type: Optional[Model] = None, episode: Optional[Model] = None, client: Optional[KitsuClient] = None) -> list:
    """gazu's ``task.all_tasks_for_project``: see ``kitsu_task_all_tasks_for_project`` in kitsu.h for the route and details."""
    return _native.call_json(
        "kitsu_task_all_tasks_for_project",
        resolve(client).handle,
        c_str(model_id(project, "project")),
        options(task_type=model_id(task_type, "task_type", required=False), episode=model_id(episode, "episode", required=False)),
    )


def all_comments_for_task(task: Model, client: Optional[KitsuClient] = None) -> list:
    """The task's comments, newest first."""
    return _native.call_json("kitsu_task_all_comments_for_task", resolve(client).handle, c_str(model_id(task, "task")))


def get_task_status_by_short_name(task_status_short_name: str, client: Optional[KitsuClient] = None) -> Optional[dict]:
    """gazu's ``task.get_task_status_by_short_name``: see ``kitsu_task_get_task_status_by_short_name`` in kitsu.h for the route and details."""
    return _native.call_json("kitsu_task_get_task_status_by_short_name", resolve(client).handle, c_str(task_status_short_name))
