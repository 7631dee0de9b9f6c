"""The fake Azure ML service, proven with the real azure-ai-ml SDK (1.28.1 .. 1.35.x).

Each test calls a public SDK method (or, for log reads, the SDK's own HTTP pipeline) and checks
both what the SDK returned and what the fake saw on the wire.
"""

from __future__ import annotations

import hashlib
import socket
import textwrap
from pathlib import Path

import jwt
import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceResponseError,
)

from .credential import FakeCredential, decode_token
from .service import FakeAzureML
from .transport import NetworkBlocked, block_network

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*marshmallow.*"),
    pytest.mark.filterwarnings("ignore:.*Number.*field should not be instantiated.*"),
]


def _sdk_version() -> tuple:
    from importlib.metadata import version

    return tuple(int(p) for p in version("azure-ai-ml").split(".")[:2])


SDK_VERSION = _sdk_version()


def value(x):
    """``JobStatus.QUEUED`` (1.35) and ``"Queued"`` (1.28) both -> ``"Queued"``."""
    return getattr(x, "value", x)


def wire_or_snake(obj, snake: str, wire: str):
    """1.35 leaves ``VmSize``/``Usage`` snake_case attributes None and keeps wire names in __dict__."""
    got = getattr(obj, snake, None)
    return got if got is not None else vars(obj).get(wire)


def routes(fake: FakeAzureML, *, since: int = 0):
    return [r.route for r in fake.requests[since:]]


# ------------------------------------------------------------------------------------------------
# workspace, computes, sizes, usage
# ------------------------------------------------------------------------------------------------


def test_workspace_get_gives_location_and_discovery(ml_client, fake_azureml):
    ws = ml_client.workspaces.get(fake_azureml.workspace_name)
    assert ws.name == fake_azureml.workspace_name
    assert ws.location == "eastus"
    assert ws.discovery_url == f"https://{fake_azureml.api_host}/discovery"
    assert routes(fake_azureml) == ["workspace.get"]


def test_compute_list_returns_seeded_cluster(ml_client, fake_azureml):
    fake_azureml.add_compute("cpu-cluster", vm_size="STANDARD_DS3_V2", max_nodes=4, current_nodes=1)
    computes = list(ml_client.compute.list())
    assert [c.name for c in computes] == ["cpu-cluster"]
    c = computes[0]
    assert c.type == "amlcompute"
    assert c.size == "STANDARD_DS3_V2"
    assert (c.min_instances, c.max_instances) == (0, 4)
    assert value(c.provisioning_state) == "Succeeded"
    assert routes(fake_azureml) == ["compute.list"]


def test_compute_get_unknown_is_resource_not_found(ml_client, fake_azureml):
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("nope")


def test_compute_create_is_a_long_running_operation(ml_client, fake_azureml, fake_transport):
    from azure.ai.ml.entities import AmlCompute

    poller = ml_client.compute.begin_create_or_update(
        AmlCompute(name="gpu-cluster", size="Standard_NC6s_v3", min_instances=0, max_instances=2)
    )
    created = poller.result()
    assert created.name == "gpu-cluster"
    assert created.size == "Standard_NC6s_v3"
    assert created.max_instances == 2
    assert value(created.provisioning_state) == "Succeeded"
    # The PUT answered "Creating" with Azure-AsyncOperation; the SDK polled it, then read the compute.
    assert routes(fake_azureml) == ["workspace.get", "compute.put", "compute.operation", "compute.get"]
    put = fake_azureml.requests_for("compute.put")[0]
    assert put.json()["properties"]["properties"]["scaleSettings"]["maxNodeCount"] == 2
    assert fake_azureml.computes["gpu-cluster"]["properties"]["provisioningState"] == "Succeeded"


def test_compute_create_that_fails_raises(ml_client, fake_azureml):
    from azure.ai.ml.entities import AmlCompute

    fake_azureml.fail_next_compute_provisioning("Quota exceeded for family NCSv3")
    with pytest.raises(HttpResponseError):
        ml_client.compute.begin_create_or_update(
            AmlCompute(name="big", size="Standard_NC6s_v3", max_instances=50)
        ).result()
    assert fake_azureml.computes["big"]["properties"]["provisioningState"] == "Failed"


def test_compute_delete_is_a_long_running_operation(ml_client, fake_azureml):
    fake_azureml.add_compute("old-cluster")
    ml_client.compute.begin_delete("old-cluster").result()
    assert "old-cluster" not in fake_azureml.computes
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("old-cluster")


