"""The C library, loaded with ctypes, and the helpers every module uses.

Argument and result types come from the header bundled with the package
(the same ``kitsu.h`` the library was built with), so they cannot drift
from the C declarations. ctypes releases the GIL during every call, so two
Python threads transfer at once; libkitsu calls progress callbacks on the
calling thread only, where ctypes takes the GIL back for them.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import itertools
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

from . import exception as _exc

_HERE = Path(__file__).resolve().parent


#: The library's file name on this platform.
_LIBRARY_NAME = {"win32": "kitsu.dll", "darwin": "libkitsu.dylib"}.get(sys.platform, "libkitsu.so")


def _find_library() -> Path:
    explicit = os.environ.get("LIBKITSU_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ImportError(f"libkitsu: LIBKITSU_LIBRARY={explicit} is not a file")
        return path
    bundled = _HERE / "_lib" / _LIBRARY_NAME
    if bundled.is_file():
        return bundled
    raise ImportError(
        f"libkitsu: no {_LIBRARY_NAME} in the package. Install with "
        "`pip install ./bindings/python` (it builds the library with cargo), "
        "or point LIBKITSU_LIBRARY at a libkitsu.so you built (cargo build --release)."
    )


def _find_header() -> Path:
    explicit = os.environ.get("LIBKITSU_HEADER")
    if explicit:
        return Path(explicit)
    return _HERE / "_lib" / "kitsu.h"


_LIBRARY_PATH = _find_library()
lib = ctypes.CDLL(str(_LIBRARY_PATH))

# typedef int (*kitsu_progress_cb)(uint64_t bytes_read, uint64_t total, void *user_data);
PROGRESS_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)


class ProgressEventC(ctypes.Structure):
    """``kitsu_progress_event``, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("operation", ctypes.c_uint32),
        ("phase", ctypes.c_uint32),
        ("key", ctypes.c_char_p),
        ("file", ctypes.c_char_p),
        ("message", ctypes.c_char_p),
        ("bytes_done", ctypes.c_uint64),
        ("total", ctypes.c_uint64),
        ("elapsed_ms", ctypes.c_uint64),
        ("deadline_ms", ctypes.c_uint64),
        ("attempt", ctypes.c_uint32),
        ("item_index", ctypes.c_uint32),
        ("item_count", ctypes.c_uint32),
    ]


# typedef int (*kitsu_event_cb)(const kitsu_progress_event *event, void *user_data);
EVENT_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ProgressEventC), ctypes.c_void_p)


class TransferResultC(ctypes.Structure):
    """``kitsu_transfer_result``, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("http_status", ctypes.c_uint32),
        ("attempts", ctypes.c_uint32),
        ("bytes", ctypes.c_uint64),
        ("has_sha256", ctypes.c_int),
        ("sha256", ctypes.c_uint8 * 32),
        ("sha256_hex", ctypes.c_char * 65),
    ]


class TransferOptionsC(ctypes.Structure):
    """``kitsu_transfer_options``, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("cancel", ctypes.c_void_p),
        ("on_event", EVENT_CB),
        ("event_user_data", ctypes.c_void_p),
        ("max_attempts", ctypes.c_uint32),
        ("initial_delay_ms", ctypes.c_uint32),
        ("max_delay_ms", ctypes.c_uint32),
        ("resume", ctypes.c_int),
        ("segments", ctypes.c_uint32),
        ("checksum", ctypes.c_int),
        ("result", ctypes.POINTER(TransferResultC)),
    ]


