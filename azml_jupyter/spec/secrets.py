"""Refuse jobs that carry credentials in their environment variables.

A job's ``environment_variables`` are part of the job definition: Azure ML stores them with the job,
shows them in the studio and returns them to anyone who may read the workspace's jobs, and they end
up in the run's logs and snapshots. Putting a service principal's password there (as the project's
seed did) hands it to every reader of the workspace. Jobs should reach Azure resources with the
compute's managed identity, and read other secrets from the workspace's Key Vault at run time.

Both backends call :func:`check_no_secrets` before anything is uploaded or stored, so the local
engine refuses exactly what Azure ML would be given.

The rule looks at variable *names* only (never values, which are never echoed either):

* ``SECRET``, ``PASSWORD``, ``PASSWD``, ``CONNECTION_STRING`` / ``CONNECTIONSTRING`` anywhere in the name;
* ``TOKEN`` ending a word of the name (words are split at ``_``, ``-`` and ``.``: ``HF_TOKEN``, ``HFTOKEN``,
  ``TOKENS``); ``KEY``/``KEYS`` as a whole word, or a credential compound such as ``APIKEY`` or
  ``ACCOUNTKEY`` (a bare "ends in KEY" rule would refuse ``MONKEY_BUSINESS``).

So ``AZURE_CLIENT_SECRET``, ``DB_PASSWORD``, ``HF_TOKEN``, ``OPENAI_API_KEY``, ``STORAGE_ACCOUNT_KEY`` and
``AZURE_STORAGE_CONNECTION_STRING`` are refused, while ``TOKENIZERS_PARALLELISM`` (Hugging Face) and
``KEYBOARD_LAYOUT`` are not: "TOKEN"/"KEY" must end a word, not start one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequest

_ANYWHERE = ("SECRET", "PASSWORD", "PASSWD", "CONNECTION_STRING", "CONNECTIONSTRING")
_WORD_ENDINGS = ("TOKEN", "TOKENS")
# "KEY" closes many innocent words (MONKEY, HOCKEY, WHISKEY): only KEY(S) itself or a credential compound
_KEY_WORDS = ("KEY", "KEYS")
_KEY_COMPOUNDS = (
    "APIKEY",
    "ACCESSKEY",
    "ACCOUNTKEY",
    "SECRETKEY",
    "PRIVATEKEY",
    "MASTERKEY",
    "SHAREDKEY",
    "SUBSCRIPTIONKEY",
    "SIGNINGKEY",
    "ENCRYPTIONKEY",
)
_WORD_SPLIT = re.compile(r"[_.\-]+")

ADVICE = (
    "Environment variables are stored with the job and readable by everyone with access to the "
    "workspace. Give the compute a managed identity and grant it access to what the job needs "
    "(storage, Key Vault, databases), or keep the secret in the workspace's Key Vault and read it "
    "inside the job with that identity (azure-identity ManagedIdentityCredential + azure-keyvault-secrets)."
)


def looks_like_secret(name: str) -> bool:
    """Does this environment variable name look like it holds a credential?"""
    upper = str(name).upper()
    if any(word in upper for word in _ANYWHERE):
        return True
    words = [word for word in _WORD_SPLIT.split(upper) if word]
    return any(word.endswith(_WORD_ENDINGS) or word in _KEY_WORDS or word.endswith(_KEY_COMPOUNDS) for word in words)


def check_no_secrets(environment_variables: Mapping[str, Any] | None, *, where: str) -> None:
    """Raise ``InvalidRequest`` if any variable name looks like a credential.

    ``where`` names the job (or pipeline step) for the message, e.g. ``"job train"`` or
    ``"step prep of pipeline nightly"``.
    """
    suspicious = sorted(name for name in (environment_variables or {}) if looks_like_secret(name))
    if not suspicious:
        return
    names = ", ".join(suspicious)
    plural = "s" if len(suspicious) > 1 else ""
    what = "which look like credentials" if plural else "which looks like a credential"
    raise InvalidRequest(
        f"Refused: {where} sets environment variable{plural} {names}, {what}. {ADVICE}",
        details={"variables": suspicious, "where": where},
        code="secret_in_environment",
    )
