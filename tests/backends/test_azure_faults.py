"""What users see when Azure misbehaves: retried where retrying helps, then one readable domain error;
never a token in a message or a log; never a half-created job or data asset."""

from __future__ import annotations

import logging

import pytest
from azure_fake.credential import FakeCredential
from azure_fake.transport import FakeTransport

from azml_jupyter.errors import Forbidden, NotAuthenticated, NotFound, Throttled, Unavailable
from azml_jupyter.models import OperationState

from .azure_harness import make_azure_backend
from .test_azure_backend import load, wait_op

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*marshmallow.*"),
    pytest.mark.filterwarnings("ignore:.*Number.*field should not be instantiated.*"),
]


def test_429_is_retried_after_the_servers_retry_after(azure_backend, azure_env, fake_transport):
    azure_env.fake.fail("compute.list", 429, retry_after=7)
    assert "cpu-cluster" in [c.name for c in azure_backend.list_computes()]
    assert [r.status for r in azure_env.fake.requests_for("compute.list")] == [429, 200]
    assert 7 in fake_transport.sleeps  # honoured (recorded by the fake transport, not waited)


def test_429_that_persists_is_reported_as_throttled(azure_backend, azure_env):
    azure_env.fake.fail("jobs.list", 429, retry_after=30, times=10)
    with pytest.raises(Throttled) as raised:
        azure_backend.list_jobs()
    assert raised.value.status == 429 and raised.value.details["retry_after"] == 30
    assert "throttling" in raised.value.message and "30 s" in raised.value.message
    assert azure_env.fake.count("jobs.list") == 4  # first try + retry_total=3


def test_503_is_retried_then_reported_as_unavailable(azure_backend, azure_env, fake_transport):
    azure_env.fake.fail("compute.get", 503, times=2)
    assert azure_backend.get_compute("cpu-cluster").name == "cpu-cluster"
    azure_env.fake.fail("compute.get", 503, times=10)
    with pytest.raises(Unavailable) as raised:
        azure_backend.get_compute("cpu-cluster")
    assert raised.value.status == 503 and "HTTP 503" in raised.value.message
    assert any(s > 0 for s in fake_transport.sleeps)


def test_a_hanging_call_ends_in_a_timeout(azure_env, fake_credential, backend_home):
    transport = FakeTransport(azure_env.fake, read_timeout=0.05)
    backend = make_azure_backend(azure_env, fake_credential, transport, backend_home)
    azure_env.fake.fail("compute.get", "hang", times=10)
    with pytest.raises(Unavailable) as raised:
        backend.get_compute("cpu-cluster")
    assert raised.value.details["timeout"] is True and "did not answer in time" in raised.value.message
    assert azure_env.fake.count("compute.get") == 4
    backend.close()


def test_every_client_gets_timeouts_and_bounded_retries(azure_env, fake_credential, backend_home, monkeypatch):
    """Production settings (no test transport): each of MLClient's HTTP clients is built with connection
    and read timeouts, and the retry policy is bounded."""
    from azure.core.pipeline.transport import RequestsTransport

    from azml_jupyter.backends.azure import AzureBackend
    from azml_jupyter.workspace_config import AzureWorkspaceConfig

    built = []
    original = RequestsTransport.__init__

    def record(self, **kwargs):
        built.append(kwargs)
        original(self, **kwargs)

    monkeypatch.setattr(RequestsTransport, "__init__", record)
    config = AzureWorkspaceConfig("sub", "rg", "ws")
    backend = AzureBackend(config, credential=fake_credential, home=backend_home)
    client = backend.ml_client
    # (the vendored resource-management client, used only to create or delete workspaces, takes no settings)
    clients = [k for k in built if k.get("api_version") != "2020-06-01"]
    assert len(clients) > 5 and all(k.get("connection_timeout") == 20 and k.get("read_timeout") == 120 for k in clients)
    retries = [p for p in client.jobs._requests_pipeline._impl_policies if type(p).__name__ == "RetryPolicy"]
    assert retries and retries[0].total_retries == 4 and retries[0].backoff_max == 30
    backend.close()


def test_401_says_how_to_sign_in(azure_backend, azure_env):
    azure_env.fake.fail("compute.list", 401)
    with pytest.raises(NotAuthenticated) as raised:
        azure_backend.list_computes()
    assert raised.value.status == 401
    assert f"az login --tenant {FakeCredential().tenant_id}" in raised.value.message
    assert "device_code" in raised.value.message


def test_token_of_the_wrong_tenant_is_named(azure_backend, azure_env):
    azure_env.fake.fail(
        "jobs.list", 401, code="InvalidAuthenticationTokenTenant", message="The access token is from the wrong issuer"
    )
    with pytest.raises(NotAuthenticated) as raised:
        azure_backend.list_jobs()
    assert raised.value.code == "wrong_tenant" and "tenant" in raised.value.message


def test_no_sign_in_at_all_fails_before_any_request(azure_env, fake_transport, backend_home):
    from azure.identity import CredentialUnavailableError

    broken = FakeCredential(fail_with=CredentialUnavailableError("No credential in this environment"))
    backend = make_azure_backend(azure_env, broken, fake_transport, backend_home)
    with pytest.raises(NotAuthenticated) as raised:
        backend.list_computes()
    assert "az login" in raised.value.message
    assert azure_env.fake.requests == []
    backend.close()


