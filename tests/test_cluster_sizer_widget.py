"""``ClusterSizer`` at the model level (no browser): changing the inputs re-ranks from one cached read
of the backend; Create/Update calls the backend once, in a background thread, and shows the result and
the compute list; errors are shown, not raised. Plus ``%azml_size`` in-process and in a real kernel."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from html import unescape
from pathlib import Path

import pytest

from azml_jupyter.backends.base import ComputeRequest
from azml_jupyter.backends.local import LocalBackend
from azml_jupyter.errors import NotFound
from azml_jupyter.models import ComputeInfo, DataAsset, Operation, OperationState, Usage, VmSize, WorkspaceInfo
from azml_jupyter.sizing import KernelMemory, PriceTable
from azml_jupyter.widgets import ClusterSizer

GIB = 1024**3
PRICES = PriceTable.from_dict(
    {
        "as_of": "2026-11-26",
        "prices": {
            "eastus": {
                "Standard_DS3_v2": {"dedicated": 0.293, "low_priority": 0.035453},
                "Standard_D4s_v3": {"dedicated": 0.192, "low_priority": 0.023232},
                "Standard_E8s_v3": {"dedicated": 0.504, "low_priority": 0.060984},
                "Standard_NC4as_T4_v3": {"dedicated": 0.526, "low_priority": 0.068959},
            }
        },
    },
    origin="widget test prices",
)
KERNEL = KernelMemory(pid=1, rss_bytes=GIB, peak_rss_bytes=2 * GIB, peak_source="VmHWM")  # needs 4 GB


@pytest.fixture(autouse=True)
def _no_local_quota(monkeypatch):
    monkeypatch.delenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA", raising=False)


class AzureShaped:
    """Azure-shaped sizes, quota and region; counts every call; ``create_or_update_compute`` can be held."""

    kind = "azure"

    def __init__(self):
        self.calls: list[str] = []
        self.computes: dict[str, ComputeInfo] = {}
        self.requests = []
        self.hold = threading.Event()
        self.hold.set()

    def _count(self, name: str) -> None:
        self.calls.append(name)

    def workspace(self):
        self._count("workspace")
        return WorkspaceInfo(backend="azure", name="ws", location="eastus")

    def list_sizes(self):
        self._count("list_sizes")
        return [
            VmSize("Standard_DS3_v2", 4, 14, 0, "standardDSv2Family", True),
            VmSize("Standard_D4s_v3", 4, 16, 0, "standardDSv3Family", True),
            VmSize("Standard_E8s_v3", 8, 64, 0, "standardESv3Family", True),
            VmSize("Standard_NC4as_T4_v3", 4, 28, 1, "standardNCASv3_T4Family", True),
        ]

    def list_usage(self):
        self._count("list_usage")
        row = "Standard {} Family Cluster Dedicated vCPUs"
        return [
            Usage("TotalDedicatedCores", 0, 200, label="Total Cluster Dedicated Regional vCPUs"),
            Usage("standardDSv2Family", 0, 100, label=row.format("DSv2")),
            Usage("standardDSv3Family", 0, 16, label=row.format("DSv3")),  # 4 nodes of D4s_v3
            Usage("standardESv3Family", 0, 100, label=row.format("ESv3")),
            Usage("standardNCASv3_T4Family", 0, 100, label=row.format("NCASv3_T4")),
        ]

    def list_computes(self):
        self._count("list_computes")
        return list(self.computes.values())

    def get_compute(self, name):
        self._count("get_compute")
        if name not in self.computes:
            raise NotFound(f"Compute {name!r} not found.")
        return self.computes[name]

    def get_data(self, name, version=None):
        self._count("get_data")
        return DataAsset(name, version or "3", "uri_folder", "azureml://x", size_bytes=4 * GIB)

    def create_or_update_compute(self, request):
        self._count("create_or_update_compute")
        self.requests.append(request)
        self.hold.wait(60)
        self.computes[request.name] = ComputeInfo(
            request.name, "amlcompute", size=request.size, min_nodes=request.min_nodes,
            max_nodes=request.max_nodes, idle_seconds=request.idle_seconds, tier=request.tier,
        )  # fmt: skip
        return Operation(id="op", kind="compute_update", state=OperationState.SUCCEEDED)

    def get_operation(self, operation_id):
        return Operation(id=operation_id, kind="compute_update", state=OperationState.SUCCEEDED)


def text(widget) -> str:
    """What an HTML widget shows: tags dropped, entities decoded, white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", widget.value)).split())


