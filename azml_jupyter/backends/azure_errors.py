"""azure-core / azure-identity / azure-ai-ml exceptions -> our domain errors, in one place.

Every call the Azure backend makes to Azure runs inside ``AzureErrorMapper.mapping(...)``; nothing
else in the backend catches Azure exceptions. The REST base handler and the CLI then show the
domain error's message: what went wrong, for which workspace or resource, and what to do about it.

What users see:

* 401 / no usable sign-in -> ``NotAuthenticated``: how to sign in for the configured credential
  (``az login --tenant ...``, device code, managed identity), and the tenant when it is the wrong one;
* 403 -> ``Forbidden``: which workspace (or storage account) and the role that is needed;
* 404 of the workspace itself -> ``NotFound`` naming subscription / resource group / workspace;
  404 of a job, compute or data asset -> ``NotFound`` naming that thing (as the local backend does);
* 429 -> ``Throttled`` and 5xx -> ``Unavailable``, after azure-core's retry policy already retried
  them (honouring ``Retry-After``); ``details.retry_after`` carries the server's hint;
* a timeout or an unreachable host -> ``Unavailable``.

Tokens never appear: messages are built from the service's error code and message, and anything
that looks like a SAS signature, an account key or a bearer token is masked before it is used.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import (
    AzmlError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    Throttled,
    Unavailable,
    UnknownReference,
)

WORKSPACE_ROLE = "AzureML Data Scientist"
STORAGE_WRITE_ROLE = "Storage Blob Data Contributor"
STORAGE_READ_ROLE = "Storage Blob Data Reader"

_SECRET_PATTERNS = (
    (re.compile(r"(?i)([?&](?:sig|se|st|sp|sv|skoid|sktid|skt|ske|sks|skv)=)[^&\s'\"]+"), r"\1***"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/=]+"), r"\1***"),
    (re.compile(r"(?i)(accountkey=|account_key=|sharedaccesssignature=)[^;\s'\"]+"), r"\1***"),
    (re.compile(r"eyJ[A-Za-z0-9\-_]{10,}\.[A-Za-z0-9\-_]{10,}\.[A-Za-z0-9\-_]*"), "***jwt***"),
)

_STORAGE_AUTH_CODES = {
    "AuthorizationPermissionMismatch",
    "AuthorizationFailure",
    "AuthorizationFailed",
    "KeyBasedAuthenticationNotPermitted",
    "NoAuthenticationInformation",
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
}
_WRONG_TENANT_CODES = {"InvalidAuthenticationTokenTenant", "InvalidAuthenticationTokenAudience"}
_WORKSPACE_MISSING_CODES = {"ResourceGroupNotFound", "SubscriptionNotFound", "WorkspaceNotFound"}


def redact(text: str) -> str:
    """Mask SAS signatures, account keys and tokens in ``text``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class Subject:
    """What a call was about, to phrase 403/404 messages: ``Subject("job", "tidy_goat_1")``."""

    kind: str  # "job" | "compute" | "data asset" | "datastore" | "storage" | "workspace" | "log"
    name: str | None = None

    def describe(self) -> str:
        if self.kind == "job":
            return f"Job {self.name!r}"
        if self.kind == "compute":
            return f"Compute {self.name!r}"
        if self.kind == "data asset":
            return f"Data asset {self.name}"
        if self.kind == "datastore":
            return f"Datastore {self.name!r}"
        if self.kind == "storage":
            return f"Storage account {self.name!r}"
        return self.name or self.kind


