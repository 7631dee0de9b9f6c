"""AzureBackend: the Backend protocol over an Azure Machine Learning workspace.

``azure.ai.ml`` (1.6 s to import) is imported on first use, inside whichever thread calls the backend
(the server's worker pool, never its event loop); one ``MLClient`` per backend (= per workspace) serves
every call, and every entity sent to Azure is built (or copied) fresh per request, because
``jobs.create_or_update`` mutates what it is given.

Where things come from (details in ``docs/azure-backend.md``):

* sign-in: ``azure_auth.py`` (DefaultAzureCredential / CLI / device code / managed identity, behind
  a token cache); errors: ``azure_errors.py`` (every Azure call runs inside ``self.errors.mapping``);
  SDK entity -> record: ``azure_records.py``; copy-in upload: ``blob_upload.py``;
* long work (copy-in, cluster create/update) runs as an ``OperationTracker`` operation in a background
  thread with its progress in the local state store (``AZML_JUPYTER_HOME``), so the panel and the CLI
  see it exactly as with the local backend;
* job status comes from polling (``jobs.get`` and run history); logs are read incrementally with ranged
  GETs of the run's log file (``jobs.stream`` blocks until the job ends, prints to stdout and fails on
  SAS datastore secrets in 1.35.x); outputs are listed and streamed to disk with azure-storage-blob and
  the user's own token (identity-based access; no account keys, no SAS from ``listSecrets``).
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import json
import logging
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..engine.store import Store
from ..errors import Conflict, InvalidRequest, NotFound
from ..models import ComputeInfo, DataAsset, JobPage, JobRecord, JobStatus, Operation, Usage, VmSize, WorkspaceInfo
from ..spec.data import check_copy_in
from ..spec.names import check_name
from ..spec.secrets import check_no_secrets
from ..workspace_config import AzureWorkspaceConfig, find_config, load_config
from . import azure_records as records
from .azure_auth import CREDENTIAL_KINDS, build_credential
from .azure_errors import AzureErrorMapper, Subject
from .base import ComputeRequest, LogChunk, OutputFile
from .blob_upload import MiB, ResumableUploader, make_blob_service
from .operations import OperationContext, OperationTracker

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Job

log = logging.getLogger(__name__)

# Every call is bounded: connect / read timeouts per request, a few retries (azure-core's retry policy
# honours Retry-After on 429 and 503), telemetry off (a Jupyter server should not phone home by default).
DEFAULT_CLIENT_KWARGS: dict[str, Any] = {
    "connection_timeout": 20,
    "read_timeout": 120,
    "retry_total": 4,
    "retry_backoff_max": 30,
    "enable_telemetry": False,
    "show_progress": False,
    "user_agent": f"azml-jupyter/{__version__}",
}
DATA_ROOT = "azml-jupyter/data"  # copy-in destination: <DATA_ROOT>/<name>/<version>/<source name>[/...]
ARM_HOSTS = {"management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn"}
API_HOST_SUFFIXES = (".api.azureml.ms", ".api.ml.azure.us", ".api.ml.azure.cn")
STD_LOG = "user_logs/std_log.txt"
_LOG_PREFERENCE = (
    re.compile(r"^user_logs/std_log(_process_0+)?\.txt$"),
    re.compile(r"^user_logs/std_log.*\.txt$"),
    re.compile(r"^azureml-logs/70_driver_log(_0)?\.txt$"),
    re.compile(r"std_log|driver_log"),
)
_DATASTORE_URI = re.compile(r"^azureml://(?:.*/)?datastores/(?P<datastore>[^/]+)/(?:paths/)?(?P<path>.*)$")
DOWNLOAD_WORKERS = 8


@dataclasses.dataclass(frozen=True)
class _Datastore:
    name: str
    account: str
    container: str
    endpoint: str  # "core.windows.net"
    protocol: str  # "https"


class _PipelineLog:
    """A pipeline has no log of its own: this is the readable transcript of its steps' status changes
    as this process observed them (append-only, so offsets stay valid between reads)."""

    def __init__(self) -> None:
        self.text = b""
        self.seen: dict[str, str] = {}
        self.finished = False


class AzureBackend:
    kind = "azure"

    def __init__(
        self,
        config: AzureWorkspaceConfig,
        *,
        credential: Any = None,
        credential_kind: str = "default",
        client_kwargs: dict[str, Any] | None = None,
        blob_service_factory: Callable[[str, str], Any] | None = None,
        home: Path | str | None = None,
        config_source: str | None = None,
        uploader_options: dict[str, Any] | None = None,
    ):
        """``credential``: any TokenCredential (tests pass a fake); else one is built for ``credential_kind``.
        ``client_kwargs`` go to ``MLClient`` (``transport=``, ``polling_interval=``, retry and timeout settings).
        ``blob_service_factory(account_name, account_url)`` returns the ``BlobServiceClient`` for a datastore's
        storage account (tests: Azurite); by default the account's blob endpoint with the user's credential.
        ``uploader_options`` tune copy-in (``ResumableUploader``: block_size, file_workers...)."""
        self.config = config
        self.credential_kind = credential_kind
        self.config_source = config_source
        self._credential = credential
        self._owns_credential = credential is None  # built here from credential_kind: closed by close()
        self.client_kwargs = {**DEFAULT_CLIENT_KWARGS, **(client_kwargs or {})}
        self._blob_service_factory = blob_service_factory
        self.uploader_options = dict(uploader_options or {})
        self.errors = AzureErrorMapper(
            subscription_id=config.subscription_id,
            resource_group=config.resource_group,
            workspace_name=config.workspace_name,
            tenant_id=config.tenant_id,
            credential_kind=credential_kind,
        )
        if home is None:
            from ..engine.layout import default_home

            home = default_home()
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.home / "workspace.db")  # operations are shared with the local backend's store
        self.operations = OperationTracker(self.store)
        self._lock = threading.RLock()
        self._client: MLClient | None = None
        self._datastores: dict[str, _Datastore] = {}
        self._default_datastore_name: str | None = None
        self._blob_services: dict[tuple[str, str], Any] = {}
        self._job_types: dict[str, str] = {}
        self._pipeline_logs: dict[str, _PipelineLog] = {}

    # ---- construction from the server's settings ------------------------------------------------
    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> AzureBackend:
        """Resolve the workspace (server settings, then ``AZML_JUPYTER_*`` variables, then config.json)
        and the credential, as documented in ``docs/azure-backend.md``."""
        config, kind, source = resolve_settings(settings)
        return cls(config, credential_kind=kind, config_source=source)

    # ---- clients ----------------------------------------------------------------------------------
    @property
    def credential(self) -> Any:
        with self._lock:
            if self._credential is None:
                self._credential = build_credential(self.credential_kind, tenant_id=self.config.tenant_id)
            return self._credential

    @property
    def ml_client(self) -> MLClient:
        """The workspace's MLClient, created (and azure.ai.ml imported) on first use."""
        with self._lock:
            if self._client is None:
                # azure-ai-ml logs an "experimental class" warning per schema on first use: noise for our users
                logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
                from azure.ai.ml import MLClient

                self._client = MLClient(
                    self.credential,
                    subscription_id=self.config.subscription_id,
                    resource_group_name=self.config.resource_group,
                    workspace_name=self.config.workspace_name,
                    **self.client_kwargs,
                )
            return self._client

    def _call(self, subject: Subject | None = None):
        return self.errors.mapping(subject)

    # ---- workspace and compute ----------------------------------------------------------------
    def workspace(self) -> WorkspaceInfo:
        with self._call(Subject("workspace")):
            ws = self.ml_client.workspaces.get(self.config.workspace_name)
        workspace_id = getattr(ws, "id", None) or (
            f"/subscriptions/{self.config.subscription_id}/resourceGroups/{self.config.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.config.workspace_name}"
        )
        tenant = f"&tid={self.config.tenant_id}" if self.config.tenant_id else ""
        return WorkspaceInfo(
            backend=self.kind,
            name=ws.name,
            location=getattr(ws, "location", None) or self.config.location,
            subscription_id=self.config.subscription_id,
            resource_group=self.config.resource_group,
            studio_url=self.config.studio_url or f"https://ml.azure.com/home?wsid={workspace_id}{tenant}",
            details={
                "tenant_id": self.config.tenant_id,
                "credential": self.credential_kind,
                "config_source": self.config_source,
                "default_compute": self.config.default_compute,
                "display_name": getattr(ws, "display_name", None),
            },
        )

    def list_computes(self) -> list[ComputeInfo]:
        # The compute entities drop node counts, so the REST objects are read (records.compute_info).
        client = self.ml_client
        with self._call(Subject("workspace")):
            resources = list(
                client.compute._operation.list(
                    self.config.resource_group, self.config.workspace_name, cls=lambda objs: objs
                )
            )
        return sorted((records.compute_info(r) for r in resources), key=lambda c: c.name)

    def get_compute(self, name: str) -> ComputeInfo:
        client = self.ml_client
        with self._call(Subject("compute", name)):
            resource = client.compute._operation.get(self.config.resource_group, self.config.workspace_name, name)
        return records.compute_info(resource)

    def list_sizes(self) -> list[VmSize]:
        with self._call(Subject("workspace")):
            sizes = list(self.ml_client.compute.list_sizes())
        out = []
        for size in sizes:
            supported = records.either(size, "supported_compute_types", "supportedComputeTypes")
            if supported and "AmlCompute" not in supported:
                continue  # sizes a cluster cannot use
            out.append(records.vm_size(size))
        return sorted(out, key=lambda s: s.name)

    def list_usage(self) -> list[Usage]:
        with self._call(Subject("workspace")):
            usages = list(self.ml_client.compute.list_usage())
        return [records.usage(u) for u in usages]

    def create_or_update_compute(self, request: ComputeRequest) -> Operation:
        """Validate, send the create/update now (so refusals are this request's error), and wait for
        Azure's long-running operation in the background."""
        name = check_name("compute", request.name)
        _check_compute_numbers(request)
        from azure.ai.ml.entities import AmlCompute

        try:
            current = self.get_compute(name)
        except NotFound as exc:
            if exc.code == "workspace_not_found":
                raise
            current = None
        if current is not None and current.type != "amlcompute":
            raise InvalidRequest(
                f"Compute {name!r} is a {current.type}; only clusters (AmlCompute) can be resized here.",
                details={"compute": name, "type": current.type},
            )
        if current is not None:
            if request.size and request.size.lower() != (current.size or "").lower():
                raise InvalidRequest(
                    f"Cluster {name!r} has VM size {current.size}; Azure ML cannot change the size of an existing "
                    "cluster. Create a new cluster with the size you want.",
                    details={"compute": name, "size": current.size},
                )
            if request.tier and current.tier and request.tier != current.tier:
                raise InvalidRequest(
                    f"Cluster {name!r} is {current.tier}; the tier of an existing cluster cannot change.",
                    details={"compute": name, "tier": current.tier},
                )
        merged = {
            "size": request.size or (current.size if current else "STANDARD_DS3_V2"),
            "min_instances": _pick(request.min_nodes, current.min_nodes if current else 0),
            "max_instances": _pick(request.max_nodes, current.max_nodes if current else 1),
            "idle_time_before_scale_down": _pick(request.idle_seconds, current.idle_seconds if current else 120),
            "tier": request.tier or (current.tier if current else "dedicated"),
        }
        if merged["min_instances"] > merged["max_instances"]:
            raise InvalidRequest(
                f"min_nodes ({merged['min_instances']}) cannot exceed max_nodes ({merged['max_instances']})."
            )
        entity = AmlCompute(name=name, location=current.location if current else None, **merged)  # fresh per request
        with self._call(Subject("compute", name)):
            poller = self.ml_client.compute.begin_create_or_update(entity)
        created = current is None

        def work(context: OperationContext) -> dict[str, Any] | None:
            while not poller.done():
                if context.cancel.is_set():
                    return None  # Azure finishes the change anyway; we only stop watching it
                poller.wait(1.0)
            with self._call(Subject("compute", name)):
                poller.result()
            return {"compute": self.get_compute(name).to_dict(), "created": created}

        return self.operations.start(
            "compute_update",
            f"{'Create' if created else 'Update'} compute {name}",
            work,
            request=request.to_dict(),
        )

    def delete_compute(self, name: str) -> None:
        """Delete a compute and wait until Azure ML has (as ``az ml compute delete`` does)."""
        name = check_name("compute", name)
        self.get_compute(name)  # NotFound, with the workspace's wording, before anything is sent
        with self._call(Subject("compute", name)):
            self.ml_client.compute.begin_delete(name).result()

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
                        _same_location(same.path, _uri(datastore.name, plan.target))
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
                if _same_location(latest.path, _uri(datastore.name, plan.target)) and latest.type == kind:
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
            path=_uri(datastore.name, plan.target),
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

    # ---- operations ---------------------------------------------------------------------------
    def get_operation(self, operation_id: str) -> Operation:
        return self.operations.get(operation_id)

    def cancel_operation(self, operation_id: str) -> Operation:
        return self.operations.cancel(operation_id)

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
        match = _DATASTORE_URI.match(uri)
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

    # ---- storage ------------------------------------------------------------------------------
    def _datastore(self, name: str | None) -> _Datastore:
        """A datastore by name (None: the workspace's default), cached: they rarely change."""
        with self._lock:
            key = name or self._default_datastore_name
            if key and key in self._datastores:
                return self._datastores[key]
        with self._call(Subject("datastore", name or "default")):
            entity = self.ml_client.datastores.get(name) if name else self.ml_client.datastores.get_default()
        container = getattr(entity, "container_name", None) or getattr(entity, "filesystem", None)
        account = getattr(entity, "account_name", None)
        if not account or not container:
            raise InvalidRequest(
                f"Datastore {entity.name!r} is not on Azure Blob Storage / ADLS Gen2; copy-in and downloads need one.",
                details={"datastore": entity.name},
            )
        datastore = _Datastore(
            name=entity.name,
            account=account,
            container=container,
            endpoint=getattr(entity, "endpoint", None) or "core.windows.net",
            protocol=getattr(entity, "protocol", None) or "https",
        )
        with self._lock:
            self._datastores[datastore.name] = datastore
            if name is None:
                self._default_datastore_name = datastore.name
        return datastore

    def _container(self, datastore: _Datastore) -> Any:
        key = (datastore.account, datastore.endpoint)
        with self._lock:
            service = self._blob_services.get(key)
            if service is None:
                url = f"{datastore.protocol}://{datastore.account}.blob.{datastore.endpoint}"
                if self._blob_service_factory is not None:
                    service = self._blob_service_factory(datastore.account, url)
                else:  # Entra ID: the user's token, so storage accounts with shared keys off work
                    service = make_blob_service(url, self.credential, max_chunk_get_size=32 * MiB)
                self._blob_services[key] = service
        return service.get_container_client(datastore.container)

    def close(self) -> None:
        with self._lock:
            services, self._blob_services = list(self._blob_services.values()), {}
            client, self._client = self._client, None
            built_credential = self._credential if self._owns_credential else None
        for service in services:
            try:
                service.close()
            except Exception:
                pass
        if built_credential is not None:
            try:
                built_credential.close()
            except Exception:
                pass
        if client is not None:
            close = getattr(client, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass
        self.store.close()


# ---- configuration ------------------------------------------------------------------------------------

ENV_SUBSCRIPTION = "AZML_JUPYTER_SUBSCRIPTION_ID"
ENV_RESOURCE_GROUP = "AZML_JUPYTER_RESOURCE_GROUP"
ENV_WORKSPACE = "AZML_JUPYTER_WORKSPACE"
ENV_TENANT = "AZML_JUPYTER_TENANT_ID"
ENV_CREDENTIAL = "AZML_JUPYTER_CREDENTIAL"
ENV_CONFIG = "AZML_JUPYTER_CONFIG"


def resolve_settings(settings: dict[str, Any]) -> tuple[AzureWorkspaceConfig, str, str]:
    """(workspace config, credential kind, where the workspace came from).

    The workspace (subscription, resource group, name) comes whole from the first of: the server's
    settings (traitlets), the ``AZML_JUPYTER_*`` environment variables, a config.json (``config_path``
    or ``AZML_JUPYTER_CONFIG``, else searched as ``MLClient.from_config`` does). A source that names only
    part of it is an error, not silently completed from the next one. ``tenant_id`` and ``credential``
    follow the same order; the extension's extras (default compute, studio URL...) come from config.json
    when it describes the same workspace."""
    settings = {k: v for k, v in (settings or {}).items() if v not in (None, "")}
    env = {
        "subscription_id": os.environ.get(ENV_SUBSCRIPTION),
        "resource_group": os.environ.get(ENV_RESOURCE_GROUP),
        "workspace_name": os.environ.get(ENV_WORKSPACE),
        "tenant_id": os.environ.get(ENV_TENANT),
        "credential": os.environ.get(ENV_CREDENTIAL),
        "config_path": os.environ.get(ENV_CONFIG),
    }
    env = {k: v for k, v in env.items() if v}
    config_path = settings.get("config_path") or env.get("config_path")
    found = find_config(Path(config_path).expanduser() if config_path else None)
    if config_path and found is None:
        raise NotFound(f"No Azure ML config.json at {config_path}.", details={"path": str(config_path)})
    file_config = load_config(found) if found is not None else None

    identity_fields = ("subscription_id", "resource_group", "workspace_name")
    chosen: tuple[dict[str, Any], str] | None = None
    for values, label in ((settings, "server settings (c.AzmlJupyter)"), (env, "environment variables")):
        present = [f for f in identity_fields if values.get(f)]
        if present:
            missing = [f for f in identity_fields if not values.get(f)]
            if missing:
                names = {
                    "subscription_id": ENV_SUBSCRIPTION,
                    "resource_group": ENV_RESOURCE_GROUP,
                    "workspace_name": ENV_WORKSPACE,
                }
                spelled = [names[m] if label.startswith("environment") else m for m in missing]
                raise InvalidRequest(
                    f"The Azure ML workspace in the {label} is incomplete: {', '.join(spelled)} missing.",
                    details={"source": label, "missing": missing},
                )
            chosen = (values, label)
            break
    if chosen is None:
        if file_config is None:
            raise NotFound(
                "No Azure ML workspace is configured: set c.AzmlJupyter.subscription_id/resource_group/"
                f"workspace_name, or {ENV_SUBSCRIPTION}/{ENV_RESOURCE_GROUP}/{ENV_WORKSPACE}, or write a "
                "config.json (azml-jupyter workspace configure --from-terraform).",
                code="workspace_not_configured",
            )
        config, source = file_config, str(found)
    else:
        values, source = chosen
        config = AzureWorkspaceConfig(**{f: values[f] for f in identity_fields})
        if file_config is not None and all(
            getattr(file_config, f).lower() == getattr(config, f).lower() for f in identity_fields
        ):
            config = file_config  # same workspace: keep the file's extras
    tenant = settings.get("tenant_id") or env.get("tenant_id") or config.tenant_id
    if tenant != config.tenant_id:
        config = dataclasses.replace(config, tenant_id=tenant)
    kind = str(settings.get("credential") or env.get("credential") or "default").lower()
    if kind not in CREDENTIAL_KINDS:
        raise InvalidRequest(
            f"Unknown credential {kind!r}; use one of {', '.join(CREDENTIAL_KINDS)}.", details={"credential": kind}
        )
    return config, kind, source


# ---- helpers --------------------------------------------------------------------------------------


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


def _check_compute_numbers(request: ComputeRequest) -> None:
    for label, value in (
        ("min_nodes", request.min_nodes),
        ("max_nodes", request.max_nodes),
        ("idle_seconds", request.idle_seconds),
    ):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise InvalidRequest(f"{label} must be a whole number >= 0, not {value!r}.")
    if request.max_nodes is not None and request.max_nodes < 1:
        raise InvalidRequest("max_nodes must be at least 1.")
    if request.tier is not None and request.tier not in ("dedicated", "low_priority"):
        raise InvalidRequest(f"tier must be 'dedicated' or 'low_priority', not {request.tier!r}.")


def _pick(value: Any, fallback: Any) -> Any:
    return value if value is not None else fallback


def _parse_statuses(status: list[str] | None) -> set[JobStatus]:
    if not status:
        return set()
    known = {s.value.lower(): s for s in JobStatus}
    unknown = [s for s in status if str(s).lower() not in known]
    if unknown:
        raise InvalidRequest(f"Unknown status {unknown[0]!r}; use one of {', '.join(s.value for s in JobStatus)}.")
    return {known[str(s).lower()] for s in status}


def _newest_first(asset: DataAsset) -> tuple:
    number = int(asset.version) if asset.version.isdigit() else -1
    return (-(number), asset.created_at or "")  # numeric versions descending, then by creation


def _uri(datastore: str, path: str) -> str:
    return f"azureml://datastores/{datastore}/paths/{path}"


def _same_location(a: str, b: str) -> bool:
    """Short (``azureml://datastores/...``) and long (``azureml://subscriptions/.../datastores/...``) forms."""
    first, second = _DATASTORE_URI.match(a or ""), _DATASTORE_URI.match(b or "")
    if first is None or second is None:
        return a == b
    return (first["datastore"], first["path"].rstrip("/")) == (second["datastore"], second["path"].rstrip("/"))


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