def sizer_for(backend, **kwargs) -> ClusterSizer:
    return ClusterSizer(backend, prices=PRICES, kernel_memory=KERNEL, **kwargs)


# -- inputs -> ranking --------------------------------------------------------------------------------


def test_changing_inputs_updates_the_ranking_from_one_read_of_the_backend(tmp_path):
    backend = AzureShaped()
    sizer = sizer_for(backend, max_nodes=2)
    assert sizer.region_input.value == "eastus"  # the workspace's region
    assert sizer.ranking == ["Standard_D4s_v3", "Standard_DS3_v2", "Standard_E8s_v3", "Standard_NC4as_T4_v3"]
    assert sizer.size_input.value == "Standard_D4s_v3"
    assert "data-size='Standard_D4s_v3'" in sizer.table.value and "kernel peak 2.0 GB x 1.5" in sizer.table.value
    assert "at max nodes (2 nodes): $0.384/h" in sizer.cost.value and "idle: $0/h" in sizer.cost.value
    assert "peak 2.0 GB (VmHWM)" in sizer.kernel_info.value

    sizer.memory_input.value = 20  # explicit memory per node
    assert sizer.ranking == ["Standard_E8s_v3", "Standard_NC4as_T4_v3"]
    assert sizer.size_input.value == "Standard_E8s_v3"
    sizer.gpus_input.value = 1
    assert sizer.ranking == ["Standard_NC4as_T4_v3"]
    sizer.gpus_input.value = 0
    sizer.memory_input.value = 0  # back to kernel + data

    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * (2 * 1024**2))
    sizer.data_input.value = str(data)
    assert "2 MB on disk" in sizer.data_info.value
    sizer.data_input.value = "azureml:bank:3"  # a data asset's recorded size: 4 GB x 5 + 1 = 21 GB
    assert "azureml:bank:3: 4.0 GB" in sizer.data_info.value
    assert sizer.ranking == ["Standard_E8s_v3", "Standard_NC4as_T4_v3"]
    sizer.data_input.value = ""
    sizer.kernel_input.value = False  # without the kernel's memory only the 1 GB reserve is needed
    assert sizer.ranking[0] == "Standard_D4s_v3"

    sizer.max_nodes_input.value = 5  # 5 x 4 vCPUs is over the 16 left for DSv3
    assert "Standard_D4s_v3" not in sizer.ranking and sizer.ranking[0] == "Standard_DS3_v2"
    assert "azml-sizer-over-quota" in sizer.table.value and "only 16 are left" in sizer.table.value
    sizer.tier_input.value = "low_priority"
    assert "$0.035/h per node" in sizer.table.value
    sizer.region_input.value = ""
    assert "price unknown" in sizer.cost.value

    # many changes, one read of each
    assert {call: backend.calls.count(call) for call in set(backend.calls)} == {
        "workspace": 1,
        "list_sizes": 1,
        "list_usage": 1,
        "list_computes": 1,
        "get_data": 1,
    }


