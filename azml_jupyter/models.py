"""The one data model shared by the engine, both backends, the REST API, the CLI, the magic and the panel.

Entities describe *what a thing is*; the Backend protocol (``backends/base.py``) is *what you do to it*.
Every record serialises to plain JSON with ``to_dict()`` and back with ``from_dict()``; the REST API,
the CLI's ``--output json`` and the front end all see exactly these dictionaries.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T", bound="Record")


class JobStatus(str, enum.Enum):
    """Azure ML's job states, spelled exactly as the service spells them."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    PROVISIONING = "Provisioning"
    STARTING = "Starting"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    NOT_RESPONDING = "NotResponding"
    PAUSED = "Paused"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @classmethod
    def parse(cls, value: Any) -> JobStatus:
        """Accept our enum, the SDK's ``JobStatus`` enum (1.35) or its plain string (1.28)."""
        raw = getattr(value, "value", value)
        for status in cls:
            if status.value.lower() == str(raw).lower():
                return status
        return cls.NOT_RESPONDING if raw else cls.NOT_STARTED

    def __str__(self) -> str:  # so f-strings and tables print "Running", not "JobStatus.RUNNING"
        return self.value


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})

# How each status looks. The front end reads this from the server (GET /azml/statuses) instead of
# keeping its own copy; colours are JupyterLab CSS variables so light and dark themes both work.
STATUS_STYLE: dict[JobStatus, tuple[str, str]] = {
    JobStatus.NOT_STARTED: ("idle", "var(--jp-layout-color3)"),
    JobStatus.QUEUED: ("waiting", "var(--jp-warn-color2)"),
    JobStatus.PREPARING: ("starting", "var(--jp-brand-color2)"),
    JobStatus.PROVISIONING: ("starting", "var(--jp-brand-color2)"),
    JobStatus.STARTING: ("starting", "var(--jp-brand-color2)"),
    JobStatus.RUNNING: ("running", "var(--jp-brand-color1)"),
    JobStatus.FINALIZING: ("running", "var(--jp-brand-color1)"),
    JobStatus.CANCEL_REQUESTED: ("stopping", "var(--jp-warn-color1)"),
    JobStatus.COMPLETED: ("succeeded", "var(--jp-success-color1)"),
    JobStatus.FAILED: ("failed", "var(--jp-error-color1)"),
    JobStatus.CANCELED: ("canceled", "var(--jp-layout-color4)"),
    JobStatus.NOT_RESPONDING: ("failed", "var(--jp-error-color2)"),
    JobStatus.PAUSED: ("idle", "var(--jp-layout-color3)"),
}


def status_table() -> list[dict[str, Any]]:
    """The list of statuses in lifecycle order, as served to the front end."""
    return [
        {"name": s.value, "terminal": s.is_terminal, "category": STATUS_STYLE[s][0], "color": STATUS_STYLE[s][1]}
        for s in JobStatus
    ]


class OperationState(str, enum.Enum):
    """State of a long-running operation (copy-in, cluster create/resize)."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"

    @property
    def is_terminal(self) -> bool:
        return self is not OperationState.RUNNING

    def __str__(self) -> str:
        return self.value


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with a ``Z``, the form the Azure ML REST API uses."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_epoch(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    stamp = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Record:
    """Mixin for the dataclasses below: JSON in, JSON out, enums as their values."""

    _enums: ClassVar[dict[str, type[enum.Enum]]] = {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            out[field.name] = _plain(getattr(self, field.name))
        return out

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs = {k: v for k, v in data.items() if k in names}
        for key, enum_type in cls._enums.items():
            if kwargs.get(key) is not None:
                kwargs[key] = enum_type(kwargs[key])
        return cls(**kwargs)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclasses.dataclass
class JobRecord(Record):
    """A submitted job (command, pipeline, or a pipeline's step) as every surface shows it."""

    name: str
    type: str  # "command" | "pipeline"
    status: JobStatus
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    compute: str | None = None
    environment: str | None = None
    command: str | None = None
    parent_name: str | None = None  # set on a pipeline's steps
    step_name: str | None = None  # the step's key in the pipeline's ``jobs``
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    exit_code: int | None = None
    error: str | None = None
    # name -> {"type": ..., "value": literal} or {"type": ..., "uri": "azureml://..."}
    inputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # name -> {"type": ..., "uri": "azureml://..."}
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    studio_url: str | None = None
    children: list[JobRecord] | None = None

    _enums: ClassVar[dict[str, type[enum.Enum]]] = {"status": JobStatus}

    def __post_init__(self) -> None:
        self.studio_url = web_link(self.studio_url)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        record = super().from_dict(data)
        if record.children is not None:
            record.children = [c if isinstance(c, JobRecord) else JobRecord.from_dict(c) for c in record.children]
        return record

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@dataclasses.dataclass
class JobPage(Record):
    """One page of a job listing, newest first; pass ``next_cursor`` back to get the next page."""

    jobs: list[JobRecord]
    next_cursor: str | None = None


@dataclasses.dataclass
class ComputeInfo(Record):
    name: str
    type: str  # "local" | "amlcompute" | "computeinstance" | ...
    size: str | None = None
    state: str | None = None  # provisioning state: Succeeded, Creating, Updating, Failed ...
    min_nodes: int = 0
    max_nodes: int = 1
    current_nodes: int = 0  # nodes busy (local) / allocated (Azure)
    target_nodes: int | None = None
    idle_seconds: int | None = None  # idle time before scale-down
    tier: str | None = None  # "dedicated" | "low_priority"
    location: str | None = None
    queued_jobs: int | None = None  # jobs waiting for a node (local engine)


@dataclasses.dataclass
class VmSize(Record):
    name: str
    vcpus: int | None = None
    memory_gb: float | None = None
    gpus: int = 0
    family: str | None = None
    low_priority_capable: bool | None = None


@dataclasses.dataclass
class Usage(Record):
    """Quota use of one VM family (vCPUs), or of the whole region."""

    family: str
    current: int
    limit: int
    unit: str = "Count"
    label: str | None = None


@dataclasses.dataclass
class DataAsset(Record):
    name: str
    version: str
    type: str  # "uri_file" | "uri_folder"
    path: str  # azureml://datastores/<ds>/paths/<p>
    size_bytes: int | None = None
    file_count: int | None = None
    created_at: str | None = None
    description: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}"


@dataclasses.dataclass
class Operation(Record):
    """Progress of long work (copy-in, cluster create), polled by the panel and printed by the CLI."""

    id: str
    kind: str  # "copy_in" | "compute_update"
    state: OperationState
    description: str = ""
    bytes_done: int = 0
    bytes_total: int | None = None
    # bytes not copied this time: unchanged files already stored, or the kept part of an interrupted copy
    bytes_skipped: int = 0
    files_done: int = 0
    files_total: int | None = None
    files_skipped: int = 0
    current_item: str | None = None
    rate_bytes_per_second: float | None = None
    eta_seconds: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None

    _enums: ClassVar[dict[str, type[enum.Enum]]] = {"state": OperationState}


@dataclasses.dataclass
class WorkspaceInfo(Record):
    backend: str  # "local" | "azure"
    name: str
    location: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    studio_url: str | None = None
    home: str | None = None  # the local workspace folder
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.studio_url = web_link(self.studio_url)


def web_link(url: str | None) -> str | None:
    """``url`` if it is an https address with a host, else None: a link the panel, the widget and the
    CLI show must never be ``javascript:`` or ``data:`` (a studio URL comes from the service or a
    config.json that anyone with write access to it could change)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() == "https" and parts.hostname else None
