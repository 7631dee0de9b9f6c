"""The Azure backend under test: the real azure-ai-ml SDK against the fake Azure ML service, with the
workspace's storage in Azurite.

Two storage services are involved, each for what it is good at:

* the SDK's own blob traffic (code snapshots at job submission, the SAS URLs of run log files) goes to
  the fake's in-memory blob service through the fake's transport / storage hook, exactly as in
  ``tests/azure_fake``;
* our own storage traffic (copy-in, listing and downloading outputs) goes through the backend's
  ``blob_service_factory`` to Azurite, a real blob service. Each test gets its own set of Azurite
  containers (the session's Azurite is shared), mapped from the datastore's container names.

``AzureEnv`` (fixture ``azure_env``) steers a test: the fake (``env.fake``), the Azurite containers
(``env.container(datastore)``), and helpers to write a finished job's outputs where Azure ML puts them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure_fake.service import FakeAzureML
from azurite.fixture import AzuriteBlob

# Settings the SDK reads or writes process-wide; restored after each test.
_SDK_ENV = ("AZUREML_CURRENT_CLOUD", "AZUREML_DEV_URL_MFE", "AZUREML_ARM_SCOPE")


class _TestContainers:
    """A BlobServiceClient stand-in: the datastore's container name -> a per-test Azurite container."""

    def __init__(self, service: Any, tag: str):
        self.service = service
        self.tag = tag
        self.created: set[str] = set()

    def name_for(self, container: str) -> str:
        return f"t{self.tag}-{hashlib.sha256(container.encode()).hexdigest()[:12]}"

    def get_container_client(self, container: str) -> Any:
        from azure.core.exceptions import ResourceExistsError

        name = self.name_for(container)
        client = self.service.get_container_client(name)
        if name not in self.created:
            try:
                client.create_container()
            except ResourceExistsError:
                pass
            self.created.add(name)
        return client

    def close(self) -> None:
        self.service.close()


class AzureEnv:
    def __init__(self, fake: FakeAzureML, storage: _TestContainers, azurite: AzuriteBlob):
        self.fake = fake
        self.storage = storage
        self.azurite = azurite
        self.factory_calls: list[tuple[str, str]] = []

    def blob_service_factory(self, account: str, url: str) -> Any:
        self.factory_calls.append((account, url))
        return self.storage

    def container(self, datastore: str = "workspaceblobstore") -> Any:
        """The Azurite container standing in for a datastore of the fake workspace."""
        body = self.fake.datastores[datastore]["properties"]
        return self.storage.get_container_client(body["containerName"])

    def put_output(self, job: str, output: str, files: dict[str, bytes | str]) -> None:
        """A named output where Azure ML writes it by default (``azureml/<job>/<output>/`` on the blob store)."""
        for rel, data in files.items():
            self.container("workspaceblobstore").upload_blob(f"azureml/{job}/{output}/{rel}", data, overwrite=True)

    def put_artifact(self, job: str, rel: str, data: bytes | str) -> None:
        """A file of the job's default output (its run folder on the artifact store)."""
        self.container("workspaceartifactstore").upload_blob(f"ExperimentRun/dcid.{job}/{rel}", data, overwrite=True)

    def seed_workspace(self) -> None:
        self.fake.add_compute("cpu-cluster", max_nodes=4)
        self.fake.add_environment("sklearn", "1")


@pytest.fixture
def backend_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "azml-home"
    monkeypatch.setenv("AZML_JUPYTER_HOME", str(home))
    monkeypatch.delenv("AZML_JUPYTER_BACKEND", raising=False)
    return home


@pytest.fixture
def azure_env(fake_azureml: FakeAzureML, azurite: AzuriteBlob, monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureEnv]:
    from azml_jupyter.backends.blob_upload import make_blob_service

    for name in _SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    service = make_blob_service(azurite.account_url, azurite.credential, retry_total=1)
    env = AzureEnv(fake_azureml, _TestContainers(service, uuid.uuid4().hex[:8]), azurite)
    env.seed_workspace()
    yield env
    service.close()


def make_azure_backend(env: AzureEnv, fake_credential: Any, transport: Any, home: Path, **overrides: Any) -> Any:
    """An AzureBackend on the fake service; ``overrides`` replace config fields, client kwargs, the credential
    (``credential=``) or the blob service factory (``blob_service_factory=None``: the production default)."""
    from azml_jupyter.backends.azure import AzureBackend
    from azml_jupyter.workspace_config import AzureWorkspaceConfig

    fake = env.fake
    config = AzureWorkspaceConfig(
        subscription_id=fake.subscription_id,
        resource_group=fake.resource_group,
        workspace_name=overrides.pop("workspace_name", fake.workspace_name),
        tenant_id=fake_credential.tenant_id,
        default_compute=overrides.pop("default_compute", None),
    )
    client_kwargs = {"transport": transport, "polling_interval": 0, "retry_total": 3}
    client_kwargs.update(overrides.pop("client_kwargs", {}))
    return AzureBackend(
        config,
        credential=overrides.pop("credential", fake_credential),
        client_kwargs=client_kwargs,
        blob_service_factory=overrides.pop("blob_service_factory", env.blob_service_factory),
        home=home,
        **overrides,
    )


@pytest.fixture
def azure_backend(azure_env: AzureEnv, fake_credential: Any, fake_transport: Any, backend_home: Path) -> Iterator[Any]:
    backend = make_azure_backend(azure_env, fake_credential, fake_transport, backend_home)
    yield backend
    backend.close()