def test_list_sizes_reads_both_attribute_spellings(ml_client, fake_azureml):
    fake_azureml.add_vm_size("Standard_E4s_v3", family="standardESv3Family", vcpus=4, memory_gb=32.0, gpus=0)
    sizes = {s.name: s for s in ml_client.compute.list_sizes()}
    assert set(sizes) == {"Standard_DS3_v2", "Standard_NC6s_v3", "Standard_E4s_v3"}
    nc = sizes["Standard_NC6s_v3"]
    assert nc.family == "standardNCSv3Family"
    assert nc.gpus == 1
    assert wire_or_snake(nc, "v_cp_us", "vCPUs") == 6
    assert wire_or_snake(nc, "memory_gb", "memoryGB") == 112.0
    assert wire_or_snake(nc, "low_priority_capable", "lowPriorityCapable") is True
    assert routes(fake_azureml) == ["workspace.get", "compute.sizes"]


def test_list_usage_reads_both_attribute_spellings(ml_client, fake_azureml):
    fake_azureml.add_usage("standardNCSv3Family", "Standard NCSv3 Family vCPUs", current=12, limit=24)
    usages = list(ml_client.compute.list_usage())
    by_family = {}
    for u in usages:
        name = u.name if isinstance(u.name, dict) else vars(u.name) if u.name is not None else {}
        by_family[name.get("value")] = u
    nc = by_family["standardNCSv3Family"]
    assert wire_or_snake(nc, "current_value", "currentValue") == 12
    assert nc.limit == 24
    assert wire_or_snake(nc, "aml_workspace_location", "amlWorkspaceLocation") == "eastus"
    assert routes(fake_azureml) == ["workspace.get", "compute.usages"]


# ------------------------------------------------------------------------------------------------
# datastores and data assets
# ------------------------------------------------------------------------------------------------


def test_default_datastore_and_its_secret(ml_client, fake_azureml):
    ds = ml_client.datastores.get_default()
    assert ds.name == "workspaceblobstore"
    assert ds.account_name == fake_azureml.storage_account
    assert ds.container_name == fake_azureml.blobstore_container
    with_secret = ml_client.datastores.get("workspaceblobstore", include_secrets=True)
    assert "sig=" in with_secret.credentials.sas_token
    assert "datastore.secrets" in routes(fake_azureml)


def test_data_asset_from_remote_uri(ml_client, fake_azureml):
    from azure.ai.ml.entities import Data

    d = ml_client.data.create_or_update(
        Data(name="iris", version="1", path="https://example.com/data/iris.csv", type="uri_file")
    )
    assert (d.name, d.version, d.type) == ("iris", "1", "uri_file")
    assert d.path == "https://example.com/data/iris.csv"
    assert routes(fake_azureml) == ["asset.put"]
    assert fake_azureml.assets[("data", "iris")]["1"]["properties"]["dataUri"] == "https://example.com/data/iris.csv"


def test_data_asset_from_local_file_uploads_through_storage_hook(ml_client, fake_azureml, tmp_path):
    from azure.ai.ml.entities import Data

    src = tmp_path / "train.csv"
    src.write_text("a,b\n1,2\n")
    d = ml_client.data.create_or_update(Data(name="train", path=str(src), type="uri_file"))
    assert d.version == "1"
    assert d.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert d.path.endswith("/train.csv")
    blob_name = d.path.split("/paths/", 1)[1]
    blob = fake_azureml.get_blob(fake_azureml.blobstore_container, blob_name)
    assert blob.data == b"a,b\n1,2\n"
    assert blob.metadata.get("upload_status") == "completed"
    storage = [r for r in fake_azureml.requests if r.host_kind == "blob"]
    assert storage and all(r.via == "requests-hook" for r in storage)
    assert {"datastore.get", "datastore.secrets"} <= set(routes(fake_azureml))


def test_data_asset_from_local_folder(ml_client, fake_azureml, tmp_path):
    from azure.ai.ml.entities import Data

    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("BB")
    d = ml_client.data.create_or_update(Data(name="images", version="3", path=str(folder), type="uri_folder"))
    prefix = d.path.split("/paths/", 1)[1]
    names = fake_azureml.blob_names(fake_azureml.blobstore_container, prefix)
    assert sorted(n[len(prefix) :].lstrip("/") for n in names) == ["a.txt", "sub/b.txt"]


def test_data_versions_and_latest(ml_client, fake_azureml):
    from azure.ai.ml.entities import Data

    for v in ("1", "2", "3"):
        ml_client.data.create_or_update(
            Data(name="sales", version=v, path=f"https://example.com/sales/{v}/", type="uri_folder")
        )
    latest = ml_client.data.get("sales", label="latest")
    assert latest.version == "3"
    assert sorted(d.version for d in ml_client.data.list(name="sales")) == ["1", "2", "3"]
    assert ml_client.data.get("sales", version="2").path == "https://example.com/sales/2/"
    # auto-increment: no version given -> the container's nextVersion
    auto = ml_client.data.create_or_update(Data(name="sales", path="https://example.com/sales/4/", type="uri_folder"))
    assert auto.version == "4"
    with pytest.raises(ResourceNotFoundError):
        ml_client.data.get("sales", version="9")


