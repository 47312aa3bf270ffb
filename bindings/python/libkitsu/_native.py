"""The C library, loaded with ctypes, and the helpers every module uses.

Argument and result types come from the header bundled with the package
(the same ``kitsu.h`` the library was built with), so they cannot drift
from the C declarations. ctypes releases the GIL during every call, so two
Python threads transfer at once; libkitsu calls progress callbacks on the
calling thread only, where ctypes takes the GIL back for them.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import exception as _exc

__version__ = "0.1.0"
#: The C ABI this binding speaks (``KITSU_ABI_VERSION``).
ABI_VERSION = 1

_HERE = Path(__file__).resolve().parent


def _find_library() -> Path:
    explicit = os.environ.get("LIBKITSU_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ImportError(f"libkitsu: LIBKITSU_LIBRARY={explicit} is not a file")
        return path
    bundled = _HERE / "_lib" / "libkitsu.so"
    if bundled.is_file():
        return bundled
    raise ImportError(
        "libkitsu: no libkitsu.so in the package. Install with "
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
    "uint32_t": ctypes.c_uint32,
    "int32_t": ctypes.c_int32,
    "int": ctypes.c_int,
    "void *": ctypes.c_void_p,
    "kitsu_progress_cb": PROGRESS_CB,
}


def _c_type(text: str):
    """The ctypes type of a C type as cbindgen writes it (``const char *const *``)."""
    normal = ""
    for token in re.findall(r"\w+|\*", text):
        if token == "*":
            normal += "*" if normal.endswith("*") else " *"
        else:
            normal += (" " if normal and not normal.endswith("*") else "") + token
    if "kitsu_client" in normal:
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


def _check_versions() -> None:
    lib.kitsu_version.restype = ctypes.c_char_p
    lib.kitsu_abi_version.restype = ctypes.c_uint32
    library_version = lib.kitsu_version().decode()
    abi = lib.kitsu_abi_version()
    if abi != ABI_VERSION or library_version != __version__:
        raise ImportError(
            f"libkitsu: the library {_LIBRARY_PATH} is version {library_version} (ABI {abi}), "
            f"but this binding is {__version__} (ABI {ABI_VERSION}). Reinstall the binding from the "
            f"same checkout (`pip install ./bindings/python`), or set LIBKITSU_LIBRARY to the "
            f"libkitsu.so of version {__version__}."
        )


_check_versions()
_header_path = _find_header()
if not _header_path.is_file():
    raise ImportError(f"libkitsu: no kitsu.h at {_header_path}; reinstall with `pip install ./bindings/python`")
DECLARED = _declare_from_header(_header_path.read_text())

# Result codes (kitsu_result), as in kitsu.h.
OK = 0
NULL_PARAMETER = 1000
ABORTED_BY_CALLBACK = 5000


def last_error() -> tuple[int, int, str]:
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
    raise _exc.from_result(code, status if last_code == code else 0, message if last_code == code else "")


def take_string(pointer: ctypes.c_void_p) -> str:
    """Copies and frees a string the library returned."""
    if not pointer.value:
        return ""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        lib.kitsu_string_free(ctypes.cast(pointer, ctypes.c_char_p))


# ---------------------------------------------------------------------------
# Progress callbacks.


class _CallbackState:
    __slots__ = ("function", "error")

    def __init__(self, function: Callable[[int, int], Any]):
        self.function = function
        self.error: Optional[BaseException] = None


_states: dict[int, _CallbackState] = {}
_keys = itertools.count(1)
_states_lock = threading.Lock()


@PROGRESS_CB
def _trampoline(done: int, total: int, user_data: Optional[int]) -> int:
    # Never lets an exception out: ctypes would print it and hand C garbage.
    state = None
    try:
        state = _states[user_data or 0]
        keep_going = state.function(done, total)
        # gazu's callbacks return nothing: None means go on; False aborts.
        return 1 if keep_going is False else 0
    except BaseException as error:  # noqa: BLE001 - re-raised in the caller
        if state is not None and state.error is None:
            state.error = error
        return 1


def call_with_progress(
    name: str,
    args: Sequence[Any],
    progress_callback: Optional[Callable[[int, int], Any]],
    out_json: bool = False,
    trailing: Sequence[Any] = (),
) -> Any:
    """Calls ``name(*args, progress, user_data, *trailing[, &out_json])``;
    returns the JSON answer (or None). An exception raised by the callback
    aborted the transfer and is re-raised here, as itself."""
    function = getattr(lib, name)
    out = ctypes.c_void_p()
    extra: list[Any] = []
    key = 0
    state = None
    if progress_callback is not None:
        state = _CallbackState(progress_callback)
        with _states_lock:
            key = next(_keys)
            _states[key] = state
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
