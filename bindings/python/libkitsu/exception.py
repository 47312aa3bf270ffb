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
    """The progress callback returned False; nothing was left behind."""


class FileDoesntExistException(GazuException, FileNotFoundError):
    """A local file (to upload) or folder (to download into) does not exist."""


class LocalIOException(GazuException, OSError):
    """A local file could not be read or written (permissions, disk full)."""


class LibraryException(GazuException):
    """Misuse of the library or an internal error (the message says which)."""


_BY_CODE = {
    1000: ParameterException,  # NULL parameter: a None where a value is needed
    1001: ParameterException,
    1003: ParameterException,
    1004: LibraryException,  # re-entrant call from a callback
    2000: DownloadFileException,
    2001: DownloadFileException,
    2002: DownloadFileException,
    2003: DownloadFileException,
    2004: DownloadFileException,
    3400: ParameterException,
    3401: NotAuthenticatedException,
    3403: NotAllowedException,
    3404: RouteNotFoundException,
    3405: MethodNotAllowedException,
    3413: TooBigFileException,
    3422: ValidationException,
    3429: TooManyRequestsException,
    3500: ServerErrorException,
    3502: ServerErrorException,
    3503: ServiceUnavailableException,
    3504: ServerErrorException,
    3600: AuthFailedException,
    3601: PreviewFileProcessingException,
    3602: UploadFailedException,
    3603: ServerErrorException,
    4000: LocalIOException,
    4001: FileDoesntExistException,
    5000: TransferAbortedException,
}


def from_result(code: int, http_status: int, message: str) -> GazuException:
    """The exception for a libkitsu result code."""
    cls = _BY_CODE.get(code, GazuException)
    if cls is GazuException and 3000 <= code < 4000:
        cls = ServerErrorException if http_status >= 500 else GazuException
    return cls(message or f"libkitsu error {code}", http_status, code)
