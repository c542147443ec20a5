"""Errors a user can act on, each mapped once to an HTTP status and a CLI exit code."""

from __future__ import annotations


class VisitcalError(Exception):
    """Base of our errors; the message is what the user reads."""

    http_status = 500
    exit_code = 1


class InputError(VisitcalError):
    """Bad input: names the field and the reason (and where, for files)."""

    http_status = 422
    exit_code = 2

    def __init__(self, field: str, reason: str, where: str = "") -> None:
        self.field = field
        self.reason = reason
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {reason}")


class NotFound(VisitcalError):
    http_status = 404
    exit_code = 3


class Unauthorized(VisitcalError):
    """A missing or wrong token; says nothing about whether the thing exists."""

    http_status = 401
    exit_code = 2


class Conflict(VisitcalError):
    """The thing exists already."""

    http_status = 409
    exit_code = 2


class PreconditionFailed(VisitcalError):
    """If-Match named a version that is no longer current."""

    http_status = 412
    exit_code = 2


class Busy(VisitcalError):
    """The database stayed locked by other writers past the bound: nothing was changed, and the
    same request may succeed shortly (HTTP 503 with Retry-After; exit code 75, EX_TEMPFAIL)."""

    http_status = 503
    exit_code = 75

    def __init__(self, waited_seconds: float) -> None:
        self.retry_after = max(1, min(10, round(waited_seconds)))
        super().__init__(
            f"the database is busy with other writes (waited {waited_seconds:g} s); "
            f"nothing was changed, try again in {self.retry_after} s"
        )
