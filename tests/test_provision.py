"""``ensure_cluster``: created, unchanged, resized on the real local backend; over quota (the optional
local vCPU quota) is a clear error and nothing is created or changed; the checks made before anything
changes; the wait on a backend whose operations take time (a fake with Azure-shaped sizes and usage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azml_jupyter.backends.base import ComputeRequest
from azml_jupyter.backends.local import LocalBackend
from azml_jupyter.errors import InvalidName, InvalidRequest, NotFound
from azml_jupyter.models import ComputeInfo, Operation, OperationState, Usage, VmSize
from azml_jupyter.sizing import (
    EnsureResult,
    ProvisioningFailed,
    ProvisioningTimeout,
    QuotaExceeded,
    ensure_cluster,
    local_vm_size,
)

VCPUS = local_vm_size().vcpus  # what one local node claims of a local vCPU quota


@pytest.fixture(autouse=True)
def _no_quota_from_the_environment(monkeypatch):
    monkeypatch.delenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA", raising=False)


class Counting:
    """A backend wrapper that counts the calls made through it."""

    def __init__(self, backend):
        self._backend = backend
        self.calls: list[str] = []

    def __getattr__(self, name):
        attribute = getattr(self._backend, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return call


def stored(backend: LocalBackend) -> tuple:
    """Computes (every column) and the number of operations: what a refused call must not change."""
    store = backend.workspace_engine.store
    computes = tuple(tuple(row.values()) for row in store.read("SELECT * FROM computes ORDER BY name"))
    operations = store.read("SELECT COUNT(*) AS n FROM operations")[0]["n"]
    return computes, operations


def quota_backend(home: Path, nodes_left: int) -> LocalBackend:
    """A local backend whose vCPU quota leaves ``nodes_left`` local nodes beside the default cluster."""
    default_claim = LocalBackend(home).get_compute("local").max_nodes * VCPUS
    return LocalBackend(home, local_vcpu_quota=default_claim + nodes_left * VCPUS)


# -- the local backend: created, unchanged, resized ------------------------------------------------


def test_created_then_unchanged_then_resized(local_backend):
    counted = Counting(local_backend)
    created = ensure_cluster(counted, "cpu-cluster", "local", max_nodes=2)
    assert isinstance(created, EnsureResult) and created.action == "created" and created.changed
    assert created.changes == {
        "size": (None, "local"),
        "min_nodes": (None, 0),
        "max_nodes": (None, 2),
        "idle_seconds": (None, 120),
        "tier": (None, "dedicated"),
    }
    compute = local_backend.get_compute("cpu-cluster")
    assert (compute.size, compute.min_nodes, compute.max_nodes, compute.idle_seconds, compute.tier) == (
        "local",
        0,
        2,
        120,
        "dedicated",
    )
    assert created.compute == compute
    assert created.operation.state is OperationState.SUCCEEDED and created.operation.kind == "compute_update"
    assert counted.calls.count("create_or_update_compute") == 1
    assert str(created) == "Created cluster cpu-cluster: local, 0-2 nodes, scales down after 120 s idle, dedicated."
    json.dumps(created.to_dict())  # plain JSON, for the CLI and the REST API

    before = stored(local_backend)
    counted.calls.clear()
    again = ensure_cluster(counted, "cpu-cluster", "LOCAL", max_nodes=2)  # size names match in any case
    assert again.action == "unchanged" and not again.changed
    assert again.changes == {} and again.operation is None and again.compute == compute
    assert "create_or_update_compute" not in counted.calls and "list_usage" not in counted.calls
    assert stored(local_backend) == before
    assert str(again).startswith("Cluster cpu-cluster already matches: local, 0-2 nodes")

    resized = ensure_cluster(local_backend, "cpu-cluster", "local", max_nodes=3, idle_seconds=600)
    assert resized.action == "updated"
    assert resized.changes == {"max_nodes": (2, 3), "idle_seconds": (120, 600)}
    assert local_backend.get_compute("cpu-cluster").max_nodes == 3
    assert resized.compute.max_nodes == 3 and resized.compute.idle_seconds == 600
    assert str(resized).startswith("Updated cluster cpu-cluster: max_nodes 2 -> 3, idle_seconds 120 -> 600")


def test_an_existing_cluster_without_idle_scale_down_gets_the_default(local_backend):
    # The default `local` cluster is seeded without an idle time: asking for the defaults sets one.
    result = ensure_cluster(local_backend, "local", "local", max_nodes=local_backend.get_compute("local").max_nodes)
    assert result.action == "updated" and result.changes == {"idle_seconds": (None, 120)}


def test_the_cluster_shows_in_the_cli_compute_list(local_backend, azml_home):
    ensure_cluster(local_backend, "cpu-cluster", "local", max_nodes=2)
    done = subprocess.run(
        [sys.executable, "-m", "azml_jupyter.cli", "compute", "list", "-o", "json", "--backend", "local"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AZML_JUPYTER_HOME": str(azml_home)},
    )
    assert done.returncode == 0, done.stderr
    listed = {c["name"]: c for c in json.loads(done.stdout)}
    assert listed["cpu-cluster"]["max_nodes"] == 2 and listed["cpu-cluster"]["min_nodes"] == 0
    assert listed["cpu-cluster"]["idle_seconds"] == 120


# -- over quota: a clear error, nothing created or changed -----------------------------------------


def test_over_quota_create_is_refused_and_nothing_is_created(azml_home):
    backend = quota_backend(azml_home, nodes_left=2)
    before = stored(backend)
    with pytest.raises(QuotaExceeded) as caught:
        ensure_cluster(backend, "big", "local", max_nodes=3)
    error = caught.value
    assert error.status == 409 and error.code == "quota_exceeded"
    assert f"needs {3 * VCPUS} vCPUs" in error.message
    assert f"only {2 * VCPUS} are left in the local engine vCPU quota" in error.message
    assert "AZML_JUPYTER_LOCAL_VCPU_QUOTA" in error.message and "Lower max_nodes to 2" in error.message
    assert error.details["quota_max_nodes"] == 2 and error.details["needed_vcpus"] == 3 * VCPUS
    assert stored(backend) == before
    with pytest.raises(NotFound):
        backend.get_compute("big")

    # what does fit is created
    assert ensure_cluster(backend, "big", "local", max_nodes=2).action == "created"


def test_over_quota_resize_leaves_the_cluster_as_it_is(azml_home):
    backend = quota_backend(azml_home, nodes_left=2)
    ensure_cluster(backend, "cpu-cluster", "local", max_nodes=2)  # the quota is now used up
    before = stored(backend)
    with pytest.raises(QuotaExceeded, match="Cannot resize cluster 'cpu-cluster' with 3 x local.*left as it is"):
        ensure_cluster(backend, "cpu-cluster", "local", max_nodes=3)
    assert stored(backend) == before and backend.get_compute("cpu-cluster").max_nodes == 2

    # changes that claim nothing more go ahead with the quota full: other fields, and shrinking
    assert ensure_cluster(backend, "cpu-cluster", "local", max_nodes=2, idle_seconds=300).action == "updated"
    shrunk = ensure_cluster(backend, "cpu-cluster", "local", max_nodes=1, idle_seconds=300)
    assert shrunk.changes == {"max_nodes": (2, 1)}


def test_a_resize_counts_only_the_other_clusters_claims(azml_home):
    backend = quota_backend(azml_home, nodes_left=3)
    ensure_cluster(backend, "cpu-cluster", "local", max_nodes=2)
    usage = backend.list_usage()[0]
    assert usage.current == backend.get_compute("local").max_nodes * VCPUS + 2 * VCPUS  # every cluster counts
    # growing 2 -> 3 needs 3 nodes against what the others leave (3 nodes), not 1 more on top of its own 2
    assert ensure_cluster(backend, "cpu-cluster", "local", max_nodes=3).changes == {"max_nodes": (2, 3)}
    with pytest.raises(QuotaExceeded):
        ensure_cluster(backend, "other", "local", max_nodes=1)


def test_quota_from_the_environment(azml_home, monkeypatch):
    ensure_cluster(LocalBackend(azml_home), "cpu-cluster", "local", max_nodes=2)
    monkeypatch.setenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA", "0")
    backend = LocalBackend(azml_home)
    usage = backend.list_usage()
    assert [(u.family, u.limit) for u in usage] == [("local", 0)]
    with pytest.raises(QuotaExceeded, match="quota allows no node|needs"):
        ensure_cluster(backend, "more", "local", max_nodes=1)
    monkeypatch.setenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA", "lots")
    with pytest.raises(InvalidRequest, match="AZML_JUPYTER_LOCAL_VCPU_QUOTA must be a whole number"):
        backend.list_usage()
    monkeypatch.delenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA")
    assert backend.list_usage()[0].limit == -1  # no quota: the default


# -- checks before anything changes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, size, kwargs, error, text",
    [
        (
            "cpu-cluster",
            "Standard_DS3_v2",
            {"max_nodes": 2},
            InvalidRequest,
            "is not offered by this workspace. Offered: local.",
        ),
        ("cpu-cluster", "locl", {"max_nodes": 2}, InvalidRequest, "Did you mean local?"),
        ("cpu-cluster", "", {"max_nodes": 2}, InvalidRequest, "size must be the name of a VM size"),
        ("1-cluster", "local", {"max_nodes": 2}, InvalidName, "Invalid compute name '1-cluster'"),
        ("cpu-cluster", "local", {"max_nodes": 0}, InvalidRequest, "max_nodes must be at least 1"),
        ("cpu-cluster", "local", {"max_nodes": 2, "min_nodes": 3}, InvalidRequest, "min_nodes (3) cannot exceed"),
        ("cpu-cluster", "local", {"max_nodes": 2, "min_nodes": -1}, InvalidRequest, "min_nodes must be at least 0"),
        ("cpu-cluster", "local", {"max_nodes": 2.5}, InvalidRequest, "max_nodes must be a whole number"),
        ("cpu-cluster", "local", {"max_nodes": 2, "idle_seconds": -5}, InvalidRequest, "idle_seconds must be at"),
        ("cpu-cluster", "local", {"max_nodes": 2, "tier": "gold"}, InvalidRequest, "Unknown tier 'gold'"),
    ],
)
def test_bad_requests_change_nothing(local_backend, name, size, kwargs, error, text):
    before = stored(local_backend)
    with pytest.raises(error) as caught:
        ensure_cluster(local_backend, name, size, **kwargs)
    assert text in caught.value.message
    assert stored(local_backend) == before


def test_unknown_size_error_names_the_close_ones():
    backend = FakeBackend()
    with pytest.raises(InvalidRequest) as caught:
        ensure_cluster(backend, "cpu-cluster", "Standard_DS3v2", max_nodes=1)
    assert caught.value.code == "unknown_vm_size"
    assert caught.value.details["close"][0] == "Standard_DS3_v2"
    assert backend.requests == []


def test_max_nodes_is_required(local_backend):
    with pytest.raises(TypeError):
        ensure_cluster(local_backend, "cpu-cluster", "local")  # type: ignore[call-arg]


# -- a backend whose operations take time (Azure-shaped) --------------------------------------------


class FakeBackend:
    """Azure-shaped sizes and usage; operations stay Running for ``polls`` reads, then end as ``ends``."""

    kind = "azure"

    def __init__(self, *, polls: int = 2, ends: OperationState = OperationState.SUCCEEDED, error: str | None = None):
        self.sizes = [
            VmSize("Standard_DS3_v2", vcpus=4, memory_gb=14, family="standardDSv2Family", low_priority_capable=True),
            VmSize("Standard_DS4_v2", vcpus=8, memory_gb=28, family="standardDSv2Family", low_priority_capable=True),
        ]
        self.usage = [
            Usage("standardDSv2Family", current=8, limit=24, label="Standard DSv2 Family Cluster Dedicated vCPUs"),
            Usage("TotalDedicatedCores", current=8, limit=100, label="Total Cluster Dedicated Regional vCPUs"),
        ]
        self.computes: dict[str, ComputeInfo] = {}
        self.requests: list[ComputeRequest] = []
        self.polls, self.ends, self.error = polls, ends, error
        self.reads = 0
        self._pending: ComputeRequest | None = None

    def list_sizes(self):
        return list(self.sizes)

    def list_usage(self):
        return list(self.usage)

    def get_compute(self, name):
        if name not in self.computes:
            raise NotFound(f"Compute {name!r} not found.")
        return self.computes[name]

    def create_or_update_compute(self, request):
        self.requests.append(request)
        self._pending = request
        return Operation(id="op-1", kind="compute_update", state=OperationState.RUNNING, description="Create compute")

    def get_operation(self, operation_id):
        self.reads += 1
        if self.reads < self.polls or self.ends is OperationState.RUNNING:
            return Operation(id=operation_id, kind="compute_update", state=OperationState.RUNNING)
        if self.ends is OperationState.SUCCEEDED:
            r = self._pending
            self.computes[r.name] = ComputeInfo(
                r.name, "amlcompute", size=r.size, state="Succeeded", min_nodes=r.min_nodes,
                max_nodes=r.max_nodes, idle_seconds=r.idle_seconds, tier=r.tier, current_nodes=0,
            )  # fmt: skip
        return Operation(id=operation_id, kind="compute_update", state=self.ends, error=self.error)


def test_waits_for_the_operation_and_reports_progress():
    backend = FakeBackend(polls=3)
    seen: list[str] = []
    result = ensure_cluster(
        backend, "cpu-cluster", "standard_ds3_v2", max_nodes=4, on_progress=lambda op: seen.append(op.state.value)
    )
    assert result.action == "created" and result.compute.size == "Standard_DS3_v2"
    assert seen == ["Running", "Running", "Running", "Succeeded"] and backend.reads == 3
    request = backend.requests[0]
    assert (request.size, request.min_nodes, request.max_nodes, request.idle_seconds, request.tier) == (
        "Standard_DS3_v2",
        0,
        4,
        120,
        "dedicated",
    )


def test_azure_quota_is_checked_with_the_family_row():
    backend = FakeBackend()
    with pytest.raises(QuotaExceeded) as caught:  # 5 x 4 = 20 vCPUs; 16 left in the family
        ensure_cluster(backend, "cpu-cluster", "Standard_DS3_v2", max_nodes=5)
    assert "needs 20 dedicated vCPUs but only 16 are left in Standard DSv2 Family" in caught.value.message
    assert "Lower max_nodes to 4" in caught.value.message
    assert backend.requests == []
    # an existing cluster's allocated nodes are its own: given back before a resize is checked
    backend.computes["cpu-cluster"] = ComputeInfo(
        "cpu-cluster", "amlcompute", size="Standard_DS3_v2", min_nodes=0, max_nodes=2, current_nodes=2,
        idle_seconds=120, tier="dedicated",
    )  # fmt: skip
    assert ensure_cluster(backend, "cpu-cluster", "Standard_DS3_v2", max_nodes=6).action == "updated"


def test_failed_and_unfinished_operations_raise():
    with pytest.raises(ProvisioningFailed, match="ended Failed: QuotaExceeded from Azure"):
        ensure_cluster(
            FakeBackend(ends=OperationState.FAILED, error="QuotaExceeded from Azure"), "c1", "Standard_DS3_v2",
            max_nodes=1,
        )  # fmt: skip
    backend = FakeBackend(ends=OperationState.RUNNING)
    with pytest.raises(ProvisioningTimeout) as caught:
        ensure_cluster(backend, "c1", "Standard_DS3_v2", max_nodes=1, timeout=0.3)
    assert caught.value.details["operation"] == "op-1" and backend.requests  # it was sent, and goes on
    # wait=False: back at once with the running operation
    result = ensure_cluster(FakeBackend(ends=OperationState.RUNNING), "c2", "Standard_DS3_v2", max_nodes=1, wait=False)
    assert result.action == "created" and result.operation.state is OperationState.RUNNING
    assert result.compute is None and "Not waited for" in result.notes[0]


def test_unknown_quota_goes_ahead_with_a_note():
    backend = FakeBackend()
    backend.usage = []
    result = ensure_cluster(backend, "c1", "Standard_DS4_v2", max_nodes=50)
    assert result.action == "created" and result.notes and result.notes[0].startswith("Quota not checked")


# -- the bank-marketing example's set-up cell -------------------------------------------------------


def test_the_bank_marketing_example_provisions_its_cluster(azml_home, tmp_path):
    """The example's first code cell, run twice in a real kernel: created, then already there."""
    import nbformat
    from nbclient import NotebookClient

    example = Path(__file__).resolve().parents[1] / "examples" / "bank-marketing" / "bank-marketing.ipynb"
    source = nbformat.read(example, as_version=4)
    code = [cell for cell in source.cells if cell.cell_type == "code"]
    assert 'ensure_cluster(backend, "cpu-cluster"' in code[0].source
    assert "--compute cpu-cluster" in next(c.source for c in code if c.source.startswith("%%azml_submit"))
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(code[0].source), nbformat.v4.new_code_cell(code[0].source)]
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env={**os.environ, "AZML_JUPYTER_BACKEND": "local"})
    printed = [
        "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream") for cell in notebook.cells
    ]
    assert printed[0] == "Created cluster cpu-cluster: local, 0-2 nodes, scales down after 120 s idle, dedicated.\n"
    assert printed[1].endswith(  # after IPython's "already loaded" note for the second %load_ext
        "Cluster cpu-cluster already matches: local, 0-2 nodes, scales down after 120 s idle, dedicated.\n"
    )
    backend = LocalBackend(azml_home)
    assert backend.get_compute("cpu-cluster").max_nodes == 2
    backend.close()
