"""The Backend contract: the same observable behaviour from the local engine and from Azure ML.

Every test runs twice, against ``LocalBackend`` (a fresh local workspace; jobs really run) and against
``AzureBackend`` (the real azure-ai-ml SDK on the fake Azure ML service, storage in Azurite). What differs
between the two, i.e. how a job gets to print its lines and write its outputs, lives in the two
``Driver`` classes; the assertions do not know which backend they talk to.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from azml_jupyter.backends.base import Backend, ComputeRequest, LogChunk, OutputFile
from azml_jupyter.errors import Conflict, InvalidRequest, NotFound
from azml_jupyter.models import (
    ComputeInfo,
    DataAsset,
    JobPage,
    JobRecord,
    JobStatus,
    Operation,
    OperationState,
    Usage,
    VmSize,
    WorkspaceInfo,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*marshmallow.*"),
    pytest.mark.filterwarnings("ignore:.*Number.*field should not be instantiated.*"),
]

TRAIN_PY = """\
import pathlib, sys
print("epoch 1", flush=True)
print("epoch 2", flush=True)
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/metrics.json").write_text('{"loss": 0.1}')
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / "model.txt").write_text("weights")
print("done", flush=True)
"""

TRAIN_JOB = """\
command: python train.py ${{outputs.model}}
code: ./src
environment: azureml:sklearn:1
compute: azureml:cpu-cluster
experiment_name: contract
outputs:
  model:
    type: uri_folder
"""

PIPELINE_JOB = """\
type: pipeline
display_name: two-steps
experiment_name: contract
settings:
  default_compute: azureml:cpu-cluster
jobs:
  prep:
    type: command
    command: python train.py ${{outputs.out}}
    code: ./src
    environment: azureml:sklearn:1
    outputs:
      out:
        type: uri_folder
  train:
    type: command
    command: python -c "print('training')" ${{inputs.data}}
    environment: azureml:sklearn:1
    inputs:
      data: ${{parent.jobs.prep.outputs.out}}
