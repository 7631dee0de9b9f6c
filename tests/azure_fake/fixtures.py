"""pytest fixtures for testing against the fake Azure ML service with the real azure-ai-ml SDK.

``tests/azure_fake/conftest.py`` imports them for this folder. Another test folder can use them
by importing them in its own conftest (``from azure_fake.fixtures import *``, or
``tests.azure_fake.fixtures`` once ``tests`` is a package), or a root ``tests/conftest.py`` can
list the module in ``pytest_plugins``.

Fixtures:

* ``block_network``: any connection or DNS lookup outside loopback raises ``NetworkBlocked``.
* ``fake_azureml``: a fresh ``FakeAzureML`` per test, with ``storage_hook`` installed and the
  network blocked. At teardown it fails the test if the SDK sent a request the fake has no route
  for (``fake_azureml.strict = False`` to allow that in a test that expects it).
* ``fake_credential``: a ``FakeCredential`` (JWTs with ``tid``/``oid``/``aud``, counts calls).
* ``fake_transport``: the ``FakeTransport`` the ``ml_client`` uses (``.sleeps``).
* ``make_ml_client(**kwargs)``: builds more clients (other retry settings, a read timeout, another
  credential); ``ml_client``: one real ``azure.ai.ml.MLClient`` wired to the fake with
  ``polling_interval=0``, ``enable_telemetry=False``, ``show_progress=False``, ``retry_total=3``.

The SDK reads ``AZUREML_RUN_POLLING_INTERVAL_MIN/MAX`` when ``azure.ai.ml`` is first imported, so
this module sets them to 0 at import (before any test module imports the SDK) and, if the SDK
was already imported, patches the constants it copied them into.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("AZUREML_RUN_POLLING_INTERVAL_MIN", "0")
os.environ.setdefault("AZUREML_RUN_POLLING_INTERVAL_MAX", "0")

import pytest  # noqa: E402

from .credential import FakeCredential  # noqa: E402
from .service import FakeAzureML  # noqa: E402
from .transport import FakeTransport, storage_hook  # noqa: E402
from .transport import block_network as _block_network

# Environment variables the SDK reads or writes process-wide; each test gets them restored.
_SDK_ENV = ("AZUREML_CURRENT_CLOUD", "AZUREML_DEV_URL_MFE", "AZUREML_ARM_SCOPE")


def _zero_run_polling_if_already_imported() -> None:
    mod = sys.modules.get("azure.ai.ml.operations._run_history_constants")
    if mod is not None:
        mod.RunHistoryConstants._WAIT_COMPLETION_POLLING_INTERVAL_MIN = 0
        mod.RunHistoryConstants._WAIT_COMPLETION_POLLING_INTERVAL_MAX = 0


@pytest.fixture
def block_network() -> Iterator[None]:
    with _block_network():
        yield


@pytest.fixture
def fake_azureml(block_network: None) -> Iterator[FakeAzureML]:
    service = FakeAzureML()
    with storage_hook(service):
        yield service
    service.hang_release.set()
    if service.strict and service.unmatched:
        lines = "\n".join(f"  {r.method} {r.url}" for r in service.unmatched)
        pytest.fail(f"the SDK sent requests the fake Azure ML service has no route for:\n{lines}")


@pytest.fixture
def fake_credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def fake_transport(fake_azureml: FakeAzureML) -> FakeTransport:
    return FakeTransport(fake_azureml)


@pytest.fixture
def make_ml_client(
    fake_azureml: FakeAzureML,
    fake_credential: FakeCredential,
    fake_transport: FakeTransport,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Any]:
    """``make_ml_client(**overrides)`` -> a real MLClient on the fake.

    Overrides are MLClient keyword arguments (``credential=``, ``transport=``, ``retry_total=``,
    ``read_timeout=`` goes to a new FakeTransport...).
    """
    for name in _SDK_ENV:
        monkeypatch.delenv(name, raising=False)  # restored (or removed again) after the test
    _zero_run_polling_if_already_imported()
    from azure.ai.ml import MLClient

    def make(*, credential: Any | None = None, read_timeout: float | None = None, **overrides: Any) -> MLClient:
        transport = overrides.pop("transport", None)
        if transport is None:
            transport = (
                fake_transport if read_timeout is None else FakeTransport(fake_azureml, read_timeout=read_timeout)
            )
        kwargs: dict = {
            "transport": transport,
            "polling_interval": 0,
            "enable_telemetry": False,
            "show_progress": False,
            "retry_total": 3,
        }
        kwargs.update(overrides)
        return MLClient(
            credential or fake_credential,
            subscription_id=fake_azureml.subscription_id,
            resource_group_name=fake_azureml.resource_group,
            workspace_name=fake_azureml.workspace_name,
            **kwargs,
        )

    return make


@pytest.fixture
def ml_client(make_ml_client: Callable[..., Any]) -> Any:
    return make_ml_client()


__all__ = [
    "block_network",
    "fake_azureml",
    "fake_credential",
    "fake_transport",
    "make_ml_client",
    "ml_client",
]