def test_data_version_is_immutable(ml_client, fake_azureml):
    from azure.ai.ml.entities import Data

    ml_client.data.create_or_update(Data(name="x", version="1", path="https://example.com/a", type="uri_file"))
    with pytest.raises(Exception) as exc_info:
        ml_client.data.create_or_update(Data(name="x", version="1", path="https://example.com/b", type="uri_file"))
    assert "already exists" in str(exc_info.value)


# ------------------------------------------------------------------------------------------------
# command jobs
# ------------------------------------------------------------------------------------------------


def write_command_job(tmp_path: Path, *, name: str = "") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "train.py").write_text("print('training')\n")
    (tmp_path / "job.yml").write_text(
        textwrap.dedent(
            f"""
            $schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
            {f"name: {name}" if name else ""}
            command: python train.py --out ${{{{outputs.model}}}}
            code: ./src
            environment: azureml:sklearn:1
            compute: azureml:cpu-cluster
            experiment_name: fake-tests
            outputs:
              model:
                type: uri_folder
            """
        )
    )
    return tmp_path / "job.yml"


@pytest.fixture
def seeded(fake_azureml):
    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.add_environment("sklearn", "1")
    return fake_azureml


def submit_simple(ml_client, name: str):
    from azure.ai.ml import command

    job = command(
        name=name,
        command="echo hello",
        environment="azureml:sklearn:1",
        compute="cpu-cluster",
        outputs={"model": {"type": "uri_folder"}},
    )
    return ml_client.jobs.create_or_update(job)


def test_command_job_yaml_uploads_code_then_submits(ml_client, seeded, tmp_path):
    from azure.ai.ml import load_job

    job = ml_client.jobs.create_or_update(load_job(write_command_job(tmp_path)))
    assert value(job.status) == "Starting"
    assert job.compute == "cpu-cluster"
    assert job.studio_url.startswith("https://ml.azure.com/runs/")
    assert "tid=" in job.studio_url  # the SDK decoded our JWT for the tenant id
    assert routes(seeded) == [
        "asset.versions",  # code by hash: none yet
        "asset.pending_upload",
        "blob.head",
        "blob.put",
        "blob.put",  # metadata upload_status=completed
        "asset.put",  # the code version
        "jobs.put",
    ]
    (code_name,) = [name for (kind, name) in seeded.assets if kind == "codes"]
    code_uri = seeded.assets[("codes", code_name)]["1"]["properties"]["codeUri"]
    assert seeded.blob_text(code_uri + "/train.py") == "print('training')\n"
    put = seeded.requests_for("jobs.put")[0].json()["properties"]
    assert put["codeId"].endswith(f"/codes/{code_name}/versions/1")
    assert put["command"].startswith("python train.py")


def test_latest_labels_in_yaml_resolve_through_list_ordering(ml_client, fake_azureml, tmp_path):
    from azure.ai.ml import load_job

    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.add_environment("sklearn", "5")
    fake_azureml.add_environment("sklearn", "4")  # created last: "latest" by creation time, not by number
    fake_azureml.add_data("sales", "1", path="https://example.com/1/")
    fake_azureml.add_data("sales", "2", path="https://example.com/2/")
    (tmp_path / "job.yml").write_text(
        textwrap.dedent(
            """
            command: echo ${{inputs.d}}
            environment: azureml:sklearn@latest
            compute: azureml:cpu-cluster
            inputs:
              d:
                type: uri_folder
                path: azureml:sales@latest
            """
        )
    )
    ml_client.jobs.create_or_update(load_job(tmp_path / "job.yml"))
    env_list = fake_azureml.requests_for("asset.versions")[0]
    assert "/environments/sklearn/versions" in env_list.path
    assert "$orderBy=createdtime" in requests.utils.unquote(env_list.url)
    put = fake_azureml.requests_for("jobs.put")[0].json()["properties"]
    assert put["environmentId"].endswith("/environments/sklearn/versions/4")
    assert put["inputs"]["d"]["uri"].endswith("/data/sales/versions/2")


def test_status_moves_one_step_per_get(ml_client, seeded):
    job = submit_simple(ml_client, "steady-job")
    assert value(job.status) == "Starting"
    seen = [value(ml_client.jobs.get("steady-job").status) for _ in range(4)]
    assert seen == ["Queued", "Running", "Completed", "Completed"]