def test_the_cost_estimate_follows_min_nodes_and_idle_time():
    sizer = sizer_for(AzureShaped(), max_nodes=2)
    sizer.min_nodes_input.value = 1
    assert "idle: $0.192/h (1 node kept running; set min nodes to 0" in sizer.cost.value
    sizer.idle_input.value = 30  # 30 min x 2 nodes x $0.192/h
    assert "each 30 min wait before scale-down costs up to $0.192" in sizer.cost.value
    sizer.size_input.value = "Standard_DS3_v2"  # another size chosen by hand
    assert "Cost of Standard_DS3_v2" in sizer.cost.value and "$0.586/h" in sizer.cost.value
    sizer.max_nodes_input.value = 3  # re-ranked: the chosen size stays chosen while it qualifies
    assert sizer.size_input.value == "Standard_DS3_v2"


def test_bad_inputs_disable_create():
    sizer = sizer_for(AzureShaped(), max_nodes=2)
    assert not sizer.create_button.disabled and sizer.create_button.description == "Create cpu-cluster"
    sizer.min_nodes_input.value = 3
    assert sizer.create_button.disabled and "Min nodes (3) cannot exceed max nodes (2)" in sizer.problems.value
    sizer.min_nodes_input.value = 0
    sizer.name_input.value = "9 bad"
    assert sizer.create_button.disabled and "Invalid compute name '9 bad'" in unescape(sizer.problems.value)
    sizer.name_input.value = "cpu-cluster"
    sizer.data_input.value = "/no/such/file"
    assert sizer.create_button.disabled and "No file or folder at /no/such/file" in unescape(sizer.problems.value)
    sizer.data_input.value = ""
    sizer.memory_input.value = 10_000  # nothing that large
    assert sizer.ranking == [] and sizer.create_button.disabled
    assert "the largest size offered, Standard_E8s_v3, has 64 GB" in sizer.table.value


# -- Create/Update ------------------------------------------------------------------------------------


def test_create_calls_the_backend_once_and_shows_the_cluster():
    backend = AzureShaped()
    backend.hold.clear()  # the create waits until released
    sizer = sizer_for(backend, max_nodes=2)
    sizer.create_button.click()
    assert sizer.create_button.disabled and "Creating cpu-cluster (Standard_D4s_v3)" in sizer.progress.value
    sizer.create_button.click()  # a second click while it runs does nothing
    sizer.max_nodes_input.value = 3  # neither does typing
    assert sizer.create_button.disabled
    backend.hold.set()
    assert sizer.wait(60)
    assert backend.calls.count("create_or_update_compute") == 1
    request = backend.requests[0]
    assert (request.name, request.size, request.min_nodes, request.max_nodes, request.idle_seconds, request.tier) == (
        "cpu-cluster",
        "Standard_D4s_v3",
        0,
        2,
        120,
        "dedicated",
    )
    assert sizer.error is None and sizer.last_ensure.action == "created"
    assert "Created cluster cpu-cluster: Standard_D4s_v3, 0-2 nodes" in sizer.result_view.value
    assert "cpu-cluster Standard_D4s_v3 0-2 120 s dedicated" in text(sizer.computes_view) and sizer.progress.value == ""
    assert sizer.create_button.description == "Update cpu-cluster" and not sizer.create_button.disabled


def test_create_and_update_on_the_local_backend(local_backend):
    sizer = ClusterSizer(local_backend, max_nodes=2, kernel_memory=KERNEL)
    assert sizer.ranking == ["local"] and sizer.region_input.value == ""  # the local engine has no region
    assert "no charge (runs on this machine)" in sizer.cost.value
    sizer.create()
    assert sizer.wait(60) and sizer.error is None
    compute = local_backend.get_compute("cpu-cluster")
    assert (compute.size, compute.min_nodes, compute.max_nodes, compute.idle_seconds) == ("local", 0, 2, 120)
    assert [c.name for c in local_backend.list_computes()] == ["cpu-cluster", "local"]
    sizer.max_nodes_input.value = 3
    sizer.create()
    assert sizer.wait(60) and sizer.last_ensure.changes == {"max_nodes": (2, 3)}
    assert "Updated cluster cpu-cluster: max_nodes 2 -> 3" in unescape(sizer.result_view.value)


