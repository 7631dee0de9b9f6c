"""The azml-jupyter CLI as a user runs it: a real subprocess on a real local workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "azml_jupyter.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"azml-jupyter {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_nyc_taxi_pipeline_streams_to_completion_and_downloads_the_score(azml_home, tmp_path):
    run = cli("job", "create", "-f", str(ROOT / "examples/nyc-taxi/pipeline.yml"), "--stream")
    assert "Status: Completed" in run.stderr
    assert "[score_job] NYC taxi fare model" in run.stdout
    name = run.stderr.split("RunId: ", 1)[1].split()[0]
    shown = json.loads(cli("job", "show", "-n", name).stdout)
    assert [c["step_name"] for c in shown["children"]] == ["prep_job", "transform_job", "train_job", "predict_job", "score_job"]
    assert {c["status"] for c in shown["children"]} == {"Completed"}
    cli("job", "download", "-n", name, "--output-name", "pipeline_job_score_report", "-p", str(tmp_path / "dl"))
    report = tmp_path / "dl" / "named-outputs" / "pipeline_job_score_report"
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["r2"] > 0.9 and "RMSE" in (report / "score.txt").read_text()


def test_command_job_example_and_default_download(azml_home, tmp_path):
    run = cli("job", "create", "-f", str(ROOT / "examples/command-job/job.yml"), "--stream")
    assert "trips of at least 0.5 miles" in run.stdout
    name = run.stderr.split("RunId: ", 1)[1].split()[0]
    cli("job", "download", "-n", name, "-p", str(tmp_path / "dl"))
    artifacts = tmp_path / "dl" / "artifacts"
    assert json.loads((artifacts / "outputs" / "metrics.json").read_text())["hours"] == 24
    assert "Green taxi trips" in (artifacts / "user_logs" / "std_log.txt").read_text()


def test_stream_exit_status_follows_the_job(azml_home, tmp_path):
    job = tmp_path / "fail.yml"
    job.write_text('command: python -c "import sys; sys.exit(5)"\nenvironment: azureml:e:1\n')
    run = cli("job", "create", "-f", str(job), "--stream", "--set", "display_name=failing", check=False)
    assert run.returncode == 1
    assert "Status: Failed" in run.stderr and "exited with code 5" in run.stderr
    listed = json.loads(cli("job", "list").stdout)
    assert listed[0]["display_name"] == "failing"


def test_compute_and_data_commands(azml_home, tmp_path):
    table = cli("compute", "create", "--name", "cpu-small", "--max-instances", "3", "-o", "table").stdout
    assert "cpu-small" in table and "Max Nodes" in table
    computes = {c["name"]: c for c in json.loads(cli("compute", "list").stdout)}
    assert computes["cpu-small"]["max_nodes"] == 3 and "local" in computes
    sizes = json.loads(cli("compute", "list-sizes").stdout)
    assert sizes[0]["name"] == "local" and sizes[0]["vcpus"] >= 1
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n")
    created = json.loads(cli("data", "create", "-n", "xs", "--path", str(data), "--no-progress").stdout)
    assert created["version"] == "1" and created["type"] == "uri_folder"
    again = cli("data", "create", "-n", "xs", "--path", str(data), "--no-progress")
    assert json.loads(again.stdout)["version"] == "1" and "unchanged" in again.stderr
    assert json.loads(cli("workspace", "show").stdout)["backend"] == "local"


def test_errors_are_one_clear_line_and_exit_1(azml_home, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("command: echo\nenvironment: azureml:e:1\nlimits:\n  timeout: soon\n")
    run = cli("job", "create", "-f", str(bad), check=False)
    assert run.returncode == 1
    assert run.stderr.startswith("ERROR: ") and "(line 4)" in run.stderr and "Traceback" not in run.stderr
    missing = cli("job", "show", "-n", "no_such_job", check=False)
    assert missing.returncode == 1 and "Job 'no_such_job' not found" in missing.stderr
    invalid = cli("compute", "create", "--name", "x", "--max-instances", "2", check=False)
    assert invalid.returncode == 1 and "Invalid compute name 'x'" in invalid.stderr


def test_global_options_work_before_and_after_the_subcommand(azml_home, tmp_path):
    other = tmp_path / "other-home"
    cli("--home", str(other), "compute", "create", "--name", "before-cluster", "--max-instances", "2")
    cli("compute", "create", "--name", "after-cluster", "--max-instances", "2", "--home", str(other))
    for listed in (
        cli("--home", str(other), "compute", "list").stdout,
        cli("compute", "list", "--home", str(other)).stdout,
    ):
        names = {c["name"] for c in json.loads(listed)}
        assert {"before-cluster", "after-cluster"} <= names
    # the default workspace ($AZML_JUPYTER_HOME) saw neither
    assert not {"before-cluster", "after-cluster"} & {c["name"] for c in json.loads(cli("compute", "list").stdout)}
    # -o before the subcommand, and a later one wins
    assert "Max Nodes" in cli("-o", "table", "--home", str(other), "compute", "list").stdout
    assert cli("-o", "table", "--home", str(other), "compute", "list", "-o", "json").stdout.lstrip().startswith("[")
    from azml_jupyter.engine import daemon
    from azml_jupyter.engine.layout import Layout

    daemon.stop(Layout(other))
