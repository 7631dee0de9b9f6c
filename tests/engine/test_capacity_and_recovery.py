"""Node limits under concurrent submissions, and jobs surviving the processes around them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from azml_jupyter.engine import daemon
from azml_jupyter.engine.workspace import LocalWorkspace

RECORD_EVENTS = """
    import fcntl, json, sys, time
    def note(what):
        with open(sys.argv[1], "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps({"job": sys.argv[2], "at": what}) + "\\n")
    note("start"); time.sleep(0.3); note("end")
    """


def max_overlap(events_file: Path) -> int:
    running = peak = 0
    for event in map(json.loads, events_file.read_text().splitlines()):
        running += 1 if event["at"] == "start" else -1
        peak = max(peak, running)
    return peak


def test_node_limit_holds_under_20_concurrent_submissions(jobs, workspace, tmp_path):
    workspace.create_or_update_compute("pair", max_nodes=2)
    events = tmp_path / "events.jsonl"
    job_file = jobs.write(
        f"""
        command: python record.py {events} ${{{{inputs.tag}}}}
        code: ./src
        environment: azureml:env:1
        compute: azureml:pair
        inputs:
          tag: x
        """,
        files={"src/record.py": RECORD_EVENTS},
    )
    from azml_jupyter.spec.loader import load_job_file, parse_set_overrides
    from azml_jupyter.spec.normalize import job_to_spec

    names: list[str] = []
    errors: list[BaseException] = []

    def submit_from_thread(i: int) -> None:
        try:
            # each thread uses its own workspace object, as separate processes would
            own = LocalWorkspace(workspace.layout.home)
            spec = job_to_spec(load_job_file(job_file, overrides=parse_set_overrides([f"inputs.tag=job{i}"])))
            names.append(own.submit(spec).name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit_from_thread, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(names)) == 20
    states = [jobs.wait(name, timeout=120).status.value for name in names]
    assert states == ["Completed"] * 20
    assert len(events.read_text().splitlines()) == 40
    assert max_overlap(events) == 2  # never more than the cluster's nodes, and it did use both


def test_queued_jobs_wait_for_a_free_node_and_start_when_the_cluster_grows(jobs, workspace):
    workspace.create_or_update_compute("solo", max_nodes=1)
    long = jobs.submit(
        'command: python -c "import time; time.sleep(30)"\nenvironment: azureml:e:1\ncompute: azureml:solo\n'
    )
    jobs.wait_for_status(long.name, "Running")
    waiting = jobs.submit("command: echo second\nenvironment: azureml:e:1\ncompute: azureml:solo\n")
    time.sleep(1.0)  # give the engine a chance to (wrongly) start it
    assert workspace.get_job(waiting.name).status.value == "Queued"
    assert workspace.get_compute("solo").queued_jobs == 1
    workspace.create_or_update_compute("solo", max_nodes=2)
    assert jobs.wait(waiting.name).status.value == "Completed"
    workspace.cancel_job(long.name)
    jobs.wait(long.name)


def test_cancel_of_a_queued_job_never_runs_it(jobs, workspace, tmp_path):
    workspace.create_or_update_compute("solo", max_nodes=1)
    marker = tmp_path / "ran"
    blocker = jobs.submit(
        'command: python -c "import time; time.sleep(30)"\nenvironment: azureml:e:1\ncompute: azureml:solo\n'
    )
    jobs.wait_for_status(blocker.name, "Running")
    queued = jobs.submit(f"command: touch {marker}\nenvironment: azureml:e:1\ncompute: azureml:solo\n")
    assert workspace.cancel_job(queued.name).status.value == "Canceled"
    workspace.cancel_job(blocker.name)
    jobs.wait(blocker.name)
    time.sleep(0.5)
    assert not marker.exists()


def _daemon_pid(workspace) -> int:
    pid = daemon.engine_process(workspace.layout)
    assert pid is not None, "no engine runs"
    return pid


def test_engine_killed_mid_job_adopts_the_job_and_records_its_result(jobs, workspace):
    record = jobs.submit(
        'command: python -c "import time, sys; time.sleep(2); print(\'finished\'); sys.exit(4)"\n'
        "environment: azureml:e:1\n"
    )
    jobs.wait_for_status(record.name, "Running")
    os.kill(_daemon_pid(workspace), signal.SIGKILL)
    for _ in range(100):
        if not daemon.daemon_running(workspace.layout):
            break
        time.sleep(0.05)
    assert workspace.get_job(record.name).status.value == "Running"  # nobody watches it now
    LocalWorkspace(workspace.layout.home)  # a restarted server or CLI starts the engine again
    done = jobs.wait(record.name)
    assert done.status.value == "Failed" and done.exit_code == 4  # the real result, not a guess
    assert "finished" in jobs.log(record.name)


def test_job_and_engine_both_gone_is_reconciled_as_failed(jobs, workspace):
    record = jobs.submit('command: python -c "import time; time.sleep(60)"\nenvironment: azureml:e:1\n')
    running = jobs.wait_for_status(record.name, "Running")
    row = workspace.store.get_job(record.name)
    os.kill(_daemon_pid(workspace), signal.SIGKILL)
    os.killpg(row["pid"], signal.SIGKILL)  # as after a reboot: neither the engine nor the job is left
    for _ in range(100):
        if not daemon.daemon_running(workspace.layout):
            break
        time.sleep(0.05)
    LocalWorkspace(workspace.layout.home)
    done = jobs.wait(running.name)
    assert done.status.value == "Failed"
    assert "ended without reporting a result" in done.error


def test_cli_killed_while_streaming_leaves_the_job_running_to_completion(azml_home, tmp_path):
    job = tmp_path / "job.yml"
    job.write_text('command: python -c "import time; time.sleep(2); print(\'done\')"\nenvironment: azureml:e:1\n')
    cli = subprocess.Popen(
        [sys.executable, "-m", "azml_jupyter.cli", "job", "create", "-f", str(job), "--stream"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workspace = LocalWorkspace(azml_home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not workspace.list_jobs().jobs:
        time.sleep(0.1)
    name = workspace.list_jobs().jobs[0].name
    cli.kill()
    cli.wait()
    done = workspace.wait(name, timeout=60)
    assert done.status.value == "Completed"
    assert "done" in workspace.read_log(name)[0]


def test_two_processes_share_one_workspace_without_lost_updates(azml_home, tmp_path):
    """Two processes submit and create data asset versions at the same time: every write lands once."""
    script = tmp_path / "writer.py"
    data = tmp_path / "data"
    data.mkdir()
    script.write_text(
        "import sys, pathlib\n"
        "from azml_jupyter.engine.workspace import LocalWorkspace\n"
        "ws = LocalWorkspace(sys.argv[1], start_engine=False)\n"
        "for i in range(15):\n"
        "    f = pathlib.Path(sys.argv[2]) / f'{sys.argv[3]}-{i}.txt'\n"
        "    f.write_text(f'{sys.argv[3]} {i}')\n"
        "    ws.create_data('shared', f)\n"
        "    ws.create_or_update_compute(f'c-{sys.argv[3]}-{i}', max_nodes=1)\n"
    )
    writers = [
        subprocess.Popen([sys.executable, str(script), str(azml_home), str(data), tag]) for tag in ("left", "right")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    workspace = LocalWorkspace(azml_home, start_engine=False)
    versions = sorted(int(a.version) for a in workspace.list_data("shared"))
    assert versions == list(range(1, 31))  # 30 distinct versions, none lost or duplicated
    assert len([c for c in workspace.list_computes() if c.name.startswith("c-")]) == 30
