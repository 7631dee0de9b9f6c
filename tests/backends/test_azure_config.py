"""Configuration order, sign-in (credential kinds, the token cache, device code), lazy imports and the
secrets rule. No Azure and no fake service needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from azure_fake.credential import FakeCredential

from azml_jupyter.backends.azure import resolve_settings
from azml_jupyter.backends.azure_auth import CachingCredential, DeviceCodeSignIn, build_credential
from azml_jupyter.errors import InvalidRequest, NotAuthenticated, NotFound
from azml_jupyter.spec.secrets import check_no_secrets, looks_like_secret

ENV = (
    "AZML_JUPYTER_SUBSCRIPTION_ID",
    "AZML_JUPYTER_RESOURCE_GROUP",
    "AZML_JUPYTER_WORKSPACE",
    "AZML_JUPYTER_TENANT_ID",
    "AZML_JUPYTER_CREDENTIAL",
    "AZML_JUPYTER_CONFIG",
)


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No AZML_JUPYTER_* variables, and a working directory without any config.json above it."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    return monkeypatch


def write_config(folder: Path, workspace: str = "ws-file", **extras) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    document = {"subscription_id": "sub-file", "resource_group": "rg-file", "workspace_name": workspace}
    if extras:
        document["azml_jupyter"] = extras
    path.write_text(json.dumps(document))
    return path


SETTINGS = {"subscription_id": "sub-s", "resource_group": "rg-s", "workspace_name": "ws-s"}


# ---- configuration order ------------------------------------------------------------------------------


def test_server_settings_come_first(clean, tmp_path):
    clean.setenv("AZML_JUPYTER_SUBSCRIPTION_ID", "sub-env")
    clean.setenv("AZML_JUPYTER_RESOURCE_GROUP", "rg-env")
    clean.setenv("AZML_JUPYTER_WORKSPACE", "ws-env")
    write_config(Path.cwd() / ".azureml")
    config, kind, source = resolve_settings(SETTINGS)
    assert (config.subscription_id, config.resource_group, config.workspace_name) == ("sub-s", "rg-s", "ws-s")
    assert kind == "default" and "server settings" in source


def test_environment_variables_come_next(clean):
    clean.setenv("AZML_JUPYTER_SUBSCRIPTION_ID", "sub-env")
    clean.setenv("AZML_JUPYTER_RESOURCE_GROUP", "rg-env")
    clean.setenv("AZML_JUPYTER_WORKSPACE", "ws-env")
    clean.setenv("AZML_JUPYTER_CREDENTIAL", "device_code")
    write_config(Path.cwd() / ".azureml")
    config, kind, source = resolve_settings({})
    assert config.workspace_name == "ws-env" and kind == "device_code" and source == "environment variables"


def test_config_json_is_found_like_mlclient_from_config(clean):
    nested = Path.cwd() / "project" / "notebooks"
    nested.mkdir(parents=True)
    path = write_config(Path.cwd() / "project" / ".azureml", default_compute="cpu-cluster", tenant_id="tid-file")
    clean.chdir(nested)
    config, kind, source = resolve_settings({})
    assert (config.workspace_name, config.default_compute, config.tenant_id) == ("ws-file", "cpu-cluster", "tid-file")
    assert Path(source) == path


def test_explicit_config_path_and_a_missing_one(clean, tmp_path):
    path = write_config(tmp_path / "elsewhere")
    assert resolve_settings({"config_path": str(path)})[0].workspace_name == "ws-file"
    clean.setenv("AZML_JUPYTER_CONFIG", str(path))
    assert resolve_settings({})[0].workspace_name == "ws-file"
    with pytest.raises(NotFound, match="No Azure ML config.json"):
        resolve_settings({"config_path": str(tmp_path / "nope" / "config.json")})


def test_the_files_extras_join_settings_only_for_the_same_workspace(clean):
    write_config(Path.cwd(), default_compute="cpu-cluster")
    same = {"subscription_id": "sub-file", "resource_group": "rg-file", "workspace_name": "WS-FILE"}
    assert resolve_settings(same)[0].default_compute == "cpu-cluster"
    assert resolve_settings(SETTINGS)[0].default_compute is None


def test_a_partial_workspace_is_an_error_not_a_mix(clean):
    write_config(Path.cwd())
    with pytest.raises(InvalidRequest, match="resource_group, workspace_name missing"):
        resolve_settings({"subscription_id": "sub-s"})
    clean.setenv("AZML_JUPYTER_WORKSPACE", "ws-env")
    with pytest.raises(InvalidRequest, match="AZML_JUPYTER_SUBSCRIPTION_ID, AZML_JUPYTER_RESOURCE_GROUP"):
        resolve_settings({})


def test_nothing_configured(clean):
    with pytest.raises(NotFound) as raised:
        resolve_settings({})
    assert raised.value.code == "workspace_not_configured" and "--from-terraform" in raised.value.message


def test_tenant_and_credential_follow_the_same_order(clean):
    write_config(Path.cwd(), tenant_id="tid-file")
    same = {"subscription_id": "sub-file", "resource_group": "rg-file", "workspace_name": "ws-file"}
    assert resolve_settings(same)[0].tenant_id == "tid-file"
    clean.setenv("AZML_JUPYTER_TENANT_ID", "tid-env")
    assert resolve_settings(same)[0].tenant_id == "tid-env"
    assert resolve_settings({**same, "tenant_id": "tid-s", "credential": "azure_cli"})[0:2][0].tenant_id == "tid-s"
    assert resolve_settings({**same, "credential": "Managed_Identity"})[1] == "managed_identity"
    with pytest.raises(InvalidRequest, match="Unknown credential"):
        resolve_settings({**same, "credential": "password"})


def test_opening_the_azure_backend_imports_no_sdk(tmp_path):
    """The server may construct the backend anywhere: azure.ai.ml (1.6 s) and azure.identity load only
    on the first call that needs them."""
    code = (
        "import sys\n"
        "from azml_jupyter.backends import open_backend\n"
        "b = open_backend('azure', azure={'subscription_id': 's', 'resource_group': 'r', 'workspace_name': 'w',"
        " 'credential': 'azure_cli', 'tenant_id': 't'})\n"
        "assert b.kind == 'azure' and b.credential_kind == 'azure_cli' and b.config.tenant_id == 't'\n"
        "loaded = [m for m in ('azure.ai.ml', 'azure.identity', 'azure.storage.blob') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    env = {**os.environ, "AZML_JUPYTER_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


# ---- credentials ---------------------------------------------------------------------------------------


def test_token_cache_reuses_tokens_per_scope():
    inner = FakeCredential()
    cached = CachingCredential(inner)
    arm = "https://management.azure.com/.default"
    first = cached.get_token(arm)
    assert cached.get_token(arm) is first and inner.call_count == 1
    cached.get_token("https://storage.azure.com/.default")
    assert inner.call_count == 2
    cached.get_token(arm, claims='{"access_token":{"nbf":{"essential":true}}}')  # a CAE challenge
    assert inner.call_count == 3


def test_token_cache_refreshes_before_expiry():
    inner = FakeCredential(lifetime=120)  # inside the 5-minute margin: never served from the cache
    cached = CachingCredential(inner)
    cached.get_token("https://management.azure.com/.default")
    cached.get_token("https://management.azure.com/.default")
    assert inner.call_count == 2


def test_token_cache_fetches_once_for_many_threads():
    class Slow(FakeCredential):
        def get_token(self, *scopes, **kwargs):
            time.sleep(0.05)
            return super().get_token(*scopes, **kwargs)

    inner = Slow()
    cached = CachingCredential(inner)
    barrier = threading.Barrier(16)
    tokens = []

    def worker():
        barrier.wait()
        tokens.append(cached.get_token("https://management.azure.com/.default").token)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inner.call_count == 1 and len(set(tokens)) == 1


def test_token_cache_pins_the_tenant():
    inner = FakeCredential()
    CachingCredential(inner, tenant_id="tid-1").get_token("https://management.azure.com/.default")
    assert inner.calls[0].kwargs == {"tenant_id": "tid-1"}


def test_backend_calls_go_through_one_cached_token(azure_env, fake_credential, fake_transport, backend_home):
    from .azure_harness import make_azure_backend

    backend = make_azure_backend(
        azure_env, fake_credential, fake_transport, backend_home, credential=CachingCredential(fake_credential)
    )
    for _ in range(5):
        backend.list_computes()
        backend.list_jobs()
    assert fake_credential.call_count == 1
    backend.close()


def test_credential_kinds(monkeypatch):
    from azure import identity

    monkeypatch.delenv("DEFAULT_IDENTITY_CLIENT_ID", raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000c1d0")
    default = build_credential("default", tenant_id="tid")
    assert isinstance(default, CachingCredential) and isinstance(default.inner, identity.DefaultAzureCredential)
    assert isinstance(build_credential("azure_cli").inner, identity.AzureCliCredential)
    managed = build_credential("managed_identity", tenant_id="tid")
    assert isinstance(managed.inner, identity.ManagedIdentityCredential) and not managed.inner_accepts_tenant
    assert isinstance(build_credential("device_code").inner, DeviceCodeSignIn)
    with pytest.raises(InvalidRequest):
        build_credential("password")


class _StubDeviceCode:
    """Stands in for azure.identity.DeviceCodeCredential: silent until someone finished the sign-in."""

    instances: list[_StubDeviceCode] = []

    def __init__(self, *, prompt_callback, disable_automatic_authentication, **kwargs):
        assert disable_automatic_authentication is True
        self.prompt_callback = prompt_callback
        self.kwargs = kwargs
        self.user_done = threading.Event()
        self.signed_in = False
        self.authenticate_calls = 0
        _StubDeviceCode.instances.append(self)

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        from azure.identity import AuthenticationRequiredError

        if not self.signed_in:
            raise AuthenticationRequiredError(scopes)
        return AccessToken("device-token", int(time.time()) + 3600)

    def authenticate(self, *, scopes):
        import datetime

        self.authenticate_calls += 1
        self.prompt_callback(
            "https://microsoft.com/devicelogin",
            "ABCD-1234",
            datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
        )
        self.user_done.wait(30)
        self.signed_in = True

    def close(self):
        pass


def test_device_code_sign_in_never_blocks_a_request(monkeypatch):
    from azure import identity

    monkeypatch.setattr(identity, "DeviceCodeCredential", _StubDeviceCode)
    credential = build_credential("device_code", tenant_id="tid")
    stub = _StubDeviceCode.instances[-1]
    assert stub.kwargs["tenant_id"] == "tid"
    scope = "https://management.azure.com/.default"
    for _ in range(2):  # a second request while the user types gets the same code, no second sign-in
        with pytest.raises(NotAuthenticated) as raised:
            credential.get_token(scope)
        assert raised.value.code == "sign_in_required"
        assert raised.value.details["user_code"] == "ABCD-1234"
        assert "https://microsoft.com/devicelogin" in raised.value.message
    assert stub.authenticate_calls == 1
    stub.user_done.set()  # the user entered the code
    for _ in range(100):
        if stub.signed_in:
            break
        time.sleep(0.02)
    assert credential.get_token(scope).token == "device-token"


# ---- the secrets rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "AZURE_CLIENT_SECRET",
        "DB_PASSWORD",
        "db_passwd",
        "HF_TOKEN",
        "OPENAI_API_KEY",
        "APIKEY",
        "STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "SqlConnectionString",
        "GITHUB_TOKENS",
        "my.secret.value",
        "SAS_TOKEN",
    ],
)
def test_credential_like_names(name):
    assert looks_like_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "TOKENIZERS_PARALLELISM",
        "KEYBOARD_LAYOUT",
        "PYTHONHASHSEED",
        "MLFLOW_TRACKING_URI",
        "KEYFRAMES",
        "MONKEY_BUSINESS",
        "EPOCHS",
        "AZUREML_RUN_ID",
        "CUDA_VISIBLE_DEVICES",
    ],
)
def test_ordinary_names(name):
    assert not looks_like_secret(name)


def test_refusal_names_the_variables_not_their_values():
    with pytest.raises(InvalidRequest) as raised:
        check_no_secrets({"EPOCHS": "3", "AZURE_CLIENT_SECRET": "hunter2", "HF_TOKEN": "hf_x"}, where="job train")
    error = raised.value
    assert error.code == "secret_in_environment" and error.status == 400
    assert error.details == {"variables": ["AZURE_CLIENT_SECRET", "HF_TOKEN"], "where": "job train"}
    assert "job train" in error.message and "managed identity" in error.message and "Key Vault" in error.message
    assert "hunter2" not in error.message and "hf_x" not in error.message
    check_no_secrets({"EPOCHS": "3"}, where="job train")
    check_no_secrets(None, where="job train")
