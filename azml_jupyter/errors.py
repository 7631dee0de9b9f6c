"""Domain errors. Each carries its HTTP status and a stable code, so one place (the REST base handler,
the CLI's main) turns any of them into a JSON error body or an exit message. Nothing else maps errors.
"""

from __future__ import annotations

from typing import Any


class AzmlError(Exception):
    """Base class: ``message`` is for humans, ``code`` for programs, ``details`` for specifics."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class InvalidRequest(AzmlError):
    """The caller sent something we cannot act on (bad field, bad value)."""

    status = 400
    code = "invalid_request"


class InvalidJobSpec(InvalidRequest):
    """A job file that is not valid YAML or not a valid Azure ML job. ``details`` has ``line`` when known."""

    code = "invalid_job_spec"


class InvalidName(InvalidRequest):
    code = "invalid_name"


class UnknownReference(InvalidRequest):
    """A job refers to a data asset, compute or job output that does not exist."""

    code = "unknown_reference"


class NotAuthenticated(AzmlError):
    status = 401
    code = "not_authenticated"


class Forbidden(AzmlError):
    status = 403
    code = "forbidden"


class PathOutsideRoot(Forbidden):
    code = "path_outside_root"


class NotFound(AzmlError):
    status = 404
    code = "not_found"


class PayloadTooLarge(AzmlError):
    """A request body over the documented size limit."""

    status = 413
    code = "payload_too_large"


class Conflict(AzmlError):
    status = 409
    code = "conflict"


class Throttled(AzmlError):
    status = 429
    code = "throttled"


class Unavailable(AzmlError):
    status = 503
    code = "unavailable"
