"""Issue 13 items 4, 8, 14 and 19: how the engine daemon is started, signalled and how it runs jobs.

- 4: the daemon runs isolated (``python -I``) in the workspace folder: a ``psutil.py`` in the folder the
  server was started from (or on PYTHONPATH) is never imported by it;
- 8: a stale ``engine.pid`` naming an unrelated process (the pid was reused) is never signalled;
- 14: ``exec`` commands record their true exit code;
- 19: the daemon leaves no zombies behind, and timeouts are measured on the monotonic clock.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from azml_jupyter.engine import daemon
from azml_jupyter.engine.layout import Layout
from azml_jupyter.engine.workspace import LocalWorkspace

from .engine_jobs import JobFolders


@pytest.fixture
def job_folders(workspace, tmp_path) -> JobFolders:
    return JobFolders(workspace, tmp_path)


def _engine_pid(layout: Layout, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = daemon.engine_process(layout)
        if pid is not None:
            return pid
        time.sleep(0.05)
    raise AssertionError("the engine did not start")


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def _zombie_children(pid: int) -> list[int]:
    zombies = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] == "Z" and int(fields[1]) == pid:
                zombies.append(int(entry))
    return zombies


# ---- 4: isolated start ------------------------------------------------------------------------------
PLANTED = """
import pathlib, os
pathlib.Path({marker!r}).write_text(f"imported by pid {{os.getpid()}}")
raise ImportError("planted module")
"""


def test_the_engine_imports_nothing_from_the_servers_folder_or_pythonpath(
    azml_home, tmp_path, monkeypatch, job_folders
):
    marker = tmp_path / "planted-module-ran"
    for folder in ("server_cwd", "on_pythonpath"):
        (tmp_path / folder).mkdir()
        for module in ("psutil", "blake3"):  # both imported by the engine at start
            (tmp_path / folder / f"{module}.py").write_text(PLANTED.format(marker=str(marker)))
    monkeypatch.chdir(tmp_path / "server_cwd")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "on_pythonpath"))
    record = job_folders.submit("command: echo hello\nenvironment: azureml:e:1\n")
    done = job_folders.wait(record.name)
    assert done.status.value == "Completed", (done.error, (azml_home / "engine.log").read_text())
    assert not marker.exists(), marker.read_text()
    pid = _engine_pid(Layout(azml_home))
    assert os.readlink(f"/proc/{pid}/cwd") == str(azml_home)  # a fixed working folder: the workspace


def test_jobs_still_see_the_users_pythonpath(azml_home, tmp_path, monkeypatch, job_folders):
    """Isolation is the engine's own: a job's python gets the environment as before."""
    (tmp_path / "mylib").mkdir()
    (tmp_path / "mylib" / "helper_for_job.py").write_text("VALUE = 42\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "mylib"))
    record = job_folders.submit(
        "command: python -c \"import helper_for_job; print('value', helper_for_job.VALUE)\"\n"
        "environment: azureml:e:1\n"
    )
    assert job_folders.wait(record.name).status.value == "Completed"
    assert "value 42" in job_folders.log(record.name)


# ---- 8: stale pid file ---------------------------------------------------------------------------------
@pytest.fixture
def unrelated_process():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("form", ["bare pid (older versions)", "pid with another start time"])
def test_a_stale_pid_file_never_signals_the_process_that_reused_the_pid(workspace, unrelated_process, form):
    layout = workspace.layout
    pid = unrelated_process.pid
    layout.engine_pid.write_text(f"{pid}\n" if form.startswith("bare") else f"{pid} t1\n")
    daemon.wake(layout)
    workspace.create_or_update_compute("more", max_nodes=2)  # wakes the engine
    daemon.stop(layout, timeout=0.5)
    time.sleep(0.2)
    assert unrelated_process.poll() is None, f"the unrelated process {pid} was killed ({unrelated_process.returncode})"


def test_the_real_engine_is_still_woken_and_stopped(workspace, job_folders):
    record = job_folders.submit("command: echo up\nenvironment: azureml:e:1\n")
    job_folders.wait(record.name)
    pid = _engine_pid(workspace.layout)
    daemon.wake(workspace.layout)
    assert _state(pid) not in (None, "Z")
    daemon.stop(workspace.layout)
    assert not daemon.daemon_running(workspace.layout)
    assert not workspace.layout.engine_pid.exists()  # a clean exit leaves no pid file to go stale


# ---- 14: exec commands --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, status, exit_code",
    [
        ("exec python -c 'import sys; sys.exit(0)'", "Completed", 0),
        ("exec python -c 'import sys; sys.exit(3)'", "Failed", 3),
        ("echo first && exec bash -c 'exit 7'", "Failed", 7),
        ("cd /tmp && exec true", "Completed", 0),
        ("exit 5", "Failed", 5),
    ],
)
def test_exec_commands_record_their_true_exit_code(job_folders, command, status, exit_code):
    record = job_folders.submit(f'command: "{command}"\nenvironment: azureml:e:1\n')
    done = job_folders.wait(record.name)
    assert (done.status.value, done.exit_code) == (status, exit_code), done.error


def test_an_exec_job_that_ends_while_no_engine_runs_keeps_its_result(job_folders, workspace):
    record = job_folders.submit(
        "command: exec python -c 'import time, sys; time.sleep(1.5); sys.exit(6)'\nenvironment: azureml:e:1\n"
    )
    deadline = time.monotonic() + 30
    while workspace.get_job(record.name).status.value != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(_engine_pid(workspace.layout), signal.SIGKILL)
    while daemon.daemon_running(workspace.layout):
        time.sleep(0.05)
    time.sleep(2)  # the command ends while nobody watches
    LocalWorkspace(workspace.layout.home)  # a restarted server or CLI starts the engine again
    done = job_folders.wait(record.name)
    assert (done.status.value, done.exit_code) == ("Failed", 6), done.error


# ---- 19: zombies and clocks -----------------------------------------------------------------------------
def test_the_engine_leaves_no_zombies(job_folders, workspace, azml_home, monkeypatch):
    monkeypatch.setenv("AZML_ENGINE_IDLE_EXIT", "1")
    names = [
        job_folders.submit(f"command: {command}\nenvironment: azureml:e:1\n").name
        for command in ("sleep 30 & echo started", "exit 3", "exec true", "echo plain")
    ]
    for name in names:
        job_folders.wait(name)
    pid = _engine_pid(workspace.layout)
    assert _zombie_children(pid) == []  # every job's shell was reaped
    deadline = time.monotonic() + 30
    while _state(pid) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.1)  # the idle engine exits
    time.sleep(0.3)
    assert _state(pid) is None, "the exited engine is a zombie of the process that started it"


def test_a_wall_clock_jump_does_not_time_a_job_out(workspace, job_folders, monkeypatch):
    """A scheduler run in this process (holding the engine lock, so no daemon starts): the wall clock
    jumps an hour ahead while a job with a 60 s timeout runs; the job is not canceled."""
    layout = workspace.layout
    lock = open(layout.engine_lock, "a+")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    scheduler = daemon.Scheduler(layout.home)
    try:
        record = job_folders.submit("command: sleep 1\nenvironment: azureml:e:1\nlimits:\n  timeout: 60\n")
        deadline = time.monotonic() + 30
        while workspace.get_job(record.name).status.value != "Running" and time.monotonic() < deadline:
            scheduler.tick()
            time.sleep(0.05)
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
        while not workspace.get_job(record.name).is_terminal and time.monotonic() < deadline:
            scheduler.tick()
            time.sleep(0.05)
        monkeypatch.undo()
        done = workspace.get_job(record.name)
        assert (done.status.value, done.error) == ("Completed", None)
    finally:
        scheduler.pool.shutdown(wait=True)
        for child in scheduler.children.values():
            child.kill()
            child.wait()
        scheduler.store.close()
        lock.close()


# ---- 19: a daemon killed while starting a job --------------------------------------------------------
KILLED_WHILE_STARTING = """
import os, signal, sys
from azml_jupyter.engine import daemon
from azml_jupyter.engine.store import Store

