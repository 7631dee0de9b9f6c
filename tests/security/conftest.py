"""The security suite: the same server fixtures as the REST tests (a Jupyter server with the extension
on a fresh local workspace)."""

from tests.server.conftest import api, job_yaml, jp_server_config, root, stored_state, wait_job  # noqa: F401