"""

# ---- drivers: how each backend's jobs come to do what the assertions expect ----------------------


class Driver:
    kind: str

    def __init__(self, backend: Backend, tmp_path: Path):
        self.backend = backend
        self.tmp_path = tmp_path

    def job_file(self, text: str, folder: str = "job") -> Path:
        root = self.tmp_path / folder
        (root / "src").mkdir(parents=True, exist_ok=True)
        (root / "src" / "train.py").write_text(TRAIN_PY)
        (root / "job.yml").write_text(text)
        return root / "job.yml"

    def submit(self, text: str, name: str, *, folder: str = "job") -> JobRecord:
        from azml_jupyter.spec.loader import load_job_file

        self.prepare(name)
        return self.backend.submit(load_job_file(self.job_file(text, folder)), name=name)

    def wait(self, name: str, *, polls: int = 600) -> JobRecord:
        """Poll get_job until the job ends (the fake moves one status per poll; the engine in real time)."""
        seen = []
        for _ in range(polls):
            record = self.backend.get_job(name)
            seen.append(record.status)
            if record.is_terminal:
                self.finished(name)
                return record
            self.pause()
        raise AssertionError(f"job {name} did not end; statuses seen: {seen[-5:]}")

    def wait_operation(self, operation: Operation) -> Operation:
        for _ in range(600):
            current = self.backend.get_operation(operation.id)
            if current.state.is_terminal:
                return current
            time.sleep(0.05)
        raise AssertionError(f"operation {operation.id} did not end")

    # backend specific
    def prepare(self, name: str) -> None: ...
    def finished(self, name: str) -> None: ...
    def pause(self) -> None: ...
    def long_job(self) -> str: ...


class LocalDriver(Driver):
    kind = "local"

    def pause(self) -> None:
        time.sleep(0.05)

    def long_job(self) -> str:
        return (
            "command: python -c \"import time; print('started', flush=True); time.sleep(120)\"\n"
            "environment: azureml:sklearn:1\n"
        )


class AzureDriver(Driver):
    kind = "azure"

    def __init__(self, backend: Backend, tmp_path: Path, env: Any):
        super().__init__(backend, tmp_path)
        self.env = env
        self.holding: set[str] = set()

    def prepare(self, name: str, *, hold: bool = False) -> None:
        # The command's output, as Azure ML's runtime would write it to user_logs/std_log.txt.
        self.env.fake.configure_job(
            name, logs={"Running": "epoch 1\nepoch 2\n", "Completed": "done\n"}, hold_at="Running" if hold else None
        )

    def finished(self, name: str) -> None:
        # What the command wrote: ./outputs (the run's artifacts) and the named output.
        self.env.put_artifact(name, "outputs/metrics.json", '{"loss": 0.1}')
        self.env.put_artifact(name, "user_logs/std_log.txt", "epoch 1\nepoch 2\ndone\n")
        job = self.env.fake.jobs[name]
        if "model" in (job.body["properties"].get("outputs") or {}):
            self.env.put_output(name, "model", {"model.txt": "weights"})

    def long_job(self) -> str:
        return "command: python -c \"print('started')\"\nenvironment: azureml:sklearn:1\ncompute: azureml:cpu-cluster\n"

    def submit(self, text: str, name: str, *, folder: str = "job") -> JobRecord:
        from azml_jupyter.spec.loader import load_job_file

        self.prepare(name, hold=text == self.long_job())  # the long job runs until it is canceled
        return self.backend.submit(load_job_file(self.job_file(text, folder)), name=name)


def _stop_local(home: Path) -> None:
    from azml_jupyter.engine import daemon
    from azml_jupyter.engine.layout import Layout
    from azml_jupyter.engine.workspace import LocalWorkspace

    if not (home / "workspace.db").exists():
        return
    workspace = LocalWorkspace(home, start_engine=False)
    active = [r for r in workspace.store.jobs_in_status(daemon.ACTIVE) if r["parent_name"] is None]
    for row in active:
        try:
            workspace.cancel_job(row["name"])
        except Exception:
            pass
    for row in active:
        workspace.wait(row["name"], timeout=15)
    workspace.close()
    daemon.stop(Layout(home))


@pytest.fixture(params=["local", "azure"])
def driver(request: pytest.FixtureRequest, backend_home: Path, tmp_path: Path):
    if request.param == "local":
        from azml_jupyter.backends.local import LocalBackend

        backend = LocalBackend(backend_home)
        try:
            yield LocalDriver(backend, tmp_path)
        finally:
            backend.close()
            _stop_local(backend_home)
    else:
        backend = request.getfixturevalue("azure_backend")
        yield AzureDriver(backend, tmp_path, request.getfixturevalue("azure_env"))


# ---- workspace and compute ---------------------------------------------------------------------------


def test_workspace_names_its_backend(driver):
    info = driver.backend.workspace()
    assert isinstance(info, WorkspaceInfo)
    assert info.backend == driver.kind == driver.backend.kind
    assert info.name
    assert WorkspaceInfo.from_dict(info.to_dict()) == info


def test_computes_sizes_and_usage_have_the_record_shapes(driver):
    computes = driver.backend.list_computes()
    assert computes and all(isinstance(c, ComputeInfo) for c in computes)
    for c in computes:
        assert c.max_nodes >= 1 and 0 <= c.min_nodes <= c.max_nodes and c.current_nodes >= 0
        assert driver.backend.get_compute(c.name).name == c.name
    sizes = driver.backend.list_sizes()
    assert sizes and all(isinstance(s, VmSize) and s.name and s.vcpus and s.memory_gb for s in sizes)
    usage = driver.backend.list_usage()
    # limit -1: no quota (the local engine)
    assert usage and all(isinstance(u, Usage) and u.family and u.current >= 0 for u in usage)
    assert all(u.limit == -1 or u.limit >= u.current for u in usage)


def test_create_then_resize_a_cluster(driver):
    backend = driver.backend
    created = driver.wait_operation(backend.create_or_update_compute(ComputeRequest(name="train-cluster", max_nodes=2)))
    assert created.kind == "compute_update"
    assert created.state is OperationState.SUCCEEDED, created.error
    assert created.result["created"] is True and created.result["compute"]["max_nodes"] == 2
    updated = driver.wait_operation(
        backend.create_or_update_compute(ComputeRequest(name="train-cluster", max_nodes=3, idle_seconds=300))
    )
    assert updated.state is OperationState.SUCCEEDED and updated.result["created"] is False
    compute = backend.get_compute("train-cluster")
    assert (compute.max_nodes, compute.idle_seconds) == (3, 300)
    assert "train-cluster" in {c.name for c in backend.list_computes()}


def test_delete_a_cluster(driver):
    backend = driver.backend
    driver.wait_operation(backend.create_or_update_compute(ComputeRequest(name="gone-cluster", max_nodes=1)))
    backend.delete_compute("gone-cluster")
    assert "gone-cluster" not in {c.name for c in backend.list_computes()}
    with pytest.raises(NotFound):
        backend.get_compute("gone-cluster")
    with pytest.raises(NotFound):
        backend.delete_compute("gone-cluster")


def test_compute_requests_are_validated_before_anything_happens(driver):
    with pytest.raises(InvalidRequest):
        driver.backend.create_or_update_compute(ComputeRequest(name="x", max_nodes=2))  # name too short
    with pytest.raises(InvalidRequest):
        driver.backend.create_or_update_compute(ComputeRequest(name="ok-cluster", min_nodes=3, max_nodes=2))
    with pytest.raises(InvalidRequest):
        driver.backend.create_or_update_compute(ComputeRequest(name="ok-cluster", tier="cheap"))
    with pytest.raises(NotFound):
        driver.backend.get_compute("no-such-cluster")


# ---- data ----------------------------------------------------------------------------------------------


def test_copy_in_a_folder_then_an_unchanged_copy_creates_nothing(driver, tmp_path):
    backend = driver.backend
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A" * 100)
    (folder / "sub" / "b.txt").write_text("B" * 50)
    first = driver.wait_operation(backend.copy_in(folder, "images", description="pictures"))
    assert first.kind == "copy_in" and first.state is OperationState.SUCCEEDED, first.error
    assert (first.bytes_done, first.bytes_total, first.files_total) == (150, 150, 2)
    asset = DataAsset.from_dict(first.result["data_asset"])
    assert first.result["created"] is True
    assert (asset.name, asset.version, asset.type) == ("images", "1", "uri_folder")
    assert asset.path.startswith("azureml://datastores/")
    assert (asset.size_bytes, asset.file_count) == (150, 2)

    again = driver.wait_operation(backend.copy_in(folder, "images"))
    assert again.state is OperationState.SUCCEEDED and again.result["created"] is False
    assert DataAsset.from_dict(again.result["data_asset"]).version == "1"

    (folder / "a.txt").write_text("changed")
    changed = driver.wait_operation(backend.copy_in(folder, "images"))
    assert changed.result["created"] is True and DataAsset.from_dict(changed.result["data_asset"]).version == "2"
    assert [(d.name, d.version) for d in backend.list_data() if d.name == "images"] == [
        ("images", "2"),
        ("images", "1"),
    ]
    assert backend.get_data("images").version == "2"
    assert backend.get_data("images", "1").path == asset.path


def test_copy_in_a_file_with_an_explicit_version(driver, tmp_path):
    backend = driver.backend
    source = tmp_path / "train.csv"
    source.write_text("a,b\n1,2\n")
    done = driver.wait_operation(backend.copy_in(source, "train", type="uri_file", version="7"))
    assert done.state is OperationState.SUCCEEDED, done.error
    asset = DataAsset.from_dict(done.result["data_asset"])
    assert (asset.version, asset.type) == ("7", "uri_file")
    assert asset.path.endswith("/train.csv")
    same = driver.wait_operation(backend.copy_in(source, "train", version="7"))
    assert same.state is OperationState.SUCCEEDED and same.result["created"] is False
    source.write_text("a,b\n3,4\n")
    clash = driver.wait_operation(backend.copy_in(source, "train", version="7"))
    assert clash.state is OperationState.FAILED and "already exists" in clash.error
    assert backend.get_data("train", "7").path == asset.path


def test_copy_in_refusals_and_unknown_data(driver, tmp_path):
    backend = driver.backend
    with pytest.raises(InvalidRequest):
        backend.copy_in(tmp_path / "missing", "x1")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InvalidRequest):
        backend.copy_in(tmp_path / "f.txt", "x1", type="uri_folder")
    with pytest.raises(InvalidRequest):
        backend.copy_in(tmp_path / "f.txt", "bad name!")
    with pytest.raises(NotFound):
        backend.get_data("never-copied")
    with pytest.raises(NotFound):
        backend.get_operation("0" * 32)


# ---- jobs ----------------------------------------------------------------------------------------------


def read_all_logs(driver, name: str) -> list[LogChunk]:
    """Follow a job's log to its end, as the panel and ``azml-jupyter job stream`` do."""
    chunks: list[LogChunk] = []
    offset = 0
    for _ in range(600):
        chunk = driver.backend.read_logs(name, offset)
        assert chunk.offset == offset and chunk.next_offset == offset + len(chunk.text.encode())
        chunks.append(chunk)
        offset = chunk.next_offset
        if chunk.complete:
            return chunks
        if not chunk.complete and chunk.text:
            assert chunk.text.endswith(("\n", "\r"))  # whole lines while the job runs
        driver.backend.get_job(name)  # a poll, as a watcher does between reads
        driver.pause()
    raise AssertionError("the log never completed")