class AzureErrorMapper:
    """Knows the workspace and the sign-in method, so its messages can say what to do."""

    def __init__(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        workspace_name: str,
        tenant_id: str | None = None,
        credential_kind: str = "default",
    ):
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.tenant_id = tenant_id
        self.credential_kind = credential_kind

    @property
    def workspace_text(self) -> str:
        return (
            f"Azure ML workspace {self.workspace_name!r} (resource group {self.resource_group!r}, "
            f"subscription {self.subscription_id})"
        )

    @contextlib.contextmanager
    def mapping(self, subject: Subject | None = None) -> Iterator[None]:
        """Run Azure calls; any Azure failure leaves as a domain error (the cause is not chained, so
        no response body or URL from the SDK reaches a log through ``__cause__``)."""
        try:
            yield
        except AzmlError:
            raise
        except Exception as exc:
            mapped = self.translate(exc, subject)
            if mapped is None:
                raise
            raise mapped from None

    # ---- the mapping ----------------------------------------------------------------------------
    def translate(self, exc: BaseException, subject: Subject | None = None) -> AzmlError | None:
        """The domain error for ``exc``, or None for exceptions that are not Azure's (bugs stay bugs)."""
        from azure.core import exceptions as core

        if isinstance(exc, AzmlError):
            return exc
        status = getattr(exc, "status_code", None)
        if status is None and getattr(exc, "response", None) is not None:
            status = getattr(exc.response, "status_code", None)
        code = _error_code(exc)
        message = _service_message(exc)
        details: dict[str, Any] = {"status": status, "azure_error": code}
        request_id = _header(exc, "x-ms-request-id")
        if request_id:
            details["request_id"] = request_id
        storage = bool(subject and subject.kind == "storage") or _is_storage_response(exc)

        if isinstance(exc, core.ClientAuthenticationError) and status in (None, 401):
            return self._not_authenticated(code, message, details)
        if isinstance(exc, core.HttpResponseError) and status is not None:
            if status == 401:
                return self._not_authenticated(code, message, details)
            if status == 403:
                return self._forbidden(code, message, details, subject, storage)
            if status == 404:
                return self._not_found(exc, code, message, details, subject, storage)
            if status == 429:
                details["retry_after"] = _retry_after(exc)
                return Throttled(
                    f"Azure is throttling requests to the {self._target(storage, subject)} (HTTP 429) even after "
                    f"retrying{_after_hint(details['retry_after'])}. Wait a moment and try again." + _suffix(message),
                    details=details,
                )
            if status in (409, 412):
                return Conflict(f"{_subject_prefix(subject)}{message or 'Conflict'}", details=details)
            if status >= 500:
                details["retry_after"] = _retry_after(exc)
                return Unavailable(
                    f"Azure is unavailable for the {self._target(storage, subject)} (HTTP {status}) even after "
                    f"retrying{_after_hint(details['retry_after'])}. Try again later." + _suffix(message),
                    details=details,
                )
            if status == 400 and code and "compute" in (message or "").lower() and "not found" in message.lower():
                return UnknownReference(message, details=details)
            if 400 <= status < 500:
                return InvalidRequest(f"{_subject_prefix(subject)}{message or f'HTTP {status}'}", details=details)
        if isinstance(exc, core.ServiceResponseError):  # sent, but no (timely) answer: read timeout, reset
            return Unavailable(
                f"Azure did not answer in time ({self._target(storage, subject)}): {redact(_first_line(exc))}. "
                "Try again; if it persists, check the network path to Azure (proxy, firewall, private endpoint).",
                details={**details, "timeout": True},
            )
        if isinstance(exc, core.ServiceRequestError):  # never sent: DNS, refused connection, TLS
            return Unavailable(
                f"Could not reach Azure ({self._target(storage, subject)}): {redact(_first_line(exc))}. "
                "Check the network path to Azure (proxy, firewall, private endpoint).",
                details=details,
            )
        if isinstance(exc, core.AzureError) and status is None and "credential" in type(exc).__name__.lower():
            return self._not_authenticated(code, message, details)
        inner = _wrapped_service_error(exc)
        if inner is not None:  # azure-ai-ml re-raises some service errors as its own exceptions
            return self.translate(inner, subject)
        if "RESOURCE_NOT_FOUND" in str(plain_value(getattr(exc, "error_type", ""))).upper():
            return NotFound(
                f"{subject.describe()} not found." if subject and subject.name else _first_line(exc),
                details={**details, **({subject.kind: subject.name} if subject else {})},
            )
        sdk_error = _sdk_user_error(exc)
        if sdk_error is not None:
            return sdk_error
        return None

    # ---- the individual messages ----------------------------------------------------------------
    def sign_in_help(self) -> str:
        tenant = f" --tenant {self.tenant_id}" if self.tenant_id else ""
        if self.credential_kind == "device_code":
            return "Retry to get a sign-in code (device code sign-in is configured)."
        if self.credential_kind == "managed_identity":
            return (
                "The managed identity of this machine is used (credential = managed_identity): run on an Azure ML "
                f"compute instance or VM with an identity that has the {WORKSPACE_ROLE!r} role on the workspace."
            )
        if self.credential_kind == "azure_cli":
            return f"Sign in with `az login{tenant}` in a terminal on the machine that runs Jupyter, then retry."
        return (
            f"Sign in with `az login{tenant}` in a terminal on the machine that runs Jupyter (or set the "
            "AZURE_CLIENT_ID/AZURE_TENANT_ID/... variables of a workload identity), then retry. On JupyterHub or a "
            "remote server use c.AzmlJupyter.credential = 'device_code'; on an Azure ML compute instance, "
            "'managed_identity'."
        )

    def _not_authenticated(self, code: str | None, message: str, details: dict[str, Any]) -> NotAuthenticated:
        if code in _WRONG_TENANT_CODES or "tenant" in (message or "").lower():
            where = f" ({self.tenant_id})" if self.tenant_id else ""
            return NotAuthenticated(
                f"Signed in to the wrong Microsoft Entra tenant for the {self.workspace_text}. Set the workspace's "
                f"tenant{where} with c.AzmlJupyter.tenant_id or AZML_JUPYTER_TENANT_ID, and sign in to it. "
                + self.sign_in_help(),
                details={**details, "tenant_id": self.tenant_id},
                code="wrong_tenant",
            )
        reason = f" ({message})" if message else ""
        return NotAuthenticated(
            f"Not signed in to Azure, or the sign-in expired{reason}. {self.sign_in_help()}",
            details={**details, "credential": self.credential_kind},
        )

    def _forbidden(
        self, code: str | None, message: str, details: dict[str, Any], subject: Subject | None, storage: bool
    ) -> Forbidden:
        if storage or code in ("AuthorizationPermissionMismatch", "KeyBasedAuthenticationNotPermitted"):
            account = subject.name if subject and subject.kind == "storage" else "of the workspace"
            return Forbidden(
                f"No access to the storage account {account}: your identity needs the {STORAGE_WRITE_ROLE!r} role "
                f"on it to copy data in ({STORAGE_READ_ROLE!r} to download), granted by the storage account's "
                "owner. Shared-key access is not used, so the role is needed even for workspace owners."
                + _suffix(message),
                details={**details, "role": STORAGE_WRITE_ROLE},
            )
        return Forbidden(
            f"No access to the {self.workspace_text}: your identity needs the {WORKSPACE_ROLE!r} role (or Contributor) "
            "on the workspace, granted by its owner." + _suffix(message),
            details={**details, "role": WORKSPACE_ROLE},
        )

    def _not_found(
        self,
        exc: BaseException,
        code: str | None,
        message: str,
        details: dict[str, Any],
        subject: Subject | None,
        storage: bool,
    ) -> NotFound:
        if not storage and self._is_workspace_missing(exc, code, message):
            return NotFound(
                f"The {self.workspace_text} was not found. Check subscription_id, resource_group and workspace_name "
                "(server settings, AZML_JUPYTER_* variables or config.json) and that you signed in to the right "
                "tenant." + _suffix(message),
                details={**details, "workspace": self.workspace_name},
                code="workspace_not_found",
            )
        if subject is not None and subject.kind not in ("workspace", "storage"):
            return NotFound(f"{subject.describe()} not found.", details={**details, subject.kind: subject.name})
        return NotFound(message or "Not found.", details=details)

    def _is_workspace_missing(self, exc: BaseException, code: str | None, message: str) -> bool:
        if code in _WORKSPACE_MISSING_CODES:
            return True
        if f"workspaces/{self.workspace_name}".lower() in (message or "").lower() and "not found" in message.lower():
            return True
        url = _request_url(exc)
        return bool(url) and url.split("?")[0].rstrip("/").lower().endswith(
            f"/workspaces/{self.workspace_name}".lower()
        )

    def _target(self, storage: bool, subject: Subject | None) -> str:
        if storage:
            return f"storage account {subject.name}" if subject and subject.kind == "storage" else "workspace storage"
        return self.workspace_text


