"""Issue 13 item 17: the credential-name rule (``spec/secrets.py``) on names that must and must not match,
and the Jupyter server's own credentials kept out of what local jobs inherit."""

from __future__ import annotations

import json

import pytest

from azml_jupyter.errors import InvalidRequest
from azml_jupyter.spec.secrets import check_no_secrets, is_server_secret, looks_like_secret, without_server_secrets

from .engine_jobs import JobFolders

CREDENTIALS = [
    # from the issue
    "DB_PWD", "DB_PASS", "PASSPHRASE", "GITHUB_PAT", "AWS_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS",
    "DATABASE_URL", "STORAGE_SAS", "JWT", "COOKIE", "JUPYTERHUB_API_TOKEN", "JUPYTER_TOKEN", "JPY_API_TOKEN",
    # the same kinds, spelled otherwise
    "MYSQL_PWD", "SMTP_PASS", "DB_PASS_2", "GPG_PASSPHRASE", "GH_PAT", "AZURE_DEVOPS_PAT", "SERVICE_JWT",
    "SESSION_COOKIE", "AUTH_COOKIES", "DOCKER_CREDS", "SQLALCHEMY_DATABASE_URI", "DB_URL", "AZURE_STORAGE_SAS_URL",
    "SENTRY_DSN", "db_pwd", "Database-Url",
    # what the rule caught before
    "AZURE_CLIENT_SECRET", "DB_PASSWORD", "MYSQL_PASSWD", "HF_TOKEN", "HFTOKEN", "OPENAI_API_KEY", "APIKEY",
    "STORAGE_ACCOUNT_KEY", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING", "SAS_TOKEN", "GITHUB_TOKENS",
    "PRIVATE_KEYS", "JUPYTERHUB_OAUTH_CLIENT_SECRET",
]  # fmt: skip

ORDINARY = [
    "MONKEY_BUSINESS", "KEYBOARD_LAYOUT", "TOKENIZERS_PARALLELISM", "PWD", "OLDPWD", "PATH", "PYTHONPATH",
    "JWT_ALGORITHM", "JWT_AUDIENCE", "COOKIE_DOMAIN", "COOKIE_SECURE", "PASSENGER_COUNT", "PASS_THROUGH",
    "BYPASS_CACHE", "COMPASS_HEADING", "PATIENCE", "PATTERN", "SASS_PATH", "SAS_EXPIRY", "DB_HOST", "DB_NAME",
    "DATABASE_NAME", "DATABASE_PORT", "CREDENTIAL_PROVIDER", "MLFLOW_TRACKING_URI", "AZUREML_RUN_ID", "HF_HOME",
    "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "KEYCLOAK_REALM", "HOCKEY_TEAM", "WHISKEY", "COLOR", "EPOCHS",
    "LEARNING_RATE", "JUPYTERHUB_USER", "JUPYTERHUB_API_URL", "JUPYTER_CONFIG_DIR",
]  # fmt: skip


@pytest.mark.parametrize("name", CREDENTIALS)
def test_credential_names_are_refused(name):
    assert looks_like_secret(name)
    with pytest.raises(InvalidRequest, match=f"sets environment variable {name}, which looks like a credential"):
        check_no_secrets({name: "x"}, where="the job")


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_are_allowed(name):
    assert not looks_like_secret(name)
    check_no_secrets({name: "x"}, where="the job")


SERVER = {
    "JUPYTERHUB_API_TOKEN": "hub-token",
    "JPY_API_TOKEN": "old-hub-token",
    "JUPYTER_TOKEN": "server-token",
    "JUPYTERHUB_OAUTH_ACCESS_TOKEN": "oauth-token",
    "JUPYTERHUB_CLIENT_SECRET": "client-secret",
    "JUPYTER_SERVER_TOKEN_FILE": "/run/token",
    "JPY_SESSION_NAME": "/home/me/nb.ipynb",
}
KEPT = {"JUPYTERHUB_USER": "alice", "JUPYTERHUB_API_URL": "http://hub/api", "JUPYTER_CONFIG_DIR": "/etc/j"}


def test_the_servers_own_credentials_are_named():
    assert sorted(n for n in {**SERVER, **KEPT} if is_server_secret(n)) == sorted(SERVER)
    assert without_server_secrets({**SERVER, **KEPT, "HOME": "/home/me"}) == {**KEPT, "HOME": "/home/me"}


def test_local_jobs_do_not_inherit_the_servers_credentials(workspace, tmp_path, monkeypatch):
    for name, value in {**SERVER, **KEPT}.items():
        monkeypatch.setenv(name, value)  # as in a JupyterHub single-user server that starts the engine
    folders = JobFolders(workspace, tmp_path)
    record = folders.submit(
        "command: python -c \"import os, json; print('ENV', json.dumps(dict(os.environ)))\"\n"
        "environment: azureml:e:1\n"
    )
    assert folders.wait(record.name).status.value == "Completed"
    seen = json.loads(folders.log(record.name).split("ENV ", 1)[1].splitlines()[0])
    assert sorted(set(SERVER) & set(seen)) == []
    assert {k: seen.get(k) for k in KEPT} == KEPT
    for value in SERVER.values():
        assert value not in folders.log(record.name)
    pid = int(workspace.layout.engine_pid.read_text().split()[0])
    with open(f"/proc/{pid}/environ", "rb") as fh:  # the engine itself never had them
        engine_environment = fh.read().decode().split("\0")
    assert [line for line in engine_environment if line.split("=", 1)[0] in SERVER] == []
