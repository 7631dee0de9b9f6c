"""The jobs half of ``AzureBackend`` (a mixin of ``azure.py``): submit, get, list, cancel, logs and
outputs. Status comes from polling ``jobs.get``; logs are read incrementally with ranged GETs of the
run's log file (never ``jobs.stream``, which blocks until the job ends); outputs are listed and
streamed to disk with azure-storage-blob and the user's own token."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import os
import re
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import Conflict, InvalidRequest, NotFound
from ..models import JobPage, JobRecord, JobStatus
from ..spec.names import check_name
from ..spec.secrets import check_no_secrets
from . import azure_records as records
from .azure_errors import Subject
from .azure_paths import DATASTORE_URI
from .base import LogChunk, OutputFile

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job

    from .azure import _Datastore

log = logging.getLogger(__name__)

ARM_HOSTS = {"management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn"}
API_HOST_SUFFIXES = (".api.azureml.ms", ".api.ml.azure.us", ".api.ml.azure.cn")
STD_LOG = "user_logs/std_log.txt"
_LOG_PREFERENCE = (
    re.compile(r"^user_logs/std_log(_process_0+)?\.txt$"),
    re.compile(r"^user_logs/std_log.*\.txt$"),
    re.compile(r"^azureml-logs/70_driver_log(_0)?\.txt$"),
    re.compile(r"std_log|driver_log"),
)
DOWNLOAD_WORKERS = 8


class _PipelineLog:
    """A pipeline has no log of its own: this is the readable transcript of its steps' status changes
    as this process observed them (append-only, so offsets stay valid between reads)."""

    def __init__(self) -> None:
        self.text = b""
        self.seen: dict[str, str] = {}
        self.finished = False


class AzureJobs:
    """Mixed into ``AzureBackend``; uses its ``ml_client``, ``_call``, ``_lock``, ``_datastore`` ..."""

    # ---- jobs: submit, get, list, cancel ------------------------------------------------------
    def submit(self, job: Job, *, name: str | None = None) -> JobRecord:
        """Submit a fresh job entity (``jobs.create_or_update`` resolves code, environment and compute into
        it, and SDK entities cannot be deep-copied): every caller loads or builds one per submission."""
        if name is not None:
            job.name = check_name("job", name)
        elif getattr(job, "name", None):
            check_name("job", job.name)
        where = f"job {job.name}" if getattr(job, "name", None) else "the job"
        check_no_secrets(getattr(job, "environment_variables", None), where=where)
        for step_name, step in (getattr(job, "jobs", None) or {}).items():
            variables = getattr(step, "environment_variables", None) or getattr(
                getattr(step, "component", None), "environment_variables", None
            )
            check_no_secrets(variables, where=f"step {step_name} of {where}")
        job.tags = {**(job.tags or {}), records.SUBMITTED_BY_TAG: __version__}
        self._apply_default_compute(job)
        if getattr(job, "name", None):
            if self._job_exists(job.name):
                raise Conflict(f"A job named {job.name!r} already exists; job names are unique in a workspace.")
        with self._call(Subject("job", getattr(job, "name", None))):
            created = self.ml_client.jobs.create_or_update(job)
        self._remember_type(created.name, created.type)
        return records.job_record(created)

    def _apply_default_compute(self, job: Any) -> None:
        """A job without a compute runs on the workspace's default cluster (``default_compute`` from
        config.json / Terraform), as it would on the local engine's default cluster."""
        default = self.config.default_compute
        if not default:
            return
        if job.type == "pipeline":
            settings = getattr(job, "settings", None)
            steps_without = [s for s in (job.jobs or {}).values() if not getattr(s, "compute", None)]
            if settings is not None and not settings.default_compute and not job.compute and steps_without:
                settings.default_compute = default
        elif not getattr(job, "compute", None):
            job.compute = default

    def _job_exists(self, name: str) -> bool:
        from azure.core.exceptions import ResourceNotFoundError

        with self._call(Subject("job", name)):
            try:
                self.ml_client.jobs.get(name)
            except ResourceNotFoundError:
                return False
        return True

    def get_job(self, name: str) -> JobRecord:
        runs = self.ml_client.jobs._runs_operations
        with self._call(Subject("job", name)):
            job = self.ml_client.jobs.get(name)
            details = runs.get_run_details(name)
            children = None
            if job.type == "pipeline":
                children = [
                    records.job_record(c, parent_name=name) for c in runs.get_run_children(name) if c is not None
                ]
        self._remember_type(name, job.type)
        return records.job_record(job, details=details, children=children)

    def list_jobs(
        self,
        *,
        status: list[str] | None = None,
        experiment: str | None = None,
        parent: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        mine: bool = False,
    ) -> JobPage:
        """Newest first. ``mine``: only jobs this extension submitted (tagged ``azml_jupyter``).

        Paging follows the service's own continuation (ARM ``nextLink`` / run history tokens): the
        cursor is that token plus how many jobs of its page were already returned, so a filtered
        listing never skips or repeats a job."""
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000.")
        wanted = _parse_statuses(status)
        token, skip = self._decode_cursor(cursor)
        if parent is not None:
            with self._call(Subject("job", parent)):
                self.ml_client.jobs.get(parent)  # an unknown parent is a 404, as on the local backend
            paged = self.ml_client.jobs._runs_operations.get_run_children(parent)
        else:
            kwargs = {"tag": records.SUBMITTED_BY_TAG} if mine else {}
            paged = self.ml_client.jobs.list(**kwargs)

        def keep(job: Any) -> bool:
            if job is None:
                return False
            if mine and records.SUBMITTED_BY_TAG not in (getattr(job, "tags", None) or {}):
                return False
            if wanted and JobStatus.parse(getattr(job, "status", None)) not in wanted:
                return False
            return not experiment or getattr(job, "experiment_name", None) == experiment

        found: list[JobRecord] = []
        next_cursor = None
        with self._call(Subject("job", parent) if parent else Subject("workspace")):
            pages = paged.by_page(continuation_token=token)
            while next_cursor is None:
                page_token = pages.continuation_token  # what fetches the page about to be read
                try:
                    page = list(next(pages))
                except StopIteration:
                    break
                for index, job in enumerate(page):
                    if index < skip:
                        continue
                    if not keep(job):
                        continue
                    if len(found) == limit:
                        next_cursor = self._encode_cursor(page_token, index)
                        break
                    found.append(records.job_record(job, parent_name=parent))
                    self._remember_type(job.name, getattr(job, "type", None))
                skip = 0
        return JobPage(jobs=found, next_cursor=next_cursor)

    def _encode_cursor(self, token: str | None, index: int) -> str:
        raw = json.dumps({"t": token, "i": index}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode_cursor(self, cursor: str | None) -> tuple[str | None, int]:
        if not cursor:
            return None, 0
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            token, index = data.get("t"), int(data.get("i", 0))
        except (ValueError, TypeError, AttributeError):
            raise InvalidRequest(f"Invalid cursor {cursor!r}.") from None
        if token is not None and (not isinstance(token, str) or not self._trusted_token(token)) or index < 0:
            raise InvalidRequest(f"Invalid cursor {cursor!r}.")
        return token, index

    def _trusted_token(self, token: str) -> bool:
        """A continuation token that is a URL is fetched with the user's bearer token: accept only this
        workspace's job listing on an Azure Resource Manager host, never a URL a browser made up."""
        if "://" not in token:
            return True  # run history's opaque continuation token
        parts = urllib.parse.urlsplit(token)
        hosts = set(ARM_HOSTS)
        base = getattr(self._client, "_base_url", None) if self._client is not None else None
        if base:
            hosts.add(urllib.parse.urlsplit(base).hostname or "")
        workspace_path = (
            f"/subscriptions/{self.config.subscription_id}/resourcegroups/{self.config.resource_group}/providers/"
            f"microsoft.machinelearningservices/workspaces/{self.config.workspace_name}/"
        ).lower()
        path = parts.path.lower()
        if parts.scheme != "https" or not parts.hostname:
            return False
        if parts.hostname in hosts:  # ARM: the workspace's job listing
            return path.rstrip("/") == workspace_path + "jobs"
        # run history (a pipeline's steps): the workspace's API host
        return parts.hostname.endswith(API_HOST_SUFFIXES) and path.startswith("/history/v1.0" + workspace_path)

    def cancel_job(self, name: str) -> JobRecord:
        with self._call(Subject("job", name)):
            job = self.ml_client.jobs.get(name)
            record = records.job_record(job)
            if record.status.is_terminal:
                raise Conflict(f"Job {name!r} already ended ({record.status.value}); there is nothing to cancel.")
            # polling=False: the cancel request is sent, its long-running operation is not waited for.
            self.ml_client.jobs.begin_cancel(name, polling=False)
        record.status = JobStatus.CANCEL_REQUESTED
        return record

    # ---- jobs: logs ---------------------------------------------------------------------------
    def read_logs(self, name: str, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        """Text of the job's ``user_logs/std_log.txt`` from ``offset``: whole lines unless the job ended
        (the local backend's rule). A pipeline's log is a transcript of its steps' status changes."""
        if offset < 0:
            raise InvalidRequest("offset must be >= 0.")
        if max_bytes < 1:
            raise InvalidRequest("max_bytes must be >= 1.")
        if self._job_type(name) == "pipeline":
            return self._pipeline_log(name, offset, max_bytes)
        runs = self.ml_client.jobs._runs_operations
        with self._call(Subject("job", name)):
            details = runs.get_run_details(name)  # the status first: nothing written after it is missed
        status = JobStatus.parse(details.status)
        ended = status.is_terminal
        url = _pick_log(getattr(details, "log_files", None) or {})
        data, size = (b"", 0) if url is None else self._read_range(url, offset, max_bytes)
        if not ended or offset + len(data) < size:
            cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
            data = data[: cut + 1] if cut >= 0 else b""
        next_offset = offset + len(data)
        complete = ended and next_offset >= size
        return LogChunk(
            text=data.decode("utf-8", "replace"),
            offset=offset,
            next_offset=next_offset,
            complete=complete,
            status=status.value,
        )

    def _read_range(self, url: str, offset: int, max_bytes: int) -> tuple[bytes, int]:
        """Bytes [offset, offset + max_bytes) of a log blob (a SAS URL from run history) and the blob's size,
        through the SDK's own HTTP pipeline (its transport, retries and timeouts)."""
        from azure.core.exceptions import HttpResponseError

        pipeline = self.ml_client.jobs._requests_pipeline
        with self._call(Subject("log", "job log")):
            response = pipeline.get(url, headers={"Range": f"bytes={offset}-{offset + max_bytes - 1}"})
            status = response.status_code
            if status == 416:  # nothing at or after offset yet
                return b"", _range_total(response.headers.get("Content-Range")) or offset
            if status >= 400:
                raise HttpResponseError(response=response)
            body = response.read() if hasattr(response, "read") else response.content
        if status == 200:  # the range was ignored: the whole blob came back
            return body[offset : offset + max_bytes], len(body)
        return body, _range_total(response.headers.get("Content-Range")) or offset + len(body)

    def _pipeline_log(self, name: str, offset: int, max_bytes: int) -> LogChunk:
        runs = self.ml_client.jobs._runs_operations
        with self._call(Subject("job", name)):
            status = JobStatus.parse(runs.get_run_details(name).status)
            steps = [c for c in runs.get_run_children(name) if c is not None]
        with self._lock:
            transcript = self._pipeline_logs.setdefault(name, _PipelineLog())
            lines = []
            for step in sorted(steps, key=lambda s: s.name):
                step_status = JobStatus.parse(getattr(step, "status", None)).value
                if transcript.seen.get(step.name) != step_status:
                    transcript.seen[step.name] = step_status
                    label = (getattr(step, "properties", None) or {}).get("azureml.nodeid") or step.display_name
                    lines.append(f"{time.strftime('%H:%M:%S')} step {label} ({step.name}) {step_status}\n")
            if status.is_terminal and not transcript.finished:
                transcript.finished = True
                lines.append(f"{time.strftime('%H:%M:%S')} pipeline {name} {status.value}\n")
            transcript.text += "".join(lines).encode()
            data = transcript.text[offset : offset + max_bytes]
            size = len(transcript.text)
        next_offset = offset + len(data)
        return LogChunk(
            text=data.decode("utf-8", "replace"),
            offset=offset,
            next_offset=next_offset,
            complete=status.is_terminal and next_offset >= size,
            status=status.value,
        )

    def _job_type(self, name: str) -> str:
        with self._lock:
            known = self._job_types.get(name)
        if known:
            return known
        with self._call(Subject("job", name)):
            job = self.ml_client.jobs.get(name)
        self._remember_type(name, job.type)
        return job.type

    def _remember_type(self, name: str, job_type: Any) -> None:
        if job_type:
            with self._lock:
                self._job_types[name] = "command" if job_type == "base" else str(job_type)

    # ---- jobs: outputs ------------------------------------------------------------------------
    def _output_locations(self, name: str) -> dict[str, tuple[_Datastore, str, bool]]:
        """output name -> (datastore, path in its container, is a single file); ``default`` is the run's
        artifact folder (outputs/, logs/, user_logs/...)."""
        with self._call(Subject("job", name)):
            job = self.ml_client.jobs.get(name)
        self._remember_type(name, job.type)
        locations: dict[str, tuple[_Datastore, str, bool]] = {}
        default = (getattr(job, "outputs", None) or {}).get("default")
        default_path = getattr(getattr(default, "_data", default), "path", None) if default is not None else None
        if default_path or job.type != "pipeline":
            uri = str(default_path or f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{name}")
            locations["default"] = self._locate(uri, folder=True)
        for key, value in records.job_record(job).outputs.items():
            if str(value.get("uri", "")).startswith("azureml://"):
                locations[key] = self._locate(value["uri"], folder=value.get("type") != "uri_file")
        return locations

    def _locate(self, uri: str, *, folder: bool) -> tuple[_Datastore, str, bool]:
        match = DATASTORE_URI.match(uri)
        if match is None:
            raise InvalidRequest(f"Cannot read output location {uri}.", details={"uri": uri})
        path = match["path"].lstrip("/")
        return self._datastore(match["datastore"]), path, not folder and not path.endswith("/")

    def _output_blobs(self, location: tuple[_Datastore, str, bool]) -> list[tuple[str, str, int]]:
        """(blob name, path relative to the output, size) of every blob of one output."""
        datastore, path, single = location
        container = self._container(datastore)
        with self._call(Subject("storage", datastore.account)):
            if single:
                found = [b for b in container.list_blobs(name_starts_with=path) if b.name == path]
                return [(b.name, b.name.rsplit("/", 1)[-1], int(b.size or 0)) for b in found]
            prefix = path.rstrip("/") + "/" if path else ""
            return [
                (b.name, b.name[len(prefix) :], int(b.size or 0))
                for b in container.list_blobs(name_starts_with=prefix)
                if not b.name.endswith("/") and b.name[len(prefix) :]
            ]

    def list_outputs(self, name: str) -> list[OutputFile]:
        files: list[OutputFile] = []
        for output, location in self._output_locations(name).items():
            for _blob, relative, size in sorted(self._output_blobs(location), key=lambda b: b[1]):
                files.append(OutputFile(output=output, path=relative, size_bytes=size))
        return files

    def download(self, name: str, destination: Path, *, output: str | None = None) -> list[Path]:
        """Stream outputs to disk, laid out like ``az ml job download``: the default output under
        ``artifacts/``, named outputs under ``named-outputs/<name>/``; ``output="all"`` fetches all."""
        locations = self._output_locations(name)
        wanted = list(locations) if output == "all" else [output or "default"]
        for key in wanted:
            if key not in locations:
                raise NotFound(
                    f"Job {name!r} has no output {key!r}; it has {', '.join(sorted(locations))}.",
                    details={"output": key},
                )
        destination = Path(destination)
        tasks: list[tuple[Any, str, Path]] = []
        for key in wanted:
            target = destination / "artifacts" if key == "default" else destination / "named-outputs" / key
            blobs = self._output_blobs(locations[key])
            if not blobs and output not in (None, "all"):
                raise InvalidRequest(f"Output {key!r} of job {name!r} has no data (yet).")
            container = self._container(locations[key][0])
            root = target.resolve()
            for blob_name, relative, _size in blobs:
                local = (target / relative).resolve()
                if root not in local.parents:
                    raise InvalidRequest(f"Refusing to write {relative!r} outside {target}.")
                tasks.append((container, blob_name, local))
        storage = Subject("storage", locations[wanted[0]][0].account) if wanted else None
        with self._call(storage), concurrent.futures.ThreadPoolExecutor(DOWNLOAD_WORKERS) as pool:
            list(pool.map(lambda task: _download_blob(*task), tasks))
        return [local for _container, _blob, local in tasks]


def _parse_statuses(status: list[str] | None) -> set[JobStatus]:
    if not status:
        return set()
    known = {s.value.lower(): s for s in JobStatus}
    unknown = [s for s in status if str(s).lower() not in known]
    if unknown:
        raise InvalidRequest(f"Unknown status {unknown[0]!r}; use one of {', '.join(s.value for s in JobStatus)}.")
    return {known[str(s).lower()] for s in status}


def _pick_log(log_files: dict[str, str]) -> str | None:
    for pattern in _LOG_PREFERENCE:
        names = sorted(n for n in log_files if pattern.search(n))
        if names:
            return log_files[names[0]]
    return None


def _range_total(content_range: str | None) -> int | None:
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _download_blob(container: Any, blob_name: str, local: Path) -> None:
    """Stream one blob to a file (never whole in memory), via a temporary name so a reader never
    sees half a file."""
    local.parent.mkdir(parents=True, exist_ok=True)
    partial = local.with_name(f".{local.name}.part")
    with open(partial, "wb") as fh:
        container.get_blob_client(blob_name).download_blob(max_concurrency=4).readinto(fh)
    os.replace(partial, local)
