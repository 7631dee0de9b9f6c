"""Credentials and job environments: refuse jobs that carry credentials in their environment variables,
and keep the Jupyter server's own credentials out of the environment local jobs inherit.

A job's ``environment_variables`` are part of the job definition: Azure ML stores them with the job,
shows them in the studio and returns them to anyone who may read the workspace's jobs, and they end
up in the run's logs and snapshots. Putting a service principal's password there (as the project's
seed did) hands it to every reader of the workspace. Jobs should reach Azure resources with the
compute's managed identity, and read other secrets from the workspace's Key Vault at run time.

Both backends call :func:`check_no_secrets` before anything is uploaded or stored, so the local
engine refuses exactly what Azure ML would be given.

The rule looks at variable *names* only (never values, which are never echoed either). Names are split
into words at ``_``, ``-`` and ``.``; a name looks like a credential when

* it contains ``SECRET``, ``PASSWORD``, ``PASSWD``, ``PASSPHRASE`` or ``CONNECTION_STRING`` /
  ``CONNECTIONSTRING`` anywhere;
* a word ends in ``TOKEN``/``TOKENS`` (``HF_TOKEN``, ``HFTOKEN``, ``JUPYTERHUB_API_TOKEN``), or is ``KEY``/
  ``KEYS`` or a credential compound such as ``APIKEY`` or ``ACCOUNTKEY`` (a bare "ends in KEY" rule would
  refuse ``MONKEY_BUSINESS``);
* its last word (trailing numbers aside: ``DB_PASS_2``) names the credential itself: ``PWD`` (not the
  shell's own ``PWD``), ``PASS``, ``PAT``, ``JWT``, ``COOKIE(S)``, ``SAS``, ``DSN``, ``CREDENTIAL(S)``,
  ``CREDS``. As a *first* word these describe something else (``COOKIE_DOMAIN``, ``JWT_ALGORITHM``,
  ``PASS_THROUGH``), so they only count at the end;
* it ends in a connection URL that carries its password: ``DATABASE_URL``, ``DB_URI``, ``SAS_URL``.

So ``AZURE_CLIENT_SECRET``, ``DB_PWD``, ``GITHUB_PAT``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``DATABASE_URL``,
``STORAGE_SAS`` and ``OPENAI_API_KEY`` are refused, while ``TOKENIZERS_PARALLELISM`` (Hugging Face),
``KEYBOARD_LAYOUT``, ``MONKEY_BUSINESS`` and ``COOKIE_DOMAIN`` are not. ``tests/security/test_secrets.py``
lists both sides.

Local jobs inherit the engine's environment (they run as the user, with the user's interpreter). That
environment comes from whoever started the engine -- often the Jupyter server -- so
:func:`without_server_secrets` removes the server's own credentials (``JUPYTERHUB_API_TOKEN``,
``JUPYTER_TOKEN``, ``JPY_API_TOKEN`` ...) before the engine starts and again for every job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequest

_ANYWHERE = ("SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CONNECTION_STRING", "CONNECTIONSTRING")
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
# words that name the credential itself when they end the name
_LAST_WORDS = (
    "PWD", "PASS", "PAT", "JWT", "COOKIE", "COOKIES", "SAS", "DSN", "CREDENTIAL", "CREDENTIALS", "CREDS",
)  # fmt: skip
_NOT_ALONE = ("PWD",)  # the shell's working directory
_URL_OWNERS = ("DATABASE", "DB", "SAS")  # ..._URL / ..._URI with the password inside
_URL_WORDS = ("URL", "URI")
_WORD_SPLIT = re.compile(r"[_.\-]+")
# the Jupyter server's and JupyterHub's own variables; every JPY_* is a server or kernel internal
_SERVER_PREFIXES = ("JUPYTER", "JPY_")

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
    if any(word.endswith(_WORD_ENDINGS) or word in _KEY_WORDS or word.endswith(_KEY_COMPOUNDS) for word in words):
        return True
    while words and words[-1].isdigit():
        words.pop()
    if not words:
        return False
    last = words[-1]
    if last in _LAST_WORDS and not (last in _NOT_ALONE and len(words) == 1):
        return True
    return len(words) >= 2 and last in _URL_WORDS and words[-2] in _URL_OWNERS


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


def is_server_secret(name: str) -> bool:
    """A credential of the Jupyter server or JupyterHub (``JUPYTERHUB_API_TOKEN``, ``JUPYTER_TOKEN``), or
    any ``JPY_*`` internal: never something a job should inherit."""
    upper = name.upper()
    if upper.startswith("JPY_"):
        return True
    return upper.startswith(_SERVER_PREFIXES) and ("TOKEN" in upper or looks_like_secret(upper))


def without_server_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the Jupyter server's own credentials (see :func:`is_server_secret`)."""
    return {key: value for key, value in environ.items() if not is_server_secret(key)}