def test_over_quota_is_shown_and_nothing_is_created(azml_home):
    vcpus = os.cpu_count() or 1
    default_nodes = LocalBackend(azml_home).get_compute("local").max_nodes
    backend = LocalBackend(azml_home, local_vcpu_quota=(default_nodes + 1) * vcpus)  # one node left
    sizer = ClusterSizer(backend, max_nodes=2, kernel_memory=KERNEL)
    assert sizer.ranking == [] and "azml-sizer-over-quota" in sizer.table.value
    assert sizer.create_button.disabled  # nothing to create
    sizer.max_nodes_input.value = 1
    assert sizer.ranking == ["local"]
    # the quota changes behind the widget's back (another cluster takes the last node): the error is shown
    backend.create_or_update_compute(ComputeRequest("other", max_nodes=1))
    sizer.create()
    assert sizer.wait(60)
    assert "Cannot create cluster 'cpu-cluster' with 1 x local" in unescape(sizer.result_view.value)
    assert "azml-error" in sizer.result_view.value
    with pytest.raises(NotFound):
        backend.get_compute("cpu-cluster")
    assert sizer.ranking == []  # re-read after the attempt: the quota is used up
    sizer.name_input.value = "other"  # sizing an existing cluster: its own claim does not count against it
    assert sizer.ranking == ["local"] and sizer.create_button.description == "Update other"


# -- %azml_size ---------------------------------------------------------------------------------------


def test_magic_in_process(local_backend, monkeypatch):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    from azml_jupyter import settings

    monkeypatch.setattr(settings, "_process_backend", local_backend)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "azml_jupyter")
    sizer = shell.run_line_magic("azml_size", "--max-nodes 3 --min-nodes 1 --memory 2 --name sized --idle-minutes 5")
    assert isinstance(sizer, ClusterSizer)
    assert (sizer.name_input.value, sizer.max_nodes_input.value, sizer.min_nodes_input.value) == ("sized", 3, 1)
    assert (sizer.memory_input.value, sizer.idle_input.value, sizer.ranking) == (2, 5, ["local"])
    with pytest.raises(UsageError, match="invalid int value"):
        shell.run_line_magic("azml_size", "--max-nodes many")
    with pytest.raises(UsageError, match="invalid choice"):
        shell.run_line_magic("azml_size", "--tier gold")


