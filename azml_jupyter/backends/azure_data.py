"""The data half of ``AzureBackend`` (a mixin of ``azure.py``): data assets and copy-in (local files
-> blobs in the workspace's default datastore -> a registered data asset version), run as an operation
with progress, resumable, and registered only after the last file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import Conflict
from ..models import DataAsset, Operation
from ..spec.data import check_copy_in
from . import azure_records as records
from .azure_errors import Subject
from .azure_paths import datastore_uri, same_location
from .blob_upload import ResumableUploader
from .operations import OperationContext

if TYPE_CHECKING:
    pass

DATA_ROOT = "azml-jupyter/data"  # copy-in destination: <DATA_ROOT>/<name>/<version>/<source name>[/...]


class AzureData:
    """Mixed into ``AzureBackend``; uses its ``ml_client``, ``_call``, ``operations``, ``_datastore`` ..."""

    # ---- data ---------------------------------------------------------------------------------
    def list_data(self) -> list[DataAsset]:
        with self._call(Subject("workspace")):
            names = sorted({d.name for d in self.ml_client.data.list()})
            assets: list[DataAsset] = []
            for name in names:
                versions = [records.data_asset(d) for d in self.ml_client.data.list(name=name)]
                assets.extend(sorted(versions, key=_newest_first))
        return assets

    def get_data(self, name: str, version: str | None = None) -> DataAsset:
        what = f"{name}:{version}" if version else name
        with self._call(Subject("data asset", what)):
            if version is None:
                data = self.ml_client.data.get(name, label="latest")
            else:
                data = self.ml_client.data.get(name, version=str(version))
        return records.data_asset(data)

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
        kind = check_copy_in(source, name, type=type, version=version)
        version = None if version is None else str(version)

        def work(context: OperationContext) -> dict[str, Any]:
            return self._copy_in(source, name, kind, version, description, context)

        return self.operations.start(
            "copy_in",
            f"Copy {source.name} into data asset {name}",
            work,
            request={"source": str(source), "name": name, "type": type, "version": version},
        )

    def _copy_in(
        self,
        source: Path,
        name: str,
        kind: str,
        version: str | None,
        description: str | None,
        context: OperationContext,
    ) -> dict[str, Any]:
        from azure.ai.ml.entities import Data

        datastore = self._datastore(None)
        container = self._container(datastore)
        uploader = ResumableUploader(container, **self.uploader_options)
        storage = Subject("storage", datastore.account)
        existing = self._data_versions(name)  # newest first
        if version is not None:
            plan = uploader.plan(source, f"{DATA_ROOT}/{name}/{version}")
            same = next((d for d in existing if d.version == version), None)
            if same is not None:
                with self._call(storage):
                    unchanged = (
                        same_location(same.path, datastore_uri(datastore.name, plan.target))
                        and same.type == kind
                        and uploader.unchanged(plan)[0]
                    )
                if unchanged:
                    _report_unchanged(context, plan)
                    return {"data_asset": same.to_dict(), "created": False}
                raise Conflict(
                    f"Data asset {name}:{version} already exists with different content; versions cannot change. "
                    "Leave the version out to create the next one.",
                    details={"name": name, "version": version},
                )
        else:
            if existing:
                latest = existing[0]
                plan = uploader.plan(source, f"{DATA_ROOT}/{name}/{latest.version}")
                if same_location(latest.path, datastore_uri(datastore.name, plan.target)) and latest.type == kind:
                    with self._call(storage):
                        if uploader.unchanged(plan)[0]:
                            _report_unchanged(context, plan)
                            return {"data_asset": latest.to_dict(), "created": False}
            numbers = [int(d.version) for d in existing if d.version.isdigit()]
            version = str(max(numbers, default=0) + 1)
            plan = uploader.plan(source, f"{DATA_ROOT}/{name}/{version}")
        with self._call(storage):
            result = uploader.upload(plan, on_progress=context.progress, cancel=context.cancel)
        # Registered only now that every file is committed: a failed or canceled copy registers nothing.
        entity = Data(
            name=name,
            version=version,
            type=kind,
            path=datastore_uri(datastore.name, plan.target),
            description=description,
            tags={records.SUBMITTED_BY_TAG: __version__},
            properties={
                records.SIZE_PROPERTY: str(result.bytes_total),
                records.FILES_PROPERTY: str(result.files_total),
            },
        )
        with self._call(Subject("data asset", f"{name}:{version}")):
            registered = self.ml_client.data.create_or_update(entity)
        return {
            "data_asset": records.data_asset(registered).to_dict(),
            "created": True,
            "bytes_uploaded": result.bytes_uploaded,
            "files_uploaded": result.files_uploaded,
        }

    def _data_versions(self, name: str) -> list[DataAsset]:
        from azure.core.exceptions import ResourceNotFoundError

        with self._call(Subject("data asset", name)):
            try:
                versions = [records.data_asset(d) for d in self.ml_client.data.list(name=name)]
            except ResourceNotFoundError:
                versions = []
        return sorted(versions, key=_newest_first)


def _report_unchanged(context: OperationContext, plan: Any) -> None:
    """An unchanged re-copy still shows a full progress bar: every byte there already, none sent."""
    from ..copy_progress import CopyProgress

    total, count = plan.bytes_total, len(plan.files)
    context.progress(
        CopyProgress(
            bytes_total=total,
            files_total=count,
            bytes_done=total,
            files_done=count,
            files_skipped=count,
            bytes_skipped=total,
        )
    )


def _newest_first(asset: DataAsset) -> tuple:
    number = int(asset.version) if asset.version.isdigit() else -1
    return (-(number), asset.created_at or "")  # numeric versions descending, then by creation