# ---- reading azure-core exceptions ------------------------------------------------------------------


def _error_code(exc: BaseException) -> str | None:
    code = getattr(exc, "error_code", None)  # storage errors
    if code:
        return str(getattr(code, "value", code))
    error = getattr(exc, "error", None)  # ODataV4Error / ARM error
    if error is not None and getattr(error, "code", None):
        return str(error.code)
    body = _json_body(exc)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("code")
    return None


def _service_message(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    text = getattr(error, "message", None) if error is not None else None
    if not text:
        body = _json_body(exc)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            text = body["error"].get("message")
    if not text:
        text = getattr(exc, "message", None) or getattr(exc, "reason", None) or str(exc)
        text = str(text).split("\nContent:")[0].split("\nRequestId:")[0]
    return redact(" ".join(str(text).split()))[:600]


def _json_body(exc: BaseException) -> Any:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        return json.loads(response.text())
    except Exception:
        return None


def _header(exc: BaseException, name: str) -> str | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) if response is not None else None
    if not headers:
        return None
    try:
        return headers.get(name)
    except Exception:
        return None


def _retry_after(exc: BaseException) -> float | None:
    value = _header(exc, "Retry-After") or _header(exc, "retry-after-ms")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _request_url(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None) if response is not None else None
    return getattr(request, "url", None) if request is not None else None


def _is_storage_response(exc: BaseException) -> bool:
    url = _request_url(exc) or ""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return ".blob." in host or ".dfs." in host or getattr(exc, "error_code", None) in _STORAGE_AUTH_CODES


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _suffix(message: str) -> str:
    return f" Azure said: {message}" if message else ""


def _after_hint(retry_after: float | None) -> str:
    return f" (the service asked to wait {retry_after:g} s)" if retry_after else ""


def _subject_prefix(subject: Subject | None) -> str:
    return f"{subject.describe()}: " if subject is not None and subject.name else ""


def plain_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _wrapped_service_error(exc: BaseException) -> BaseException | None:
    from azure.core.exceptions import AzureError

    seen = 0
    cause = exc.__cause__ or exc.__context__
    while cause is not None and seen < 5:
        if isinstance(cause, AzureError):
            return cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def _sdk_user_error(exc: BaseException) -> AzmlError | None:
    """azure-ai-ml's own client-side validation errors are the caller's mistakes (400)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"ValidationException", "UserErrorException", "JobException", "ValidationError", "JobParsingError"}:
        text = redact(" ".join(str(getattr(exc, "message", None) or exc).split()))[:800]
        return InvalidRequest(text or type(exc).__name__, details={"azure_error": type(exc).__name__})
    return None
