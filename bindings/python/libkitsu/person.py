"""gazu's ``person`` module: avatar and lookup."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any, Callable, Optional

from . import _native
from ._native import CancelToken, EventCallback, Transfer, c_str
from .client import KitsuClient, Model, PathLike, model_id, resolve


def set_avatar(person: Model, file_path: PathLike, client: Optional[KitsuClient] = None, progress_callback: Optional[Callable[[int, int], Any]] = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> dict:
    """Uploads a person's avatar (the same request as files.upload_person_avatar)."""
    client = resolve(client)
    return _native.call_with_progress(
        "kitsu_person_set_avatar",
        [client.handle, c_str(model_id(person, "person")), c_str(os.fspath(file_path))],
        Transfer(progress_callback, cancel, event_callback),
        out_json=True,
    )


def get_person_by_email(email: str, is_bot: bool = False, client: Optional[KitsuClient] = None) -> Optional[dict]:
    """The person with this email, or None."""
    client = resolve(client)
    if is_bot:
        query = urllib.parse.urlencode({"email": email, "is_bot": "True"})
        found = client.get(f"data/persons?{query}")
        return found[0] if found else None
    return _native.call_json("kitsu_person_get_person_by_email", client.handle, c_str(email))