class ChunkedOptionsC(ctypes.Structure):
    """``kitsu_chunked_options``, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("chunk_size", ctypes.c_uint64),
        ("simultaneous", ctypes.c_uint32),
        ("no_test_chunks", ctypes.c_int),
        ("headers_json", ctypes.c_char_p),
        ("relative_path", ctypes.c_char_p),
        ("store_path", ctypes.c_char_p),
        ("terminate_on_cancel", ctypes.c_int),
    ]


_C_TYPES = {
    "kitsu_result": ctypes.c_uint32,
    "void": None,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_char_p,
    "const char *const *": ctypes.POINTER(ctypes.c_char_p),
    "char **": ctypes.POINTER(ctypes.c_void_p),
    "uint8_t **": ctypes.POINTER(ctypes.c_void_p),
    "uint8_t *": ctypes.c_void_p,
    "size_t": ctypes.c_size_t,
    "size_t *": ctypes.POINTER(ctypes.c_size_t),
    "kitsu_result *": ctypes.POINTER(ctypes.c_uint32),
    "int32_t *": ctypes.POINTER(ctypes.c_int32),
    "uint64_t *": ctypes.POINTER(ctypes.c_uint64),
    "uint32_t": ctypes.c_uint32,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "int": ctypes.c_int,
    "void *": ctypes.c_void_p,
    "kitsu_progress_cb": PROGRESS_CB,
    "const kitsu_transfer_options *": ctypes.POINTER(TransferOptionsC),
    "const kitsu_chunked_options *": ctypes.POINTER(ChunkedOptionsC),
    "kitsu_transfer_result *": ctypes.POINTER(TransferResultC),
}


def _c_type(text: str):
    """The ctypes type of a C type as cbindgen writes it (``const char *const *``)."""
    normal = ""
    for token in re.findall(r"\w+|\*", text.replace("struct ", "")):
        if token == "*":
            normal += "*" if normal.endswith("*") else " *"
        else:
            normal += (" " if normal and not normal.endswith("*") else "") + token
    if "kitsu_client" in normal or "kitsu_cancel_token" in normal or "kitsu_batch" in normal:
        return ctypes.POINTER(ctypes.c_void_p) if normal.endswith("**") else ctypes.c_void_p
    try:
        return _C_TYPES[normal]
    except KeyError:
        raise ImportError(f"libkitsu: the header has a C type the binding does not know: {normal!r}") from None


def _declare_from_header(header: str) -> int:
    """Sets argtypes/restype of every function the header declares."""
    count = 0
    for match in re.finditer(r"KITSU_API\s+([^;]*?)\b(kitsu_\w+)\s*\(([^;]*?)\)\s*;", header, re.S):
        result, name, params = match.groups()
        function = getattr(lib, name, None)
        if function is None:
            raise ImportError(f"libkitsu: {_LIBRARY_PATH} does not export {name}, which kitsu.h declares")
        function.restype = _c_type(result.strip())
        argtypes = []
        for param in (p.strip() for p in params.split(",")):
            if not param or param == "void":
                continue
            type_text = re.sub(r"\w+$", "", param).strip()
            argtypes.append(_c_type(type_text))
        function.argtypes = argtypes
        count += 1
    return count


def _header_define(header: str, name: str) -> str:
    match = re.search(rf"^#define {name} (.+)$", header, re.M)
    if match is None:
        raise ImportError(f"libkitsu: {_header_path} has no {name}")
    return match.group(1).strip().strip('"')


def _check_versions() -> None:
    """The library must be the one the bundled header describes: the header
    (generated from the library's sources) is the versions' one source here."""
    lib.kitsu_version.restype = ctypes.c_char_p
    lib.kitsu_abi_version.restype = ctypes.c_uint32
    library_version = lib.kitsu_version().decode()
    abi = lib.kitsu_abi_version()
    if abi != ABI_VERSION or library_version != __version__:
        raise ImportError(
            f"libkitsu: the library {_LIBRARY_PATH} is version {library_version} (ABI {abi}), "
            f"but the binding's kitsu.h is {__version__} (ABI {ABI_VERSION}). Reinstall the binding "
            f"(`pip install ./bindings/python` or the wheel), or set LIBKITSU_LIBRARY to the "
            f"library of version {__version__}."
        )


def _header_enum(header: str, prefix: str) -> dict:
    """``{NAME: value}`` of the enum variants ``PREFIX_NAME = value`` in the header."""
    return {name: int(value) for name, value in re.findall(rf"\b{prefix}(\w+) = (\d+)", header)}


_header_path = _find_header()
if not _header_path.is_file():
    raise ImportError(f"libkitsu: no kitsu.h at {_header_path}; reinstall with `pip install ./bindings/python`")
_HEADER = _header_path.read_text()
#: The library's version, from the bundled header (generated from Cargo.toml's).
__version__ = _header_define(_HEADER, "KITSU_VERSION_STRING")
#: The C ABI this binding speaks (``KITSU_ABI_VERSION`` of the bundled header).
ABI_VERSION = int(_header_define(_HEADER, "KITSU_ABI_VERSION"))
_check_versions()
DECLARED = _declare_from_header(_HEADER)

#: Result codes (``kitsu_result``) by name, read from the header: the one table.
RESULTS: dict = _header_enum(_HEADER, "KITSU_RESULT_")
_RESULT_NAMES = {value: name for name, value in RESULTS.items()}
OK = RESULTS["OK"]


class Phase(enum.IntEnum):
    """Where a call is (``kitsu_phase``); values checked against the header at import."""

    CONNECTING = 1
    WAITING = 2
    TRANSFERRING = 3
    RETRYING = 4
    DONE = 5
    #: A batch item waiting for a free slot.
    QUEUED = 6
    #: A batch item (or a batch) that failed; its last event.
    FAILED = 7


class Operation(enum.IntEnum):
    """What a call moves (``kitsu_operation``)."""

    DOWNLOAD = 1
    UPLOAD = 2
    #: A batch's own events.
    BATCH = 3


for _enum, _prefix in ((Phase, "KITSU_PHASE_"), (Operation, "KITSU_OPERATION_")):
    if {m.name: m.value for m in _enum} != _header_enum(_HEADER, _prefix):
        raise ImportError(f"libkitsu: {_enum.__name__} differs from the {_prefix}* enum of {_header_path}")


def last_error() -> tuple:
    """(code, http_status, message) of this thread's last error."""
    length = ctypes.c_size_t(0)
    lib.kitsu_last_error_message(None, 0, ctypes.byref(length))
    buffer = ctypes.create_string_buffer(length.value + 1)
    lib.kitsu_last_error_message(buffer, len(buffer), ctypes.byref(length))
    return lib.kitsu_last_error_code(), lib.kitsu_last_error_http_status(), buffer.value.decode("utf-8", "replace")


def raise_for(code: int) -> None:
    """Raises the exception for a non-OK result code, with the last error's text."""
    if code == OK:
        return
    last_code, status, message = last_error()
    mine = last_code == code
    error = _exc.from_result(_RESULT_NAMES.get(code, ""), code, status if mine else 0, message if mine else "")
    error.attempts = lib.kitsu_last_error_attempts() if mine else 0
    retry_after = lib.kitsu_last_error_retry_after() if mine else -1
    error.retry_after = None if retry_after < 0 else retry_after
    raise error


def take_string(pointer: ctypes.c_void_p) -> str:
    """Copies and frees a string the library returned."""
    if not pointer.value:
        return ""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        lib.kitsu_string_free(ctypes.cast(pointer, ctypes.c_char_p))


# ---------------------------------------------------------------------------
# The call context: cancel token, events, callbacks.


class CancelToken:
    """A Cancel button for transfers: pass it as ``cancel=`` to any number of
    calls (on any threads) and call :meth:`cancel` from any thread. Every
    call using it then raises :class:`~libkitsu.exception.TransferCancelled`
    within 200 ms, whatever it is doing, and leaves nothing behind. A call
    given a token already cancelled fails at once. It stays cancelled."""

    def __init__(self) -> None:
        handle = ctypes.c_void_p()
        raise_for(lib.kitsu_cancel_token_new(ctypes.byref(handle)))
        self._handle: Optional[ctypes.c_void_p] = handle

    def cancel(self) -> None:
        """Cancels every call using this token. Any thread, any time."""
        raise_for(lib.kitsu_cancel_token_cancel(self.handle))

    @property
    def cancelled(self) -> bool:
        return bool(lib.kitsu_cancel_token_is_cancelled(self.handle))

    @property
    def handle(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise ValueError("this CancelToken was closed")
        return self._handle

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.kitsu_cancel_token_free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else ("cancelled" if self.cancelled else "active")
        return f"<CancelToken {state}>"


@dataclasses.dataclass(frozen=True)
class ProgressEvent:
    """One rich progress event (``kitsu_progress_event``), as litestar-storages'
    ProgressInfo: what the call does, where it is, how far."""

    operation: Operation
    phase: Phase
    #: The route of the request in flight.
    key: str
    #: The local file written or read, if any.
    file: Optional[str]
    bytes_done: int
    #: 0 while unknown.
    total: int
    attempt: int
    #: Seconds spent in this phase.
    elapsed: float
    #: The phase's time limit in seconds (waits), else None.
    deadline: Optional[float]
    item_index: int
    item_count: int
    #: A short human text, e.g. "the server is processing the file (202, Retry-After 5 s): 12 s of 60 s".
    message: str

    @property
    def percentage(self) -> Optional[float]:
        """bytes_done / total in percent, or None while the total is unknown."""
        return None if self.total == 0 else 100.0 * self.bytes_done / self.total


ProgressCallback = Optional[Callable[[int, int], Any]]
EventCallback = Optional[Callable[[ProgressEvent], Any]]


class Transfer(NamedTuple):
    """What a public function hands down to the native call: its callbacks and token."""

    progress_callback: ProgressCallback = None
    cancel: Optional[CancelToken] = None
    event_callback: EventCallback = None
    #: Downloads: keep a failed or cancelled download's bytes and continue from them next time.
    resume: bool = False
    #: Downloads: ranged requests in flight at once for one file (0 or 1: one stream).
    segments: int = 0
    #: Compute the SHA-256 of the file while it moves (into the Receipt).
    checksum: bool = False


class Receipt:
    """What a transfer did, as the library's ``kitsu_transfer_result`` says:
    the last HTTP status, the most attempts a request took, the file bytes
    moved, and the file's SHA-256 (hex) when ``checksum`` was asked."""

    __slots__ = ("http_status", "attempts", "bytes", "sha256")

    def __init__(self) -> None:
        self.http_status = 0
        self.attempts = 0
        self.bytes = 0
        self.sha256: Optional[str] = None

    def _take(self, c: "TransferResultC") -> None:
        self.http_status = c.http_status
        self.attempts = c.attempts
        self.bytes = c.bytes
        self.sha256 = c.sha256_hex.decode() if c.has_sha256 else None


class _CallbackState:
    __slots__ = ("progress", "event", "error")

    def __init__(self, progress: ProgressCallback, event: EventCallback):
        self.progress = progress
        self.event = event
        self.error: Optional[BaseException] = None


_states: dict = {}
_keys = itertools.count(1)
_states_lock = threading.Lock()


def _keep_going(state: Optional[_CallbackState], call: Callable[[], Any]) -> int:
    # Never lets an exception out: ctypes would print it and hand C garbage.
    try:
        # gazu's callbacks return nothing: None means go on; False aborts.
        return 1 if call() is False else 0
    except BaseException as error:  # noqa: BLE001 - re-raised in the caller
        if state is not None and state.error is None:
            state.error = error
        return 1


@PROGRESS_CB
def _trampoline(done: int, total: int, user_data: Optional[int]) -> int:
    state = _states.get(user_data or 0)
    if state is None or state.progress is None:
        return 0
    return _keep_going(state, lambda: state.progress(done, total))


def _text(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value else ""


@EVENT_CB
def _event_trampoline(event_pointer: Any, user_data: Optional[int]) -> int:
    state = _states.get(user_data or 0)
    if state is None or state.event is None:
        return 0

    def deliver() -> Any:
        c = event_pointer.contents
        event = ProgressEvent(
            operation=Operation(c.operation),
            phase=Phase(c.phase) if c.phase in Phase._value2member_map_ else c.phase,
            key=_text(c.key),
            file=_text(c.file) or None,
            bytes_done=c.bytes_done,
            total=c.total,
            attempt=c.attempt,
            elapsed=c.elapsed_ms / 1000.0,
            deadline=c.deadline_ms / 1000.0 if c.deadline_ms else None,
            item_index=c.item_index,
            item_count=c.item_count,
            message=_text(c.message),
        )
        return state.event(event)

    return _keep_going(state, deliver)


def call_with_progress(
    name: str,
    args: Sequence[Any],
    transfer: Union[Transfer, ProgressCallback],
    out_json: bool = False,
    trailing: Sequence[Any] = (),
    receipt: Optional[Receipt] = None,
) -> Any:
    """Calls ``name(*args, transfer_options, progress, user_data, *trailing[, &out_json])``;
    returns the JSON answer (or None). An exception raised by a callback
    aborted the transfer and is re-raised here, as itself. ``receipt``, when
    given, is filled with what the call did (on failure too)."""
    if not isinstance(transfer, Transfer):
        transfer = Transfer(transfer)
    if transfer.cancel is not None and not isinstance(transfer.cancel, CancelToken):
        raise TypeError("cancel must be a libkitsu.CancelToken")
    function = getattr(lib, name)
    out = ctypes.c_void_p()
    key = 0
    state = None
    if transfer.progress_callback is not None or transfer.event_callback is not None:
        state = _CallbackState(transfer.progress_callback, transfer.event_callback)
        with _states_lock:
            key = next(_keys)
            _states[key] = state
    options = None
    result = TransferResultC(ctypes.sizeof(TransferResultC))
    if (
        transfer.cancel is not None
        or transfer.event_callback is not None
        or transfer.resume
        or transfer.segments
        or transfer.checksum
        or receipt is not None
    ):
        options = TransferOptionsC(
            ctypes.sizeof(TransferOptionsC),
            transfer.cancel.handle if transfer.cancel is not None else None,
            _event_trampoline if transfer.event_callback is not None else EVENT_CB(),
            key or None,
            0,
            0,
            0,
            1 if transfer.resume else 0,
            max(0, int(transfer.segments)),
            1 if transfer.checksum else 0,
            ctypes.pointer(result) if receipt is not None else None,
        )
    extra: list = [ctypes.byref(options) if options is not None else None]
    if transfer.progress_callback is not None:
        extra += [_trampoline, ctypes.c_void_p(key)]
    else:
        extra += [PROGRESS_CB(), None]
    extra += list(trailing)
    if out_json:
        extra.append(ctypes.byref(out))
    try:
        code = function(*args, *extra)
    finally:
        if key:
            with _states_lock:
                del _states[key]
        if receipt is not None:
            receipt._take(result)
    if state is not None and state.error is not None:
        if out.value:
            take_string(out)
        raise state.error
    raise_for(code)
    return json.loads(take_string(out)) if out_json else None


def call_json(name: str, *args: Any) -> Any:
    """Calls a lookup ``name(*args, &out_json)`` and returns the decoded answer."""
    out = ctypes.c_void_p()
    raise_for(getattr(lib, name)(*args, ctypes.byref(out)))
    return json.loads(take_string(out))


def c_str(text: Any) -> Optional[bytes]:
    """A str or path as the UTF-8 bytes C takes (None stays None)."""
    return None if text is None else os.fsdecode(text).encode("utf-8")


def c_paths(paths: Sequence[str]) -> tuple:
    """A C array of paths and its length."""
    array = (ctypes.c_char_p * max(len(paths), 1))(*[c_str(p) for p in paths])
    return array, len(paths)


def options(**values: Any) -> Optional[bytes]:
    """gazu's keyword arguments as options_json, leaving out the unset ones."""
    kept = {k: v for k, v in values.items() if v is not None}
    return json.dumps(kept).encode() if kept else None
