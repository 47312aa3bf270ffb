"""The client: host, tokens, TLS and timeout settings, over one native
``kitsu_client``. Thread-safe: threads may transfer through one client at once."""

from __future__ import annotations

import ctypes
import os
import re
from typing import Any, Callable, NamedTuple, Optional, Union

from . import _native
from ._native import CancelToken, EventCallback, Transfer, c_str, lib, raise_for
from .exception import HostException, NotAuthenticatedException, ParameterException

_UUID = re.compile(r"[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}")


#: A model as gazu accepts it: an id string, or a dict with "id".
Model = Union[str, dict]
#: A file path.
PathLike = Union[str, "os.PathLike[str]"]


class _PathAndSize(NamedTuple):
    path: str
    size: int


class DownloadResult(_PathAndSize):
    """What a download returns: the path written and its size in bytes (a
    pair, as before), and the call's record: ``sha256`` (hex, when
    ``checksum=True`` was asked, computed while the bytes streamed; else
    None), ``attempts`` and ``http_status``."""

    sha256: Optional[str] = None
    attempts: int = 0
    http_status: int = 0

    @classmethod
    def of(cls, path: str, receipt: "_native.Receipt") -> "DownloadResult":
        result = cls(path, receipt.bytes if receipt.bytes else os.path.getsize(path))
        result.sha256 = receipt.sha256
        result.attempts = receipt.attempts
        result.http_status = receipt.http_status
        return result


