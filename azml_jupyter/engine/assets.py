"""Versioned data assets of the local workspace (``azureml:name:version``, ``azureml:name@latest``).

Versions are immutable, as on Azure ML. Without an explicit version the next integer is used, unless
the content equals the latest version's: then that version is returned and nothing new is stored.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound, UnknownReference
from ..models import DataAsset, iso_from_epoch
from ..spec.data import check_copy_in
from .datastore import CopyProgress, LocalDatastores
from .store import Store


class DataAssets:
    def __init__(self, store: Store, datastores: LocalDatastores):
        self.store = store
        self.datastores = datastores

    def create(
        self,
        name: str,
        source: Path,
        *,
        type: str | None = None,
        version: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        on_progress: Callable[[CopyProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[DataAsset, bool]:
        """Copy ``source`` in and register it. Returns (asset, created); created is False when an
        identical version already existed."""
        kind = self.validate(name, source, type=type, version=version)
        version = None if version is None else str(version)
        imported = self.datastores.import_path(source, on_progress=on_progress, cancel=cancel)
        with self.store.transaction() as db:
            if version is None:
                latest = _latest(db, name)
                if latest is not None and latest["content_hash"] == imported.content_hash and latest["type"] == kind:
                    return _asset(latest), False
                version = _next_version(db, name)
            else:
                existing = db.execute(
                    "SELECT * FROM data_assets WHERE name = ? AND version = ?", (name, version)
                ).fetchone()
                if existing is not None:
                    if existing["content_hash"] == imported.content_hash:
                        return _asset(dict(existing)), False
                    raise Conflict(
                        f"Data asset {name}:{version} already exists with different content; "
                        "versions cannot change. Leave the version out to create the next one.",
                        details={"name": name, "version": version},
                    )
            db.execute(
                "INSERT INTO data_assets (name, version, type, path, size_bytes, file_count, content_hash,"
                " description, tags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    version,
                    kind,
                    imported.uri,
                    imported.size_bytes,
                    imported.file_count,
                    imported.content_hash,
                    description,
                    json.dumps(tags or {}),
                    time.time(),
                ),
            )
        return self.get(name, version), True

    def validate(self, name: str, source: Path, *, type: str | None = None, version: str | None = None) -> str:
        """Check a copy-in request before any work; returns the asset type (uri_file or uri_folder)."""
        return check_copy_in(source, name, type=type, version=version)

    def get(self, name: str, version: str | None = None, *, label: str | None = None) -> DataAsset:
        if label not in (None, "latest"):
            raise InvalidRequest(f"Unknown label {label!r}: the local workspace knows only @latest.")
        row = self.store.get_data_asset(name, version)
        if row is None:
            what = f"{name}:{version}" if version else name
            raise NotFound(f"Data asset {what} not found.", details={"name": name, "version": version})
        return _asset(row)

    def resolve(self, name: str, version: str | None = None, label: str | None = None) -> DataAsset:
        """Like ``get`` but for references inside a job: an unknown asset is the job's error (400)."""
        try:
            return self.get(name, version, label=label)
        except NotFound as exc:
            ref = f"azureml:{name}:{version}" if version else f"azureml:{name}@{label or 'latest'}"
            raise UnknownReference(
                f"The job refers to data asset {ref}, which does not exist.", details=exc.details
            ) from None

    def list(self, name: str | None = None) -> list[DataAsset]:
        return [_asset(row) for row in self.store.list_data_assets(name)]


def _latest(db: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM data_assets WHERE name = ? ORDER BY seq DESC LIMIT 1", (name,)).fetchone()
    return dict(row) if row is not None else None


def _next_version(db: sqlite3.Connection, name: str) -> str:
    versions = [r[0] for r in db.execute("SELECT version FROM data_assets WHERE name = ?", (name,))]
    numbers = [int(v) for v in versions if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def _asset(row: dict[str, Any]) -> DataAsset:
    tags = row.get("tags") or {}
    if isinstance(tags, str):
        tags = json.loads(tags)
    return DataAsset(
        name=row["name"],
        version=row["version"],
        type=row["type"],
        path=row["path"],
        size_bytes=row["size_bytes"],
        file_count=row["file_count"],
        created_at=iso_from_epoch(row["created_at"]),
        description=row["description"],
        tags=tags,
    )
