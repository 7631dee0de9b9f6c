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

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..engine.store import Store
from ..errors import InvalidRequest, NotFound
from ..models import ComputeInfo, Operation, Usage, VmSize, WorkspaceInfo
from ..spec.names import check_name
from ..workspace_config import AzureWorkspaceConfig
from . import azure_records as records
from .azure_auth import build_credential
from .azure_data import AzureData
from .azure_errors import AzureErrorMapper, Subject
from .azure_jobs import AzureJobs, _PipelineLog
from .azure_settings import resolve_settings
from .base import ComputeRequest
from .blob_upload import MiB, make_blob_service
from .operations import OperationContext, OperationTracker

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

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


@dataclasses.dataclass(frozen=True)
class _Datastore:
    name: str
    account: str
    container: str
    endpoint: str  # "core.windows.net"
    protocol: str  # "https"


class AzureBackend(AzureData, AzureJobs):
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

    # ---- operations ---------------------------------------------------------------------------
    def get_operation(self, operation_id: str) -> Operation:
        return self.operations.get(operation_id)

    def cancel_operation(self, operation_id: str) -> Operation:
        return self.operations.cancel(operation_id)

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


# ---- helpers --------------------------------------------------------------------------------------



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