class KitsuClient:
    """A connection to one Kitsu server, usable as ``client=`` like gazu's.

    ``ssl_verify`` is True (verify certificates), False (do not: test servers
    only) or the path of a PEM CA bundle, as in gazu. Timeouts in seconds:
    ``connect_timeout`` (30), ``stall_timeout`` (no byte moved, 60; there is
    no total timeout), ``processing_timeout`` (202 waits, 60).
    """

    def __init__(
        self,
        host: Optional[str] = None,
        ssl_verify: Union[bool, str] = True,
        tokens: Optional[dict] = None,
        access_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        connect_timeout: Optional[int] = None,
        stall_timeout: Optional[int] = None,
        processing_timeout: Optional[int] = None,
    ):
        self._handle: Optional[ctypes.c_void_p] = None
        self.host: Optional[str] = None
        self.tokens: dict = {"access_token": None, "refresh_token": None}
        self._settings = dict(
            ssl_verify=ssl_verify,
            connect_timeout=connect_timeout,
            stall_timeout=stall_timeout,
            processing_timeout=processing_timeout,
        )
        if host is not None:
            self.set_host(host)
        if tokens:
            self.set_tokens(tokens)
        elif access_token or refresh_token:
            self.set_tokens({"access_token": access_token, "refresh_token": refresh_token})

    # -- handle -------------------------------------------------------------

    def set_host(self, host: str) -> None:
        """Points the client at ``host`` (``https://kitsu.example.com/api``); forgets the tokens."""
        handle = ctypes.c_void_p()
        try:
            raise_for(lib.kitsu_client_new(c_str(host), ctypes.byref(handle)))
        except ParameterException as error:
            raise HostException(error.message, 0, error.code) from None
        self.close()
        self._handle = handle
        self.host = host
        self.tokens = {"access_token": None, "refresh_token": None}
        self._apply_settings()

    def _apply_settings(self) -> None:
        verify = self._settings["ssl_verify"]
        if verify is False:
            raise_for(lib.kitsu_client_set_tls_verify(self._handle, 0))
        elif isinstance(verify, (str, os.PathLike)):
            raise_for(lib.kitsu_client_set_ca_bundle(self._handle, c_str(os.fspath(verify))))
        for name in ("connect_timeout", "stall_timeout", "processing_timeout"):
            value = self._settings[name]
            if value is not None:
                raise_for(getattr(lib, f"kitsu_client_set_{name}")(self._handle, int(value)))

    def set_retry_policy(
        self,
        max_attempts: Optional[int] = None,
        initial_delay: Optional[float] = None,
        max_delay: Optional[float] = None,
    ) -> None:
        """How this client's calls try again: attempts in a row without
        progress (1 turns retries off; default 5), the first backoff and the
        longest wait in seconds (defaults 0.5 and 30). None keeps a value."""
        raise_for(
            lib.kitsu_client_set_retry_policy(
                self.handle,
                int(max_attempts or 0),
                int((initial_delay or 0) * 1000),
                int((max_delay or 0) * 1000),
            )
        )

    def set_max_memory_answer(self, max_bytes: int) -> None:
        """The largest answer held in memory (JSON, get_file_data_from_url); default 256 MiB."""
        raise_for(lib.kitsu_client_set_max_memory_answer(self.handle, int(max_bytes)))

    def set_timeouts(
        self,
        connect_timeout: Optional[int] = None,
        stall_timeout: Optional[int] = None,
        processing_timeout: Optional[int] = None,
    ) -> None:
        """Changes timeouts (seconds); None leaves one as it is."""
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("stall_timeout", stall_timeout),
            ("processing_timeout", processing_timeout),
        ):
            if value is not None:
                self._settings[name] = value
        if self._handle is not None:
            self._apply_settings()

    @property
    def handle(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise HostException("no host set: call libkitsu.set_host(url) (or KitsuClient(url)) first")
        return self._handle

    def close(self) -> None:
        """Frees the native client (joins its threads). The client is unusable afterwards."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.kitsu_client_free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __enter__(self) -> "KitsuClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self.tokens.get("access_token"):
                self.log_out()
        finally:
            self.close()

    # -- auth ---------------------------------------------------------------

    def log_in(self, email: str, password: str) -> dict:
        """POST auth/login; keeps the tokens and returns the server's answer."""
        answer = _native.call_json("kitsu_client_log_in", self.handle, c_str(email), c_str(password))
        self.tokens = answer
        return answer

    def log_out(self) -> None:
        """GET auth/logout, then forgets the tokens."""
        try:
            raise_for(lib.kitsu_client_log_out(self.handle))
        finally:
            self.tokens = {}

    def set_tokens(self, tokens: Union[dict, str]) -> None:
        """gazu's set_token: a dict with access_token (and refresh_token), or an access token."""
        if isinstance(tokens, str):
            tokens = {"access_token": tokens}
        self.tokens = dict(tokens)
        raise_for(
            lib.kitsu_client_set_tokens(
                self.handle, c_str(tokens.get("access_token")), c_str(tokens.get("refresh_token"))
            )
        )

    def native_tokens(self) -> tuple:
        """(access, refresh) as the library holds them now, after any refresh it made."""
        access, refresh = ctypes.c_void_p(), ctypes.c_void_p()
        raise_for(lib.kitsu_client_get_tokens(self.handle, ctypes.byref(access), ctypes.byref(refresh)))
        return (_native.take_string(access) or None, _native.take_string(refresh) or None)

    @property
    def access_token(self) -> Optional[str]:
        """The access token in use (a refreshed one included)."""
        return self.native_tokens()[0] if self._handle is not None else None

    @property
    def refresh_token(self) -> Optional[str]:
        return self.native_tokens()[1] if self._handle is not None else None

    # -- any route ------------------------------------------------------------

    def get(self, path: str) -> Any:
        """GET a route (relative to the host) and decode its JSON answer."""
        return _native.call_json("kitsu_client_get", self.handle, c_str(path))

    def post(self, path: str, data: Any = None) -> Any:
        import json

        body = None if data is None else json.dumps(data, default=str).encode()
        return _native.call_json("kitsu_client_post", self.handle, c_str(path), body)

    def put(self, path: str, data: Any = None) -> Any:
        import json

        body = None if data is None else json.dumps(data, default=str).encode()
        return _native.call_json("kitsu_client_put", self.handle, c_str(path), body)

    def delete(self, path: str) -> Any:
        return _native.call_json("kitsu_client_delete", self.handle, c_str(path))

    def download(self, path: str, file_path: PathLike, progress_callback: Optional[Callable[[int, int], Any]] = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None, resume: bool = False, segments: int = 0, checksum: bool = False) -> DownloadResult:
        """gazu's ``raw.download``: any route to a file, atomically, waiting
        out 202s. ``checksum=True``: the result's ``sha256``."""
        target = os.fspath(file_path)
        receipt = _native.Receipt()
        _native.call_with_progress("kitsu_client_download", [self.handle, c_str(path), c_str(target)], Transfer(progress_callback, cancel, event_callback, resume, segments, checksum), receipt=receipt)
        return DownloadResult.of(target, receipt)

    def upload(
        self,
        path: str,
        file_path: PathLike,
        data: Optional[dict] = None,
        extra_files: Optional[list] = None,
        progress_callback: Optional[Callable[[int, int], Any]] = None,
        cancel: Optional[CancelToken] = None,
        event_callback: EventCallback = None,
    ) -> Any:
        """gazu's ``raw.upload``: the file as part ``file`` (extra files as
        ``file-1``...), after the form fields of ``data``; returns the JSON answer."""
        import json

        paths, count = _native.c_paths([os.fspath(file_path), *[os.fspath(f) for f in extra_files or []]])
        form = None if not data else json.dumps(data, default=str).encode()
        return _native.call_with_progress(
            "kitsu_client_upload", [self.handle, c_str(path), paths, count, form], Transfer(progress_callback, cancel, event_callback), out_json=True
        )

    def get_file_data_from_url(self, path: str, progress_callback: Optional[Callable[[int, int], Any]] = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> bytes:
        """gazu's get_file_data_from_url: a route's body in memory."""
        return get_bytes(self, path, progress_callback, cancel, event_callback)


def get_bytes(client: KitsuClient, path: str, progress_callback: Optional[Callable[[int, int], Any]] = None, cancel: Optional[CancelToken] = None, event_callback: EventCallback = None) -> bytes:
    """A route's body in memory, with the download engine's checks and 202 wait."""
    data = ctypes.c_void_p()
    length = ctypes.c_size_t()
    _native.call_with_progress(
        "kitsu_client_get_bytes",
        [client.handle, c_str(path)],
        Transfer(progress_callback, cancel, event_callback),
        trailing=[ctypes.byref(data), ctypes.byref(length)],
    )
    try:
        return ctypes.string_at(data.value, length.value) if length.value else b""
    finally:
        lib.kitsu_bytes_free(data, length)


#: The default client, configured by set_host / log_in like gazu's.
default_client = KitsuClient()


def resolve(client: Optional[KitsuClient]) -> KitsuClient:
    """The given client, or the default one."""
    return default_client if client is None else client


def model_id(value: Any, name: str = "model", required: bool = True) -> Optional[str]:
    """gazu's normalize_model_parameter: a dict with "id", or an id string."""
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return None
    if isinstance(value, dict):
        if "id" not in value:
            raise ValueError(f"{name}: the dict has no 'id'")
        value = value["id"]
    text = str(value)
    if not _UUID.fullmatch(text):
        raise ValueError("Wrong format: expected ID string or Data dict")
    return text


def set_host(host: str, client: Optional[KitsuClient] = None) -> None:
    """Points the (default) client at ``host``, e.g. ``https://kitsu.example.com/api``."""
    resolve(client).set_host(host)


def get_host(client: Optional[KitsuClient] = None) -> Optional[str]:
    """The (default) client's host."""
    return resolve(client).host


def log_in(email: str, password: str, client: Optional[KitsuClient] = None) -> dict:
    """Logs the (default) client in; returns the server's answer (user, tokens)."""
    return resolve(client).log_in(email, password)


def log_out(client: Optional[KitsuClient] = None) -> None:
    """Logs the (default) client out and forgets its tokens."""
    resolve(client).log_out()


def set_token(token: Union[dict, str], client: Optional[KitsuClient] = None) -> None:
    """gazu's set_token: a tokens dict or an access token string."""
    resolve(client).set_tokens(token)


def create_session(host: str, email: str, password: str, **settings: Any) -> KitsuClient:
    """A new client, logged in (gazu's create_session). Use it as a context manager."""
    client = KitsuClient(host, **settings)
    try:
        client.log_in(email, password)
    except BaseException:
        client.close()
        raise
    return client


__all__ = [
    "DownloadResult",
    "KitsuClient",
    "NotAuthenticatedException",
    "create_session",
    "default_client",
    "get_host",
    "log_in",
    "log_out",
    "model_id",
    "set_host",
    "set_token",
]