def test_plan_can_end_failed_with_an_error(ml_client, seeded):
    seeded.configure_job(
        "doomed", plan=["Starting", "Running", "Failed"], error={"code": "UserError", "message": "boom"}
    )
    submit_simple(ml_client, "doomed")
    assert [value(ml_client.jobs.get("doomed").status) for _ in range(2)] == ["Running", "Failed"]
    details = ml_client.jobs._runs_operations.get_run_details("doomed")
    assert details.status == "Failed"
    assert details.error.error.message == "boom"


def test_hold_keeps_a_job_running_until_released(ml_client, seeded):
    seeded.hold_job("long-job", at="Running")
    submit_simple(ml_client, "long-job")
    assert [value(ml_client.jobs.get("long-job").status) for _ in range(5)] == ["Queued"] + ["Running"] * 4
    seeded.release_job("long-job")
    assert value(ml_client.jobs.get("long-job").status) == "Completed"


def test_default_plan_applies_to_generated_names(ml_client, seeded):
    seeded.default_plan = ["Queued", "Failed"]
    job = submit_simple(ml_client, None)
    assert value(job.status) == "Queued"
    assert seeded.last_job() == job.name
    assert value(ml_client.jobs.get(job.name).status) == "Failed"


def test_usage_example(ml_client, fake_azureml):
    """The example given to other engineers: seed, submit, advance, read the log."""
    from azure.ai.ml import command

    fake_azureml.add_compute("cpu-cluster", max_nodes=2)
    fake_azureml.add_environment("sklearn", "1")
    fake_azureml.configure_job("demo", logs={"Running": "epoch 1\n"})
    ml_client.jobs.create_or_update(
        command(name="demo", command="python train.py", environment="azureml:sklearn:1", compute="cpu-cluster")
    )
    assert fake_azureml.advance_job("demo") == "Queued"  # same step a jobs.get takes
    assert value(ml_client.jobs.get("demo").status) == "Running"
    url = ml_client.jobs._runs_operations.get_run_details("demo").log_files["user_logs/std_log.txt"]
    assert ml_client.jobs._requests_pipeline.get(url).text() == "epoch 1\n"
    fake_azureml.set_job_status("demo", "Failed")
    assert value(ml_client.jobs.get("demo").status) == "Failed"


def test_jobs_list_newest_first_and_paged(ml_client, seeded):
    names = [f"job-{i:02d}" for i in range(23)]
    for name in names:
        submit_simple(ml_client, name)
    listed = [j.name for j in ml_client.jobs.list()]
    assert listed == list(reversed(names))
    assert seeded.count("jobs.list") == 2  # page size 20 -> the SDK followed nextLink once


def test_cancel_is_a_long_running_operation(ml_client, seeded):
    seeded.hold_job("to-cancel", at="Running")
    submit_simple(ml_client, "to-cancel")
    ml_client.jobs.get("to-cancel")
    ml_client.jobs.begin_cancel("to-cancel").result()
    assert routes(seeded)[-2:] == ["jobs.cancel", "jobs.operation"]
    assert seeded.jobs["to-cancel"].status == "CancelRequested"
    assert value(ml_client.jobs.get("to-cancel").status) == "Canceled"


def test_unknown_job_is_resource_not_found(ml_client, seeded):
    with pytest.raises(ResourceNotFoundError):
        ml_client.jobs.get("never-submitted")


# ------------------------------------------------------------------------------------------------
# pipeline jobs
# ------------------------------------------------------------------------------------------------

PIPELINE_YAML = """
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: two-steps
settings:
  default_compute: azureml:cpu-cluster
jobs:
  prep:
    type: command
    command: python train.py --out ${{outputs.out}}
    code: ./src
    environment: azureml:sklearn:1
    outputs:
      out:
        type: uri_folder
  train:
    type: command
    command: python train.py --in ${{inputs.data}}
    code: ./src
    environment: azureml:sklearn:1
    inputs:
      data: ${{parent.jobs.prep.outputs.out}}
"""


def write_pipeline(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "train.py").write_text("print('step')\n")
    (tmp_path / "pipeline.yml").write_text(PIPELINE_YAML)
    return tmp_path / "pipeline.yml"


