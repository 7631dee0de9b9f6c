"""``LocalWorkspace``: the client side of the local engine, used by the LocalBackend and the CLI.

It validates and records submissions (snapshotting code and copying local inputs in, as Azure ML
uploads them at submission), answers questions from the store, asks for cancels, reads logs and
outputs, and wakes the scheduler daemon (``daemon.py``), which is the only process that runs jobs.
Any number of processes may open the same workspace at the same time.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound, UnknownReference
from ..models import ComputeInfo, DataAsset, JobPage, JobRecord, JobStatus, iso_from_epoch
from ..spec import bindings
from ..spec.names import check_name, generate_job_name
from ..spec.secrets import check_no_secrets
from . import daemon, processes
from .assets import DataAssets
from .datastore import DEFAULT_DATASTORE, CopyProgress, LocalDatastores, datastore_uri
from .layout import Layout, default_home
from .snapshot import snapshot_code
from .store import Store

DEFAULT_COMPUTE = "local"
S = JobStatus


class LocalWorkspace:
    def __init__(
        self,
        home: Path | str | None = None,
        *,
        strict_compute: bool = False,
        python: str | None = None,
        start_engine: bool = True,
    ):
        self.layout = Layout(Path(home).expanduser().resolve() if home else default_home())
        self.layout.create()
        self.store = Store(self.layout.database)
        self.datastores = LocalDatastores(self.layout, self.store)
        self.assets = DataAssets(self.store, self.datastores)
        self.strict_compute = strict_compute
        self.python = python or os.environ.get("AZML_JUPYTER_PYTHON") or sys.executable
        self._seed_default_compute()
        if start_engine and self.store.jobs_in_status(daemon.ACTIVE):
            daemon.ensure_running(self.layout)  # a restarted server or CLI picks up where things were

    @property
    def name(self) -> str:
        return self.layout.home.name

    def close(self) -> None:
        self.store.close()

    # ---- computes ---------------------------------------------------------------------------------
    def _seed_default_compute(self) -> None:
        with self.store.transaction() as db:
            seeded = db.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
            if seeded is None:
                now = time.time()
                db.execute(
                    "INSERT OR IGNORE INTO computes (name, size, min_nodes, max_nodes, idle_seconds, tier,"
                    " created_at, updated_at) VALUES (?, 'local', 0, ?, NULL, 'dedicated', ?, ?)",
                    (DEFAULT_COMPUTE, os.cpu_count() or 1, now, now),
                )
                db.execute("INSERT INTO meta (key, value) VALUES ('seeded', '1')")

    def list_computes(self) -> list[ComputeInfo]:
        busy = self._compute_load()
        return [_compute(row, busy.get(row["name"], (0, 0))) for row in self.store.list_computes()]

    def get_compute(self, name: str) -> ComputeInfo:
        row = self.store.get_compute(name)
        if row is None:
            raise NotFound(f"Compute {name!r} not found.", details={"compute": name})
        return _compute(row, self._compute_load().get(name, (0, 0)))

    def create_or_update_compute(
        self,
        name: str,
        *,
        size: str | None = None,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        idle_seconds: int | None = None,
        tier: str | None = None,
    ) -> tuple[ComputeInfo, bool]:
        """Returns (compute, created)."""
        check_name("compute", name)
        for label, value in (("min_nodes", min_nodes), ("max_nodes", max_nodes), ("idle_seconds", idle_seconds)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidRequest(f"{label} must be a whole number >= 0, not {value!r}.")
        if max_nodes is not None and max_nodes < 1:
            raise InvalidRequest("max_nodes must be at least 1.")
        if tier is not None and tier not in ("dedicated", "low_priority"):
            raise InvalidRequest(f"tier must be 'dedicated' or 'low_priority', not {tier!r}.")
        now = time.time()
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM computes WHERE name = ?", (name,)).fetchone()
            current = (
                dict(row)
                if row
                else {"size": "local", "min_nodes": 0, "max_nodes": 1, "idle_seconds": None, "tier": "dedicated"}
            )
            merged = {
                "size": size if size is not None else current["size"],
                "min_nodes": min_nodes if min_nodes is not None else current["min_nodes"],
                "max_nodes": max_nodes if max_nodes is not None else current["max_nodes"],
                "idle_seconds": idle_seconds if idle_seconds is not None else current["idle_seconds"],
                "tier": tier if tier is not None else current["tier"],
            }
            if merged["min_nodes"] > merged["max_nodes"]:
                raise InvalidRequest(
                    f"min_nodes ({merged['min_nodes']}) cannot exceed max_nodes ({merged['max_nodes']})."
                )
            if row is None:
                db.execute(
                    "INSERT INTO computes (name, size, min_nodes, max_nodes, idle_seconds, tier, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, *merged.values(), now, now),
                )
            else:
                db.execute(
                    "UPDATE computes SET size = ?, min_nodes = ?, max_nodes = ?, idle_seconds = ?, tier = ?,"
                    " updated_at = ? WHERE name = ?",
                    (*merged.values(), now, name),
                )
        daemon.wake(self.layout)  # more nodes may start queued jobs
        return self.get_compute(name), row is None

    def delete_compute(self, name: str) -> None:
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM computes WHERE name = ?", (name,)).fetchone() is None:
                raise NotFound(f"Compute {name!r} not found.")
            active = db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE compute = ? AND type = 'command' AND status IN "
                f"({', '.join('?' * len(daemon.ACTIVE))})",
                (name, *daemon.ACTIVE),
            ).fetchone()[0]
            if active:
                raise Conflict(f"Compute {name!r} has {active} queued or running job(s); cancel them first.")
            db.execute("DELETE FROM computes WHERE name = ?", (name,))

    def _compute_load(self) -> dict[str, tuple[int, int]]:
        """compute -> (busy nodes, queued jobs)."""
        load: dict[str, list[int]] = {}
        for row in self.store.read(
            "SELECT compute, status, COUNT(*) AS n FROM jobs WHERE type = 'command' AND status IN "
            f"({', '.join('?' * len(daemon.ACTIVE))}) GROUP BY compute, status",
            daemon.ACTIVE,
        ):
            entry = load.setdefault(row["compute"], [0, 0])
            entry[0 if row["status"] in daemon.BUSY else 1] += row["n"]
        return {k: (v[0], v[1]) for k, v in load.items()}

    # ---- data -------------------------------------------------------------------------------------
    def create_data(
        self,
        name: str,
        source: Path,
        *,
        type: str | None = None,
        version: str | None = None,
        description: str | None = None,
        on_progress: Callable[[CopyProgress], None] | None = None,
        cancel: Any = None,
    ) -> tuple[DataAsset, bool]:
        return self.assets.create(
            name,
            Path(source),
            type=type,
            version=version,
            description=description,
            on_progress=on_progress,
            cancel=cancel,
        )

    def list_data(self, name: str | None = None) -> list[DataAsset]:
        return self.assets.list(name)

    def get_data(self, name: str, version: str | None = None) -> DataAsset:
        return self.assets.get(name, version)

    # ---- jobs: submit -----------------------------------------------------------------------------
    def submit(self, spec: dict[str, Any], *, name: str | None = None) -> JobRecord:
        """Record a job from an engine spec (``spec/normalize.py``) and wake the engine."""
        name = check_name("job", name or spec.get("name") or generate_job_name())
        names = [name] + [_step_job_name(name, step) for step in spec.get("jobs", {})]
        self._claim_names(names)  # before anything is written: a second submission of a name stops here
        staged: list[Path] = []
        try:
            self._validate_references(spec)  # refuse before anything is copied or stored
            if spec["type"] == "pipeline":
                rows = self._pipeline_rows(name, spec, staged)
            else:
                rows = [self._command_row(name, spec, staged, parent=None, default_compute=None)]
            with self.store.transaction() as db:
                self.store.insert_jobs(db, rows)
                _release_claims(db, names)
        except BaseException:
            for folder in staged:  # a refused job leaves nothing behind (and the folders are ours: claimed)
                shutil.rmtree(folder, ignore_errors=True)
            with self.store.transaction() as db:
                _release_claims(db, names)
            raise
        daemon.ensure_running(self.layout)
        return self.get_job(name)

    def _claim_names(self, names: list[str]) -> None:
        """Claim job names for one submission, in one transaction: each must be unused and not claimed by
        a live submitter. A claim left by a killed one is taken over, with whatever it had written."""
        me, marker = os.getpid(), processes.start_marker(os.getpid())
        with self.store.transaction() as db:
            for job in names:
                if db.execute("SELECT 1 FROM jobs WHERE name = ?", (job,)).fetchone():
                    raise Conflict(
                        f"A job named {job!r} already exists; job names are unique in a workspace.",
                        details={"job": job},
                    )
                claim = db.execute("SELECT owner_pid, owner_start FROM job_claims WHERE name = ?", (job,)).fetchone()
                if claim is not None and processes.is_alive(claim["owner_pid"], claim["owner_start"]):
                    raise Conflict(
                        f"A job named {job!r} is being submitted right now by another submission; job names are "
                        "unique in a workspace.",
                        details={"job": job},
                    )
            for job in names:
                db.execute(
                    "INSERT OR REPLACE INTO job_claims (name, owner_pid, owner_start, claimed_at) VALUES (?, ?, ?, ?)",
                    (job, me, marker, time.time()),
                )
        for job in names:  # no row and no live claim: anything on disk is a killed submission's leftover
            shutil.rmtree(self.layout.job_dir(job), ignore_errors=True)
            shutil.rmtree(self.layout.artifacts(job), ignore_errors=True)

    def _validate_references(self, spec: dict[str, Any]) -> None:
        parts = [spec] + list(spec.get("jobs", {}).values())
        for step, part in [(None, spec)] + list(spec.get("jobs", {}).items()):
            where = f"step {step} of the pipeline" if step else "the job"
            check_no_secrets(part.get("environment_variables"), where=where)
        for part in parts:
            if part.get("compute"):
                self._resolve_compute(part["compute"], [])
            plain = {k: v for k, v in part["inputs"].items() if v["kind"] != "binding"}
            self._resolve_inputs(plain, import_local=False)

    def _command_row(
        self,
        name: str,
        spec: dict[str, Any],
        staged: list[Path],
        *,
        parent: dict[str, Any] | None,
        default_compute: str | None,
        resolved_inputs: dict[str, Any] | None = None,
        resolved_outputs: dict[str, Any] | None = None,
        step: str | None = None,
    ) -> dict[str, Any]:
        notes: list[str] = []
        compute = self._resolve_compute(spec.get("compute") or default_compute, notes)
        environment = spec.get("environment")
        notes.append(
            f"Environment {environment or '(none)'} was not built: the local engine runs the command with "
            f"{self.python}."
        )
        inputs = resolved_inputs if resolved_inputs is not None else self._resolve_inputs(spec["inputs"])
        outputs = resolved_outputs if resolved_outputs is not None else self._resolve_outputs(name, spec["outputs"])
        depends_on = sorted({v["from_step"] for v in inputs.values() if v.get("from_step")})
        # the job's folders are made here, so that starting it (the engine's critical path) need not
        staged += [self.layout.job_dir(name), self.layout.artifacts(name)]
        if spec.get("code"):
            snapshot_code(Path(spec["code"]), self.layout.snapshot(name))
        self.layout.working_dir(name).mkdir(parents=True, exist_ok=True)
        self.layout.std_log(name).parent.mkdir(parents=True, exist_ok=True)
        run_spec = {
            "command": spec["command"],
            "inputs": inputs,
            "outputs": outputs,
            "environment_variables": spec.get("environment_variables", {}),
            "timeout": spec.get("timeout"),
            "python": self.python,
            "requested_compute": spec.get("compute"),
            "code": spec.get("code"),
            "notes": notes,
            "depends_on": depends_on,
        }
        return {
            "name": name,
            "type": "command",
            "parent_name": parent["name"] if parent else None,
            "step_name": step,
            "status": (S.NOT_STARTED if parent else S.QUEUED).value,
            "display_name": spec.get("display_name") or step,
            "experiment_name": (parent or spec).get("experiment_name") or _default_experiment(spec),
            "description": spec.get("description"),
            "tags": spec.get("tags", {}),
            "compute": compute,
            "environment": environment,
            "command": spec["command"],
            "spec": run_spec,
            "timeout_seconds": spec.get("timeout"),
            "inputs": _record_inputs(inputs),
            "outputs": _record_outputs(outputs),
        }

    def _pipeline_rows(self, name: str, spec: dict[str, Any], staged: list[Path]) -> list[dict[str, Any]]:
        pipeline_inputs = self._resolve_inputs(spec["inputs"])
        pipeline_outputs = self._resolve_outputs(name, spec["outputs"])
        parent = {"name": name, "experiment_name": spec.get("experiment_name") or _default_experiment(spec)}
        step_names = {step: _step_job_name(name, step) for step in spec["jobs"]}
        for child in step_names.values():
            check_name("job", child)
        # Every output location is known now, so every binding resolves at submission; only the order
        # of execution (a step waits for the steps it reads from) is left to the engine.
        step_outputs = {
            step: self._resolve_outputs(step_names[step], step_spec["outputs"], pipeline_outputs)
            for step, step_spec in spec["jobs"].items()
        }
        rows = [
            {
                "name": name,
                "type": "pipeline",
                "status": S.NOT_STARTED.value,
                "display_name": spec.get("display_name"),
                "experiment_name": parent["experiment_name"],
                "description": spec.get("description"),
                "tags": spec.get("tags", {}),
                "compute": self._resolve_compute(spec.get("compute"), []) if spec.get("compute") else None,
                "spec": {
                    "continue_on_step_failure": spec.get("continue_on_step_failure", False),
                    "steps": list(spec["jobs"]),
                },
                "inputs": _record_inputs(pipeline_inputs),
                "outputs": _record_outputs(pipeline_outputs),
            }
        ]
        for step, step_spec in spec["jobs"].items():
            inputs = {}
            for key, value in step_spec["inputs"].items():
                inputs[key] = self._resolve_step_input(value, pipeline_inputs, step_outputs, step_names)
            rows.append(
                self._command_row(
                    step_names[step],
                    step_spec,
                    staged,
                    parent=parent,
                    default_compute=spec.get("compute"),
                    resolved_inputs=inputs,
                    resolved_outputs=step_outputs[step],
                    step=step,
                )
            )
        staged.append(self.layout.job_dir(name))
        return rows

    def _resolve_step_input(
        self,
        value: dict[str, Any],
        pipeline_inputs: dict[str, Any],
        step_outputs: dict[str, dict[str, Any]],
        step_names: dict[str, str],
    ) -> dict[str, Any]:
        if value["kind"] != "binding":
            return self._resolve_inputs({"_": value})["_"]
        parent_input = bindings.PARENT_INPUT.match(value["expr"])
        if parent_input:
            return dict(pipeline_inputs[parent_input.group(1)])
        step, output = bindings.SIBLING_OUTPUT.match(value["expr"]).groups()
        produced = step_outputs[step][output]
        return {
            "kind": "uri",
            "type": produced["type"],
            "uri": produced["uri"],
            "mode": None,
            "from_step": step,
            "from_job": f"azureml://jobs/{step_names[step]}/outputs/{output}",
        }

    def _resolve_compute(self, requested: str | None, notes: list[str]) -> str:
        if not requested:
            return DEFAULT_COMPUTE
        if self.store.get_compute(requested) is not None:
            return requested
        if self.strict_compute:
            raise UnknownReference(
                f"Compute {requested!r} does not exist in this local workspace (strict compute mode).",
                details={"compute": requested},
            )
        notes.append(f"Compute {requested!r} does not exist locally; the job runs on {DEFAULT_COMPUTE!r}.")
        return DEFAULT_COMPUTE

    def _resolve_inputs(self, inputs: dict[str, Any], *, import_local: bool = True) -> dict[str, Any]:
        """Every data input becomes a datastore URI now: assets resolve to their version (as Azure ML
        resolves @latest at submission) and local paths are copied in (as Azure ML uploads them)."""
        resolved: dict[str, Any] = {}
        for key, value in inputs.items():
            kind = value["kind"]
            if kind in ("literal", "absent"):
                resolved[key] = dict(value)
            elif kind == "asset":
                asset = self.assets.resolve(value["name"], value.get("version"), value.get("label"))
                resolved[key] = {
                    "kind": "uri",
                    "type": value["type"],
                    "uri": asset.path,
                    "mode": value.get("mode"),
                    "asset": asset.reference,
                }
            elif kind == "local":
                if not import_local:
                    continue
                imported = self.datastores.import_path(Path(value["path"]))
                resolved[key] = {
                    "kind": "uri",
                    "type": value["type"],
                    "uri": imported.uri,
                    "mode": value.get("mode"),
                    "source": value["path"],
                }
            elif kind == "uri":
                resolved[key] = {**value, "uri": self._check_uri(key, value["uri"])}
            else:
                raise InvalidRequest(f"Input {key!r}: a {kind} input can only be used inside a pipeline step.")
        return resolved

    def _check_uri(self, key: str, uri: str) -> str:
        if uri.startswith("azureml://jobs/"):
            return self.job_output_uri(uri)
        if uri.startswith("azureml://datastores/"):
            self.datastores.path_for_uri(uri, what=f"Input {key!r}")  # unknown datastore -> UnknownReference
            return uri
        if uri.startswith(("http://", "https://")):
            return uri
        raise InvalidRequest(
            f"Input {key!r}: {uri.split('://')[0]}:// storage is not reachable from the local engine; "
            "copy the data in as a data asset.",
            details={"input": key, "uri": uri},
        )

    def job_output_uri(self, uri: str) -> str:
        """``azureml://jobs/<name>/outputs/<output>`` -> the datastore URI where that output lives."""
        rest = uri[len("azureml://jobs/") :]
        job_name, sep, output = rest.partition("/outputs/")
        output = output.strip("/") or "default"
        row = self.store.get_job(job_name) if sep else None
        if row is None:
            raise UnknownReference(f"{uri}: no job named {job_name!r}.", details={"uri": uri})
        if output == "default":
            return self.datastores.uri_for_path(self.layout.artifacts(job_name))
        if output not in row["outputs"]:
            raise UnknownReference(f"{uri}: job {job_name!r} has no output {output!r}.", details={"uri": uri})
        return row["outputs"][output]["uri"]

    def _resolve_outputs(
        self, job: str, outputs: dict[str, Any], pipeline_outputs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        resolved = {}
        for key, value in outputs.items():
            if value.get("kind") == "binding":
                target = bindings.PARENT_OUTPUT.match(value["expr"]).group(1)
                resolved[key] = dict(pipeline_outputs[target])
                continue
            if value.get("path"):
                uri = bindings.render_output_path(value["path"], job, key)
                self.datastores.path_for_uri(uri, what=f"Output {key!r}")
            else:
                # Azure ML's default output location
                suffix = f"/{key}" if value["type"] == "uri_file" else "/"
                uri = datastore_uri(DEFAULT_DATASTORE, f"azureml/{job}/{key}{suffix}")
            resolved[key] = {"type": value["type"], "uri": uri}
        return resolved

    # ---- jobs: read -------------------------------------------------------------------------------
    def get_job(self, name: str) -> JobRecord:
        row = self.store.get_job(name)
        if row is None:
            raise NotFound(f"Job {name!r} not found.", details={"job": name})
        record = _record(row)
        if row["type"] == "pipeline":
            record.children = [
                _record(child) for child in self.store.list_jobs(parent=name, limit=10_000, newest_first=False)
            ]
        return record

    def list_jobs(
        self,
        *,
        status: list[str] | None = None,
        experiment: str | None = None,
        parent: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000.")
        statuses = [JobStatus.parse(s).value for s in status] if status else None
        if status:
            unknown = [s for s in status if s.lower() not in {x.value.lower() for x in JobStatus}]
            if unknown:
                raise InvalidRequest(
                    f"Unknown status {unknown[0]!r}; use one of {', '.join(s.value for s in JobStatus)}."
                )
        before = None
        if cursor:
            if not re.fullmatch(r"[0-9]{1,18}", cursor):  # ASCII digits that fit SQLite's integer
                raise InvalidRequest(f"Invalid cursor {cursor[:40]!r}: pass the next_cursor of a previous page.")
            before = int(cursor)
        rows = self.store.list_jobs(
            parent=parent, statuses=statuses, experiment=experiment, before_seq=before, limit=limit + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return JobPage(jobs=[_record(r) for r in rows], next_cursor=str(rows[-1]["seq"]) if more else None)

    def cancel_job(self, name: str) -> JobRecord:
        with self.store.transaction() as db:
            row = db.execute("SELECT status, type FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"Job {name!r} not found.", details={"job": name})
            status = JobStatus(row["status"])
            if status.is_terminal:
                raise Conflict(f"Job {name!r} already ended ({status.value}); there is nothing to cancel.")
            now = time.time()
            if row["type"] == "command" and status in (S.NOT_STARTED, S.QUEUED):
                # nothing runs yet: cancel it here (the engine claims queued jobs with a conditional update)
                db.execute(
                    "UPDATE jobs SET status = ?, cancel_requested = 1, ended_at = ?, updated_at = ? WHERE name = ?",
                    (S.CANCELED.value, now, now, name),
                )
            else:
                db.execute("UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE name = ?", (now, name))
        daemon.ensure_running(self.layout)
        return self.get_job(name)

    def read_log(self, name: str, offset: int = 0, max_bytes: int = 1 << 20) -> tuple[str, int, bool, JobStatus]:
        """Text from ``offset``: whole lines (up to the last \\n or \\r) unless the job has ended.
        Returns (text, next_offset, complete, status)."""
        row = self.store.get_job(name)
        if row is None:
            raise NotFound(f"Job {name!r} not found.", details={"job": name})
        if offset < 0:
            raise InvalidRequest("offset must be >= 0.")
        status = JobStatus(row["status"])
        ended = status.is_terminal  # read the status before the file: nothing written after it is missed
        path = self.layout.std_log(name)
        try:
            with open(path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(min(offset, size))
                data = fh.read(max_bytes)
        except FileNotFoundError:
            size, data = 0, b""
        if not ended or offset + len(data) < size:
            cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
            if cut >= 0:
                data = data[: cut + 1]
            elif len(data) == max_bytes:
                # one line longer than a whole read: hand it over in pieces (else the reader never
                # gets past it), cut where no UTF-8 character is split
                data = data[: _utf8_boundary(data)]
            else:
                data = b""
        next_offset = offset + len(data)
        complete = ended and next_offset >= size
        return data.decode("utf-8", "replace"), next_offset, complete, status

    def output_locations(self, name: str) -> dict[str, Path]:
        """output name -> local folder or file; ``default`` holds the job's artifacts."""
        row = self.store.get_job(name)
        if row is None:
            raise NotFound(f"Job {name!r} not found.", details={"job": name})
        locations = {"default": self.layout.artifacts(name)}
        for key, value in row["outputs"].items():
            locations[key] = self.datastores.path_for_uri(value["uri"], what=f"Output {key!r} of job {name!r}")
        return locations

    def wait(self, name: str, *, timeout: float | None = None, poll: float = 0.1) -> JobRecord:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.get_job(name)
            if record.is_terminal:
                return record
            if deadline is not None and time.monotonic() > deadline:
                return record
            time.sleep(poll)


def _step_job_name(pipeline: str, step: str) -> str:
    return f"{pipeline}-{step}"


def _release_claims(db: Any, names: list[str]) -> None:
    db.executemany("DELETE FROM job_claims WHERE name = ?", [(job,) for job in names])


def _default_experiment(spec: dict[str, Any]) -> str:
    # what azure-ai-ml does for a job without experiment_name: the submitting process's folder name
    return Path.cwd().resolve().stem.replace(" ", "") or "Default"


def _record_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in inputs.items():
        if value["kind"] == "literal":
            out[key] = {"type": "literal", "value": value["value"]}
        elif value["kind"] == "absent":
            continue
        else:
            entry = {"type": value["type"], "uri": value["uri"]}
            for extra in ("asset", "source", "from_job", "mode"):
                if value.get(extra):
                    entry[extra] = value[extra]
            out[key] = entry
    return out


def _record_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    return {key: {"type": value["type"], "uri": value["uri"]} for key, value in outputs.items()}


def _record(row: dict[str, Any]) -> JobRecord:
    return JobRecord(
        name=row["name"],
        type=row["type"],
        status=JobStatus(row["status"]),
        display_name=row["display_name"],
        experiment_name=row["experiment_name"],
        description=row["description"],
        tags=row["tags"] or {},
        compute=row["compute"],
        environment=row["environment"],
        command=row["command"],
        parent_name=row["parent_name"],
        step_name=row["step_name"],
        created_at=iso_from_epoch(row["created_at"]),
        started_at=iso_from_epoch(row["started_at"]),
        ended_at=iso_from_epoch(row["ended_at"]),
        exit_code=row["exit_code"],
        error=row["error"],
        inputs=row["inputs"] or {},
        outputs=row["outputs"] or {},
    )


def _compute(row: dict[str, Any], load: tuple[int, int]) -> ComputeInfo:
    return ComputeInfo(
        name=row["name"],
        type="local",
        size=row["size"],
        state="Succeeded",
        min_nodes=row["min_nodes"],
        max_nodes=row["max_nodes"],
        current_nodes=load[0],
        target_nodes=load[0],
        idle_seconds=row["idle_seconds"],
        tier=row["tier"],
        location="local",
        queued_jobs=load[1],
    )


def _utf8_boundary(data: bytes) -> int:
    """The length of ``data`` without a UTF-8 character cut off at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:  # ASCII: nothing is cut
            return len(data)
        if byte >= 0xC0:  # the lead byte of the last character: is the character whole?
            width = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= width else len(data) - back
    return len(data)
