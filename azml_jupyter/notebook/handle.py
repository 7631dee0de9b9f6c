"""``Job``: the handle a notebook gets for a submitted job (from ``%%azml_submit``, ``submit_cells``,
``submit_notebook`` or ``Job.attach(name)``). Everything goes through the Backend protocol, so a handle
works the same on the local engine and on Azure ML."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from ..errors import AzmlError, NotFound
from ..models import JobRecord, JobStatus
from . import azml_runtime

POLL_SECONDS = 0.25

_last_job: Job | None = None


class JobFailed(AzmlError):
    """The job ended without completing; the message has its status, error and the end of its log."""

    status = 409
    code = "job_failed"


class JobNotFinished(AzmlError):
    status = 409
    code = "job_not_finished"


def default_backend():
    """This process's backend (``settings.process_backend``: the settings every process reads, the
    server's own when this kernel was started by it), opened once and shared by handles and widgets."""
    from ..settings import process_backend

    return process_backend()


def last_job() -> Job | None:
    """The job most recently submitted from this kernel."""
    return _last_job


class Job:
    def __init__(
        self,
        name: str,
        *,
        backend: Any = None,
        namespace: MutableMapping[str, Any] | None = None,
        returns: list[str] | None = None,
        record: JobRecord | None = None,
        notes: list[str] | None = None,
    ):
        self.name = name
        self.backend = backend or default_backend()
        self.namespace = namespace  # where result() puts the returned variables (the kernel's user_ns)
        self.returns = list(returns) if returns is not None else None
        self.notes = list(notes or [])
        self._record = record
        self._result: dict[str, Any] | None = None
        self._monitor = None
        self._shown_in: int | None = None  # the kernel execution that already displayed the widget

    @classmethod
    def attach(cls, name: str, *, backend: Any = None, namespace: MutableMapping[str, Any] | None = None) -> Job:
        """A handle for a job submitted earlier (by name)."""
        backend = backend or default_backend()
        return cls(name, backend=backend, namespace=namespace, record=backend.get_job(name))

    # ---- state ------------------------------------------------------------------------------------
    def refresh(self) -> JobRecord:
        self._record = self.backend.get_job(self.name)
        return self._record

    @property
    def record(self) -> JobRecord:
        return self._record or self.refresh()

    @property
    def status(self) -> str:
        """The current status, e.g. ``"Running"`` (asks the backend)."""
        return self.refresh().status.value

    @property
    def studio_url(self) -> str | None:
        return self.record.studio_url

    def to_dict(self) -> dict[str, Any]:
        record = self.record
        return {
            "name": self.name,
            "status": record.status.value,
            "display_name": record.display_name,
            "experiment_name": record.experiment_name,
            "studio_url": record.studio_url,
            "returns": self.returns,
            "notes": self.notes,
        }

    # ---- actions ----------------------------------------------------------------------------------
    def wait(self, timeout: float | None = None, *, poll: float = POLL_SECONDS) -> JobRecord:
        """Block until the job ends (or ``timeout`` seconds pass); returns the latest record."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.refresh()
            if record.is_terminal or (deadline is not None and time.monotonic() >= deadline):
                return record
            time.sleep(poll)

    def cancel(self) -> JobRecord:
        self._record = self.backend.cancel_job(self.name)
        return self._record

    def logs(self) -> str:
        """The job's log so far (``user_logs/std_log.txt``)."""
        parts, offset = [], 0
        while True:
            chunk = self.backend.read_logs(self.name, offset)
            parts.append(chunk.text)
            if chunk.next_offset == offset or chunk.complete:
                return "".join(parts)
            offset = chunk.next_offset

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the job, fetch its ``--return`` variables, put them into the kernel's namespace and
        return them as a dict. Raises JobFailed if the job did not complete."""
        if self._result is not None:
            return dict(self._result)
        record = self.wait(timeout)
        if not record.is_terminal:
            raise JobNotFinished(f"Job {self.name} is still {record.status.value} after {timeout} s.")
        if record.status is not JobStatus.COMPLETED:
            raise JobFailed(self._failure_message(record), details={"job": self.name, "status": record.status.value})
        if self.returns == [] or azml_runtime.RETURNS_OUTPUT not in (record.outputs or {}):
            self._result = {}
            return {}
        folder = Path(tempfile.mkdtemp(prefix="azml-returns-"))
        try:
            self.backend.download(self.name, folder, output=azml_runtime.RETURNS_OUTPUT)
            values = azml_runtime.load_values(str(folder / "named-outputs" / azml_runtime.RETURNS_OUTPUT))
        except (FileNotFoundError, NotFound) as exc:
            raise JobFailed(f"Job {self.name} completed but its returned variables cannot be read: {exc}") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if self.namespace is not None:
            self.namespace.update(values)
        self._result = values
        return dict(values)

    def _failure_message(self, record: JobRecord) -> str:
        """Status and error, the job's traceback unless the widget shows the log already (once is
        enough), and where the full log is."""
        text = f"Job {self.name} {record.status.value}"
        if record.error:
            text += f": {record.error}"
        if self._monitor is not None and self._shown_in is not None:
            self._monitor.wait(timeout=10)  # so the widget's log tail is the final one, traceback included
        else:
            excerpt = failure_excerpt(self.logs())
            if excerpt:
                text += f"\n{excerpt}"
        where = f"%azml_logs {self.name}, or the job in the Azure ML panel"
        if record.studio_url:
            where += f", or {record.studio_url}"
        return f"{text}\nThe full log is user_logs/std_log.txt of the job: {where}."

    # ---- display ----------------------------------------------------------------------------------
    def monitor(self):
        """The live JobMonitor widget of this job (created on first use; updates from a thread)."""
        if self._monitor is None:
            from ..widgets import JobMonitor

            self._monitor = JobMonitor(self.name, backend=self.backend, record=self._record)
        return self._monitor

    def download(self, destination: str | Path = ".", *, output: str | None = None) -> list[Path]:
        """Download an output (default: the job's default output, ``artifacts/outputs/...``), laid out as
        ``az ml job download`` does. A whole-notebook job's executed notebook is under
        ``artifacts/outputs/``."""
        return self.backend.download(self.name, Path(destination), output=output)

    def show(self) -> None:
        """Display the live widget (once per cell: the value a cell returns is not shown twice)."""
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        count = getattr(shell, "execution_count", None)
        if count is not None and count == self._shown_in:
            return
        self._shown_in = count
        try:
            display(self.monitor())
        except ImportError:  # no ipywidgets: text only
            print(repr(self))

    def _ipython_display_(self) -> None:
        self.show()

    def __repr__(self) -> str:
        record = self._record
        status = record.status.value if record else "?"
        return f"Job(name={self.name!r}, status={status!r})"


def failure_excerpt(log: str, lines: int = 15) -> str:
    """The end of a failed job's log that matters: from its last traceback on (a cell job's runtime
    prints the user's frames only), else the last lines."""
    text = log.rstrip()
    start = text.rfind("Traceback (most recent call last):")
    if start >= 0:
        return text[start:]
    return "\n".join(text.splitlines()[-lines:])


def remember(job: Job) -> None:
    global _last_job
    _last_job = job
