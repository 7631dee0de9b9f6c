"""LocalBackend: the Backend protocol over the embedded local workspace engine (no Azure account)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.workspace import LocalWorkspace
from ..errors import InvalidRequest, NotFound
from ..models import ComputeInfo, DataAsset, JobPage, JobRecord, Operation, Usage, VmSize, WorkspaceInfo
from .base import ComputeRequest, LogChunk, OutputFile
from .operations import OperationContext, OperationTracker

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job


class LocalBackend:
    kind = "local"

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        strict_compute: bool = False,
        python: str | None = None,
        local_vcpu_quota: int | None = None,
    ):
        self.workspace_engine = LocalWorkspace(home, strict_compute=strict_compute, python=python)
        self.local_vcpu_quota = local_vcpu_quota  # None: $AZML_JUPYTER_LOCAL_VCPU_QUOTA, else no quota
        self.operations = OperationTracker(self.workspace_engine.store)

    # ---- workspace and compute -------------------------------------------------------------------
    def workspace(self) -> WorkspaceInfo:
        layout = self.workspace_engine.layout
        return WorkspaceInfo(
            backend=self.kind,
            name=self.workspace_engine.name,
            location="local",
            home=str(layout.home),
            details={"python": self.workspace_engine.python, "strict_compute": self.workspace_engine.strict_compute},
        )

    def list_computes(self) -> list[ComputeInfo]:
        return self.workspace_engine.list_computes()

    def get_compute(self, name: str) -> ComputeInfo:
        return self.workspace_engine.get_compute(name)

    def list_sizes(self) -> list[VmSize]:
        from ..sizing.local_sizes import local_vm_size

        return [local_vm_size()]

    def list_usage(self) -> list[Usage]:
        from ..sizing.local_sizes import local_usage, local_vcpu_quota

        return local_usage(local_vcpu_quota(self.local_vcpu_quota), self.list_computes())

    def create_or_update_compute(self, request: ComputeRequest) -> Operation:
        # Local clusters change at once; it is still an operation, so callers treat both backends alike.
        compute, created = self.workspace_engine.create_or_update_compute(
            request.name,
            size=request.size,
            min_nodes=request.min_nodes,
            max_nodes=request.max_nodes,
            idle_seconds=request.idle_seconds,
            tier=request.tier,
        )
        return self.operations.record(
            "compute_update",
            f"{'Create' if created else 'Update'} compute {request.name}",
            {"compute": compute.to_dict(), "created": created},
            request=request.to_dict(),
        )

    def delete_compute(self, name: str) -> None:
        self.workspace_engine.delete_compute(name)

    # ---- data -------------------------------------------------------------------------------------
    def list_data(self) -> list[DataAsset]:
        return self.workspace_engine.list_data()

    def get_data(self, name: str, version: str | None = None) -> DataAsset:
        return self.workspace_engine.get_data(name, version)

    def copy_in(
        self,
        source: Path,
        name: str,
        *,
        type: str | None = None,
        version: str | None = None,
        description: str | None = None,
    ) -> Operation:
        source = Path(source)
        self.workspace_engine.assets.validate(name, source, type=type, version=version)

        def work(context: OperationContext) -> dict:
            asset, created = self.workspace_engine.create_data(
                name,
                source,
                type=type,
                version=version,
                description=description,
                on_progress=context.progress,
                cancel=context.cancel,
            )
            return {"data_asset": asset.to_dict(), "created": created}

        return self.operations.start(
            "copy_in",
            f"Copy {source.name} into data asset {name}",
            work,
            request={"source": str(source), "name": name, "type": type, "version": version},
        )

    def get_operation(self, operation_id: str) -> Operation:
        return self.operations.get(operation_id)

    def cancel_operation(self, operation_id: str) -> Operation:
        return self.operations.cancel(operation_id)

    # ---- jobs -------------------------------------------------------------------------------------
    def submit(self, job: Job, *, name: str | None = None) -> JobRecord:
        from ..spec.normalize import job_to_spec

        return self.workspace_engine.submit(job_to_spec(job), name=name)

    def get_job(self, name: str) -> JobRecord:
        return self.workspace_engine.get_job(name)

    def list_jobs(
        self,
        *,
        status: list[str] | None = None,
        experiment: str | None = None,
        parent: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        return self.workspace_engine.list_jobs(
            status=status, experiment=experiment, parent=parent, limit=limit, cursor=cursor
        )

    def cancel_job(self, name: str) -> JobRecord:
        return self.workspace_engine.cancel_job(name)

    def read_logs(self, name: str, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        text, next_offset, complete, status = self.workspace_engine.read_log(name, offset, max_bytes)
        return LogChunk(text=text, offset=offset, next_offset=next_offset, complete=complete, status=status.value)

    def list_outputs(self, name: str) -> list[OutputFile]:
        files: list[OutputFile] = []
        for output, location in self.workspace_engine.output_locations(name).items():
            for relative, path in self._output_files(name, output, location):
                files.append(OutputFile(output=output, path=relative, size_bytes=path.stat().st_size))
        return files

    def download(self, name: str, destination: Path, *, output: str | None = None) -> list[Path]:
        """Lay files out as ``az ml job download`` does: the default output under ``artifacts/``,
        named outputs under ``named-outputs/<name>/``. ``output="all"`` fetches every output."""
        locations = self.workspace_engine.output_locations(name)
        wanted = list(locations) if output == "all" else [output or "default"]
        for key in wanted:
            if key not in locations:
                raise NotFound(
                    f"Job {name!r} has no output {key!r}; it has {', '.join(sorted(locations))}.",
                    details={"output": key},
                )
        # every file is listed (and every link checked) before the first one is copied
        plan = {key: self._output_files(name, key, locations[key]) for key in wanted}
        written: list[Path] = []
        destination = Path(destination)
        for key in wanted:
            target = destination / "artifacts" if key == "default" else destination / "named-outputs" / key
            if not plan[key] and not locations[key].is_dir() and output not in (None, "all"):
                raise InvalidRequest(f"Output {key!r} of job {name!r} has no data (yet).")
            for relative, source in plan[key]:
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / relative)
                written.append(target / relative)
        return written

    def _output_files(self, name: str, output: str, location: Path) -> list[tuple[str, Path]]:
        return self.workspace_engine.datastores.confined_files(location, what=f"Output {output!r} of job {name!r}")

    def close(self) -> None:
        self.workspace_engine.close()
