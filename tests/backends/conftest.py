"""Fixtures for the backend tests, self-contained (the folder also runs with ``--confcutdir`` in the
low-SDK venv of ``scripts/azure-sdk-matrix.sh``, without the root conftest and pytest-jupyter).

* ``azure_backend``: an ``AzureBackend`` on the in-process fake Azure ML service (``tests/azure_fake``)
  whose datastores live in Azurite (``tests/azurite``), plus ``azure_env`` to steer it;
* ``backend`` (in ``test_backend_contract.py``) is parametrised over ``local`` and ``azure``.

The REST suite can use ``azure_backend`` through the server's ``backend_factory`` setting.
"""

from __future__ import annotations

import os

os.environ.setdefault("AZML_ENGINE_IDLE_EXIT", "5")
os.environ.setdefault("AZML_ENGINE_CANCEL_GRACE", "2")

from azure_fake.fixtures import block_network, fake_azureml, fake_credential, fake_transport  # noqa: E402,F401
from azurite.fixture import azurite  # noqa: E402,F401

from .azure_harness import azure_backend, azure_env, backend_home  # noqa: E402,F401