def test_pipeline_submit_and_children(ml_client, seeded, fake_credential, tmp_path):
    from azure.ai.ml import load_job

    job = ml_client.jobs.create_or_update(load_job(write_pipeline(tmp_path)))
    assert value(job.status) == "Starting"
    assert job.type == "pipeline"
    # The submit asked for an Azure ML token and sent it along.
    assert ("https://ml.azure.com/.default",) in [c.scopes for c in fake_credential.calls]
    put = seeded.requests_for("jobs.put")[0]
    assert decode_token(put.headers["x-azureml-token"])["aud"] == "https://ml.azure.com"
    assert set(put.json()["properties"]["jobs"]) == {"prep", "train"}
    assert seeded.count("asset.put") == 4  # two code versions + two anonymous components

    children = list(ml_client.jobs.list(parent_job_name=job.name))
    assert sorted(c.display_name for c in children) == ["prep", "train"]
    assert all(c.compute == "cpu-cluster" for c in children)
    assert "runs.children" in routes(seeded)
    # jobs.list(parent_job_name=...) fetched the parent first, which moved it to Queued.
    assert {value(c.status) for c in children} == {"Queued"}

    child = ml_client.jobs.get(children[0].name)  # ARM says "child": the SDK falls back to run history
    assert child.display_name == children[0].display_name
    assert routes(seeded)[-2:] == ["jobs.get", "runs.get"]


def test_pipeline_submit_needs_an_ml_audience_token(make_ml_client, seeded, tmp_path):
    from azure.ai.ml import load_job

    class ArmOnlyCredential(FakeCredential):
        def get_token(self, *scopes, **kwargs):
            return super().get_token("https://management.azure.com/.default", **kwargs)

    client = make_ml_client(credential=ArmOnlyCredential())
    with pytest.raises(Exception, match="AAD token with aml scope"):
        client.jobs.create_or_update(load_job(write_pipeline(tmp_path)))
    assert seeded.count("jobs.put") == 0


def test_canceling_a_pipeline_cancels_its_children(ml_client, seeded, tmp_path):
    from azure.ai.ml import load_job

    job = ml_client.jobs.create_or_update(load_job(write_pipeline(tmp_path)))
    ml_client.jobs.begin_cancel(job.name).result()
    assert value(ml_client.jobs.get(job.name).status) == "Canceled"
    assert {value(c.status) for c in ml_client.jobs.list(parent_job_name=job.name)} == {"Canceled"}


# ------------------------------------------------------------------------------------------------
# logs and outputs
# ------------------------------------------------------------------------------------------------


def read_log(ml_client, url: str, offset: int):
    """What a log tailer does: a ranged GET through the SDK's own pipeline (transport, retries)."""
    resp = ml_client.jobs._requests_pipeline.get(url, headers={"Range": f"bytes={offset}-"})
    if resp.status_code == 416:  # nothing past offset yet
        return b""
    assert resp.status_code in (200, 206), resp.status_code
    return resp.read() if hasattr(resp, "read") else resp.content


def test_log_files_grow_and_are_read_incrementally(ml_client, seeded):
    seeded.configure_job("chatty", logs={"Running": "epoch 1 loss=0.9\n"})
    submit_simple(ml_client, "chatty")
    ml_client.jobs.get("chatty")  # Queued: no log yet
    assert ml_client.jobs._runs_operations.get_run_details("chatty").log_files == {}
    ml_client.jobs.get("chatty")  # Running: the plan wrote the first line

    details = ml_client.jobs._runs_operations.get_run_details("chatty")
    assert value(details.status) == "Running"
    url = details.log_files["user_logs/std_log.txt"]
    assert url.startswith(f"https://{seeded.storage_account}.blob.core.windows.net/azureml/ExperimentRun/dcid.chatty/")
    assert "sig=" in url

    got = read_log(ml_client, url, 0)
    assert got == b"epoch 1 loss=0.9\n"
    offset = len(got)
    assert read_log(ml_client, url, offset) == b""  # 416 past the end
    seeded.append_log("chatty", "epoch 2 loss=0.5\n")
    seeded.append_log("chatty", "epoch 3 loss=0.2\n")
    more = read_log(ml_client, url, offset)
    assert more == b"epoch 2 loss=0.5\nepoch 3 loss=0.2\n"
    # Log reads went through MLClient's transport (not the storage hook), after one discovery.
    blob_reads = [r for r in seeded.requests if r.route == "blob.get"]
    assert blob_reads and all(r.via == "transport" for r in blob_reads)
    assert seeded.count("discovery") == 1


def finished_job_with_outputs(ml_client, fake, name: str) -> None:
    submit_simple(ml_client, name)
    fake.append_log(name, "done\n")
    for _ in range(3):
        ml_client.jobs.get(name)
    fake.put_job_output(name, "model", {"model.pkl": b"\x80PICKLE", "meta/info.json": '{"acc": 0.9}'})
    fake.put_job_artifact(name, "outputs/metrics.json", '{"loss": 0.1}')


