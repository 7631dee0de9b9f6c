"""Secrets never reach the server log: query parameters that carry credentials (the Jupyter token that
the log stream's EventSource fallback sends as ``?token=``, SAS signatures, OAuth codes) are replaced
before a request's address is logged. jupyter_server scrubs its own access log the same way; the
handlers' own log lines (``log_exception``, tornado's request summary) go through ``redact_uri``."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"
# A parameter whose name contains one of these words is a secret (token, access_token, sig, xsrf ...).
SECRET_PARAMETER_WORDS = (
    "token",
    "auth",
    "key",
    "code",
    "state",
    "xsrf",
    "sig",
    "secret",
    "passw",
    "pwd",
    "credential",
    "sas",
)
_SECRET_PARAMETER = re.compile("|".join(SECRET_PARAMETER_WORDS), re.I)


def access_log_scrub_keys(configured: list[str]) -> list[str]:
    """jupyter_server's ``extra_log_scrub_param_keys`` plus ours, for its access log (which matches
    a word case-sensitively inside the parameter name)."""
    words = [w for word in SECRET_PARAMETER_WORDS for w in (word, word.upper())]
    return list(configured) + [w for w in words if w not in configured]


def redact_uri(uri: str) -> str:
    """``uri`` with the value of every credential-like query parameter replaced by ``[redacted]``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri.split("?", 1)[0] + ("?" + REDACTED if "?" in uri else "")
    if not parts.query:
        return uri
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    cleaned = [(key, REDACTED if _SECRET_PARAMETER.search(key) else value) for key, value in pairs]
    return urlunsplit(parts._replace(query=urlencode(cleaned, safe="[]")))