def test_command_job_runs_to_completion_with_logs_and_outputs(driver, tmp_path):
    backend = driver.backend
    submitted = driver.submit(TRAIN_JOB, "contract-train")
    assert isinstance(submitted, JobRecord)
    assert (submitted.name, submitted.type, submitted.experiment_name) == ("contract-train", "command", "contract")
    assert not submitted.is_terminal
    assert submitted.outputs["model"]["type"] == "uri_folder"

    chunks = read_all_logs(driver, "contract-train")
    text = "".join(c.text for c in chunks)
    assert text.index("epoch 1") < text.index("epoch 2") < text.index("done")
    assert chunks[-1].complete and chunks[-1].status == "Completed"

    final = driver.wait("contract-train")
    assert final.status is JobStatus.COMPLETED
    assert final.ended_at is not None
    assert backend.read_logs("contract-train", chunks[-1].next_offset).text == ""

    outputs = backend.list_outputs("contract-train")
    assert all(isinstance(o, OutputFile) for o in outputs)
    found = {(o.output, o.path) for o in outputs}
    assert {("default", "outputs/metrics.json"), ("model", "model.txt")} <= found

    written = backend.download("contract-train", tmp_path / "dl", output="all")
    assert (tmp_path / "dl" / "artifacts" / "outputs" / "metrics.json").read_text() == '{"loss": 0.1}'
    assert (tmp_path / "dl" / "named-outputs" / "model" / "model.txt").read_text() == "weights"
    assert set(written) >= {
        tmp_path / "dl" / "artifacts" / "outputs" / "metrics.json",
        tmp_path / "dl" / "named-outputs" / "model" / "model.txt",
    }
    only_model = backend.download("contract-train", tmp_path / "dl2", output="model")
    assert only_model == [tmp_path / "dl2" / "named-outputs" / "model" / "model.txt"]
    with pytest.raises(NotFound):
        backend.download("contract-train", tmp_path / "dl3", output="nope")


