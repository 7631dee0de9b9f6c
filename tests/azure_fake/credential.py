"""A credential for tests: real-looking JWTs, no identity provider, every call counted.

azure-ai-ml decodes the access token it gets (without verifying the signature) in two
places, so a random string is not enough:

* every job it returns: ``tid`` is appended to the studio URL;
* every pipeline submit: it asks for a token for ``https://ml.azure.com/.default`` and raises
  unless the token's ``aud`` is exactly ``https://ml.azure.com``.

``FakeCredential.get_token(*scopes)`` therefore mints an HS256 JWT (PyJWT) whose ``aud`` is the
scope without its ``/.default`` suffix, and whose ``tid``/``oid`` are fixed per credential. The
fake service decodes the same tokens (unverified, as the SDK does) to check the audience of each
request. ``calls`` records every request for a token, so a caching wrapper can be tested by
counting (``credential.call_count``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from azure.core.credentials import AccessToken

TENANT_ID = "72f988bf-0000-4000-8000-00000000f4ce"
OBJECT_ID = "0b1d5a3e-0000-4000-8000-0000000000aa"
SIGNING_KEY = "azml-jupyter-fake-signing-key-not-a-secret"


def audience_for_scope(scope: str) -> str:
    """``https://ml.azure.com/.default`` -> ``https://ml.azure.com`` (what Entra ID puts in ``aud``)."""
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


def decode_token(token: str) -> dict:
    """Claims of a token minted here (or any JWT), without verifying the signature, like the SDK does."""
    return jwt.decode(token, options={"verify_signature": False, "verify_aud": False})


@dataclass(frozen=True)
class TokenCall:
    scopes: tuple[str, ...]
    kwargs: dict


class FakeCredential:
    """``azure.core.credentials.TokenCredential`` that returns HS256 JWTs.

    :param tenant_id: ``tid`` claim.
    :param object_id: ``oid`` claim.
    :param lifetime: seconds until ``expires_on``.
    :param fail_with: if set, ``get_token`` raises this exception (to test auth failures on the
        client side, before any request leaves).
    """

    def __init__(
        self,
        *,
        tenant_id: str = TENANT_ID,
        object_id: str = OBJECT_ID,
        lifetime: int = 3600,
        fail_with: BaseException | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.object_id = object_id
        self.lifetime = lifetime
        self.fail_with = fail_with
        self.calls: list[TokenCall] = []
        self._lock = threading.Lock()

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.calls.append(TokenCall(tuple(scopes), dict(kwargs)))
        if self.fail_with is not None:
            raise self.fail_with
        if not scopes:
            raise ValueError("get_token needs at least one scope")
        now = int(time.time())
        claims = {
            "aud": audience_for_scope(scopes[0]),
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "tid": self.tenant_id,
            "oid": self.object_id,
            "upn": "scientist@contoso.example",
            "scp": " ".join(scopes),
        }
        token = jwt.encode(claims, SIGNING_KEY, algorithm="HS256")
        return AccessToken(token, now + self.lifetime)

    # azure-core >= 1.31 also knows get_token_info; the SDK only calls get_token, but a wrapper
    # under test might prefer the newer protocol.
    def get_token_info(self, *scopes: str, options: dict | None = None) -> Any:
        from azure.core.credentials import AccessTokenInfo  # not in very old azure-core

        tok = self.get_token(*scopes, **(options or {}))
        return AccessTokenInfo(tok.token, tok.expires_on)

    def close(self) -> None:  # TokenCredential protocol
        pass

    def __enter__(self) -> FakeCredential:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass
