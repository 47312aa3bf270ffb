"""Exceptions, under gazu's names (``gazu.exception``), so ``except`` clauses
written for gazu keep working. Each carries the server's message, the HTTP
status (0 when none) and libkitsu's result code."""

from __future__ import annotations


class GazuException(Exception):
    """Base of every libkitsu error (named as gazu's base)."""

    def __init__(self, message: str = "", http_status: int = 0, code: int = 0):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        #: How many attempts the call made (1: it did not retry).
        self.attempts = 1
        #: The server's last Retry-After, in seconds, or None.
        self.retry_after = None


KitsuException = GazuException


class HostException(GazuException):
    """The host is not a usable URL."""


class AuthFailedException(GazuException):
    """Log-in refused: wrong credentials, locked account, 2FA required."""


class NotAuthenticatedException(GazuException):
    """401: not logged in, or the token expired and could not be refreshed."""


class NotAllowedException(GazuException):
    """403."""


class MethodNotAllowedException(GazuException):
    """405."""


class RouteNotFoundException(GazuException):
    """404: no such route or record."""


class ParameterException(GazuException):
    """400: the server refused a parameter (or libkitsu refused an argument)."""


class ValidationException(GazuException):
    """422."""


class TooBigFileException(GazuException):
    """413: too big for the server or its proxy."""


class ServerErrorException(GazuException):
    """5xx."""


class ServiceUnavailableException(ServerErrorException):
    """503 (Zou's media limiter, for one): retry later. gazu writes these into the target file."""


class TooManyRequestsException(GazuException):
    """429: retry later."""


class UploadFailedException(GazuException):
    """The server answered an upload with an error message."""


class PreviewFileProcessingException(GazuException):
    """The preview was still processing (202) after the processing timeout."""


class DownloadFileException(GazuException):
    """A download failed on the way: network, stall, TLS, incomplete body."""


class TransferAbortedException(GazuException):
    """A callback returned False; nothing was left behind."""


class TransferCancelled(GazuException):
    """The call's :class:`~libkitsu.CancelToken` was cancelled; nothing was left behind."""


class FileDoesntExistException(GazuException, FileNotFoundError):
    """A local file (to upload) or folder (to download into) does not exist."""


class LocalIOException(GazuException, OSError):
    """A local file could not be read or written (permissions, disk full)."""


class BatchIncomplete(GazuException):
    """Some items of a batch failed (raised only with ``raise_on_error=True``);
    ``results`` holds every item's result, in order."""

    results: list = []


class LibraryException(GazuException):
    """Misuse of the library or an internal error (the message says which)."""


#: Exceptions by result-code name (``KITSU_RESULT_<NAME>`` in kitsu.h, whose
#: numbers the binding reads from the header); a name not here gives the
#: base class, or ServerErrorException for an HTTP 5xx.
_BY_NAME = {
    "NULL_PARAMETER": ParameterException,  # a None where a value is needed
    "INVALID_PARAMETER": ParameterException,
    "INVALID_UTF8": ParameterException,
    "REENTRANT_CALL": LibraryException,
    "NETWORK": DownloadFileException,
    "CONNECT_TIMEOUT": DownloadFileException,
    "STALLED": DownloadFileException,
    "TLS": DownloadFileException,
    "INCOMPLETE_BODY": DownloadFileException,
    "BAD_REQUEST": ParameterException,
    "UNAUTHORIZED": NotAuthenticatedException,
    "FORBIDDEN": NotAllowedException,
    "NOT_FOUND": RouteNotFoundException,
    "METHOD_NOT_ALLOWED": MethodNotAllowedException,
    "PAYLOAD_TOO_LARGE": TooBigFileException,
    "UNPROCESSABLE": ValidationException,
    "TOO_MANY_REQUESTS": TooManyRequestsException,
    "SERVER_ERROR": ServerErrorException,
    "BAD_GATEWAY": ServerErrorException,
    "SERVICE_UNAVAILABLE": ServiceUnavailableException,
    "GATEWAY_TIMEOUT": ServerErrorException,
    "AUTH_FAILED": AuthFailedException,
    "PROCESSING_TIMEOUT": PreviewFileProcessingException,
    "UPLOAD_FAILED": UploadFailedException,
    "INVALID_RESPONSE": ServerErrorException,
    "ANSWER_TOO_LARGE": ServerErrorException,
    "NOT_A_REGULAR_FILE": ParameterException,
    "IO": LocalIOException,
    "FILE_NOT_FOUND": FileDoesntExistException,
    "ABORTED_BY_CALLBACK": TransferAbortedException,
    "CANCELLED": TransferCancelled,
    "BATCH_INCOMPLETE": BatchIncomplete,
    "PANIC": LibraryException,
}


def from_result(name: str, code: int, http_status: int, message: str) -> GazuException:
    """The exception for a libkitsu result code (its header name and number)."""
    cls = _BY_NAME.get(name, GazuException)
    if cls is GazuException and http_status >= 500:
        cls = ServerErrorException
    return cls(message or f"libkitsu error {code} ({name or 'unknown'})", http_status, code)
