"""Command jobs end to end on the local engine: real YAML through load_job, real subprocesses, real files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from azml_jupyter.errors import UnknownReference

READ_INPUTS = """
    import json, os, sys, pathlib
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    def describe(p):
        p = pathlib.Path(p)
        return sorted(x.name for x in p.iterdir()) if p.is_dir() else p.read_text().strip()
    report = {k: (describe(v) if k.startswith("--in") else v) for k, v in args.items() if not k.startswith("--out")}
    report["env_color"] = os.environ.get("COLOR")
    report["azureml_input_env"] = os.environ.get("AZURE_ML_INPUT_folder_in")
    for key, value in args.items():
        if key.startswith("--outdir"):
            pathlib.Path(value, "written.txt").write_text("dir output")
        elif key.startswith("--outfile"):
            pathlib.Path(value).write_text("file output")
    pathlib.Path("outputs").mkdir(exist_ok=True)
    pathlib.Path("outputs/report.json").write_text(json.dumps(report))
    pathlib.Path("logs").mkdir(exist_ok=True)
    pathlib.Path("logs/extra.log").write_text("custom log")
    print("REPORT", json.dumps(report, sort_keys=True))
    """


def test_every_input_and_output_form(jobs, workspace, tmp_path: Path):
    # data assets to refer to: one folder (two versions) and one file
    folder_v1 = tmp_path / "assetdata"
    folder_v1.mkdir()
    (folder_v1 / "a.csv").write_text("1")
    asset_v1, created = workspace.create_data("trips", folder_v1)
    assert created and asset_v1.version == "1"
    (folder_v1 / "b.csv").write_text("2")
    asset_v2, _ = workspace.create_data("trips", folder_v1)
    assert asset_v2.version == "2"
    single = tmp_path / "single.txt"
    single.write_text("a single file")
    workspace.create_data("note", single, version="7")
    # a file placed straight into the datastore, addressed by azureml://datastores/...
    stored = workspace.layout.datastore("workspaceblobstore") / "shared" / "lookup.txt"
    stored.parent.mkdir(parents=True)
    stored.write_text("from the datastore")

    record = jobs.submit(
        """
        command: >-
          python read.py --in_local_folder ${{inputs.folder_in}} --in_local_file ${{inputs.file_in}}
          --in_asset_v1 ${{inputs.asset_v1}} --in_asset_latest ${{inputs.asset_latest}}
          --in_asset_file ${{inputs.asset_file}} --in_datastore ${{inputs.datastore_file}}
          --lr ${{inputs.lr}} --epochs ${{inputs.epochs}} --flag ${{inputs.flag}} --word ${{inputs.word}}
          $[[--in_optional ${{inputs.missing}}]]
          --outdir_default ${{outputs.model}} --outfile_named ${{outputs.report_file}}
          --outdir_templated ${{outputs.templated}}
        code: ./src
        environment: azureml:AzureML-sklearn-1.5@latest
        display_name: all-forms
        experiment_name: forms
        description: every input and output form
        tags: {team: ds, purpose: test}
        environment_variables:
          COLOR: blue
        inputs:
          folder_in: {type: uri_folder, path: ./data}
          file_in: {type: uri_file, path: ./data/one.txt}
          asset_v1: {type: uri_folder, path: azureml:trips:1}
          asset_latest: {type: uri_folder, path: azureml:trips@latest}
          asset_file: {type: uri_file, path: azureml:note:7}
          datastore_file: {type: uri_file, path: azureml://datastores/workspaceblobstore/paths/shared/lookup.txt}
          lr: 0.01
          epochs: 3
          flag: true
          word: hello
        outputs:
          model: {type: uri_folder}
          report_file:
            type: uri_file
            path: azureml://datastores/workspaceblobstore/paths/reports/${{name}}/report.txt
          templated:
            type: uri_folder
            path: azureml://datastores/workspaceblobstore/paths/custom/${{output_name}}/
        """,
        files={"src/read.py": READ_INPUTS, "data/one.txt": "one", "data/two.txt": "two"},
    )
    done = jobs.wait(record.name)
    assert done.status.value == "Completed", done.error
    assert (done.display_name, done.experiment_name, done.description) == ("all-forms", "forms", "every input and output form")
    assert done.tags == {"team": "ds", "purpose": "test"}
    report = json.loads(jobs.log(record.name).split("REPORT ", 1)[1].splitlines()[0])
    assert report["--in_local_folder"] == ["one.txt", "two.txt"]
    assert report["--in_local_file"] == "one"
    assert report["--in_asset_v1"] == ["a.csv"]
    assert report["--in_asset_latest"] == ["a.csv", "b.csv"]
    assert report["--in_asset_file"] == "a single file"
    assert report["--in_datastore"] == "from the datastore"
    # literals are written as Azure ML writes them (Python's str)
    assert (report["--lr"], report["--epochs"], report["--flag"], report["--word"]) == ("0.01", "3", "True", "hello")
    assert "--in_optional" not in report  # the $[[ ]] block of an input that was not given is dropped
    assert report["env_color"] == "blue"
    assert report["azureml_input_env"].endswith("/data")
    # the record says where every input came from and where every output is
    assert done.inputs["asset_v1"]["asset"] == "azureml:trips:1"
    assert done.inputs["asset_latest"]["asset"] == "azureml:trips:2"  # @latest resolved at submission
    assert done.inputs["folder_in"]["source"].endswith("/data")
    assert done.outputs["report_file"]["uri"] == (
        f"azureml://datastores/workspaceblobstore/paths/reports/{record.name}/report.txt"
    )
    assert done.outputs["templated"]["uri"] == "azureml://datastores/workspaceblobstore/paths/custom/templated/"
    locations = workspace.output_locations(record.name)
    assert (locations["model"] / "written.txt").read_text() == "dir output"
    assert locations["report_file"].read_text() == "file output"
    assert (locations["templated"] / "written.txt").read_text() == "dir output"
    # ./outputs and ./logs of the working folder became the job's default output (its artifacts)
    assert json.loads((locations["default"] / "outputs" / "report.json").read_text())["--word"] == "hello"
    assert (locations["default"] / "logs" / "extra.log").read_text() == "custom log"
    assert (locations["default"] / "user_logs" / "std_log.txt").exists()


def test_job_output_uri_feeds_a_later_job(jobs, workspace):
    first = jobs.submit(
        """
        command: python -c "import pathlib,sys; pathlib.Path(sys.argv[1],'x.txt').write_text('42')" ${{outputs.out}}
        environment: azureml:env:1
        outputs:
          out: {type: uri_folder}
        """
    )
    assert jobs.wait(first.name).status.value == "Completed"
    second = jobs.submit(
        f"""
        command: cat ${{{{inputs.previous}}}}/x.txt
        environment: azureml:env:1
        inputs:
          previous:
            type: uri_folder
            path: azureml://jobs/{first.name}/outputs/out
        """
    )
    assert jobs.wait(second.name).status.value == "Completed"
    assert jobs.log(second.name).rstrip().endswith("42")


def test_code_snapshot_is_taken_at_submission_and_honours_amlignore(jobs, workspace, tmp_path):
    job_file = jobs.write(
        """
        command: python main.py && ls
        code: ./src
        environment: azureml:env:1
        """,
        files={"src/main.py": "print('version one')", "src/.amlignore": "secret.txt\n", "src/secret.txt": "no"},
    )
    from azml_jupyter.spec.loader import load_job_file
    from azml_jupyter.spec.normalize import job_to_spec

    record = workspace.submit(job_to_spec(load_job_file(job_file)))
    (job_file.parent / "src" / "main.py").write_text("print('edited after submit')")
    done = jobs.wait(record.name)
    log = jobs.log(record.name)
    assert done.status.value == "Completed"
    assert "version one" in log and "edited after submit" not in log
    assert "secret.txt" not in log and "main.py" in log


def test_logs_interleave_stdout_and_stderr_in_order(jobs):
    record = jobs.submit(
        """
        command: >-
          python -c "import sys; print('out 1'); print('err 2', file=sys.stderr); print('out 3')"
        environment: azureml:env:1
        """
    )
    jobs.wait(record.name)
    lines = [line for line in jobs.log(record.name).splitlines() if not line.startswith("[azml-local]")]
    assert lines == ["out 1", "err 2", "out 3"]


def test_unknown_compute_runs_on_local_and_the_log_says_so(jobs):
    record = jobs.submit(
        """
        command: echo hi
        environment: azureml:AzureML-sklearn-1.5@latest
        compute: azureml:gpu-cluster
        """
    )
    done = jobs.wait(record.name)
    assert done.compute == "local"
    log = jobs.log(record.name)
    assert "Compute 'gpu-cluster' does not exist locally; the job runs on 'local'." in log
    assert "Environment azureml:AzureML-sklearn-1.5@latest was not built" in log


def test_strict_compute_refuses_and_stores_nothing(azml_home, tmp_path):
    from azml_jupyter.engine.workspace import LocalWorkspace
    from azml_jupyter.spec.loader import load_job_text
    from azml_jupyter.spec.normalize import job_to_spec

    strict = LocalWorkspace(azml_home, strict_compute=True)
    job = load_job_text("command: echo hi\nenvironment: azureml:e:1\ncompute: azureml:nope\n", base_path=tmp_path)
    with pytest.raises(UnknownReference, match="'nope' does not exist"):
        strict.submit(job_to_spec(job))
    assert strict.list_jobs().jobs == []


def test_failing_command_reports_exit_code_and_last_line(jobs):
    record = jobs.submit(
        """
        command: python -c "import sys; print('about to fail'); sys.exit(3)"
        environment: azureml:env:1
        """
    )
    done = jobs.wait(record.name)
    assert done.status.value == "Failed"
    assert done.exit_code == 3
    assert "exited with code 3" in done.error and "about to fail" in done.error


def test_timeout_cancels_the_job(jobs):
    record = jobs.submit(
        """
        command: python -c "import time; print('started', flush=True); time.sleep(60)"
        environment: azureml:env:1
        limits:
          timeout: 1
        """
    )
    done = jobs.wait(record.name, timeout=30)
    assert done.status.value == "Canceled"
    assert "limits.timeout of 1 s" in done.error


def test_cancel_stops_the_whole_process_group(jobs, workspace, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    record = jobs.submit(
        f"""
        command: >-
          python -c "import subprocess, sys, time;
          p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']);
          open('{pid_file}', 'w').write(str(p.pid)); print('running', flush=True); time.sleep(120)"
        environment: azureml:env:1
        """
    )
    jobs.wait_for_status(record.name, "Running")
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        import time

        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert workspace.cancel_job(record.name).status.value in ("Running", "CancelRequested")
    done = jobs.wait(record.name, timeout=30)
    assert done.status.value == "Canceled"
    with pytest.raises(ProcessLookupError):
        os.kill(grandchild, 0)


def test_cancel_of_a_finished_job_is_a_conflict(jobs, workspace):
    from azml_jupyter.errors import Conflict

    record = jobs.submit("command: echo done\nenvironment: azureml:env:1\n")
    jobs.wait(record.name)
    with pytest.raises(Conflict, match="already ended"):
        workspace.cancel_job(record.name)


def test_job_names_are_checked_and_unique(jobs, workspace):
    from azml_jupyter.errors import Conflict, InvalidName

    jobs.submit("command: echo one\nenvironment: azureml:env:1\n", name="my-job_1")
    with pytest.raises(Conflict):
        jobs.submit("command: echo two\nenvironment: azureml:env:1\n", name="my-job_1")
    with pytest.raises(InvalidName):
        jobs.submit("command: echo two\nenvironment: azureml:env:1\n", name="bad name!")
    assert [j.name for j in workspace.list_jobs().jobs] == ["my-job_1"]


def test_list_is_newest_first_with_filters_and_cursor(jobs, workspace):
    names = []
    for i in range(5):
        experiment = "even" if i % 2 == 0 else "odd"
        names.append(
            jobs.submit(f"command: echo {i}\nenvironment: azureml:env:1\nexperiment_name: {experiment}\n").name
        )
    for name in names:
        jobs.wait(name)
    first = workspace.list_jobs(limit=2)
    assert [j.name for j in first.jobs] == names[::-1][:2]
    second = workspace.list_jobs(limit=2, cursor=first.next_cursor)
    third = workspace.list_jobs(limit=2, cursor=second.next_cursor)
    assert [j.name for j in second.jobs + third.jobs] == names[::-1][2:]
    assert third.next_cursor is None
    assert [j.name for j in workspace.list_jobs(experiment="odd").jobs] == [names[3], names[1]]
    assert workspace.list_jobs(status=["Failed"]).jobs == []
    assert len(workspace.list_jobs(status=["Completed"]).jobs) == 5