def test_jobs_download_named_output(ml_client, seeded, tmp_path):
    finished_job_with_outputs(ml_client, seeded, "trained")
    dest = tmp_path / "dl"
    ml_client.jobs.download("trained", download_path=str(dest), output_name="model")
    assert (dest / "named-outputs" / "model" / "model.pkl").read_bytes() == b"\x80PICKLE"
    assert (dest / "named-outputs" / "model" / "meta" / "info.json").read_text() == '{"acc": 0.9}'
    assert "runs.rundata" in routes(seeded)
    assert not (dest / "artifacts").exists()


def test_jobs_download_default_artifacts_and_logs(ml_client, seeded, tmp_path):
    finished_job_with_outputs(ml_client, seeded, "trained")
    dest = tmp_path / "dl"
    ml_client.jobs.download("trained", download_path=str(dest))
    assert (dest / "artifacts" / "outputs" / "metrics.json").read_text() == '{"loss": 0.1}'
    assert (dest / "artifacts" / "user_logs" / "std_log.txt").read_text() == "done\n"
    assert {"datastore.get", "datastore.secrets", "blob.container_get", "blob.get"} <= set(routes(seeded))


def test_jobs_download_all_named_outputs_depends_on_sdk_version(ml_client, seeded, tmp_path):
    """Pins an SDK difference, so that a change is noticed: run history reports output types as
    "UriFolder"; 1.28 matches that and downloads named outputs with ``all=True``, 1.35 compares
    with "uri_folder", finds no data outputs and silently downloads only the default artifacts.
    (``output_name=`` works on both: 1.35 then probes the default datastore path.)"""
    if SDK_VERSION not in {(1, 28), (1, 35)}:
        pytest.skip(f"behaviour pinned for azure-ai-ml 1.28 and 1.35 only, not {SDK_VERSION}")
    finished_job_with_outputs(ml_client, seeded, "trained")
    dest = tmp_path / "dl"
    ml_client.jobs.download("trained", download_path=str(dest), all=True)
    assert (dest / "artifacts" / "outputs" / "metrics.json").exists()
    named = (dest / "named-outputs" / "model" / "model.pkl").exists()
    assert named is (SDK_VERSION < (1, 35)), f"azure-ai-ml {SDK_VERSION}: named outputs downloaded={named}"


def test_download_of_a_running_job_is_refused(ml_client, seeded, tmp_path):
    from azure.ai.ml.exceptions import JobException

    seeded.hold_job("busy", at="Running")
    submit_simple(ml_client, "busy")
    with pytest.raises(JobException):
        ml_client.jobs.download("busy", download_path=str(tmp_path))


# ------------------------------------------------------------------------------------------------
# faults
# ------------------------------------------------------------------------------------------------


def test_429_with_retry_after_is_retried(ml_client, fake_azureml, fake_transport):
    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.fail("compute.list", 429, retry_after=7)
    assert [c.name for c in ml_client.compute.list()] == ["cpu-cluster"]
    assert [r.status for r in fake_azureml.requests_for("compute.list")] == [429, 200]
    assert 7 in fake_transport.sleeps  # Retry-After honoured (recorded, not waited)


def test_503_is_retried_with_backoff(ml_client, fake_azureml, fake_transport):
    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.fail("compute.get", 503, times=2)
    assert ml_client.compute.get("cpu-cluster").name == "cpu-cluster"
    assert [r.status for r in fake_azureml.requests_for("compute.get")] == [503, 503, 200]
    assert any(s > 0 for s in fake_transport.sleeps)


def test_503_beyond_retry_total_surfaces(ml_client, fake_azureml):
    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.fail("compute.get", 503, times=10)
    with pytest.raises(HttpResponseError) as exc_info:
        ml_client.compute.get("cpu-cluster")
    assert exc_info.value.status_code == 503
    assert fake_azureml.count("compute.get") == 4  # retry_total=3


def test_401_is_client_authentication_error(ml_client, fake_azureml):
    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.fail("compute.get", 401)
    with pytest.raises(ClientAuthenticationError):
        ml_client.compute.get("cpu-cluster")


def test_403_is_http_response_error_with_status(ml_client, fake_azureml):
    fake_azureml.fail("jobs.list", 403, code="AuthorizationFailed", message="no jobs/read on this workspace")
    with pytest.raises(HttpResponseError) as exc_info:
        list(ml_client.jobs.list())
    assert exc_info.value.status_code == 403
    assert not isinstance(exc_info.value, ClientAuthenticationError)
    assert "jobs/read" in str(exc_info.value)


def test_404_is_resource_not_found(ml_client, fake_azureml):
    fake_azureml.add_compute("cpu-cluster")
    fake_azureml.fail("compute.get", 404)
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("cpu-cluster")


