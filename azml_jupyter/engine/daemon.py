"""The local engine's scheduler: one detached daemon process per workspace.

Clients (the Jupyter server, the CLI, a kernel) only write to the store and wake the daemon; the daemon
is the single process that starts, watches, cancels and finishes jobs. It is started on demand, holds
``engine.lock`` for its lifetime (so there is exactly one), and exits after a quiet minute.

Jobs never depend on the daemon staying alive. Each command runs in its own session under a tiny
wrapper shell that writes the command's exit code to ``jobs/<name>/exit_code``. A daemon that is killed
and started again adopts running jobs, finishes those whose exit code is there, and fails only those
whose process vanished without one (the machine rebooted, someone killed the group).

Lifecycle of a command job: Queued -> Preparing (a node is claimed, working folder and inputs made
ready) -> Running -> Finalizing (./outputs and ./logs moved into the job's artifacts) -> Completed or
Failed; a cancel or ``limits.timeout`` ends in Canceled (SIGTERM to the process group, SIGKILL after a
grace period). A pipeline's steps start when the steps they read from have Completed; the pipeline's
status rolls up from its steps.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import logging
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import AzmlError
from ..models import JobStatus
from ..spec import bindings
from ..spec.secrets import without_server_secrets
from . import processes
from .datastore import LocalDatastores
from .layout import Layout
from .store import Store

log = logging.getLogger("azml_jupyter.engine")

S = JobStatus
WAITING = (S.NOT_STARTED.value, S.QUEUED.value)
BUSY = (S.PREPARING.value, S.RUNNING.value, S.FINALIZING.value, S.CANCEL_REQUESTED.value)
ACTIVE = WAITING + BUSY

IDLE_EXIT_SECONDS = float(os.environ.get("AZML_ENGINE_IDLE_EXIT", "60"))
CANCEL_GRACE_SECONDS = float(os.environ.get("AZML_ENGINE_CANCEL_GRACE", "10"))
TICK_SECONDS = 0.5  # longest sleep between checks; signals wake the loop at once

# The scheduler's view of active jobs: small columns only (the tick runs on every child exit).
TICK_COLUMNS = (
    "seq, name, type, parent_name, step_name, status, compute, cancel_requested, pid, pid_start, "
    "started_at, timeout_seconds, error"
)
NOTE = "[azml-local]"


# ---- client side: start and wake the daemon ---------------------------------------------------------
def daemon_running(layout: Layout) -> bool:
    try:
        with open(layout.engine_lock, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


# The engine runs isolated: -I ignores PYTHON* variables and the user's site-packages, and puts neither
# the current folder nor a script's folder on sys.path, so a psutil.py in the folder the server was started
# from is never imported. Installed packages (editable ones too: site-packages .pth files) still are; this
# package's own folder is appended, so a checkout used through PYTHONPATH also works (appended, it cannot
# shadow anything).
_ENGINE_MAIN = (
    "import sys; sys.path.append(sys.argv.pop(1)); from azml_jupyter.engine.daemon import main; sys.exit(main())"
)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def ensure_running(layout: Layout) -> None:
    """Start the daemon unless one runs. The client takes the engine lock itself and hands the locked
    file to the daemon it starts, so there is no moment in which a second client could start another."""
    lock = open(layout.engine_lock, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        wake(layout)
        return
    home = os.path.abspath(layout.home)
    try:
        with open(layout.engine_log, "ab") as err:
            engine = subprocess.Popen(
                [sys.executable, "-I", "-c", _ENGINE_MAIN, _PACKAGE_ROOT, home, "--lock-fd", str(lock.fileno())],
                cwd=home,  # never the server's folder: nothing relative resolves against it
                env=without_server_secrets(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,  # outlives the server or CLI that started it
                pass_fds=[lock.fileno()],  # the same open file, so the same lock
            )
    finally:
        lock.close()  # the daemon's copy of the file keeps the lock held
    # It is still our child: reap it when it exits, or every idle exit leaves a zombie in the server.
    threading.Thread(target=engine.wait, name="azml-engine-reaper", daemon=True).start()


def engine_process(layout: Layout) -> int | None:
    """The daemon's pid, if the process ``engine.pid`` names is still the one that wrote it. A pid file
    left by a killed daemon may name an unrelated process that got the pid since: never signal that."""
    try:
        pid_text, _, marker = layout.engine_pid.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    if not marker or processes.start_marker(pid) != marker:
        return None  # gone, reused, or written by a version that did not record the start time
    return pid


def _write_engine_pid(layout: Layout) -> None:
    pid = os.getpid()
    temporary = layout.engine_pid.with_name(f".engine.pid.{pid}")
    temporary.write_text(f"{pid} {processes.start_marker(pid)}\n")
    os.replace(temporary, layout.engine_pid)  # readers never see half a line


def wake(layout: Layout) -> None:
    pid = engine_process(layout)
    if pid is None:
        return  # not up yet: it looks at the store as soon as it starts
    try:
        os.kill(pid, signal.SIGUSR1)
    except (ProcessLookupError, PermissionError):
        pass


def stop(layout: Layout, timeout: float = 10) -> None:
    """Stop the daemon (running jobs keep running and are adopted by the next one)."""
    pid = engine_process(layout)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while daemon_running(layout) and time.monotonic() < deadline:
        time.sleep(0.02)


# ---- the daemon -------------------------------------------------------------------------------------
class Scheduler:
    def __init__(self, home: Path):
        self.layout = Layout(Path(home))
        self.store = Store(self.layout.database)
        self.datastores = LocalDatastores(self.layout, self.store)
        self.children: dict[str, subprocess.Popen] = {}  # jobs this daemon started
        self.preparing: dict[str, concurrent.futures.Future] = {}
        self.kill_at: dict[str, float] = {}  # canceling jobs -> when SIGKILL follows SIGTERM (monotonic)
        self.deadlines: dict[str, float] = {}  # running jobs with limits.timeout -> when it runs out (monotonic)
        self.pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="azml-prepare")
        self.stopping = False
        self.last_active = time.monotonic()
        self.step_seen: dict[str, dict[str, str]] = {}  # pipeline -> step -> last status written to its log
        # what every job inherits: the engine's environment without the Jupyter server's secrets (also
        # when a daemon was started by something else than ensure_running) and the engine's own settings
        self.base_environment = {
            k: v for k, v in without_server_secrets(os.environ).items() if not k.startswith("AZML_ENGINE_")
        }

    # -- main loop ------------------------------------------------------------------------------------
    def run(self, lock_fd: int | None = None) -> int:
        if lock_fd is not None:
            lock = os.fdopen(lock_fd, "a+")  # locked for us by the client that started us
        else:
            lock = open(self.layout.engine_lock, "a+")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # another daemon serves this workspace
        _write_engine_pid(self.layout)
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        for sig in (signal.SIGUSR1, signal.SIGCHLD):
            signal.signal(sig, lambda *_: None)  # the wake-up fd does the work
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        log.info("engine %s serving %s", os.getpid(), self.layout.home)
        self.reconcile()
        while not self.stopping:
            try:
                self.tick()
            except Exception:  # never die on one bad job: log it and keep serving the others
                log.exception("scheduler tick failed")
            if self._idle_too_long():
                break
            ready, _, _ = select.select([wake_read], [], [], TICK_SECONDS)
            if ready:
                try:
                    os.read(wake_read, 4096)
                except BlockingIOError:
                    pass
        self.pool.shutdown(wait=True)
        self._collect_prepared()
        if engine_process(self.layout) == os.getpid():
            self.layout.engine_pid.unlink(missing_ok=True)  # still holding the lock: nobody else wrote it
        log.info("engine %s exiting", os.getpid())
        return 0

    def _request_stop(self, *_: Any) -> None:
        self.stopping = True

    def _idle_too_long(self) -> bool:
        if self.preparing or self.children:
            self.last_active = time.monotonic()
            return False
        if not self.layout.database.exists():
            return True  # the workspace folder was removed
        if self.store.read_one(f"SELECT 1 FROM jobs WHERE status IN ({', '.join('?' * len(ACTIVE))}) LIMIT 1", ACTIVE):
            self.last_active = time.monotonic()
            return False
        return time.monotonic() - self.last_active > IDLE_EXIT_SECONDS

    def reconcile(self) -> None:
        """Bring the store in line with reality after a daemon (or the machine) stopped."""
        for row in self.store.jobs_in_status(BUSY):
            name = row["name"]
            if row["status"] == S.PREPARING.value and not row["pid"]:
                # nothing ran yet: prepare it again from scratch
                shutil.rmtree(self.layout.working_dir(name), ignore_errors=True)
                self.store.update_job(name, only_if_status=[S.PREPARING.value], status=S.QUEUED.value)
            elif self.layout.exit_code_file(name).exists() or processes.is_alive(row["pid"], row["pid_start"]):
                log.info("adopting job %s (pid %s)", name, row["pid"])  # watched by _check_running
            elif self.layout.not_started_file(name).exists():
                self._start_again(name)
            else:
                self._finish(
                    name,
                    S.CANCELED if row["cancel_requested"] else S.FAILED,
                    error=None
                    if row["cancel_requested"]
                    else "The job's process ended without reporting a result "
                    "(the machine or the engine stopped while it ran).",
                )

    def tick(self) -> None:
        # Only what can change without us is read in full: busy jobs (at most the nodes), pipelines, and
        # cancels of waiting jobs. Queued jobs are read per compute, as many as there are free nodes, so
        # a tick costs the same with 5 or 5,000 jobs waiting.
        self._collect_prepared()
        now = time.monotonic()  # durations (timeouts, grace periods) never follow the wall clock
        for row in self.store.jobs_in_status(BUSY, TICK_COLUMNS):
            # a job whose start is not collected yet waits a tick: finishing it without its Popen object
            # would leave its shell a zombie of this daemon
            if row["type"] == "command" and row["status"] != S.PREPARING.value and row["name"] not in self.preparing:
                self._check_running(row, now)
        for row in self.store.read(
            f"SELECT name FROM jobs WHERE cancel_requested = 1 AND type = 'command' AND status IN "
            f"({', '.join('?' * len(WAITING))})",
            WAITING,
        ):
            self._finish(row["name"], S.CANCELED)
        for row in self.store.read(
            f"SELECT name FROM jobs WHERE type = 'pipeline' AND status IN ({', '.join('?' * len(ACTIVE))})", ACTIVE
        ):
            pipeline = self.store.get_job(row["name"])
            if pipeline is not None:
                self._advance_pipeline(pipeline)
        self._schedule()

    # -- running jobs ---------------------------------------------------------------------------------
    def _check_running(self, row: dict[str, Any], now: float) -> None:
        name = row["name"]
        exit_file = self.layout.exit_code_file(name)
        child = self.children.get(name)
        wrapper_done = child.poll() is not None if child else not processes.is_alive(row["pid"], row["pid_start"])
        exit_code = _read_exit_code(exit_file)
        if exit_code is not None and not row["cancel_requested"]:
            self._finalize(row, exit_code)
            return
        deadline = self._deadline(row, now)
        if not row["cancel_requested"] and deadline is not None and now > deadline and not wrapper_done:
            timeout = row["timeout_seconds"]
            self.store.update_job(
                name,
                cancel_requested=1,
                error=f"The job ran longer than its limits.timeout of {timeout} s and was canceled.",
            )
            row = {**row, "cancel_requested": 1, "error": self.store.get_job(name)["error"]}
        if row["cancel_requested"]:
            self._stop_process(row, now, wrapper_done)
            return
        if wrapper_done:
            self.children.pop(name, None)
            exit_code = _read_exit_code(exit_file)
            if exit_code is not None:
                self._finalize(row, exit_code)
            elif self.layout.not_started_file(name).exists():
                self._start_again(name)
            else:
                processes.signal_group(row["pid"], signal.SIGKILL)
                self._finish(name, S.FAILED, error="The job's process was killed before its command finished.")

    def _start_again(self, name: str) -> None:
        """The job's shell ran nothing (the daemon that started it was killed before it said "go"): queue
        it again, as if it had never been claimed."""
        log.info("job %s never started its command: queued again", name)
        self.deadlines.pop(name, None)
        shutil.rmtree(self.layout.working_dir(name), ignore_errors=True)
        self.layout.not_started_file(name).unlink(missing_ok=True)
        self.store.update_job(
            name, only_if_status=BUSY, status=S.QUEUED.value, pid=None, pid_start=None, started_at=None
        )

    def _deadline(self, row: dict[str, Any], now: float) -> float | None:
        """When (on the monotonic clock) the job's ``limits.timeout`` runs out. Set when this daemon starts
        the job; a job adopted from an earlier daemon gets what remains of it by the wall clock, once."""
        name, timeout = row["name"], row["timeout_seconds"]
        if not timeout or not row["started_at"]:
            return None
        if name not in self.deadlines:
            ran = min(max(time.time() - row["started_at"], 0.0), timeout)
            self.deadlines[name] = now + timeout - ran
        return self.deadlines[name]

    def _stop_process(self, row: dict[str, Any], now: float, wrapper_done: bool) -> None:
        name, pgid = row["name"], row["pid"]
        if name not in self.kill_at:
            self.store.update_job(name, status=S.CANCEL_REQUESTED.value)
            processes.signal_group(pgid, signal.SIGTERM)
            self.kill_at[name] = now + CANCEL_GRACE_SECONDS
            return
        if wrapper_done and not processes.group_alive(pgid):
            self.kill_at.pop(name, None)
            self.children.pop(name, None)
            self._move_artifacts(name)
            self._finish(name, S.CANCELED, error=row["error"])
        elif now >= self.kill_at[name]:
            processes.signal_group(pgid, signal.SIGKILL)

    def _finalize(self, row: dict[str, Any], exit_code: int) -> None:
        name = row["name"]
        wd = self.layout.working_dir(name)
        if any(_has_files(wd / folder) for folder in ("outputs", "logs")):  # something to move: say so
            self.store.update_job(name, status=S.FINALIZING.value, exit_code=exit_code)
        processes.signal_group(row["pid"], signal.SIGKILL)  # background leftovers end with the job, as on Azure
        if name in self.children:
            self.children.pop(name).wait()
        self._move_artifacts(name)
        if exit_code == 0:
            self._finish(name, S.COMPLETED, exit_code=0)
        else:
            last = _last_line(self.layout.std_log(name))
            detail = f" Last line: {last}" if last else ""
            self._finish(
                name,
                S.FAILED,
                exit_code=exit_code,
                error=f"The command exited with code {exit_code}; see user_logs/std_log.txt.{detail}",
            )

    def _move_artifacts(self, name: str) -> None:
        """Azure ML uploads ./outputs and ./logs of the working folder as the job's artifacts."""
        wd, artifacts = self.layout.working_dir(name), self.layout.artifacts(name)
        for folder in ("outputs", "logs"):
            source, target = wd / folder, artifacts / folder
            if source.is_dir() and not source.is_symlink():
                if target.exists():  # links stay links: what they point at is checked when read (downloads)
                    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
                    shutil.rmtree(source, ignore_errors=True)
                else:
                    shutil.move(str(source), str(target))

    def _finish(self, name: str, status: JobStatus, *, exit_code: int | None = None, error: str | None = None) -> None:
        self.deadlines.pop(name, None)
        fields: dict[str, Any] = {"status": status.value, "ended_at": time.time()}
        if exit_code is not None:
            fields["exit_code"] = exit_code
        if error is not None:
            fields["error"] = error
        self.store.update_job(name, only_if_status=ACTIVE, **fields)

    # -- pipelines --------------------------------------------------------------------------------------
    def _advance_pipeline(self, pipeline: dict[str, Any]) -> None:
        steps = {row["step_name"]: row for row in self.store.list_jobs(parent=pipeline["name"], limit=10_000)}
        spec = pipeline["spec"]
        keep_going = spec.get("continue_on_step_failure", False)
        statuses = {step: JobStatus(row["status"]) for step, row in steps.items()}
        failed = [s for s, st in statuses.items() if st in (S.FAILED, S.CANCELED)]
        stopping = pipeline["cancel_requested"] or (failed and not keep_going)
        for step, row in steps.items():
            if statuses[step].is_terminal:
                continue
            if stopping:
                if statuses[step] in (S.NOT_STARTED,):
                    reason = (
                        "The pipeline was canceled."
                        if pipeline["cancel_requested"]
                        else (f"Not started: step {failed[0]!r} did not complete.")
                    )
                    self._finish(row["name"], S.CANCELED, error=reason)
                elif not row["cancel_requested"]:
                    self.store.update_job(row["name"], cancel_requested=1)
                continue
            if statuses[step] is S.NOT_STARTED:
                upstream = [statuses.get(dep) for dep in row["spec"].get("depends_on", [])]
                if any(st in (S.FAILED, S.CANCELED) for st in upstream):
                    self._finish(row["name"], S.CANCELED, error="Not started: a step it reads from did not complete.")
                elif all(st is S.COMPLETED for st in upstream):
                    self.store.update_job(row["name"], only_if_status=[S.NOT_STARTED.value], status=S.QUEUED.value)
        steps = {row["step_name"]: row for row in self.store.list_jobs(parent=pipeline["name"], limit=10_000)}
        statuses = {step: JobStatus(row["status"]) for step, row in steps.items()}
        self._log_step_changes(pipeline["name"], steps)
        if all(st.is_terminal for st in statuses.values()):
            if pipeline["cancel_requested"]:
                final, error = S.CANCELED, None
            elif all(st is S.COMPLETED for st in statuses.values()):
                final, error = S.COMPLETED, None
            else:
                bad = sorted(s for s, st in statuses.items() if st is S.FAILED)
                final = S.FAILED if bad else S.CANCELED
                error = f"Step(s) {', '.join(bad)} failed." if bad else "Steps were canceled."
            self._finish(pipeline["name"], final, error=error)
        elif any(st not in (S.NOT_STARTED, S.QUEUED) for st in statuses.values()):
            if pipeline["status"] != S.RUNNING.value and not pipeline["cancel_requested"]:
                self.store.update_job(
                    pipeline["name"],
                    only_if_status=WAITING,
                    status=S.RUNNING.value,
                    started_at=min((r["started_at"] for r in steps.values() if r["started_at"]), default=time.time()),
                )
            elif pipeline["cancel_requested"] and pipeline["status"] != S.CANCEL_REQUESTED.value:
                self.store.update_job(pipeline["name"], status=S.CANCEL_REQUESTED.value)

    def _log_step_changes(self, pipeline: str, steps: dict[str, dict[str, Any]]) -> None:
        """A pipeline's own log tells its steps' progress (the steps have their own logs)."""
        seen = self.step_seen.setdefault(pipeline, {})
        lines = []
        for step, row in sorted(steps.items(), key=lambda item: item[1]["seq"]):
            if seen.get(step) != row["status"]:
                seen[step] = row["status"]
                detail = f": {row['error']}" if row["error"] and row["status"] != S.COMPLETED.value else ""
                lines.append(f"{time.strftime('%H:%M:%S')} step {step} ({row['name']}) {row['status']}{detail}\n")
        if lines:
            _append_log(self.layout.std_log(pipeline), "".join(lines))
        if all(JobStatus(row["status"]).is_terminal for row in steps.values()):
            self.step_seen.pop(pipeline, None)

    # -- scheduling -----------------------------------------------------------------------------------
    def _schedule(self) -> None:
        busy = {
            row["compute"]: row["n"]
            for row in self.store.read(
                "SELECT compute, COUNT(*) AS n FROM jobs WHERE type = 'command' AND status IN "
                f"({', '.join('?' * len(BUSY))}) GROUP BY compute",
                BUSY,
            )
        }
        for compute in self.store.list_computes():
            free = compute["max_nodes"] - busy.get(compute["name"], 0)
            if free <= 0:
                continue
            queued = self.store.read(  # oldest first: FIFO per compute
                "SELECT name FROM jobs WHERE status = ? AND type = 'command' AND compute = ? AND cancel_requested = 0"
                " ORDER BY seq LIMIT ?",
                (S.QUEUED.value, compute["name"], free),
            )
            for row in queued:
                if self.store.update_job(row["name"], only_if_status=[S.QUEUED.value], status=S.PREPARING.value):
                    self.preparing[row["name"]] = self.pool.submit(self._prepare_and_start, row["name"])

    def _collect_prepared(self) -> None:
        for name, future in list(self.preparing.items()):
            if not future.done():
                continue
            del self.preparing[name]
            try:
                child = future.result()
            except _CanceledBeforeStart:
                self._finish(name, S.CANCELED)
                continue
            except AzmlError as exc:
                _append_log(self.layout.std_log(name), f"{NOTE} {exc.message}\n")
                self._finish(name, S.FAILED, error=exc.message)
                continue
            except Exception as exc:  # a broken preparation fails that job, not the daemon
                log.exception("preparing %s failed", name)
                self._finish(name, S.FAILED, error=f"The job could not be prepared: {exc}")
                continue
            self.children[name] = child

    def _prepare_and_start(self, name: str) -> subprocess.Popen:
        row = self.store.get_job(name)
        if row is None:
            raise _CanceledBeforeStart()
        spec = row["spec"]
        # The submitting client made the job's folders (off this critical path); a job re-queued after a
        # crash had its working folder removed by reconcile().
        wd = self.layout.working_dir(name)
        snapshot = self.layout.snapshot(name)
        if snapshot.is_dir():
            shutil.copytree(snapshot, wd, symlinks=True, dirs_exist_ok=True)
        else:
            wd.mkdir(parents=True, exist_ok=True)
        for folder in ("outputs", "logs"):  # Azure ML makes both before the command starts
            (wd / folder).mkdir(exist_ok=True)
        std_log = self.layout.std_log(name)
        std_log.parent.mkdir(parents=True, exist_ok=True)
        inputs = {key: self._input_value(name, key, value) for key, value in spec["inputs"].items()}
        outputs = {key: self._output_path(key, value) for key, value in spec["outputs"].items()}
        command = bindings.render_command(spec["command"], inputs, outputs)
        env = self._environment(row, inputs, outputs)
        exit_file, not_started = self.layout.exit_code_file(name), self.layout.not_started_file(name)
        exit_file.unlink(missing_ok=True)
        not_started.unlink(missing_ok=True)
        gate_read, gate_write = os.pipe()  # the command waits for "go" on it: see _job_script
        try:
            with open(std_log, "ab") as out:
                notes = "".join(f"{NOTE} {note}\n" for note in spec.get("notes", []))
                out.write(notes.encode())
                out.flush()
                fresh = self.store.read_one("SELECT cancel_requested FROM jobs WHERE name = ?", (name,))
                if fresh is None or fresh["cancel_requested"]:
                    raise _CanceledBeforeStart()
                child = subprocess.Popen(
                    ["/bin/bash", "-c", _job_script(command, exit_file, not_started, gate_read)],
                    cwd=wd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: cancel stops everything it started
                    close_fds=True,
                    pass_fds=[gate_read],
                )
            if row["timeout_seconds"]:
                self.deadlines[name] = time.monotonic() + row["timeout_seconds"]
            try:
                self.store.update_job(
                    name,
                    status=S.RUNNING.value,
                    pid=child.pid,
                    pid_start=processes.start_marker(child.pid),
                    started_at=time.time(),
                )
            except BaseException:
                os.close(gate_write)  # no "go": the shell ends at once without running the command
                gate_write = -1
                child.wait()
                raise
            _open_gate(gate_write)  # recorded as Running: now the command may run
        finally:
            for fd in (gate_read, gate_write):
                if fd >= 0:
                    os.close(fd)
        return child

    def _input_value(self, job: str, key: str, value: dict[str, Any]) -> str | None:
        kind = value.get("kind")
        if kind == "absent":
            return None
        if kind == "literal":
            return bindings.literal_text(value["value"])
        uri = value["uri"]
        if value.get("mode") == "direct":
            return uri  # Azure ML passes the URI itself in direct mode
        if uri.startswith(("http://", "https://")):
            return bindings.path_text(str(self._download(job, key, uri)))
        path = self.datastores.path_for_uri(uri, what=f"Input {key!r}")
        if not path.exists():
            raise AzmlError(f"Input {key!r}: {uri} does not exist (looked in {path}).")
        return bindings.path_text(str(path))

    def _output_path(self, key: str, value: dict[str, Any]) -> str:
        path = self.datastores.path_for_uri(value["uri"], what=f"Output {key!r}")
        (path.parent if value["type"] == "uri_file" else path).mkdir(parents=True, exist_ok=True)
        return bindings.path_text(str(path))

    def _download(self, job: str, key: str, url: str) -> Path:
        name = Path(urllib.parse.urlparse(url).path).name
        if name in ("", ".", "..") or "\\" in name:  # the file is named after the URL, never a way out
            name = key
        target = self.layout.job_dir(job) / "inputs" / key / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as fh:
                shutil.copyfileobj(response, fh, 8 << 20)
        except OSError as exc:
            raise AzmlError(f"Input {key!r}: cannot download {url}: {exc}") from None
        return target

    def _environment(
        self, row: dict[str, Any], inputs: dict[str, str | None], outputs: dict[str, str]
    ) -> dict[str, str]:
        spec = row["spec"]
        env = dict(self.base_environment)
        python = spec.get("python")
        if python:
            env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", os.defpath)])
        env.update(
            {
                "PYTHONUNBUFFERED": "1",  # so print() reaches the live log at once
                "AZUREML_RUN_ID": row["name"],
                "AZUREML_EXPERIMENT_NAME": row["experiment_name"] or "",
                "AZUREML_ARTIFACTS_DIR": str(self.layout.artifacts(row["name"])),
                "AZML_JUPYTER_LOCAL": "1",
            }
        )
        # Azure ML exposes each input and output to the process as AZURE_ML_INPUT_<name>/AZURE_ML_OUTPUT_<name>
        env.update({f"AZURE_ML_INPUT_{k}": v for k, v in inputs.items() if v is not None})
        env.update({f"AZURE_ML_OUTPUT_{k}": v for k, v in outputs.items()})
        env.update(spec.get("environment_variables", {}))
        return env