def test_403_names_the_workspace_and_the_role(azure_backend, azure_env):
    azure_env.fake.fail(
        "jobs.list",
        403,
        code="AuthorizationFailed",
        message="The client does not have authorization to perform action jobs/read",
    )
    with pytest.raises(Forbidden) as raised:
        azure_backend.list_jobs()
    message = raised.value.message
    assert azure_env.fake.workspace_name in message and "AzureML Data Scientist" in message and "jobs/read" in message
    assert raised.value.details["role"] == "AzureML Data Scientist"


def test_403_on_storage_names_the_storage_role(azure_env, fake_credential, fake_transport, backend_home, tmp_path):
    backend = make_azure_backend(
        azure_env,
        fake_credential,
        fake_transport,
        backend_home,
        blob_service_factory=None,
        uploader_options={"use_async": False},  # the fake's storage hook serves requests, not aiohttp
    )
    azure_env.fake.fail(
        "blob.put",
        403,
        code="AuthorizationPermissionMismatch",
        times=100,
        message="This request is not authorized to perform this operation using this permission.",
    )
    (tmp_path / "f.csv").write_text("x\n")
    done = wait_op(backend, backend.copy_in(tmp_path / "f.csv", "denied"))
    assert done.state is OperationState.FAILED
    assert "Storage Blob Data Contributor" in done.error and azure_env.fake.storage_account in done.error
    assert ("data", "denied") not in azure_env.fake.assets
    backend.close()


def test_unknown_workspace_is_named_in_the_404(azure_env, fake_credential, fake_transport, backend_home):
    backend = make_azure_backend(azure_env, fake_credential, fake_transport, backend_home, workspace_name="ws-typo")
    for call in (backend.workspace, backend.list_computes, backend.list_jobs):
        with pytest.raises(NotFound) as raised:
            call()
        assert raised.value.code == "workspace_not_found" and "ws-typo" in raised.value.message
    backend.close()


def test_a_failed_submission_leaves_no_job(azure_backend, azure_env, tmp_path):
    azure_env.fake.fail("jobs.put", 503, times=10)
    with pytest.raises(Unavailable):
        azure_backend.submit(load(tmp_path), name="unlucky")
    assert "unlucky" not in azure_env.fake.jobs
    azure_env.fake.clear_faults()
    assert azure_backend.submit(load(tmp_path), name="unlucky").name == "unlucky"  # the retry works


def test_a_failed_registration_leaves_no_asset_and_the_retry_uploads_nothing(azure_backend, azure_env, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.bin").write_bytes(bytes([i]) * 1000)
    azure_env.fake.fail("asset.put", 503, times=10)
    first = wait_op(azure_backend, azure_backend.copy_in(folder, "retry-me"))
    assert first.state is OperationState.FAILED and "unavailable" in first.error.lower()
    assert ("data", "retry-me") not in azure_env.fake.assets
    azure_env.fake.clear_faults()
    second = wait_op(azure_backend, azure_backend.copy_in(folder, "retry-me"))
    assert second.state is OperationState.SUCCEEDED and second.result["created"] is True
    assert second.result["bytes_uploaded"] == 0 and second.files_skipped == 3


def test_tokens_never_reach_messages_or_logs(azure_backend, azure_env, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake = azure_env.fake
    fake.configure_job("secretive", logs={"Running": "hello\n"})
    azure_backend.submit(load(tmp_path), name="secretive")
    azure_backend.get_job("secretive")
    azure_backend.get_job("secretive")
    azure_backend.read_logs("secretive")
    messages = []
    fake.fail("blob.get", 403, code="AuthenticationFailed", message="Signature did not match sig=abcdef")
    for fault, call in (
        (("jobs.get", 401), lambda: azure_backend.get_job("secretive")),
        (("compute.list", 403), azure_backend.list_computes),
        (None, lambda: azure_backend.read_logs("secretive")),
    ):
        if fault:
            fake.fail(*fault)
        with pytest.raises(Exception) as raised:
            call()
        messages.append(str(raised.value.message))
        assert raised.value.__cause__ is None  # no SDK exception (with its response) chained behind ours
    tokens = {r.headers.get("Authorization", "").split(" ", 1)[-1] for r in fake.requests} - {""}
    signatures = {part for r in fake.requests for part in r.url.split("&") if part.startswith("sig=")}
    assert tokens and signatures
    text = caplog.text + "\n".join(messages)
    for secret in tokens | signatures:
        assert secret not in text
    assert "eyJ" not in text and "sig=abcdef" not in text


def test_redaction_masks_what_could_leak():
    from azml_jupyter.backends.azure_errors import redact

    text = redact(
        "GET https://a.blob.core.windows.net/c/b?sv=2021&sig=SECRET%3D&se=2099 Authorization: Bearer abc.def "
        "AccountKey=KEY123==; token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"
    )
    for secret in ("SECRET", "abc.def", "KEY123", "eyJhbGci"):
        assert secret not in text


def test_storage_403_while_reading_logs_is_forbidden_not_a_crash(azure_backend, azure_env, tmp_path):
    azure_env.fake.configure_job("logs-denied", logs={"Running": "x\n"})
    azure_backend.submit(load(tmp_path), name="logs-denied")
    azure_backend.get_job("logs-denied")
    azure_backend.get_job("logs-denied")
    azure_env.fake.fail("blob.get", 403, code="AuthorizationFailure")
    with pytest.raises(Forbidden):
        azure_backend.read_logs("logs-denied")