def test_hang_ends_in_a_client_timeout(make_ml_client, fake_azureml):
    fake_azureml.add_compute("cpu-cluster")
    client = make_ml_client(read_timeout=0.05)
    fake_azureml.fail("compute.get", "hang", times=10)
    with pytest.raises(ServiceResponseError):
        client.compute.get("cpu-cluster")
    assert fake_azureml.count("compute.get") == 4  # first try + retry_total=3


def test_one_hang_then_success(make_ml_client, fake_azureml):
    fake_azureml.add_compute("cpu-cluster")
    client = make_ml_client(read_timeout=0.05)
    fake_azureml.fail("compute.get", "hang")
    assert client.compute.get("cpu-cluster").name == "cpu-cluster"
    assert fake_azureml.count("compute.get") == 2


def test_storage_fault_is_retried_by_the_blob_client(ml_client, fake_azureml, tmp_path):
    from azure.ai.ml.entities import Data

    src = tmp_path / "f.txt"
    src.write_text("payload")
    fake_azureml.fail("blob.put", 503)
    d = ml_client.data.create_or_update(Data(name="f", version="1", path=str(src), type="uri_file"))
    blob = fake_azureml.get_blob(fake_azureml.blobstore_container, d.path.split("/paths/", 1)[1])
    assert blob.data == b"payload"
    assert fake_azureml.storage_sleeps  # the storage retry back-off was asked for, and skipped


def test_unknown_fault_route_is_rejected(fake_azureml):
    with pytest.raises(KeyError, match="unknown route"):
        fake_azureml.fail("compute.lisst", 500)


def test_request_without_a_route_is_recorded(ml_client, fake_azureml):
    fake_azureml.strict = False
    resp = ml_client.jobs._requests_pipeline.get(f"{fake_azureml.workspace_url}/noSuchThing?api-version=1")
    assert resp.status_code == 404
    assert [r.method for r in fake_azureml.unmatched] == ["GET"]
    assert "noSuchThing" in fake_azureml.unmatched[0].url


# ------------------------------------------------------------------------------------------------
# wiring: transport vs storage hook, auth, network blocking
# ------------------------------------------------------------------------------------------------


def test_sdk_clients_use_the_transport_and_storage_uses_the_hook(ml_client, seeded, tmp_path):
    from azure.ai.ml import load_job

    job = ml_client.jobs.create_or_update(load_job(write_command_job(tmp_path)))
    ml_client.jobs._runs_operations.get_run_details(job.name)
    by_via = {(r.host_kind, r.via) for r in seeded.requests}
    assert ("arm", "transport") in by_via and ("api", "transport") in by_via and ("blob", "requests-hook") in by_via
    assert not [r for r in seeded.requests if r.host_kind in ("arm", "api") and r.via != "transport"]


def test_requests_carry_decodable_tokens_with_the_right_audience(ml_client, fake_azureml, fake_credential):
    list(ml_client.compute.list())
    auth = fake_azureml.requests[-1].headers["Authorization"]
    claims = decode_token(auth.split(" ", 1)[1])
    assert claims["aud"] == "https://management.azure.com"
    assert claims["tid"] == fake_credential.tenant_id and claims["oid"] == fake_credential.object_id
    assert fake_credential.call_count >= 1


def test_fake_rejects_requests_without_a_valid_token(fake_azureml):
    resp = fake_azureml.handle("GET", f"{fake_azureml.workspace_url}/computes", {})
    assert resp.status == 401
    bad = fake_azureml.handle("GET", f"{fake_azureml.workspace_url}/computes", {"Authorization": "Bearer not-a-jwt"})
    assert bad.status == 401
    storage = fake_azureml.handle("GET", f"{fake_azureml.blob_account_url()}/azureml?restype=container", {})
    assert storage.status == 403


def test_credential_mints_jwts_per_scope_and_counts():
    cred = FakeCredential()
    arm = cred.get_token("https://management.azure.com/.default")
    ml = cred.get_token("https://ml.azure.com/.default")
    assert decode_token(arm.token)["aud"] == "https://management.azure.com"
    assert decode_token(ml.token)["aud"] == "https://ml.azure.com"
    assert jwt.get_unverified_header(ml.token)["alg"] == "HS256"
    assert cred.call_count == 2
    assert arm.expires_on > 0


def test_block_network_stops_non_loopback_connections(monkeypatch):
    # Underneath the blocker, a stub stands in for the real connect so that this test cannot send
    # a packet even if the blocker were broken.
    reached = []

    def stub_connect(self, address):
        reached.append(address)
        raise ConnectionRefusedError("stub")

    monkeypatch.setattr(socket.socket, "connect", stub_connect)
    with block_network():
        with pytest.raises(NetworkBlocked):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.connect(("203.0.113.7", 443))
        with pytest.raises(NetworkBlocked):
            socket.getaddrinfo("management.azure.com", 443)
        with pytest.raises(NetworkBlocked):
            requests.get("https://203.0.113.7/", timeout=1)
        with pytest.raises(ConnectionRefusedError):  # loopback passes through to the (stub) connect
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.connect(("127.0.0.1", 9))
    assert reached == [("127.0.0.1", 9)]
    assert socket.socket.connect is stub_connect  # restored


