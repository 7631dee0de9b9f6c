"""The Backend protocol: the operations side of the product (entities live in ``models.py``).

Backends are plain synchronous, thread-safe classes. Every caller that must not block (the Jupyter
server's handlers, the widgets) runs their methods in a thread pool; the CLI and the magic call them
directly. One synchronous interface keeps the local engine and Azure ML interchangeable everywhere.

Job descriptions come in as azure-ai-ml job entities (``azure.ai.ml.load_job`` of a CLI-v2 YAML file,
or the ``azure.ai.ml.command(...)`` builder): the same object ``az ml job create -f`` would send.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..models import (
    ComputeInfo,
    DataAsset,
    JobPage,
    JobRecord,
    Operation,
    Record,
    Usage,
    VmSize,
    WorkspaceInfo,
)

if TYPE_CHECKING:  # azure.ai.ml costs 1.6 s to import: never at module load
    from azure.ai.ml.entities import Job


@dataclasses.dataclass
class LogChunk(Record):
    """Part of a job's log. Read again from ``next_offset`` to follow it; ``complete`` once the job ended
    and everything was read."""

    text: str
    offset: int
    next_offset: int
    complete: bool
    status: str


@dataclasses.dataclass
class OutputFile(Record):
    output: str  # the output's name ("default" holds ./outputs, ./logs and user_logs)
    path: str  # path inside that output, with "/" separators
    size_bytes: int


@dataclasses.dataclass
class ComputeRequest(Record):
    """Create or update a cluster. ``None`` fields keep their current value on update."""

    name: str
    size: str | None = None
    min_nodes: int | None = None
    max_nodes: int | None = None
    idle_seconds: int | None = None
    tier: str | None = None  # "dedicated" | "low_priority"


@runtime_checkable
class Backend(Protocol):
    kind: str  # "local" | "azure"

    # workspace and compute
    def workspace(self) -> WorkspaceInfo: ...
    def list_computes(self) -> list[ComputeInfo]: ...
    def get_compute(self, name: str) -> ComputeInfo: ...
    def list_sizes(self) -> list[VmSize]: ...
    def list_usage(self) -> list[Usage]: ...
    def create_or_update_compute(self, request: ComputeRequest) -> Operation: ...
    def delete_compute(self, name: str) -> None: ...  # waits until it is gone, as `az ml compute delete`

    # data
    def list_data(self) -> list[DataAsset]: ...
    def get_data(self, name: str, version: str | None = None) -> DataAsset: ...
    def copy_in(
        self,
        source: Path,
        name: str,
        *,
        type: str | None = None,
        version: str | None = None,
        description: str | None = None,
    ) -> Operation: ...

    # long-running operations (copy-in, compute create/update)
    def get_operation(self, operation_id: str) -> Operation: ...
    def cancel_operation(self, operation_id: str) -> Operation: ...

    # jobs
    def submit(self, job: Job, *, name: str | None = None) -> JobRecord: ...
    def get_job(self, name: str) -> JobRecord: ...
    def list_jobs(
        self,
        *,
        status: list[str] | None = None,
        experiment: str | None = None,
        parent: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage: ...
    def cancel_job(self, name: str) -> JobRecord: ...
    def read_logs(self, name: str, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk: ...
    def list_outputs(self, name: str) -> list[OutputFile]: ...
    def download(self, name: str, destination: Path, *, output: str | None = None) -> list[Path]: ...

    def close(self) -> None: ...