def test_pipeline_job_has_steps_and_a_status_log(driver):
    backend = driver.backend
    submitted = driver.submit(PIPELINE_JOB, "contract-pipe")
    assert submitted.type == "pipeline"
    final = driver.wait("contract-pipe")
    assert final.status is JobStatus.COMPLETED
    assert final.children is not None
    assert sorted(c.step_name for c in final.children) == ["prep", "train"]
    assert all(c.parent_name == "contract-pipe" and c.type == "command" for c in final.children)
    assert {c.status for c in final.children} == {JobStatus.COMPLETED}
    steps = backend.list_jobs(parent="contract-pipe").jobs
    assert sorted(s.step_name for s in steps) == ["prep", "train"]
    log = "".join(c.text for c in read_all_logs(driver, "contract-pipe"))
    assert "prep" in log and "train" in log and "Completed" in log


def test_cancel_a_running_job(driver):
    backend = driver.backend
    driver.submit(driver.long_job(), "contract-cancel")
    for _ in range(600):
        if backend.get_job("contract-cancel").status is JobStatus.RUNNING:
            break
        driver.pause()
    canceled = backend.cancel_job("contract-cancel")
    # Azure ML answers CancelRequested at once; the local engine may still say Running until its daemon acts
    assert canceled.name == "contract-cancel"
    assert canceled.status in (JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED, JobStatus.CANCELED)
    assert driver.wait("contract-cancel").status is JobStatus.CANCELED
    with pytest.raises(Conflict):
        backend.cancel_job("contract-cancel")