def test_loading_the_magics_does_not_import_ipywidgets():
    code = "import sys, azml_jupyter.magic, azml_jupyter.widgets; assert 'ipywidgets' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_widget_and_magic_in_a_real_kernel(azml_home, tmp_path: Path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [
        "%load_ext azml_jupyter",
        "%azml_size --max-nodes 2",
        "import os\nfrom azml_jupyter.widgets import ClusterSizer\nsizer = ClusterSizer(max_nodes=2)\n"
        "print(sizer.ranking, sizer.kernel_memory.pid == os.getpid())\n"
        "sizer.create_button.click()\nprint(sizer.wait(60), sizer.error)\nprint(sizer.last_ensure)",
    ]
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=dict(os.environ))
    views = [o for o in notebook.cells[1].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1
    text = "".join(o.get("text", "") for o in notebook.cells[2].outputs if o["output_type"] == "stream")
    assert text.splitlines() == [
        "['local'] True",
        "True None",
        "Created cluster cpu-cluster: local, 0-2 nodes, scales down after 120 s idle, dedicated.",
    ]
    backend = LocalBackend(azml_home)
    assert backend.get_compute("cpu-cluster").max_nodes == 2
    backend.close()


# -- an existing cluster: its own settings, and no shrink without asking -------------------------------


def test_an_existing_cluster_prefills_its_settings_and_update_changes_nothing():
    backend = AzureShaped()
    backend.computes["cpu-cluster"] = ComputeInfo(
        "cpu-cluster", "amlcompute", size="Standard_DS3_v2", min_nodes=1, max_nodes=2, idle_seconds=600,
        tier="low_priority",
    )  # fmt: skip
    sizer = sizer_for(backend)  # as %azml_size opens it: no node counts given
    assert (sizer.min_nodes_input.value, sizer.max_nodes_input.value) == (1, 2)
    assert (sizer.tier_input.value, sizer.idle_input.value) == ("low_priority", 10)
    assert sizer.size_input.value == "Standard_DS3_v2"  # its own size, though another ranks first
    assert sizer.create_button.description == "Update cpu-cluster"
    sizer.create_button.click()
    assert sizer.wait(60) and sizer.last_ensure.action == "unchanged"
    assert backend.calls.count("create_or_update_compute") == 0

    # typing another existing cluster's name shows that cluster's settings
    backend.computes["gpu"] = ComputeInfo("gpu", "amlcompute", size="Standard_NC4as_T4_v3", max_nodes=4)
    sizer.refresh()
    sizer.name_input.value = "gpu"
    assert sizer.max_nodes_input.value == 4 and sizer.tier_input.value == "dedicated"
    # a new name keeps what is in the inputs
    sizer.name_input.value = "new-cluster"
    assert sizer.max_nodes_input.value == 4 and sizer.create_button.description == "Create new-cluster"


def test_given_settings_win_over_the_clusters_own():
    backend = AzureShaped()
    backend.computes["cpu-cluster"] = ComputeInfo("cpu-cluster", "amlcompute", size="Standard_D4s_v3", max_nodes=2)
    sizer = sizer_for(backend, max_nodes=3)
    assert sizer.max_nodes_input.value == 3 and sizer.min_nodes_input.value == 0


def test_a_shrink_asks_first_and_keep_changes_nothing():
    backend = AzureShaped()
    backend.computes["cpu-cluster"] = ComputeInfo(
        "cpu-cluster", "amlcompute", size="Standard_D4s_v3", max_nodes=2, idle_seconds=120, tier="dedicated",
        current_nodes=2, queued_jobs=1,
    )  # fmt: skip
    sizer = sizer_for(backend)
    sizer.max_nodes_input.value = 1
    sizer.create_button.click()
    assert sizer.wait(1) and backend.calls.count("create_or_update_compute") == 0
    assert sizer.shrink_box.layout.display != "none"
    warning = unescape(sizer.shrink_warning.value)
    assert "shrinks cpu-cluster from 2 to 1 max node" in warning
    assert "2 nodes busy now, 1 job waiting" in warning and "1 running job beyond the new limit" in warning
    sizer.keep_button.click()
    assert sizer.shrink_box.layout.display == "none" and sizer.pending_shrink is None
    assert backend.calls.count("create_or_update_compute") == 0

    sizer.create_button.click()  # asks again
    assert sizer.pending_shrink
    sizer.max_nodes_input.value = 3  # any change of the inputs withdraws the question
    assert sizer.pending_shrink is None and sizer.shrink_box.layout.display == "none"
    sizer.max_nodes_input.value = 1
    sizer.create_button.click()
    sizer.shrink_button.click()  # confirmed
    assert sizer.wait(60) and sizer.error is None
    assert backend.requests[-1].max_nodes == 1 and sizer.last_ensure.changes == {"max_nodes": (2, 1)}


def test_growing_a_cluster_does_not_ask(local_backend):
    local_backend.create_or_update_compute(ComputeRequest("cpu-cluster", max_nodes=2))
    sizer = ClusterSizer(local_backend, kernel_memory=KERNEL)
    assert sizer.max_nodes_input.value == 2  # the cluster's own, not the default 1
    sizer.max_nodes_input.value = 3
    sizer.create()
    assert sizer.pending_shrink is None
    assert sizer.wait(60) and local_backend.get_compute("cpu-cluster").max_nodes == 3
