"""The embedded local workspace engine: store, datastore, assets, snapshots, and the scheduler daemon
that runs jobs as detached processes. It knows nothing of the backends, the server or notebooks
(import contracts in pyproject.toml, checked by tests/test_architecture.py)."""
