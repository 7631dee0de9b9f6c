"""Makes this folder self-sufficient: the fake-service fixtures (see ``fixtures.py``)."""

from .fixtures import (  # noqa: F401  (fixtures are found by name)
    block_network,
    fake_azureml,
    fake_credential,
    fake_transport,
    make_ml_client,
    ml_client,
)