class _CanceledBeforeStart(AzmlError):
    def __init__(self) -> None:
        super().__init__("The job was canceled before it started.")


def _job_script(command: str, exit_file: Path, not_started: Path, gate: int) -> str:
    """The job's shell. It runs the command in a subshell and, on its way out, writes the command's exit
    status: a finished job's result survives a daemon that was not there to see it end, and the subshell
    lets ``exec python ...`` (or ``exit N``) end only the command, never the shell that records its result.

    First it waits for the daemon's "go" on the ``gate`` pipe, sent once the job is recorded as Running. A
    daemon killed before that closes the pipe instead: the shell then runs nothing and leaves
    ``not_started``, so the next daemon starts the job again -- once, never twice."""
    q = shlex.quote
    return (
        f"IFS= read -r go <&{gate}; exec {gate}<&-\n"
        f'if [ "$go" != go ]; then : > {q(str(not_started))}; exit 0; fi\n'
        f"trap 'printf %s \"$?\" > {q(str(exit_file))}' EXIT\n(\n{command}\n)"
    )


def _open_gate(fd: int) -> None:
    os.write(fd, b"go\n")


def _read_exit_code(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None  # empty: being written right now


def _append_log(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _last_line(path: Path, limit: int = 300) -> str | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            lines = [line.strip() for line in fh.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return None
    return lines[-1][:limit] if lines else None


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and next(folder.iterdir(), None) is not None


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m azml_jupyter.engine.daemon")
    parser.add_argument("home", type=Path, help="the local workspace folder")
    parser.add_argument("--lock-fd", type=int, help="an inherited, already locked engine.lock")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s engine: %(message)s")
    # A preparing thread waits for the GIL up to the switch interval (5 ms) while the loop runs Python:
    # with one job start per node per job end on the critical path, hand it over sooner.
    sys.setswitchinterval(0.0005)
    return Scheduler(args.home).run(args.lock_fd)


if __name__ == "__main__":
    sys.exit(main())

