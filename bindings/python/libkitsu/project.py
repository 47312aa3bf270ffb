"""gazu's ``project`` module: the lookups a batch script starts from."""

from __future__ import annotations

from typing import Optional

from . import _native
from ._native import c_str
from .client import KitsuClient, resolve


def get_project_by_name(project_name: str, client: Optional[KitsuClient] = None) -> Optional[dict]:
    """The project with this name, or None."""
    return _native.call_json("kitsu_project_get_project_by_name", resolve(client).handle, c_str(project_name))


def all_open_projects(client: Optional[KitsuClient] = None) -> list:
    """gazu's ``project.all_open_projects``: see ``kitsu_project_all_open_projects`` in kitsu.h for the route and details."""
    return _native.call_json("kitsu_project_all_open_projects", resolve(client).handle)
