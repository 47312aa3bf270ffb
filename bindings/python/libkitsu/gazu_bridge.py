"""gazu, accelerated: one line makes an existing gazu script move its files
through libkitsu, and leaves the rest of gazu as it is::

    import gazu
    import libkitsu

    libkitsu.accelerate_gazu()          # or: with libkitsu.accelerate_gazu(): ...
    gazu.set_host("https://kitsu.example.com/api")
    gazu.log_in("me@example.com", "secret")
    gazu.files.download_preview_file(preview, "shot.mp4", progress_callback=bar)

Every gazu file function goes through three functions of ``gazu.client``
(``upload``, ``download``, ``get_file_data_from_url``), which gazu's modules
look up at call time. These are replaced: uploads stream in constant memory
with real progress, downloads are atomic, 202 waits, retries and Range
resume come from libkitsu's engine. Each gazu client (``client=`` or gazu's
default) gets a libkitsu client of its own, alive as long as it is, with
its host, its tokens and its ``ssl_verify`` setting; a token refreshed on
either side is seen by the other. Errors are raised as gazu's exception
classes (also instances of libkitsu's class of the same name).

What stays gazu's own (counted in :attr:`Acceleration.fallbacks`): uploads
given ``files=`` (the two multi-comment functions build their own parts), a
client with a client certificate (``cert``), a full URL on another host,
and a call whose client has a ``callback_not_authenticated`` when libkitsu
could not authenticate (gazu's callback then runs as before).
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from typing import Any, Callable, Optional

from . import exception as _exc
from .client import KitsuClient

#: gazu versions this bridge was tested with (the test suite runs 1.3.1).
TESTED_GAZU_VERSIONS = ("1.3.1",)
#: gazu's own DEFAULT_PROCESSING_TIMEOUT.
_DEFAULT_PROCESSING_TIMEOUT = 60

_lock = threading.RLock()
_active: Optional["Acceleration"] = None


class DownloadResponse:
    """What an accelerated ``gazu.client.download`` returns in place of a
    ``requests.Response``: ``status_code`` (200), ``ok``, ``reason``,
    ``url``, ``headers`` (only ``Content-Length``: libkitsu keeps no other
    header), ``content`` (the bytes when no ``file_path`` was given),
    ``raise_for_status()`` and ``close()``; plus ``path`` and ``size``."""

    status_code = 200
    ok = True
    reason = "OK"

    def __init__(self, url: str, path: Optional[str], size: int, content: Optional[bytes] = None):
        self.url = url
        self.path = path
        self.size = size
        self._content = content
        self.headers = {"Content-Length": str(size)}

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise RuntimeError("The content for this response was already consumed (it was written to file_path)")
        return self._content

    def raise_for_status(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> "DownloadResponse":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return "<DownloadResponse [200]>"


class _Bridge:
    """The libkitsu client of one gazu client, and what was last synced."""

    def __init__(self, host: str, verify: Any):
        self.host = host
        self.verify = verify
        self.client = KitsuClient(host, ssl_verify=verify)
        self.pushed: tuple = (None, None)
        self.processing_timeout: Optional[int] = None
        self.lock = threading.Lock()


class Acceleration:
    """The replaced functions of one gazu module; a context manager that
    restores gazu's own on exit. ``calls`` counts calls libkitsu made,
    ``fallbacks`` those it left to gazu (by reason)."""

    def __init__(self, gazu: Any):
        self.gazu = gazu
        self.raw = gazu.client
        self.originals = {name: getattr(self.raw, name) for name in ("upload", "download", "get_file_data_from_url")}
        self.bridges: "weakref.WeakKeyDictionary[Any, _Bridge]" = weakref.WeakKeyDictionary()
        self.calls = {name: 0 for name in self.originals}
        self.fallbacks: dict = {}
        self._classes: dict = {}

    # -- install ---------------------------------------------------------

    def install(self) -> None:
        self.raw.upload = self._wrap(self.upload, "upload")
        self.raw.download = self._wrap(self.download, "download")
        self.raw.get_file_data_from_url = self._wrap(self.get_file_data_from_url, "get_file_data_from_url")

    def uninstall(self) -> None:
        for name, function in self.originals.items():
            setattr(self.raw, name, function)

    def _wrap(self, function: Callable, name: str) -> Callable:
        original = self.originals[name]

        def accelerated(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        accelerated.__name__ = name
        accelerated.__qualname__ = f"accelerated {name}"
        accelerated.__doc__ = f"gazu.client.{name}, through libkitsu (gazu's own: libkitsu.restore_gazu()).\n\n{original.__doc__ or ''}"
        accelerated.__wrapped__ = original  # type: ignore[attr-defined]
        accelerated.libkitsu_accelerated = True  # type: ignore[attr-defined]
        return accelerated

    def __enter__(self) -> "Acceleration":
        return self

    def __exit__(self, *exc: Any) -> None:
        restore_gazu()

    # -- clients and tokens --------------------------------------------------

    def _bridge(self, gazu_client: Any) -> Optional[_Bridge]:
        """The libkitsu client for `gazu_client`, or None when libkitsu cannot serve it."""
        session = getattr(gazu_client, "session", None)
        if getattr(session, "cert", None):
            return None
        verify = getattr(session, "verify", True)
        host = gazu_client.host
        with _lock:
            bridge = self.bridges.get(gazu_client)
            if bridge is None or bridge.host != host or bridge.verify != verify:
                bridge = _Bridge(host, verify)
                self.bridges[gazu_client] = bridge
            return bridge

    def _push_tokens(self, gazu_client: Any, bridge: _Bridge) -> None:
        """gazu's tokens into libkitsu (a refresh by gazu is picked up here)."""
        access = gazu_client.access_token
        refresh = gazu_client.refresh_token if getattr(gazu_client, "use_refresh_token", False) else None
        if (access, refresh) != bridge.pushed:
            bridge.client.set_tokens({"access_token": access, "refresh_token": refresh})
            bridge.pushed = (access, refresh)

    def _pull_tokens(self, gazu_client: Any, bridge: _Bridge) -> None:
        """A token libkitsu refreshed, written back into the gazu client."""
        access, refresh = bridge.client.native_tokens()
        if access != bridge.pushed[0]:
            gazu_client.access_token = access
            if refresh and getattr(gazu_client, "use_refresh_token", False):
                gazu_client.refresh_token = refresh
            bridge.pushed = (access, refresh if getattr(gazu_client, "use_refresh_token", False) else None)

    def _run(self, name: str, gazu_client: Any, call: Callable[[_Bridge], Any], fallback: Callable[[], Any],
             processing_timeout: Optional[float] = None) -> Any:
        bridge = self._bridge(gazu_client)
        if bridge is None:
            return self._fallback(name, "client certificate", fallback)
        with bridge.lock:
            self._push_tokens(gazu_client, bridge)
            if processing_timeout is not None:
                seconds = max(1, int(math.ceil(processing_timeout)))
                if seconds != bridge.processing_timeout:
                    bridge.client.set_timeouts(processing_timeout=seconds)
                    bridge.processing_timeout = seconds
            self.calls[name] += 1
        # The transfer itself runs unlocked: threads sharing a gazu client move files at once.
        try:
            return call(bridge)
        except _exc.NotAuthenticatedException as error:
            if getattr(gazu_client, "callback_not_authenticated", None):
                return self._fallback(name, "callback_not_authenticated", fallback)
            raise self._as_gazu(error) from None
        except _exc.GazuException as error:
            raise self._as_gazu(error) from None
        finally:
            with bridge.lock:
                self._pull_tokens(gazu_client, bridge)

    def _fallback(self, name: str, reason: str, fallback: Callable[[], Any]) -> Any:
        key = f"{name}: {reason}"
        with _lock:
            self.fallbacks[key] = self.fallbacks.get(key, 0) + 1
        return fallback()

    def _as_gazu(self, error: _exc.GazuException) -> BaseException:
        """The same error as an instance of gazu's class of that name (and of libkitsu's)."""
        libkitsu_class = type(error)
        combined = self._classes.get(libkitsu_class)
        if combined is None:
            gazu_exc = self.gazu.exception
            gazu_class = getattr(gazu_exc, libkitsu_class.__name__, None)
            if gazu_class is None:
                # Names gazu does not have: its nearest class.
                for base in libkitsu_class.__mro__[1:]:
                    gazu_class = getattr(gazu_exc, base.__name__, None)
                    if gazu_class is not None:
                        break
            combined = type(libkitsu_class.__name__, (gazu_class, libkitsu_class), {"__module__": "libkitsu.gazu_bridge"})
            self._classes[libkitsu_class] = combined
        translated = combined(error.message, error.http_status, error.code)
        for name in ("attempts", "retry_after"):
            if hasattr(error, name):
                setattr(translated, name, getattr(error, name))
        return translated

    def _client(self, client: Any) -> Any:
        return self.raw.default_client if client is None else client

    def _route(self, gazu_client: Any, url: str) -> Optional[str]:
        """A full URL on the client's host as a route, else None."""
        host = gazu_client.host.rstrip("/") + "/"
        return url[len(host):] if url.startswith(host) else None

    # -- the three functions -------------------------------------------------

    def upload(self, path: str, file_path: Optional[str] = None, data: Optional[dict] = None,
               extra_files: Optional[list] = None, files: Optional[dict] = None, client: Any = None,
               progress_callback: Optional[Callable] = None) -> Any:
        gazu_client = self._client(client)

        def fallback() -> Any:
            return self.originals["upload"](path, file_path=file_path, data=data, extra_files=extra_files, files=files,
                                            client=gazu_client, progress_callback=progress_callback)

        if files or file_path is None:
            return self._fallback("upload", "files= parts", fallback)
        # gazu's form: fields in order, None dropped, str() of the rest (True -> "True").
        fields = {key: str(value) for key, value in (data or {}).items() if value is not None}
        paths = [os.fspath(p) for p in (extra_files or [])]
        return self._run("upload", gazu_client, lambda bridge: bridge.client.upload(
            path, os.fspath(file_path), data=fields, extra_files=paths, progress_callback=progress_callback), fallback)

    def download(self, path: str, file_path: Optional[str], params: Optional[dict] = None, client: Any = None,
                 progress_callback: Optional[Callable] = None,
                 processing_timeout: float = _DEFAULT_PROCESSING_TIMEOUT) -> Any:
        gazu_client = self._client(client)

        def fallback() -> Any:
            return self.originals["download"](path, file_path, params=params, client=gazu_client,
                                              progress_callback=progress_callback, processing_timeout=processing_timeout)

        route = self.raw.build_path_with_params(path, params)
        url = self.raw.get_full_url(route, gazu_client)

        def call(bridge: _Bridge) -> DownloadResponse:
            if file_path is None:
                data = bridge.client.get_file_data_from_url(route, progress_callback=progress_callback)
                return DownloadResponse(url, None, len(data), data)
            result = bridge.client.download(route, file_path, progress_callback=progress_callback)
            return DownloadResponse(url, result.path, result.size)

        return self._run("download", gazu_client, call, fallback, processing_timeout)

    def get_file_data_from_url(self, url: str, full: bool = False, client: Any = None) -> bytes:
        gazu_client = self._client(client)

        def fallback() -> Any:
            return self.originals["get_file_data_from_url"](url, full=full, client=gazu_client)

        route = self._route(gazu_client, url) if full else url
        if route is None:
            return self._fallback("get_file_data_from_url", "a full URL on another host", fallback)
        return self._run("get_file_data_from_url", gazu_client,
                         lambda bridge: bridge.client.get_file_data_from_url(route), fallback)


