"""Errors the client raises; each HTTP error code has its class."""

from typing import Dict, Type

__all__ = [
    "QueueError", "InvalidArgumentError", "AuthError", "ForbiddenError", "NotFoundError",
    "InvalidStateError", "DuplicateError", "TooLargeError", "ServerError", "QueueConnectionError",
    "WaitTimeout",
]


class QueueError(Exception):
    """An error answer of the server: its HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__("{} {}: {}".format(status, code, message))
        self.status = status
        self.code = code
        self.message = message


class InvalidArgumentError(QueueError, ValueError):
    """400: the request is wrong (a bad field, value or parameter)."""


class AuthError(QueueError):
    """401: the token is missing or wrong."""


class ForbiddenError(QueueError):
    """403: the read-only token cannot write."""


class NotFoundError(QueueError, KeyError):
    """404: no such message, key or endpoint."""

    def __str__(self) -> str:  # KeyError would quote the text
        return Exception.__str__(self)


class InvalidStateError(QueueError):
    """409: the message's status does not allow this (cancel a running one)."""


class DuplicateError(QueueError):
    """409: a message with this id exists."""


class TooLargeError(QueueError):
    """413: the body is over the server's limit."""


class ServerError(QueueError):
    """5xx: the server could not do it (closed, storage full, internal)."""


class QueueConnectionError(ConnectionError):
    """The server could not be reached."""


class WaitTimeout(TimeoutError):
    """wait() gave up before the message finished."""


_BY_CODE: Dict[str, Type[QueueError]] = {
    "invalid_argument": InvalidArgumentError,
    "unauthorized": AuthError,
    "forbidden": ForbiddenError,
    "cross_origin": ForbiddenError,
    "not_found": NotFoundError,
    "invalid_state": InvalidStateError,
    "duplicate": DuplicateError,
    "too_large": TooLargeError,
}


def error_for(status: int, code: str, message: str) -> QueueError:
    """The exception for an error answer."""
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = ServerError if status >= 500 else QueueError
    return cls(status, code, message)
