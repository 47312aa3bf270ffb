"""libkitsu: Kitsu file transfers for Python, under gazu's names.

A gazu script whose calls are all among libkitsu's names (see the README)
moves by a change of import::

    import libkitsu as gazu

    gazu.set_host("https://kitsu.example.com/api")
    gazu.log_in("me@example.com", "secret")
    gazu.files.download_preview_file(preview, "preview.mp4", progress_callback=print)

The work is done by libkitsu.so (Rust): streaming at constant memory, atomic
downloads, real upload progress, typed errors, token refresh, 202 waits.
Every transfer also takes ``cancel=`` (a :class:`CancelToken`, cancelled from
any thread) and ``event_callback=`` (rich :class:`ProgressEvent` objects:
phase, route, file, bytes, total, a message while the server works).
Many files in one call, N at a time: :mod:`libkitsu.batch`. Chunked,
resumable uploads to resumable.js and tus services: :mod:`libkitsu.chunked`. Any other gazu
script: ``libkitsu.accelerate_gazu()`` makes gazu's own file functions move
their bytes through libkitsu (:mod:`libkitsu.gazu_bridge`).
"""

from . import exception
from ._native import ABI_VERSION, CancelToken, Operation, Phase, ProgressEvent, __version__
from .client import (
    DownloadResult,
    KitsuClient,
    create_session,
    default_client,
    get_host,
    log_in,
    log_out,
    set_host,
    set_token,
)
from .exception import (
    AuthFailedException,
    NotAuthenticatedException,
    ParameterException,
    TransferCancelled,
)
from . import asset, batch, chunked, files, person, playlist, project, shot, task  # noqa: E402
from .gazu_bridge import TESTED_GAZU_VERSIONS, accelerate_gazu, restore_gazu  # noqa: E402

__all__ = [
    "ABI_VERSION",
    "TESTED_GAZU_VERSIONS",
    "accelerate_gazu",
    "restore_gazu",
    "AuthFailedException",
    "CancelToken",
    "Operation",
    "Phase",
    "ProgressEvent",
    "TransferCancelled",
    "DownloadResult",
    "KitsuClient",
    "NotAuthenticatedException",
    "ParameterException",
    "__version__",
    "asset",
    "batch",
    "chunked",
    "create_session",
    "default_client",
    "exception",
    "files",
    "get_host",
    "log_in",
    "log_out",
    "person",
    "playlist",
    "project",
    "set_host",
    "set_token",
    "shot",
    "task",
]