where = sys.argv[2]
if where == "before the Running write":
    real = Store.update_job
    def update_job(self, name, **fields):
        if fields.get("status") == "Running":
            os.kill(os.getpid(), signal.SIGKILL)  # the process has been started; the store does not know
        return real(self, name, **fields)
    Store.update_job = update_job
else:
    daemon._open_gate = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # recorded, but no "go" sent
sys.exit(daemon.main([sys.argv[1]]))
"""


@pytest.mark.parametrize("where", ["before the Running write", "after the Running write"])
def test_a_daemon_killed_while_starting_a_job_never_runs_it_twice(job_folders, workspace, tmp_path, where):
    runs = tmp_path / "runs.txt"
    script = tmp_path / "killed_engine.py"
    script.write_text(KILLED_WHILE_STARTING)
    engine = subprocess.Popen([sys.executable, str(script), str(workspace.layout.home), where])
    _engine_pid(workspace.layout)  # it holds the engine lock: the submission only wakes it
    record = job_folders.submit(f"command: echo ran >> {runs}\nenvironment: azureml:e:1\n")
    assert engine.wait(30) == -signal.SIGKILL
    time.sleep(0.5)  # a shell it started would have run the command by now
    LocalWorkspace(workspace.layout.home)  # a restarted server or CLI starts the engine again
    done = job_folders.wait(record.name)
    assert done.status.value == "Completed", done.error
    assert runs.read_text().splitlines() == ["ran"]  # exactly once


def test_a_job_that_ends_before_its_start_is_collected_is_still_reaped(workspace, job_folders):
    """The daemon's tick can see a fast job's result before the thread that started it has handed its
    process over: that job must still be reaped (an in-process scheduler, as above)."""
    layout = workspace.layout
    lock = open(layout.engine_lock, "a+")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    scheduler = daemon.Scheduler(layout.home)
    start = scheduler._prepare_and_start

    def slow_to_hand_over(name):
        child = start(name)
        time.sleep(1.0)  # the command has run and ended by now
        return child

    scheduler._prepare_and_start = slow_to_hand_over
    try:
        record = job_folders.submit("command: echo quick\nenvironment: azureml:e:1\n")
        deadline = time.monotonic() + 30
        while (scheduler.preparing or not workspace.get_job(record.name).is_terminal) and time.monotonic() < deadline:
            scheduler.tick()
            time.sleep(0.05)
        for _ in range(5):
            scheduler.tick()
        assert workspace.get_job(record.name).status.value == "Completed"
        assert _state(workspace.store.get_job(record.name)["pid"]) is None  # reaped, not a zombie
    finally:
        scheduler.pool.shutdown(wait=True)
        scheduler.store.close()
        lock.close()