def test_sdk_request_to_an_unknown_storage_account_fails_fast(ml_client, fake_azureml, tmp_path, monkeypatch):
    """A datastore on a host the fake does not serve: the blob client's connection is blocked on
    the first try instead of retrying for ~85 s."""
    from azure.ai.ml.entities import Data

    reached = []
    real_connect = socket.socket.connect  # already the blocker's wrapper (fake_azureml blocks)

    def guarded(self, address):
        reached.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    # The SDK uploads local data to "workspaceblobstore" by name: point it at an account the
    # fake does not serve.
    fake_azureml.datastores["workspaceblobstore"]["properties"]["accountName"] = "notfaked"
    fake_azureml.strict = False
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(Exception) as exc_info:
        ml_client.data.create_or_update(Data(name="f", version="1", path=str(src), type="uri_file"))
    chain, e = [], exc_info.value
    while e is not None:
        chain.append(e)
        e = e.__cause__ or e.__context__
    assert any(
        isinstance(x, NetworkBlocked)
        or "NetworkBlocked" in str(x)
        or "not loopback" in str(x)
        or "only loopback" in str(x)
        for x in chain
    )
    assert reached == []  # blocked at name resolution, before any connect
    assert fake_azureml.storage_sleeps == []  # no retry back-off at all


def test_blob_service_basics(fake_azureml):
    """The in-memory blob service, straight through the azure-storage-blob client."""
    from azure.storage.blob import BlobServiceClient, ContentSettings

    svc = BlobServiceClient(
        fake_azureml.blob_account_url(),
        credential="?" + fake_azureml._sas(),
        max_single_put_size=256 * 1024,
        max_block_size=256 * 1024,
    )
    container = svc.get_container_client("scratch")
    container.create_container()
    payload = bytes(range(256)) * 5000  # 1.28 MB: chunked with 256 KiB blocks
    md5 = hashlib.md5(payload).digest()
    container.upload_blob(
        "big.bin",
        payload,
        content_settings=ContentSettings(content_md5=md5),
        metadata={"src": "test"},
    )
    container.upload_blob("dir/a.txt", b"a")
    container.upload_blob("dir/b.txt", b"b")
    assert fake_azureml.count("blob.put") >= 6  # blocks + block list + two small puts
    blob = container.get_blob_client("big.bin")
    props = blob.get_blob_properties()
    assert props.size == len(payload) and props.metadata == {"src": "test"}
    assert bytes(props.content_settings.content_md5) == md5
    assert blob.download_blob(max_concurrency=2).readall() == payload
    assert blob.download_blob(offset=10, length=5).readall() == payload[10:15]
    assert [b.name for b in container.list_blobs(name_starts_with="dir/")] == ["dir/a.txt", "dir/b.txt"]
    assert sorted(p.name for p in container.walk_blobs(delimiter="/")) == ["big.bin", "dir/"]
    from azure.core.exceptions import ResourceExistsError

    with pytest.raises(ResourceExistsError):
        container.upload_blob("dir/a.txt", b"again", overwrite=False)
    # Resumable uploads: staged blocks are listed before commit, and a commit may mix them with
    # blocks already committed.
    from azure.storage.blob import BlobBlock

    partial = container.get_blob_client("resumable.bin")
    partial.stage_block("YmxvY2stMDAx", b"first-")
    partial.stage_block("YmxvY2stMDAy", b"second")
    committed, uncommitted = partial.get_block_list("all")
    assert committed == [] and [b.id for b in uncommitted] == ["YmxvY2stMDAx", "YmxvY2stMDAy"]
    partial.commit_block_list([BlobBlock("YmxvY2stMDAx"), BlobBlock("YmxvY2stMDAy")])
    partial.stage_block("YmxvY2stMDAz", b"+third")
    partial.commit_block_list([BlobBlock("YmxvY2stMDAx"), BlobBlock("YmxvY2stMDAz")])
    assert partial.download_blob().readall() == b"first-+third"
    assert [(b.id, b.size) for b in partial.get_block_list("committed")[0]] == [
        ("YmxvY2stMDAx", 6),
        ("YmxvY2stMDAz", 6),
    ]

    container.delete_blob("dir/a.txt")
    assert [b.name for b in container.list_blobs()] == ["big.bin", "dir/b.txt", "resumable.bin"]
