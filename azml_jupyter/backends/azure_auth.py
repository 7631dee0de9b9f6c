"""Signing in to Azure: which credential, and a token cache around it.

Credential kinds (``c.AzmlJupyter.credential`` / ``AZML_JUPYTER_CREDENTIAL``):

* ``default``: ``DefaultAzureCredential`` (environment / workload identity, managed identity, Azure CLI,
  azd, PowerShell...), never the interactive browser (a Jupyter server has no browser of its own);
* ``azure_cli``: the Azure CLI's sign-in (``az login``) only;
* ``device_code``: device code sign-in for JupyterHub and remote servers. The first call that needs a
  token starts the sign-in in a background thread and fails at once with the verification URL and the
  code (shown in the panel / printed by the CLI); once the user finished, later calls succeed silently;
* ``managed_identity``: the machine's managed identity (Azure ML compute instances, VMs); the client id
  of a user-assigned identity comes from ``DEFAULT_IDENTITY_CLIENT_ID`` (set on compute instances) or
  ``AZURE_CLIENT_ID``.

``tenant_id`` pins the Microsoft Entra tenant for every kind that takes one.

``CachingCredential`` wraps whichever credential is chosen: azure-ai-ml calls ``get_token`` on every
job it returns and ``AzureCliCredential`` starts an ``az`` process per call (about a second), so
tokens are kept per (scopes, tenant, claims) until five minutes before they expire. Tokens are never
logged, and never part of a message or a record.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from ..errors import InvalidRequest, NotAuthenticated

log = logging.getLogger(__name__)

CREDENTIAL_KINDS = ("default", "device_code", "managed_identity", "azure_cli")
REFRESH_MARGIN_SECONDS = 300
DEVICE_CODE_WAIT_SECONDS = 10.0  # how long a request waits for the device code prompt to appear


class CachingCredential:
    """A thread-safe token cache in front of any ``TokenCredential``."""

    def __init__(self, inner: Any, *, tenant_id: str | None = None, margin: float = REFRESH_MARGIN_SECONDS):
        self.inner = inner
        self.tenant_id = tenant_id or None
        self.margin = margin
        self._tokens: dict[tuple, Any] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None, **kwargs: Any) -> Any:
        tenant = tenant_id or self.tenant_id
        key = (scopes, tenant)
        if claims:  # a CAE / conditional-access challenge: the cached token was just refused
            with self._guard:
                self._tokens.pop(key, None)
            return self._fetch(scopes, tenant, claims=claims, **kwargs)
        token = self._fresh(key)
        if token is not None:
            return token
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per key at a time; the others wait and reuse it
            token = self._fresh(key)
            if token is None:
                token = self._fetch(scopes, tenant, **kwargs)
                with self._guard:
                    self._tokens[key] = token
                log.debug("azml: new Azure token for %s (valid %.0f s)", scopes, token.expires_on - time.time())
        return token

    def _fresh(self, key: tuple) -> Any:
        with self._guard:
            token = self._tokens.get(key)
        if token is not None and token.expires_on - self.margin > time.time():
            return token
        return None

    def _fetch(self, scopes: tuple[str, ...], tenant: str | None, **kwargs: Any) -> Any:
        if tenant and self.inner_accepts_tenant:
            kwargs["tenant_id"] = tenant
        return self.inner.get_token(*scopes, **kwargs)

    @property
    def inner_accepts_tenant(self) -> bool:
        # ManagedIdentityCredential refuses a tenant_id argument; the others take it.
        return type(self.inner).__name__ != "ManagedIdentityCredential"

    def clear(self) -> None:
        with self._guard:
            self._tokens.clear()

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class DeviceCodeSignIn:
    """Device code sign-in that never blocks a request for the user's minutes of typing.

    ``get_token`` first tries silently (the refresh token of an earlier sign-in). If a sign-in is
    needed, one background thread runs ``authenticate()``; the request fails with ``NotAuthenticated``
    carrying the URL and the code (they are meant for the user, and are not secrets of the workspace).
    """

    def __init__(self, *, tenant_id: str | None = None, timeout: int = 900):
        from azure.identity import DeviceCodeCredential

        self._prompt: dict[str, Any] | None = None
        self._prompt_ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._lock = threading.Lock()
        kwargs: dict[str, Any] = {"timeout": timeout, "prompt_callback": self._on_prompt}
        if tenant_id:
            kwargs["tenant_id"] = tenant_id
        self.credential = DeviceCodeCredential(disable_automatic_authentication=True, **kwargs)

    def _on_prompt(self, verification_uri: str, user_code: str, expires_on: Any) -> None:
        self._prompt = {
            "verification_uri": verification_uri,
            "user_code": user_code,
            "expires_on": expires_on.isoformat() if hasattr(expires_on, "isoformat") else str(expires_on),
        }
        self._prompt_ready.set()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.identity import AuthenticationRequiredError

        try:
            return self.credential.get_token(*scopes, **kwargs)
        except AuthenticationRequiredError:
            pass
        self._start(scopes)
        self._prompt_ready.wait(DEVICE_CODE_WAIT_SECONDS)
        prompt = self._prompt
        if prompt is None:
            reason = f": {self._error}" if self._error else ""
            raise NotAuthenticated(
                f"Device code sign-in to Azure could not start{reason}. Retry in a moment.",
                details={"credential": "device_code"},
            )
        raise NotAuthenticated(
            f"Sign in to Azure: open {prompt['verification_uri']} and enter the code {prompt['user_code']}, "
            "then retry.",
            details={"credential": "device_code", **prompt},
            code="sign_in_required",
        )

    def _start(self, scopes: tuple[str, ...]) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._prompt = None
            self._prompt_ready.clear()
            self._error = None
            self._thread = threading.Thread(
                target=self._authenticate, args=(scopes,), name="azml-device-code", daemon=True
            )
            self._thread.start()

    def _authenticate(self, scopes: tuple[str, ...]) -> None:
        try:
            self.credential.authenticate(scopes=list(scopes))
        except Exception as exc:  # expired code, canceled: the next request starts over
            self._error = type(exc).__name__
            self._prompt_ready.set()
        finally:
            self._prompt = None

    def close(self) -> None:
        self.credential.close()


def build_credential(kind: str | None = "default", *, tenant_id: str | None = None) -> CachingCredential:
    """The user's credential for ``kind`` (see the module docstring), wrapped in the token cache."""
    kind = (kind or "default").lower()
    tenant_id = tenant_id or None
    if kind not in CREDENTIAL_KINDS:
        raise InvalidRequest(
            f"Unknown credential {kind!r}; use one of {', '.join(CREDENTIAL_KINDS)}.", details={"credential": kind}
        )
    from azure import identity

    if kind == "default":
        options: dict[str, Any] = {"exclude_interactive_browser_credential": True}
        if tenant_id:
            options.update(
                interactive_browser_tenant_id=tenant_id,
                visual_studio_code_tenant_id=tenant_id,
                shared_cache_tenant_id=tenant_id,
                additionally_allowed_tenants=[tenant_id],
            )
        inner: Any = identity.DefaultAzureCredential(**options)
    elif kind == "azure_cli":
        inner = identity.AzureCliCredential(tenant_id=tenant_id or "")
    elif kind == "managed_identity":
        client_id = os.environ.get("DEFAULT_IDENTITY_CLIENT_ID") or os.environ.get("AZURE_CLIENT_ID")
        inner = (
            identity.ManagedIdentityCredential(client_id=client_id)
            if client_id
            else identity.ManagedIdentityCredential()
        )
    else:
        inner = DeviceCodeSignIn(tenant_id=tenant_id)
    return CachingCredential(inner, tenant_id=tenant_id)