def test_list_jobs_pages_newest_first_and_filters(driver):
    backend = driver.backend
    for name in ("contract-a", "contract-b", "contract-c"):
        driver.submit(TRAIN_JOB, name, folder=name)
    first = backend.list_jobs(limit=2)
    assert isinstance(first, JobPage)
    assert [j.name for j in first.jobs] == ["contract-c", "contract-b"]
    assert first.next_cursor
    second = backend.list_jobs(limit=2, cursor=first.next_cursor)
    assert [j.name for j in second.jobs] == ["contract-a"] and second.next_cursor is None
    assert [j.name for j in backend.list_jobs(experiment="contract").jobs] == ["contract-c", "contract-b", "contract-a"]
    assert backend.list_jobs(experiment="other").jobs == []
    driver.wait("contract-b")
    completed = backend.list_jobs(status=["Completed"]).jobs
    assert "contract-b" in [j.name for j in completed]
    assert all(j.status is JobStatus.COMPLETED for j in completed)


def test_same_errors_for_the_same_mistakes(driver):
    backend = driver.backend
    for call in (
        lambda: backend.get_job("no-such-job"),
        lambda: backend.cancel_job("no-such-job"),
        lambda: backend.read_logs("no-such-job"),
        lambda: backend.list_outputs("no-such-job"),
    ):
        with pytest.raises(NotFound):
            call()
    for call in (
        lambda: backend.list_jobs(limit=0),
        lambda: backend.list_jobs(status=["Bogus"]),
        lambda: backend.list_jobs(cursor="not a cursor!"),
    ):
        with pytest.raises(InvalidRequest):
            call()
    driver.submit(TRAIN_JOB, "contract-dup")
    with pytest.raises(InvalidRequest):
        backend.read_logs("contract-dup", -1)
    with pytest.raises(Conflict):
        driver.submit(TRAIN_JOB, "contract-dup")


def test_jobs_with_credentials_in_environment_variables_are_refused(driver, request):
    job = TRAIN_JOB + "environment_variables:\n  AZURE_CLIENT_SECRET: hunter2\n"
    with pytest.raises(InvalidRequest) as refused:
        driver.submit(job, "contract-secret")
    assert "AZURE_CLIENT_SECRET" in refused.value.message and "hunter2" not in refused.value.message
    with pytest.raises(NotFound):
        driver.backend.get_job("contract-secret")


def test_records_round_trip_as_json(driver):
    record = driver.submit(TRAIN_JOB, "contract-json")
    assert JobRecord.from_dict(record.to_dict()) == record
    text = textwrap.dedent(str(record.to_dict()))
    assert "contract-json" in text