def accelerate_gazu(gazu_module: Any = None, force: bool = False) -> Acceleration:
    """Makes ``gazu.client.upload``, ``download`` and ``get_file_data_from_url``
    run through libkitsu, so every gazu file function does. Returns the
    :class:`Acceleration` (a context manager that restores gazu on exit).
    ``gazu_module``: the gazu to patch (default: ``import gazu``). A gazu
    version not in :data:`TESTED_GAZU_VERSIONS` is refused unless ``force``.
    Calling it again while active returns the same acceleration."""
    global _active
    if gazu_module is None:
        try:
            import gazu as gazu_module  # noqa: PLC0415 - optional dependency
        except ImportError as error:
            raise ImportError("libkitsu.accelerate_gazu: gazu is not installed (pip install gazu==1.3.1); "
                              "libkitsu's own modules work without it") from error
    version = getattr(gazu_module, "__version__", "unknown")
    if version not in TESTED_GAZU_VERSIONS and not force:
        raise RuntimeError(f"libkitsu.accelerate_gazu: gazu {version} has not been tested with this libkitsu "
                           f"(tested: {', '.join(TESTED_GAZU_VERSIONS)}); pass force=True to try it anyway")
    with _lock:
        if _active is not None:
            if _active.gazu is gazu_module:
                return _active
            restore_gazu()
        acceleration = Acceleration(gazu_module)
        acceleration.install()
        _active = acceleration
        return acceleration


def restore_gazu() -> None:
    """Puts gazu's own functions back (nothing to do when not accelerated)."""
    global _active
    with _lock:
        if _active is not None:
            _active.uninstall()
            _active = None


def active() -> Optional[Acceleration]:
    """The acceleration in place, if any."""
    return _active
