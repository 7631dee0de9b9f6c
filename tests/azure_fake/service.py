"""An in-process fake of the Azure Machine Learning service, for the real azure-ai-ml SDK.

Only the service is fake: tests drive the real ``azure.ai.ml.MLClient`` (and the real
azure-storage-blob clients the SDK builds for uploads and downloads) against this object through
``transport.py``. What the fake answers, and in which shape, follows the facts in
``shared/notes/azure-sdk-testing.md`` and the SDK's recorded tests (Azure/azure-sdk-assets).

Three hosts are served, each by path (the api-version differs per SDK release, so it is never
matched):

* ARM, ``https://management.azure.com``: workspace, computes (+ LRO), vm sizes, usages,
  datastores (+ ``listSecrets``), data/code/component/environment assets and versions, jobs
  (+ cancel LRO).
* The workspace API host, ``https://{location}.api.azureml.ms``: discovery, run history (run,
  ``details`` with ``logFiles`` SAS URLs, ``children``, ``rundata``) and the data plane's
  ``batchGetResolvedUris``.
* Blob storage, ``https://{account}.blob.core.windows.net``: an **in-memory blob service** (see
  "Blob storage" below).

Blob storage: in memory, not Azurite
------------------------------------
The SDK's own blob traffic (code snapshots, local-file data assets, ``jobs.download``, log files
of runs) is answered from memory here instead of being forwarded to Azurite, because:

* the storage URLs the SDK builds are ``https://{account}.blob.core.windows.net/...`` with SAS
  tokens or SharedKey signatures minted for *that* account name; forwarding to Azurite would mean
  rewriting hosts into Azurite's path-style URLs and re-signing every request for
  ``devstoreaccount1``: more moving parts than the service they stand in for;
* tests need to *see and change* storage directly: append lines to a running job's log file,
  seed a job's outputs, read what a code upload wrote. That is one dict lookup here;
* the fake suite then needs no Node process and no network port, and runs anywhere the SDK does.

The in-memory service implements what those paths use: container create/get/list-blobs (flat or
with a delimiter, with metadata, with paging), blob HEAD/GET (whole or ranged, 416 past the end),
Put Blob (``If-None-Match: *`` -> 409, Content-MD5 checked), Put Block / Put Block List, Set
Metadata / Properties, Delete. It checks that a request carries *some* credential (a SAS ``sig``
or a SharedKey/Bearer header) but does not verify signatures. Our own copy-in uploader talks to a
real Azurite instead (``tests/azurite``), with an explicit endpoint.

Using it
--------
``FakeAzureML()`` holds the state. Seed it with ``add_compute``, ``add_vm_size``, ``add_usage``,
``add_environment``, ``put_blob``...; watch it through ``requests`` (every request with its route
name and status), ``jobs``, ``blob_text``; steer jobs with ``configure_job``/``default_plan``,
``hold_job``/``release_job``, ``append_log``, ``put_job_output``; inject faults with
``fail(route_name, ...)``. Every handler runs under one lock, so the SDK's upload threads are safe.

Job status model: a job is created ``Starting`` and moves one step along its plan (by default
``Starting -> Queued -> Running -> Completed``) on **each ARM ``jobs.get``** of that job (run-history
reads and lists do not move it). A plan may end ``Failed``; ``hold_job(name, at="Running")`` stops it
at a status until ``release_job``. Cancel puts it in ``CancelRequested`` and the next ``jobs.get``
shows ``Canceled``. A pipeline job's child runs take the parent's status.

Faults: ``fail("jobs.get", 429, times=2, retry_after=7)`` makes the next two calls of that route
answer 429 with ``Retry-After: 7``; any status works (503, 401, 403, 404, 500...), and
``fail(route, "hang")`` makes the call hang until the client's read timeout (the transport raises
the same ``ReadTimeout`` requests would). ``route_names()`` lists the names.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as _dt
import email.utils
import hashlib
import json
import re
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

ARM_HOST = "management.azure.com"
API_HOST_SUFFIX = ".api.azureml.ms"
BLOB_HOST_SUFFIX = ".blob.core.windows.net"

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
RESOURCE_GROUP = "rg-azml-test"
WORKSPACE_NAME = "ws-azml-test"
LOCATION = "eastus"
STORAGE_ACCOUNT = "fakestorage"

TERMINAL_STATUSES = ("Completed", "Failed", "Canceled", "NotResponding", "Paused")
DEFAULT_PLAN = ("Starting", "Queued", "Running", "Completed")
RM_PROVIDER = "Microsoft.MachineLearningServices"

# A 64-byte key, base64: what listSecrets returns for AccountKey datastores. Not a secret.
FAKE_ACCOUNT_KEY = base64.b64encode(b"azml-jupyter-fake-account-key-".ljust(64, b"k")).decode()


# --------------------------------------------------------------------------------------------
# Wire objects
# --------------------------------------------------------------------------------------------


class Headers(dict):
    """A case-insensitive header dict (keys kept as first written, looked up in lower case)."""

    def __init__(self, items: None | dict | Iterable[tuple[str, str]] = None) -> None:
        super().__init__()
        self._keys: dict[str, str] = {}
        for k, v in items.items() if isinstance(items, dict) else (items or []):
            self[k] = v

    def __setitem__(self, key: str, value: str) -> None:
        old = self._keys.get(key.lower())
        if old is not None and old != key:
            super().__delitem__(old)
        self._keys[key.lower()] = key
        super().__setitem__(key, value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(self._keys[key.lower()])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._keys

    def __delitem__(self, key: str) -> None:
        super().__delitem__(self._keys.pop(key.lower()))

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[key] if key in self else default

    def setdefault(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)


@dataclasses.dataclass
class FakeRequest:
    method: str
    url: str
    headers: Headers
    body: bytes = b""
    # set by the router
    route: Route | None = None
    match: re.Match | None = None

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        self.scheme = parts.scheme
        self.host = (parts.hostname or "").lower()
        self.raw_path = parts.path
        self.path = urllib.parse.unquote(parts.path)
        self.query_items = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        self._query_lower = {k.lower(): v for k, v in self.query_items}

    def q(self, name: str, default: str | None = None) -> str | None:
        """Query parameter, case-insensitive (``$orderBy`` vs ``$orderby``)."""
        return self._query_lower.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def group(self, name: str) -> str:
        assert self.match is not None
        return urllib.parse.unquote(self.match.group(name))


@dataclasses.dataclass
class FakeResponse:
    status: int
    headers: Headers = dataclasses.field(default_factory=Headers)
    body: bytes = b""
    # A "hang" fault: the transport waits for the client's read timeout, then raises ReadTimeout.
    hang: bool = False

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(status: int, obj: Any, headers: dict | None = None) -> FakeResponse:
    h = Headers({"Content-Type": "application/json; charset=utf-8"})
    for k, v in (headers or {}).items():
        h[k] = v
    return FakeResponse(status, h, b"" if obj is None else json.dumps(obj).encode("utf-8"))


def arm_error(status: int, code: str, message: str, headers: dict | None = None) -> FakeResponse:
    """The ARM/Azure ML error envelope (``{"error": {"code", "message"}}``)."""
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


def blob_error(status: int, code: str, message: str = "", method: str = "GET") -> FakeResponse:
    """Storage errors: ``x-ms-error-code`` header plus an XML body (none for HEAD)."""
    h = Headers({"x-ms-error-code": code, "Content-Type": "application/xml"})
    body = b""
    if method != "HEAD":
        text = _xml_escape(message or code)
        xml = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{text}</Message></Error>'
        body = xml.encode()
    return FakeResponse(status, h, body)


def _http_date(ts: _dt.datetime) -> str:
    return email.utils.format_datetime(ts.astimezone(_dt.timezone.utc), usegmt=True)


def _iso(ts: _dt.datetime) -> str:
    return ts.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


# --------------------------------------------------------------------------------------------
# Routing and faults
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Route:
    name: str
    method: str
    host_kind: str  # "arm" | "api" | "blob"
    pattern: re.Pattern
    handler: Callable[[FakeRequest], FakeResponse]


@dataclasses.dataclass
class Fault:
    route: str
    kind: str  # "status" | "hang"
    status: int = 0
    times: int = 1
    retry_after: int | float | None = None
    code: str | None = None
    message: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    hits: int = 0


@dataclasses.dataclass
class RecordedRequest:
    method: str
    url: str
    host_kind: str
    route: str | None
    status: int
    headers: Headers
    body: bytes
    fault: str | None = None
    via: str = "direct"

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


_FAULT_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

_WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
_LOC = r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)"
_ASSET_KINDS = "data|codes|components|environments|models"
_RUN_HISTORY_TYPES = {"uri_folder": "UriFolder", "uri_file": "UriFile", "mltable": "MLTable"}


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Blob:
    data: bytes
    created: _dt.datetime
    modified: _dt.datetime
    etag: str
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    content_md5: str | None = None  # base64; None for block-list uploads without one (like Azure)
    blocks: list[tuple[str, int]] = dataclasses.field(default_factory=list)  # committed (id, size)


@dataclasses.dataclass
class JobState:
    """One job (or pipeline child run) and where it is in its status plan."""

    name: str
    body: dict  # the ARM resource as the service returns it (status kept in sync)
    plan: list[str]
    index: int = 0
    hold_at: str | None = None
    parent: str | None = None
    node_name: str | None = None  # for children: the pipeline node
    children: list[str] = dataclasses.field(default_factory=list)
    node: dict = dataclasses.field(default_factory=dict)  # for children: the node's request body
    log_script: dict[str, str] = dataclasses.field(default_factory=dict)
    error: dict | None = None
    gets: int = 0
    created: _dt.datetime | None = None
    started: _dt.datetime | None = None
    ended: _dt.datetime | None = None

    @property
    def status(self) -> str:
        return self.plan[self.index]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class FakeAzureML:
    """The fake service. One instance per test (``fake_azureml`` fixture).

    :param subscription_id/resource_group/workspace_name/location: the one workspace it serves.
    :param datastore_secret: ``"sas"`` (what the real service returns to ``listSecrets`` with
        ``expirableSecret: true``) or ``"account_key"``.
    :param check_auth: require a decodable bearer JWT on ARM/API calls (401 otherwise) and some
        credential on storage calls (403 otherwise).
    """

    def __init__(
        self,
        *,
        subscription_id: str = SUBSCRIPTION_ID,
        resource_group: str = RESOURCE_GROUP,
        workspace_name: str = WORKSPACE_NAME,
        location: str = LOCATION,
        storage_account: str = STORAGE_ACCOUNT,
        datastore_secret: str = "sas",
        check_auth: bool = True,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.location = location
        self.storage_account = storage_account
        self.datastore_secret = datastore_secret
        self.check_auth = check_auth
        # The fixture fails a test whose SDK calls hit no route; set False where that is expected.
        self.strict = True
        self.workspace_guid = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription_id}/{resource_group}/{workspace_name}")
        )
        self.api_host = f"{location}{API_HOST_SUFFIX}"

        self._lock = threading.RLock()
        self._clock = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
        self._counter = 0

        self.computes: dict[str, dict] = {}
        self.vm_sizes: list[dict] = []
        self.usages: list[dict] = []
        self.datastores: dict[str, dict] = {}
        # (kind, name) -> {version: resource}; kind in data/codes/components/environments/models
        self.assets: dict[tuple[str, str], dict[str, dict]] = {}
        self.asset_containers: dict[tuple[str, str], dict] = {}
        self.jobs: dict[str, JobState] = {}
        self.operations: dict[str, dict] = {}  # LRO id -> {"status": ..., "kind": ...}
        # account -> container -> blob name -> Blob
        self.blobs: dict[str, dict[str, dict[str, Blob]]] = {storage_account: {}}
        self._staged_blocks: dict[tuple[str, str, str], dict[str, bytes]] = {}

        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        # Set to wake every request that is "hanging" (a fixture sets it at teardown).
        self.hang_release = threading.Event()
        # Back-off delays the storage clients asked for while ``storage_hook`` skipped them.
        self.storage_sleeps: list[float] = []

        self.default_plan: list[str] = list(DEFAULT_PLAN)
        self.default_hold_at: str | None = None
        self._job_config: dict[str, dict] = {}
        self._next_compute_failure: str | None = None

        self.routes: list[Route] = []
        self._build_routes()
        self._seed()

    # ---------------------------------------------------------------- ids and time

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{RM_PROVIDER}/workspaces/{self.workspace_name}"
        )

    @property
    def workspace_url(self) -> str:
        return f"https://{ARM_HOST}{self.workspace_id}"

    def location_url(self, location: str | None = None) -> str:
        return (
            f"https://{ARM_HOST}/subscriptions/{self.subscription_id}/providers/{RM_PROVIDER}"
            f"/locations/{location or self.location}"
        )

    def blob_account_url(self, account: str | None = None) -> str:
        return f"https://{account or self.storage_account}{BLOB_HOST_SUFFIX}"

    @property
    def blobstore_container(self) -> str:
        return f"azureml-blobstore-{self.workspace_guid}"

    def _tick(self) -> _dt.datetime:
        """A fake clock: every created thing is one second younger than the previous one, so
        ``createdtime`` ordering is deterministic."""
        self._clock += _dt.timedelta(seconds=1)
        return self._clock

    def _next_id(self) -> str:
        self._counter += 1
        return uuid.UUID(int=(0xFA4E << 112) | self._counter).hex

    def _system_data(self, ts: _dt.datetime) -> dict:
        return {
            "createdAt": _iso(ts),
            "createdBy": "scientist@contoso.example",
            "createdByType": "User",
            "lastModifiedAt": _iso(ts),
            "lastModifiedBy": "scientist@contoso.example",
            "lastModifiedByType": "User",
        }

    def _sas(self, resource: str = "c", permissions: str = "racwdl") -> str:
        """A SAS query string (no leading '?'). The fake checks presence, never the signature."""
        sig = base64.b64encode(hashlib.sha256(f"{resource}{permissions}{self._counter}".encode()).digest()).decode()
        return urllib.parse.urlencode(
            {"sv": "2021-08-06", "sr": resource, "sp": permissions, "se": "2099-01-01T00:00:00Z", "sig": sig}
        )

    # ---------------------------------------------------------------- seeding

    def _seed(self) -> None:
        acct = self.storage_account
        for name, container, is_default in (
            ("workspaceblobstore", self.blobstore_container, True),
            ("workspaceartifactstore", "azureml", False),
            ("workspaceworkingdirectory", f"code-{self.workspace_guid}", False),
        ):
            self.add_datastore(name, account=acct, container=container, is_default=is_default)
        # Azure ML also creates the run-history snapshot container; logs live in "azureml".
        self.blobs[acct].setdefault("azureml", {})
        self.add_vm_size("Standard_DS3_v2", family="standardDSv2Family", vcpus=4, gpus=0, memory_gb=14.0)
        self.add_vm_size("Standard_NC6s_v3", family="standardNCSv3Family", vcpus=6, gpus=1, memory_gb=112.0)
        self.add_usage("standardDSv2Family", "Standard DSv2 Family vCPUs", current=0, limit=100)
        self.add_usage("standardNCSv3Family", "Standard NCSv3 Family vCPUs", current=0, limit=24)
        self.add_usage("totalCores", "Total Cluster Dedicated Regional vCPUs", current=0, limit=300)

    def add_compute(
        self,
        name: str,
        *,
        vm_size: str = "STANDARD_DS3_V2",
        min_nodes: int = 0,
        max_nodes: int = 4,
        current_nodes: int = 0,
        state: str = "Succeeded",
        tier: str = "Dedicated",
        idle_seconds: int = 120,
        compute_type: str = "AmlCompute",
    ) -> dict:
        """Seed a cluster (an AmlCompute by default) as the service would list it."""
        with self._lock:
            ts = self._tick()
            body = {
                "id": f"{self.workspace_id}/computes/{name}",
                "name": name,
                "location": self.location,
                "type": f"{RM_PROVIDER}/workspaces/computes",
                "tags": {},
                "systemData": self._system_data(ts),
                "properties": {
                    "computeType": compute_type,
                    "computeLocation": self.location,
                    "provisioningState": state,
                    "provisioningErrors": None,
                    "isAttachedCompute": False,
                    "disableLocalAuth": True,
                    "createdOn": _iso(ts),
                    "modifiedOn": _iso(ts),
                    "description": None,
                    "properties": {
                        "vmSize": vm_size,
                        "vmPriority": tier,
                        "osType": "Linux",
                        "scaleSettings": {
                            "minNodeCount": min_nodes,
                            "maxNodeCount": max_nodes,
                            "nodeIdleTimeBeforeScaleDown": f"PT{idle_seconds}S",
                        },
                        "currentNodeCount": current_nodes,
                        "targetNodeCount": current_nodes,
                        "nodeStateCounts": {
                            "preparingNodeCount": 0,
                            "runningNodeCount": current_nodes,
                            "idleNodeCount": 0,
                            "unusableNodeCount": 0,
                            "leavingNodeCount": 0,
                            "preemptedNodeCount": 0,
                        },
                        "allocationState": "Steady",
                        "allocationStateTransitionTime": _iso(ts),
                        "errors": None,
                        "remoteLoginPortPublicAccess": "Disabled",
                        "isolatedNetwork": False,
                        "enableNodePublicIp": True,
                    },
                },
            }
            self.computes[name] = body
            return body

    def add_vm_size(
        self,
        name: str,
        *,
        family: str,
        vcpus: int,
        gpus: int = 0,
        memory_gb: float,
        low_priority_capable: bool = True,
        price_per_hour: float | None = None,
    ) -> dict:
        body = {
            "name": name,
            "family": family,
            "vCPUs": vcpus,
            "gpus": gpus,
            "osVhdSizeMB": 1047552,
            "maxResourceVolumeMB": 28672,
            "memoryGB": memory_gb,
            "lowPriorityCapable": low_priority_capable,
            "premiumIO": True,
            "supportedComputeTypes": ["AmlCompute", "ComputeInstance"],
        }
        if price_per_hour is not None:
            body["estimatedVMPrices"] = {
                "billingCurrency": "USD",
                "unitOfMeasure": "OneHour",
                "values": [{"retailPrice": price_per_hour, "osType": "Linux", "vmTier": "Standard"}],
            }
        with self._lock:
            self.vm_sizes = [s for s in self.vm_sizes if s["name"] != name] + [body]
        return body

    def add_usage(self, family: str, localized: str, *, current: int, limit: int) -> dict:
        body = {
            "id": f"/subscriptions/{self.subscription_id}/providers/{RM_PROVIDER}/locations/{self.location}"
            f"/usages/{family}",
            "amlWorkspaceLocation": self.location,
            "type": f"{RM_PROVIDER}/totalCores" if family == "totalCores" else f"{RM_PROVIDER}/vmFamily",
            "unit": "Count",
            "currentValue": current,
            "limit": limit,
            "name": {"value": family, "localizedValue": localized},
        }
        with self._lock:
            self.usages = [u for u in self.usages if u["name"]["value"] != family] + [body]
        return body

    def add_datastore(self, name: str, *, account: str, container: str, is_default: bool = False) -> dict:
        with self._lock:
            ts = self._tick()
            body = {
                "id": f"{self.workspace_id}/datastores/{name}",
                "name": name,
                "type": f"{RM_PROVIDER}/workspaces/datastores",
                "systemData": self._system_data(ts),
                "properties": {
                    "datastoreType": "AzureBlob",
                    "accountName": account,
                    "containerName": container,
                    "endpoint": "core.windows.net",
                    "protocol": "https",
                    "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
                    "isDefault": is_default,
                    "credentials": {"credentialsType": "AccountKey"},
                    "description": None,
                    "properties": {},
                    "tags": {},
                },
            }
            if is_default:
                for other in self.datastores.values():
                    other["properties"]["isDefault"] = False
            self.datastores[name] = body
            self.blobs.setdefault(account, {}).setdefault(container, {})
            return body

    def add_environment(
        self, name: str, version: str = "1", *, image: str = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
    ) -> dict:
        """Seed a workspace environment version (jobs may say ``environment: azureml:name:version``)."""
        body = {"properties": {"image": image, "osType": "Linux", "isAnonymous": False, "autoRebuild": "Disabled"}}
        with self._lock:
            return self._store_asset("environments", name, version, body)

    def add_data(self, name: str, version: str, *, path: str, data_type: str = "uri_folder") -> dict:
        body = {"properties": {"dataType": data_type, "dataUri": path, "isAnonymous": False}}
        with self._lock:
            return self._store_asset("data", name, version, body)

    # ---------------------------------------------------------------- job steering

    def configure_job(
        self,
        name: str,
        *,
        plan: list[str] | None = None,
        hold_at: str | None = None,
        logs: dict[str, str] | None = None,
        error: dict | None = None,
    ) -> None:
        """Set how the job called ``name`` will behave once it is submitted.

        :param plan: statuses it goes through, one per ``jobs.get`` (first = status at submit).
        :param hold_at: stop at this status until ``release_job``.
        :param logs: text appended to ``user_logs/std_log.txt`` when the job enters a status.
        :param error: run-history error for a job that ends ``Failed``.
        """
        with self._lock:
            cfg = {"plan": plan, "hold_at": hold_at, "logs": logs, "error": error}
            if name in self.jobs:
                self._apply_job_config(self.jobs[name], cfg)
            else:
                self._job_config[name] = cfg

    def _apply_job_config(self, job: JobState, cfg: dict) -> None:
        if cfg.get("plan"):
            job.plan = list(cfg["plan"])
            job.index = min(job.index, len(job.plan) - 1)
        if cfg.get("hold_at"):
            job.hold_at = cfg["hold_at"]
        if cfg.get("logs"):
            job.log_script.update(cfg["logs"])
        if cfg.get("error"):
            job.error = cfg["error"]

    def hold_job(self, name: str, at: str = "Running") -> None:
        self.configure_job(name, hold_at=at)

    def release_job(self, name: str) -> None:
        with self._lock:
            self.jobs[name].hold_at = None

    def set_job_status(self, name: str, status: str) -> None:
        """Jump a job to ``status`` now (inserted into its plan if it is not there)."""
        with self._lock:
            job = self.jobs[name]
            if status in job.plan[job.index :]:
                job.index = job.plan.index(status, job.index)
            else:
                job.plan = job.plan[: job.index + 1] + [status]
                job.index += 1
            self._entered_status(job)

    def advance_job(self, name: str) -> str:
        """Move a job one step, exactly as a ``jobs.get`` would; return the new status."""
        with self._lock:
            self._advance(self.jobs[name])
            return self.jobs[name].status

    def last_job(self) -> str:
        """Name of the most recently submitted top-level job."""
        with self._lock:
            tops = [j for j in self.jobs.values() if j.parent is None]
            if not tops:
                raise LookupError("no job was submitted to the fake")
            return max(tops, key=lambda j: j.created).name

    def children_of(self, name: str) -> list[JobState]:
        with self._lock:
            return [self.jobs[c] for c in self.jobs[name].children]

    def log_blob_name(self, job_name: str, path: str = "user_logs/std_log.txt") -> str:
        return f"ExperimentRun/dcid.{job_name}/{path}"

    def append_log(self, job_name: str, text: str, path: str = "user_logs/std_log.txt") -> None:
        """Append ``text`` to one of the job's log files (created if missing)."""
        with self._lock:
            name = self.log_blob_name(job_name, path)
            blob = self.blobs[self.storage_account]["azureml"].get(name)
            data = (blob.data if blob else b"") + text.encode("utf-8")
            self.put_blob("azureml", name, data, content_type="text/plain")

    def put_job_output(self, job_name: str, output_name: str, files: dict[str, bytes | str]) -> str:
        """Write files of a named output where Azure ML puts them by default
        (``azureml/{job}/{output}/`` on the workspace blob store); return its azureml:// URI."""
        prefix = f"azureml/{job_name}/{output_name}/"
        for rel, data in files.items():
            self.put_blob(self.blobstore_container, prefix + rel, data)
        return f"azureml://datastores/workspaceblobstore/paths/{prefix}"

    def put_job_artifact(self, job_name: str, rel_path: str, data: bytes | str) -> None:
        """A file in the job's default artifact folder (``outputs/``, ``logs/``...)."""
        self.put_blob("azureml", f"ExperimentRun/dcid.{job_name}/{rel_path}", data)

    # ---------------------------------------------------------------- blobs (direct access)

    def put_blob(
        self,
        container: str,
        name: str,
        data: bytes | str,
        *,
        account: str | None = None,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> Blob:
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self._lock:
            cont = self.blobs.setdefault(account or self.storage_account, {}).setdefault(container, {})
            ts = self._tick()
            old = cont.get(name)
            blob = Blob(
                data=data,
                created=old.created if old else ts,
                modified=ts,
                etag=f'"0x{self._next_id()[-16:].upper()}"',
                content_type=content_type,
                metadata=dict(metadata or {}),
                content_md5=base64.b64encode(hashlib.md5(data).digest()).decode(),
            )
            cont[name] = blob
            return blob

    def get_blob(self, container: str, name: str, *, account: str | None = None) -> Blob:
        with self._lock:
            return self.blobs[account or self.storage_account][container][name]

    def blob_names(self, container: str, prefix: str = "", *, account: str | None = None) -> list[str]:
        with self._lock:
            cont = self.blobs.get(account or self.storage_account, {}).get(container, {})
            return sorted(n for n in cont if n.startswith(prefix))

    def blob_at(self, url: str) -> Blob:
        """The blob a ``https://{account}.blob.core.windows.net/{container}/{name}`` URL points to."""
        parts = urllib.parse.urlsplit(url)
        account = parts.hostname.split(".")[0]
        container, _, name = urllib.parse.unquote(parts.path).lstrip("/").partition("/")
        return self.get_blob(container, name, account=account)

    def blob_text(self, url: str) -> str:
        return self.blob_at(url).data.decode("utf-8")

    # ---------------------------------------------------------------- faults

    def route_names(self) -> list[str]:
        return sorted({r.name for r in self.routes})

    def fail(
        self,
        route: str,
        status: int | str,
        *,
        times: int = 1,
        retry_after: int | float | None = None,
        code: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Make the next ``times`` calls of ``route`` fail.

        :param status: an HTTP status (429, 503, 401, 403, 404, ...) or ``"hang"``.
        :param retry_after: seconds for a ``Retry-After`` header (429 gets ``0`` if not given).
        """
        if route not in self.route_names():
            raise KeyError(f"unknown route {route!r}; known: {', '.join(self.route_names())}")
        if status == "hang":
            fault = Fault(route, "hang", times=times)
        else:
            status = int(status)
            if status == 429 and retry_after is None:
                retry_after = 0
            fault = Fault(
                route,
                "status",
                status=status,
                times=times,
                retry_after=retry_after,
                code=code,
                message=message,
                headers=dict(headers or {}),
            )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, route: str) -> Fault | None:
        for fault in self.faults:
            if fault.route == route and fault.hits < fault.times:
                fault.hits += 1
                return fault
        return None

    def _fault_response(self, req: FakeRequest, fault: Fault) -> FakeResponse:
        if fault.kind == "hang":
            return FakeResponse(0, hang=True)
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        code = fault.code or _FAULT_CODES.get(fault.status, "Error")
        message = fault.message or f"fake fault on {fault.route}: {fault.status}"
        if req.route and req.route.host_kind == "blob":
            resp = blob_error(fault.status, code, message, req.method)
            for k, v in headers.items():
                resp.headers[k] = v
            return resp
        return arm_error(fault.status, code, message, headers)

    # ---------------------------------------------------------------- dispatch

    def host_kind(self, host: str) -> str | None:
        host = host.lower()
        if host == ARM_HOST:
            return "arm"
        if host.endswith(API_HOST_SUFFIX):
            return "api"
        if host.endswith(BLOB_HOST_SUFFIX) and host[: -len(BLOB_HOST_SUFFIX)] in self.blobs:
            return "blob"
        return None

    def handles_host(self, host: str) -> bool:
        return self.host_kind(host) is not None

    def handle(
        self, method: str, url: str, headers: dict | Headers, body: bytes = b"", *, via: str = "direct"
    ) -> FakeResponse:
        """Answer one HTTP request (the transports call this; ``via`` says which hook it came through)."""
        req = FakeRequest(
            method.upper(), url, headers if isinstance(headers, Headers) else Headers(headers), body or b""
        )
        kind = self.host_kind(req.host)
        with self._lock:
            route = self._match(req, kind)
            fault_name = None
            if route is None:
                resp = arm_error(404, "NoRouteInFake", f"the fake Azure ML service has no route for {method} {url}")
                if kind == "blob":
                    resp = blob_error(400, "UnsupportedInFake", f"no route for {method} {url}", req.method)
            else:
                fault = self._take_fault(route.name)
                if fault is not None:
                    fault_name = f"{fault.kind}:{fault.status or 'hang'}"
                    resp = self._fault_response(req, fault)
                else:
                    resp = self._check_auth(req, kind) or route.handler(req)
            resp.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
            resp.headers.setdefault("Date", _http_date(_dt.datetime.now(_dt.timezone.utc)))
            if kind == "blob":
                resp.headers.setdefault("x-ms-version", req.headers.get("x-ms-version", "2021-08-06"))
            rec = RecordedRequest(
                req.method,
                url,
                kind or "unknown",
                route.name if route else None,
                resp.status,
                req.headers,
                req.body,
                fault_name,
                via,
            )
            self.requests.append(rec)
            if route is None:
                self.unmatched.append(rec)
            return resp

    def _match(self, req: FakeRequest, kind: str | None) -> Route | None:
        for route in self.routes:
            if route.host_kind != kind or route.method != req.method:
                continue
            m = route.pattern.fullmatch(req.raw_path)
            if m is not None:
                req.route, req.match = route, m
                return route
        return None

    def _check_auth(self, req: FakeRequest, kind: str | None) -> FakeResponse | None:
        if not self.check_auth:
            return None
        if kind == "blob":
            auth = req.headers.get("Authorization", "")
            if req.q("sig") or auth.startswith(("SharedKey ", "Bearer ")):
                return None
            return blob_error(403, "NoAuthenticationInformation", "no credentials in the request", req.method)
        if kind in ("arm", "api"):
            if req.route is not None and req.route.name == "discovery":
                return None  # anonymous, like the real endpoint
            auth = req.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return arm_error(401, "AuthenticationFailed", "missing bearer token")
            try:
                from .credential import decode_token

                claims = decode_token(auth[len("Bearer ") :])
            except Exception as exc:  # noqa: BLE001 - any decode failure is a 401
                return arm_error(401, "InvalidAuthenticationToken", f"the access token is invalid: {exc}")
            if kind == "arm" and not str(claims.get("aud", "")).startswith("https://management."):
                return arm_error(401, "InvalidAuthenticationTokenAudience", f"wrong audience {claims.get('aud')!r}")
        return None

    def count(self, route: str, *, status: int | None = None) -> int:
        """How many requests a route received (optionally only those answered with ``status``)."""
        with self._lock:
            return sum(1 for r in self.requests if r.route == route and (status is None or r.status == status))

    def requests_for(self, route: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    # ---------------------------------------------------------------- route table

    def _build_routes(self) -> None:
        arm, api, blob = "arm", "api", "blob"
        table = [
            # --- workspace and discovery
            ("workspace.get", "GET", arm, _WS, self._workspace_get),
            ("discovery", "GET", api, r"/discovery", self._discovery),
            # --- computes
            ("compute.list", "GET", arm, _WS + r"/computes", self._compute_list),
            ("compute.get", "GET", arm, _WS + r"/computes/(?P<name>[^/]+)", self._compute_get),
            ("compute.put", "PUT", arm, _WS + r"/computes/(?P<name>[^/]+)", self._compute_put),
            ("compute.delete", "DELETE", arm, _WS + r"/computes/(?P<name>[^/]+)", self._compute_delete),
            ("compute.operation", "GET", arm, _LOC + r"/computeOperationsStatus/(?P<op>[^/]+)", self._operation_status),
            ("compute.sizes", "GET", arm, _LOC + r"/vmSizes", self._vm_sizes),
            ("compute.usages", "GET", arm, _LOC + r"/usages", self._usages),
            # --- datastores
            ("datastore.list", "GET", arm, _WS + r"/datastores", self._datastore_list),
            ("datastore.get", "GET", arm, _WS + r"/datastores/(?P<name>[^/]+)", self._datastore_get),
            (
                "datastore.secrets",
                "POST",
                arm,
                _WS + r"/datastores/(?P<name>[^/]+)/listSecrets",
                self._datastore_secrets,
            ),
            # --- versioned assets: data, codes, components, environments, models
            ("asset.containers", "GET", arm, _WS + rf"/(?P<kind>{_ASSET_KINDS})", self._asset_container_list),
            (
                "asset.container",
                "GET",
                arm,
                _WS + rf"/(?P<kind>{_ASSET_KINDS})/(?P<name>[^/]+)",
                self._asset_container_get,
            ),
            (
                "asset.versions",
                "GET",
                arm,
                _WS + rf"/(?P<kind>{_ASSET_KINDS})/(?P<name>[^/]+)/versions",
                self._asset_version_list,
            ),
            (
                "asset.get",
                "GET",
                arm,
                _WS + rf"/(?P<kind>{_ASSET_KINDS})/(?P<name>[^/]+)/versions/(?P<version>[^/]+)",
                self._asset_get,
            ),
            (
                "asset.put",
                "PUT",
                arm,
                _WS + rf"/(?P<kind>{_ASSET_KINDS})/(?P<name>[^/]+)/versions/(?P<version>[^/]+)",
                self._asset_put,
            ),
            (
                "asset.pending_upload",
                "POST",
                arm,
                _WS + rf"/(?P<kind>{_ASSET_KINDS})/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/startPendingUpload",
                self._asset_pending_upload,
            ),
            # --- jobs
            ("jobs.list", "GET", arm, _WS + r"/jobs", self._job_list),
            ("jobs.get", "GET", arm, _WS + r"/jobs/(?P<name>[^/]+)", self._job_get),
            ("jobs.put", "PUT", arm, _WS + r"/jobs/(?P<name>[^/]+)", self._job_put),
            ("jobs.cancel", "POST", arm, _WS + r"/jobs/(?P<name>[^/]+)/cancel", self._job_cancel),
            (
                "jobs.operation",
                "GET",
                arm,
                _LOC + r"/mfeOperation(?:Results|sStatus)/(?P<op>[^/]+)",
                self._mfe_operation,
            ),
            # --- run history (API host)
            (
                "runs.get",
                "GET",
                api,
                r"/history/v1\.0" + _WS + r"(?:/experiments/[^/]+|/experimentids/[^/]+)?/runs/(?P<run>[^/]+)",
                self._run_get,
            ),
            (
                "runs.details",
                "GET",
                api,
                r"/history/v1\.0" + _WS + r"(?:/experiments/[^/]+|/experimentids/[^/]+)?/runs/(?P<run>[^/]+)/details",
                self._run_details,
            ),
            (
                "runs.children",
                "GET",
                api,
                r"/history/v1\.0" + _WS + r"(?:/experiments/[^/]+|/experimentids/[^/]+)?/runs/(?P<run>[^/]+)/children",
                self._run_children,
            ),
            ("runs.rundata", "POST", api, r"/history/v1\.0" + _WS + r"/rundata", self._run_data),
            (
                "data.resolve_uris",
                "POST",
                api,
                r"/data/v1\.0" + _WS + r"/dataversion/batchGetResolvedUris",
                self._resolve_uris,
            ),
            # --- blob storage
            ("blob.container_create", "PUT", blob, r"/(?P<container>[^/]+)/?", self._container_put),
            ("blob.container_get", "GET", blob, r"/(?P<container>[^/]+)/?", self._container_get),
            ("blob.container_get", "HEAD", blob, r"/(?P<container>[^/]+)/?", self._container_get),
            ("blob.head", "HEAD", blob, r"/(?P<container>[^/]+)/(?P<blob>.+)", self._blob_head),
            ("blob.get", "GET", blob, r"/(?P<container>[^/]+)/(?P<blob>.+)", self._blob_get),
            ("blob.put", "PUT", blob, r"/(?P<container>[^/]+)/(?P<blob>.+)", self._blob_put),
            ("blob.delete", "DELETE", blob, r"/(?P<container>[^/]+)/(?P<blob>.+)", self._blob_delete),
        ]
        self.routes = [Route(n, m, k, re.compile(p), h) for n, m, k, p, h in table]

    # ---------------------------------------------------------------- workspace

    def _check_workspace(self, req: FakeRequest) -> FakeResponse | None:
        if (req.group("sub"), req.group("rg").lower(), req.group("ws").lower()) != (
            self.subscription_id,
            self.resource_group.lower(),
            self.workspace_name.lower(),
        ):
            return arm_error(
                404,
                "ResourceNotFound",
                f"The Resource '{RM_PROVIDER}/workspaces/{req.group('ws')}' under resource group "
                f"'{req.group('rg')}' was not found.",
            )
        return None

    def workspace_body(self) -> dict:
        ts = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
        rg = f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers"
        return {
            "id": self.workspace_id,
            "name": self.workspace_name,
            "type": f"{RM_PROVIDER}/workspaces",
            "location": self.location,
            "kind": "Default",
            "tags": {},
            "identity": {"type": "SystemAssigned", "principalId": str(uuid.uuid4()), "tenantId": str(uuid.uuid4())},
            "sku": {"name": "Basic", "tier": "Basic"},
            "systemData": self._system_data(ts),
            "properties": {
                "friendlyName": self.workspace_name,
                "description": "",
                "workspaceId": self.workspace_guid,
                "storageAccount": f"{rg}/Microsoft.Storage/storageAccounts/{self.storage_account}",
                "keyVault": f"{rg}/Microsoft.Keyvault/vaults/kv-azml-test",
                "applicationInsights": f"{rg}/Microsoft.insights/components/appi-azml-test",
                "containerRegistry": None,
                "hbiWorkspace": False,
                "tenantId": "72f988bf-0000-4000-8000-00000000f4ce",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
                "v1LegacyMode": False,
                "storageHnsEnabled": False,
                "discoveryUrl": f"https://{self.api_host}/discovery",
                "mlFlowTrackingUri": f"azureml://{self.api_host}/mlflow/v1.0{self.workspace_id}",
                "systemDatastoresAuthMode": "accesskey",
                "creationTime": _iso(ts),
            },
        }

    def _workspace_get(self, req: FakeRequest) -> FakeResponse:
        return self._check_workspace(req) or json_response(200, self.workspace_body())

    def _discovery(self, req: FakeRequest) -> FakeResponse:
        base = f"https://{self.api_host}"
        return json_response(
            200,
            {
                "api": base,
                "catalog": base,
                "experimentation": base,
                "gallery": base,
                "history": base,
                "hyperdrive": base,
                "labeling": base,
                "modelmanagement": base,
                "pipelines": base,
                "studio": "https://ml.azure.com",
            },
        )

    # ---------------------------------------------------------------- computes

    def _compute_list(self, req: FakeRequest) -> FakeResponse:
        return self._check_workspace(req) or json_response(200, {"value": list(self.computes.values())})

    def _compute_get(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        body = self.computes.get(req.group("name"))
        if body is None:
            return arm_error(404, "ResourceNotFound", f"Compute {req.group('name')} not found")
        return json_response(200, body)

    def _compute_put(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        name = req.group("name")
        payload = req.json() or {}
        props = payload.get("properties") or {}
        inner = props.get("properties") or {}
        scale = inner.get("scaleSettings") or {}
        idle = scale.get("nodeIdleTimeBeforeScaleDown") or "PT120S"
        existing = name in self.computes
        body = self.add_compute(
            name,
            vm_size=inner.get("vmSize") or "STANDARD_DS3_V2",
            min_nodes=int(scale.get("minNodeCount") or 0),
            max_nodes=int(scale.get("maxNodeCount") or 4),
            tier=inner.get("vmPriority") or "Dedicated",
            compute_type=props.get("computeType") or "AmlCompute",
            state="Updating" if existing else "Creating",
        )
        body["properties"]["properties"]["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] = idle
        if payload.get("tags"):
            body["tags"] = payload["tags"]
        if props.get("description"):
            body["properties"]["description"] = props["description"]
        op = self._next_id()
        failure, self._next_compute_failure = self._next_compute_failure, None
        self.operations[op] = {
            "kind": "compute",
            "target": name,
            "polls": 0,
            "final": "Failed" if failure else "Succeeded",
            "message": failure,
        }
        status_url = f"{self.location_url()}/computeOperationsStatus/{op}?api-version=2024-01-01-preview"
        return json_response(200 if existing else 201, body, {"Azure-AsyncOperation": status_url})

    def _compute_delete(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        name = req.group("name")
        if name not in self.computes:
            return FakeResponse(204)
        self.computes[name]["properties"]["provisioningState"] = "Deleting"
        op = self._next_id()
        self.operations[op] = {"kind": "compute-delete", "target": name, "polls": 0, "final": "Succeeded"}
        status_url = f"{self.location_url()}/computeOperationsStatus/{op}?api-version=2024-01-01-preview"
        return FakeResponse(202, Headers({"Azure-AsyncOperation": status_url, "Location": status_url}))

    def _operation_status(self, req: FakeRequest) -> FakeResponse:
        op = self.operations.get(req.group("op"))
        if op is None:
            return arm_error(404, "ResourceNotFound", f"operation {req.group('op')} not found")
        op["polls"] += 1
        if op["kind"] == "compute" and op["target"] in self.computes:
            self.computes[op["target"]]["properties"]["provisioningState"] = op["final"]
        if op["kind"] == "compute-delete":
            self.computes.pop(op["target"], None)
        body = {
            "name": req.group("op"),
            "status": op["final"],
            "startTime": _iso(self._clock),
            "endTime": _iso(self._clock),
        }
        if op["final"] == "Failed":
            body["error"] = {"code": "ComputeProvisioningFailed", "message": op.get("message", "failed in the fake")}
        return json_response(200, body)

    def _vm_sizes(self, req: FakeRequest) -> FakeResponse:
        return json_response(200, {"value": self.vm_sizes})

    def _usages(self, req: FakeRequest) -> FakeResponse:
        return json_response(200, {"value": self.usages})

    def fail_next_compute_provisioning(self, message: str = "Quota exceeded in the fake") -> None:
        """The next compute create/update LRO ends Failed (the cluster stays 'Failed')."""
        self._next_compute_failure = message

    # ---------------------------------------------------------------- datastores

    def _datastore_list(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        values = list(self.datastores.values())
        is_default = req.q("isDefault")
        if is_default is not None:
            want = is_default.lower() == "true"
            values = [d for d in values if bool(d["properties"].get("isDefault")) == want]
        return json_response(200, {"value": values})

    def _datastore_get(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        body = self.datastores.get(req.group("name"))
        if body is None:
            return arm_error(404, "UserError", f"Datastore {req.group('name')} was not found")
        return json_response(200, body)

    def _datastore_secrets(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        if req.group("name") not in self.datastores:
            return arm_error(404, "UserError", f"Datastore {req.group('name')} was not found")
        if self.datastore_secret == "account_key":
            return json_response(200, {"secretsType": "AccountKey", "key": FAKE_ACCOUNT_KEY})
        return json_response(200, {"secretsType": "Sas", "sasToken": "?" + self._sas("c")})

    # ---------------------------------------------------------------- assets

    def _store_asset(self, kind: str, name: str, version: str, payload: dict) -> dict:
        ts = self._tick()
        versions = self.assets.setdefault((kind, name), {})
        old = versions.get(version)
        body = copy.deepcopy(payload)
        body.update(
            {
                "id": f"{self.workspace_id}/{kind}/{name}/versions/{version}",
                "name": version,
                "type": f"{RM_PROVIDER}/workspaces/{kind}/versions",
                "systemData": old["systemData"] if old else self._system_data(ts),
            }
        )
        body.setdefault("properties", {})
        body["properties"].setdefault("isArchived", False)
        body["properties"].setdefault("provisioningState", "Succeeded")
        if kind == "data":
            body["properties"].setdefault("dataType", "uri_folder")
        versions[version] = body
        cont = self.asset_containers.setdefault(
            (kind, name),
            {
                "id": f"{self.workspace_id}/{kind}/{name}",
                "name": name,
                "type": f"{RM_PROVIDER}/workspaces/{kind}",
                "systemData": self._system_data(ts),
                "properties": {"isArchived": False, "provisioningState": "Succeeded"},
            },
        )
        cont["properties"]["latestVersion"] = version
        numeric = [int(v) for v in versions if v.isdigit()]
        cont["properties"]["nextVersion"] = str(max(numeric) + 1) if numeric else "1"
        if kind == "data":
            cont["properties"]["dataType"] = body["properties"].get("dataType")
        return body

    def _asset_container_list(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        kind = req.group("kind")
        return json_response(200, {"value": [c for (k, _), c in self.asset_containers.items() if k == kind]})

    def _asset_container_get(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        cont = self.asset_containers.get((req.group("kind"), req.group("name")))
        if cont is None:
            return arm_error(404, "UserError", f"Could not find asset with name {req.group('name')}")
        return json_response(200, cont)

    def _asset_version_list(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        kind, name = req.group("kind"), req.group("name")
        versions = list(self.assets.get((kind, name), {}).values())
        want_hash = req.q("hash")
        if want_hash:
            versions = [
                v for v in versions if (v["properties"].get("properties") or {}).get("hash_sha256") == want_hash
            ]
        order = (req.q("$orderBy") or "createdtime desc").lower()
        versions.sort(key=lambda v: v["systemData"]["createdAt"], reverse=order.endswith("desc"))
        top = req.q("$top")
        if top:
            versions = versions[: int(top)]
        return json_response(200, {"value": versions})

    def _asset_get(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        body = self.assets.get((req.group("kind"), req.group("name")), {}).get(req.group("version"))
        if body is None:
            return arm_error(
                404, "UserError", f"Could not find asset with ID: {req.group('name')}:{req.group('version')}"
            )
        return json_response(200, body)

    def _asset_put(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        kind, name, version = req.group("kind"), req.group("name"), req.group("version")
        payload = req.json() or {}
        existing = self.assets.get((kind, name), {}).get(version)
        if existing is not None and kind == "data" and not (existing["properties"].get("isAnonymous")):
            # Data versions are immutable on the real service except for description/tags.
            if (existing["properties"].get("dataUri"), existing["properties"].get("dataType")) != (
                (payload.get("properties") or {}).get("dataUri"),
                (payload.get("properties") or {}).get("dataType"),
            ):
                return arm_error(409, "UserError", f"Conflict: version {version} of data {name} already exists")
        body = self._store_asset(kind, name, version, payload)
        return json_response(200 if existing else 201, body)

    def _asset_pending_upload(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        container = self._next_id()  # Azure ML hands out a fresh temporary container per upload
        self.blobs[self.storage_account].setdefault(container, {})
        blob_uri = f"{self.blob_account_url()}/{container}"
        return json_response(
            200,
            {
                "pendingUploadId": self._next_id(),
                "pendingUploadType": "TemporaryBlobReference",
                "blobReferenceForConsumption": {
                    "blobUri": blob_uri,
                    "storageAccountArmId": f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                    f"/providers/Microsoft.Storage/storageAccounts/{self.storage_account}",
                    "credential": {"credentialType": "SAS", "sasUri": f"{blob_uri}?{self._sas('c')}"},
                },
            },
        )

    # ---------------------------------------------------------------- jobs

    def _new_job_state(self, name: str, body: dict, parent: str | None = None) -> JobState:
        cfg = self._job_config.pop(name, {})
        job = JobState(
            name=name,
            body=body,
            plan=list(self.default_plan),
            hold_at=self.default_hold_at,
            parent=parent,
            created=self._tick(),
        )
        self._apply_job_config(job, cfg)
        return job

    def _job_put(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        name = req.group("name")
        if name in self.jobs:
            job = self.jobs[name]
            if job.parent is not None:
                return arm_error(400, "UserError", "pipeline child jobs cannot be updated")
            # Updating an existing job: only tags/display name/description/properties may change.
            payload = req.json() or {}
            for key in ("tags", "displayName", "description"):
                if key in (payload.get("properties") or {}):
                    job.body["properties"][key] = payload["properties"][key]
            return json_response(200, self._job_view(job))
        payload = req.json() or {}
        props = copy.deepcopy(payload.get("properties") or {})
        if not props.get("jobType"):
            return arm_error(400, "UserError", "properties.jobType is required")
        props.setdefault("experimentName", "Default")
        props.setdefault("displayName", name)
        props.setdefault("properties", {})
        props.setdefault("tags", {})
        studio = f"https://ml.azure.com/runs/{name}?wsid={self.workspace_id}"
        props["services"] = {
            "Tracking": {
                "jobServiceType": "Tracking",
                "endpoint": f"azureml://{self.api_host}/mlflow/v1.0{self.workspace_id}",
            },
            "Studio": {"jobServiceType": "Studio", "endpoint": studio},
        }
        outputs = props.get("outputs") or {}
        if props["jobType"] != "Pipeline":
            outputs.setdefault(
                "default",
                {
                    "jobOutputType": "uri_folder",
                    "mode": "ReadWriteMount",
                    "uri": f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{name}",
                },
            )
        for out_name, out in outputs.items():
            if (
                isinstance(out, dict)
                and out_name != "default"
                and out.get("jobOutputType") in ("uri_folder", "uri_file", "mltable")
                and not out.get("uri")
            ):
                out["uri"] = f"azureml://datastores/workspaceblobstore/paths/azureml/{name}/{out_name}/"
        if outputs:
            props["outputs"] = outputs
        body = {
            "id": f"{self.workspace_id}/jobs/{name}",
            "name": name,
            "type": f"{RM_PROVIDER}/workspaces/jobs",
            "properties": props,
            "systemData": None,
        }
        job = self._new_job_state(name, body)
        body["systemData"] = self._system_data(job.created)
        self.jobs[name] = job
        if props["jobType"] == "Pipeline":
            for node_name, node in (props.get("jobs") or {}).items():
                child_name = f"{name}_{node_name}".replace("-", "_")[:60] + "_" + self._next_id()[-6:]
                child_body = {"id": f"{self.workspace_id}/jobs/{child_name}", "name": child_name, "type": body["type"]}
                child = JobState(
                    name=child_name,
                    body=child_body,
                    plan=list(job.plan),
                    parent=name,
                    node_name=node_name,
                    created=self._tick(),
                )
                child.node = node
                self.jobs[child_name] = child
                job.children.append(child_name)
        self._entered_status(job)
        return json_response(201, self._job_view(job))

    def _job_view(self, job: JobState) -> dict:
        body = copy.deepcopy(job.body)
        if "properties" in body and body["properties"] is not None:
            body["properties"]["status"] = job.status
        return body

    def _advance(self, job: JobState) -> None:
        if job.hold_at is not None and job.status == job.hold_at:
            return
        if job.index < len(job.plan) - 1:
            job.index += 1
            self._entered_status(job)

    def _entered_status(self, job: JobState) -> None:
        status = job.status
        if status == "Running" and job.started is None:
            job.started = self._tick()
        if status in TERMINAL_STATUSES and job.ended is None:
            job.ended = self._tick()
        text = job.log_script.get(status)
        if text:
            self.append_log(job.name, text)
        if status == "Failed" and job.error is None:
            job.error = {"code": "UserError", "message": f"Job {job.name} failed in the fake"}
        for child_name in job.children:
            child = self.jobs[child_name]
            if status in child.plan:
                child.index = child.plan.index(status)
            else:
                child.plan.append(status)
                child.index = len(child.plan) - 1
            self._entered_status(child)

    def _job_get(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        job = self.jobs.get(req.group("name"))
        if job is None:
            return arm_error(404, "UserError", f"Job {req.group('name')} was not found")
        job.gets += 1
        if job.parent is None:
            self._advance(job)
        return json_response(200, self._job_view(job))

    def _job_list(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        jobs = [j for j in self.jobs.values() if j.parent is None]
        jobs.sort(key=lambda j: j.created, reverse=True)
        view = (req.q("listViewType") or "ActiveOnly").lower()
        if view == "archivedonly":
            jobs = [j for j in jobs if j.body["properties"].get("isArchived")]
        elif view == "activeonly":
            jobs = [j for j in jobs if not j.body["properties"].get("isArchived")]
        job_type = req.q("jobType")
        if job_type:
            jobs = [j for j in jobs if j.body["properties"]["jobType"].lower() == job_type.lower()]
        # Paging: $skipToken is an index into the ordered list, page size from $top (default 20,
        # smaller than the real 100 so paging is exercised by small tests).
        start = int(req.q("$skipToken") or 0)
        size = int(req.q("$top") or 20)
        page = jobs[start : start + size]
        out: dict = {"value": [self._job_view(j) for j in page]}
        if start + size < len(jobs):
            params = [(k, v) for k, v in req.query_items if k.lower() != "$skiptoken"] + [
                ("$skipToken", str(start + size))
            ]
            out["nextLink"] = f"https://{ARM_HOST}{req.raw_path}?{urllib.parse.urlencode(params)}"
        return json_response(200, out)

    def _job_cancel(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        name = req.group("name")
        job = self.jobs.get(name)
        if job is None:
            return arm_error(404, "UserError", f"Job {name} was not found")
        self._cancel(job)
        location = f"{self.location_url()}/mfeOperationResults/jobs:{name}?api-version=2024-01-01-preview"
        return FakeResponse(202, Headers({"Location": location, "Retry-After": "0"}))

    def _cancel(self, job: JobState) -> None:
        if job.is_terminal or job.status in ("CancelRequested",):
            return
        job.plan = job.plan[: job.index + 1] + ["CancelRequested", "Canceled"]
        job.hold_at = None
        job.index += 1
        self._entered_status(job)

    def _mfe_operation(self, req: FakeRequest) -> FakeResponse:
        return FakeResponse(200)

    # ---------------------------------------------------------------- run history

    def _run_body(self, job: JobState) -> dict:
        props = (job.body.get("properties") or {}) if job.parent is None else {}
        parent = self.jobs[job.parent] if job.parent else None
        root = parent or job
        compute_id = props.get("computeId") or ""
        node = job.node
        if not compute_id and parent is not None:
            compute_id = (
                node.get("computeId") or (parent.body["properties"].get("settings") or {}).get("default_compute") or ""
            )
        target = compute_id.rsplit("/", 1)[-1] if compute_id else None
        return {
            "runId": job.name,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, job.name)),
            "parentRunId": job.parent,
            "rootRunId": root.name,
            "experimentId": str(uuid.uuid5(uuid.NAMESPACE_URL, "Default")),
            "status": job.status,
            "displayName": job.node_name if job.parent else props.get("displayName", job.name),
            "name": None,
            "description": props.get("description"),
            "runType": "azureml.StepRun" if job.parent else "azureml.scriptrun",
            "createdUtc": _iso(job.created),
            "startTimeUtc": _iso(job.started) if job.started else None,
            "endTimeUtc": _iso(job.ended) if job.ended else None,
            "createdBy": {"userObjectId": "0b1d5a3e-0000-4000-8000-0000000000aa", "userName": "Scientist"},
            "target": target,
            "compute": {"target": target, "targetType": "AmlCompute"} if target else None,
            "properties": {"azureml.nodeid": job.node_name} if job.node_name else dict(props.get("properties") or {}),
            "tags": dict(props.get("tags") or {}),
            "warnings": [],
            "error": {"error": job.error} if job.error and job.status == "Failed" else None,
            "services": {},
            "inputDatasets": [],
            "outputDatasets": [],
        }

    def _run_lookup(self, req: FakeRequest) -> tuple[JobState | None, FakeResponse | None]:
        err = self._check_workspace(req)
        if err:
            return None, err
        job = self.jobs.get(req.group("run"))
        if job is None:
            return None, arm_error(404, "UserError", f"Run {req.group('run')} was not found")
        return job, None

    def _run_get(self, req: FakeRequest) -> FakeResponse:
        job, err = self._run_lookup(req)
        return err or json_response(200, self._run_body(job))

    def log_files(self, job_name: str) -> dict[str, str]:
        """``logFiles`` of the run: every blob under its run folder's log directories, as SAS URLs."""
        prefix = f"ExperimentRun/dcid.{job_name}/"
        out = {}
        for blob_name in self.blob_names("azureml", prefix):
            rel = blob_name[len(prefix) :]
            if rel.startswith(("user_logs/", "system_logs/", "azureml-logs/", "logs/")):
                out[rel] = f"{self.blob_account_url()}/azureml/{urllib.parse.quote(blob_name)}?{self._sas('b', 'r')}"
        return out

    def _run_details(self, req: FakeRequest) -> FakeResponse:
        job, err = self._run_lookup(req)
        if err:
            return err
        run = self._run_body(job)
        details = {
            "runId": run["runId"],
            "runUuid": run["runUuid"],
            "parentRunUuid": None,
            "rootRunUuid": run["runUuid"],
            "target": run["target"],
            "status": run["status"],
            "parentRunId": run["parentRunId"],
            "createdTimeUtc": run["createdUtc"],
            "startTimeUtc": run["startTimeUtc"],
            "endTimeUtc": run["endTimeUtc"],
            "error": run["error"],
            "warnings": [],
            "tags": run["tags"],
            "properties": run["properties"],
            "inputDatasets": [],
            "outputDatasets": [],
            "runDefinition": None,
            "logFiles": self.log_files(job.name),
            "jobCost": None,
            "revision": job.gets,
            "runTypeV2": {"orchestrator": None, "traits": [], "attribution": None, "computeType": None},
            "settings": {},
            "services": {},
            "numberOfChildren": len(job.children),
        }
        return json_response(200, details)

    def _run_children(self, req: FakeRequest) -> FakeResponse:
        job, err = self._run_lookup(req)
        if err:
            return err
        runs = [self._run_body(self.jobs[c]) for c in job.children]
        return json_response(200, {"value": runs, "continuationToken": None, "nextLink": None})

    def _named_outputs(self, job: JobState) -> dict[str, dict]:
        outs = ((job.body.get("properties") or {}).get("outputs")) or {}
        return {k: v for k, v in outs.items() if k != "default" and isinstance(v, dict) and v.get("uri")}

    def _run_data(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        payload = req.json() or {}
        run_id = payload.get("runId")
        job = self.jobs.get(run_id)
        if job is None:
            return arm_error(404, "UserError", f"Run {run_id} was not found")
        run = self._run_body(job)
        run["outputs"] = {
            # Run history spells data types "UriFolder"/"UriFile"/"MLTable" (what azure-ai-ml 1.28
            # matches; 1.35 matches "uri_folder" here, so it falls back to probing the datastore).
            out_name: {
                "assetId": self._output_asset_id(job.name, out_name),
                "type": _RUN_HISTORY_TYPES.get(out["jobOutputType"], out["jobOutputType"]),
            }
            for out_name, out in self._named_outputs(job).items()
        }
        return json_response(200, {"runMetadata": run, "runDefinition": None, "jobSpecification": None})

    def _output_asset_id(self, job_name: str, output_name: str) -> str:
        return f"azureml://locations/{self.location}/workspaces/{self.workspace_guid}/data/azureml_{job_name}_output_data_{output_name}/versions/1"

    def _resolve_uris(self, req: FakeRequest) -> FakeResponse:
        err = self._check_workspace(req)
        if err:
            return err
        wanted = (req.json() or {}).get("values") or []
        values = {}
        for job in self.jobs.values():
            for out_name, out in self._named_outputs(job).items():
                asset_id = self._output_asset_id(job.name, out_name)
                if asset_id in wanted:
                    uri = out["uri"]
                    if uri.startswith("azureml://datastores/"):
                        uri = (
                            f"azureml://subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}/workspaces/{self.workspace_name}/"
                            + uri[len("azureml://") :]
                        )
                    values[asset_id] = {"uri": uri, "type": out["jobOutputType"]}
        return json_response(200, {"values": values})

    # ---------------------------------------------------------------- blob service

    def _account(self, req: FakeRequest) -> dict[str, dict[str, Blob]]:
        return self.blobs[req.host[: -len(BLOB_HOST_SUFFIX)]]

    def _blob_headers(self, blob: Blob) -> Headers:
        h = Headers(
            {
                "Content-Type": blob.content_type,
                "ETag": blob.etag,
                "Last-Modified": _http_date(blob.modified),
                "x-ms-creation-time": _http_date(blob.created),
                "x-ms-blob-type": "BlockBlob",
                "x-ms-lease-state": "available",
                "x-ms-lease-status": "unlocked",
                "x-ms-server-encrypted": "true",
                "x-ms-access-tier": "Hot",
                "x-ms-access-tier-inferred": "true",
                "Accept-Ranges": "bytes",
            }
        )
        if blob.content_md5:
            h["Content-MD5"] = blob.content_md5
        for k, v in blob.metadata.items():
            h[f"x-ms-meta-{k}"] = v
        return h

    def _container_put(self, req: FakeRequest) -> FakeResponse:
        if req.q("restype") != "container":
            return blob_error(
                400, "UnsupportedInFake", "only container create is supported at the account level", req.method
            )
        account = self._account(req)
        container = req.group("container")
        if req.q("comp") == "metadata":
            if container not in account:
                return blob_error(404, "ContainerNotFound", method=req.method)
            return FakeResponse(200, Headers({"ETag": '"0x1"', "Last-Modified": _http_date(self._clock)}))
        if container in account:
            return blob_error(409, "ContainerAlreadyExists", "The specified container already exists.", req.method)
        account[container] = {}
        return FakeResponse(
            201, Headers({"ETag": f'"0x{self._next_id()[-16:].upper()}"', "Last-Modified": _http_date(self._tick())})
        )

    def _container_get(self, req: FakeRequest) -> FakeResponse:
        account = self._account(req)
        container = req.group("container")
        if req.q("restype") != "container":
            return blob_error(400, "UnsupportedInFake", "account-level GET is not supported", req.method)
        if container not in account:
            return blob_error(404, "ContainerNotFound", "The specified container does not exist.", req.method)
        if req.q("comp") == "list":
            return self._list_blobs(req, container, account[container])
        return FakeResponse(
            200,
            Headers(
                {
                    "ETag": '"0x8DC0000000000000"',
                    "Last-Modified": _http_date(_dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)),
                    "x-ms-lease-state": "available",
                    "x-ms-lease-status": "unlocked",
                    "x-ms-has-immutability-policy": "false",
                    "x-ms-has-legal-hold": "false",
                }
            ),
        )

    def _list_blobs(self, req: FakeRequest, container: str, blobs: dict[str, Blob]) -> FakeResponse:
        prefix = req.q("prefix") or ""
        delimiter = req.q("delimiter")
        marker = req.q("marker") or ""
        max_results = int(req.q("maxresults") or 5000)
        include = set((req.q("include") or "").split(","))
        entries: list[tuple[str, Blob | None]] = []
        seen_prefixes = set()
        for name in sorted(blobs):
            if not name.startswith(prefix):
                continue
            if delimiter:
                rest = name[len(prefix) :]
                if delimiter in rest:
                    p = prefix + rest.split(delimiter, 1)[0] + delimiter
                    if p not in seen_prefixes:
                        seen_prefixes.add(p)
                        entries.append((p, None))
                    continue
            entries.append((name, blobs[name]))
        entries = [e for e in entries if e[0] > marker] if marker else entries
        page, rest = entries[:max_results], entries[max_results:]
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<EnumerationResults ServiceEndpoint="https://{req.host}/" ContainerName="{_xml_escape(container)}">',
            f"<Prefix>{_xml_escape(prefix)}</Prefix>" if prefix else "",
            f"<Marker>{_xml_escape(marker)}</Marker>" if marker else "",
            f"<MaxResults>{max_results}</MaxResults>" if req.q("maxresults") else "",
            f"<Delimiter>{_xml_escape(delimiter)}</Delimiter>" if delimiter else "",
            "<Blobs>",
        ]
        for name, blob in page:
            if blob is None:
                parts.append(f"<BlobPrefix><Name>{_xml_escape(name)}</Name></BlobPrefix>")
                continue
            meta = ""
            if "metadata" in include:
                meta = (
                    "<Metadata>"
                    + "".join(f"<{k}>{_xml_escape(v)}</{k}>" for k, v in blob.metadata.items())
                    + "</Metadata>"
                )
            md5 = f"<Content-MD5>{blob.content_md5}</Content-MD5>" if blob.content_md5 else "<Content-MD5 />"
            parts.append(
                f"<Blob><Name>{_xml_escape(name)}</Name><Properties>"
                f"<Creation-Time>{_http_date(blob.created)}</Creation-Time>"
                f"<Last-Modified>{_http_date(blob.modified)}</Last-Modified>"
                f"<Etag>{blob.etag.strip(chr(34))}</Etag>"
                f"<Content-Length>{len(blob.data)}</Content-Length>"
                f"<Content-Type>{_xml_escape(blob.content_type)}</Content-Type>"
                f"<Content-Encoding /><Content-Language /><Content-CRC64 />{md5}"
                "<Cache-Control /><Content-Disposition />"
                "<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>"
                "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
                "<ServerEncrypted>true</ServerEncrypted>"
                f"</Properties>{meta}<OrphanedObjects /></Blob>"
            )
        parts.append("</Blobs>")
        parts.append(f"<NextMarker>{_xml_escape(page[-1][0])}</NextMarker>" if rest else "<NextMarker />")
        parts.append("</EnumerationResults>")
        return FakeResponse(200, Headers({"Content-Type": "application/xml"}), "".join(parts).encode("utf-8"))

    def _find_blob(self, req: FakeRequest) -> tuple[Blob | None, FakeResponse | None]:
        account = self._account(req)
        container = req.group("container")
        if container not in account:
            return None, blob_error(404, "ContainerNotFound", "The specified container does not exist.", req.method)
        blob = account[container].get(req.group("blob"))
        if blob is None:
            return None, blob_error(404, "BlobNotFound", "The specified blob does not exist.", req.method)
        return blob, None

    def _blob_head(self, req: FakeRequest) -> FakeResponse:
        blob, err = self._find_blob(req)
        if err:
            return err
        h = self._blob_headers(blob)
        h["Content-Length"] = str(len(blob.data))
        return FakeResponse(200, h)

    def _blob_get(self, req: FakeRequest) -> FakeResponse:
        comp = req.q("comp")
        if comp == "blocklist":  # answered for uncommitted-only blobs too, like Azure
            return self._block_list_get(req)
        blob, err = self._find_blob(req)
        if err:
            return err
        if comp == "metadata":
            return FakeResponse(200, self._blob_headers(blob))
        if comp or req.q("restype"):
            return blob_error(400, "UnsupportedInFake", f"comp={comp} is not supported by the fake", req.method)
        size = len(blob.data)
        h = self._blob_headers(blob)
        rng = req.headers.get("x-ms-range") or req.headers.get("Range")
        if not rng:
            h["Content-Length"] = str(size)
            return FakeResponse(200, h, blob.data)
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
        if not m:
            return blob_error(400, "InvalidHeaderValue", f"bad range {rng}", req.method)
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else size - 1
        if start >= size:
            resp = blob_error(
                416, "InvalidRange", "The range specified is invalid for the current size of the resource.", req.method
            )
            resp.headers["Content-Range"] = f"bytes */{size}"
            return resp
        end = min(end, size - 1)
        chunk = blob.data[start : end + 1]
        h["Content-Range"] = f"bytes {start}-{end}/{size}"
        h["Content-Length"] = str(len(chunk))
        if req.headers.get("x-ms-range-get-content-md5", "").lower() == "true":
            h["Content-MD5"] = base64.b64encode(hashlib.md5(chunk).digest()).decode()
        elif "Content-MD5" in h and (start, end) != (0, size - 1):
            h["x-ms-blob-content-md5"] = h["Content-MD5"]
            del h["Content-MD5"]
        return FakeResponse(206, h, chunk)

    def _block_list_get(self, req: FakeRequest) -> FakeResponse:
        """Get Block List: committed blocks of the blob and/or blocks staged but not committed."""
        account = self._account(req)
        container, name = req.group("container"), req.group("blob")
        if container not in account:
            return blob_error(404, "ContainerNotFound", "The specified container does not exist.", req.method)
        blob = account[container].get(name)
        staged = self._staged_blocks.get((req.host, container, name), {})
        if blob is None and not staged:
            return blob_error(404, "BlobNotFound", "The specified blob does not exist.", req.method)
        kind = (req.q("blocklisttype") or "committed").lower()

        def section(tag: str, blocks: list[tuple[str, int]]) -> str:
            inner = "".join(f"<Block><Name>{_xml_escape(i)}</Name><Size>{n}</Size></Block>" for i, n in blocks)
            return f"<{tag}>{inner}</{tag}>" if inner else f"<{tag} />"

        parts = ['<?xml version="1.0" encoding="utf-8"?><BlockList>']
        if kind in ("committed", "all"):
            parts.append(section("CommittedBlocks", blob.blocks if blob else []))
        if kind in ("uncommitted", "all"):
            parts.append(section("UncommittedBlocks", [(i, len(d)) for i, d in staged.items()]))
        parts.append("</BlockList>")
        h = Headers({"Content-Type": "application/xml"})
        if blob is not None:
            h["ETag"] = blob.etag
            h["Last-Modified"] = _http_date(blob.modified)
            h["x-ms-blob-content-length"] = str(len(blob.data))
        return FakeResponse(200, h, "".join(parts).encode("utf-8"))

    def _blob_put(self, req: FakeRequest) -> FakeResponse:
        account = self._account(req)
        container, name = req.group("container"), req.group("blob")
        if container not in account:
            return blob_error(404, "ContainerNotFound", "The specified container does not exist.", req.method)
        blobs = account[container]
        comp = req.q("comp")
        md5_header = req.headers.get("Content-MD5")
        if md5_header and comp in (None, "block"):
            actual = base64.b64encode(hashlib.md5(req.body).digest()).decode()
            if actual != md5_header:
                return blob_error(
                    400, "Md5Mismatch", "The MD5 value specified in the request did not match.", req.method
                )
        existing = blobs.get(name)
        if comp is None:
            if req.headers.get("x-ms-copy-source"):
                return blob_error(400, "UnsupportedInFake", "copy is not supported by the fake", req.method)
            cond = self._check_conditions(req, existing)
            if cond:
                return cond
            blob = self.put_blob(
                container,
                name,
                req.body,
                account=req.host[: -len(BLOB_HOST_SUFFIX)],
                content_type=req.headers.get("x-ms-blob-content-type", "application/octet-stream"),
                metadata=self._meta_headers(req),
            )
            if req.headers.get("x-ms-blob-content-md5"):
                blob.content_md5 = req.headers["x-ms-blob-content-md5"]
            return self._blob_written(blob, 201, request_md5=True)
        if comp == "block":
            block_id = req.q("blockid")
            if not block_id:
                return blob_error(400, "InvalidQueryParameterValue", "blockid is required", req.method)
            self._staged_blocks.setdefault((req.host, container, name), {})[block_id] = req.body
            return FakeResponse(201, Headers({"x-ms-request-server-encrypted": "true"}))
        if comp == "blocklist":
            cond = self._check_conditions(req, existing)
            if cond:
                return cond
            staged = self._staged_blocks.get((req.host, container, name), {})
            committed: dict[str, bytes] = {}
            if existing is not None:
                offset = 0
                for block_id, size in existing.blocks:
                    committed[block_id] = existing.data[offset : offset + size]
                    offset += size
            chunks: list[bytes] = []
            ids: list[tuple[str, int]] = []
            for el in ET.fromstring(req.body.decode("utf-8")):
                block_id = el.text or ""
                if el.tag == "Committed":
                    block = committed.get(block_id)
                elif el.tag == "Uncommitted":
                    block = staged.get(block_id)
                else:  # Latest: the staged version if there is one, else the committed one
                    block = staged.get(block_id, committed.get(block_id))
                if block is None:
                    return blob_error(
                        400, "InvalidBlockList", f"block {block_id} is not in the {el.tag} list", req.method
                    )
                chunks.append(block)
                ids.append((block_id, len(block)))
            data = b"".join(chunks)
            blob = self.put_blob(
                container,
                name,
                data,
                account=req.host[: -len(BLOB_HOST_SUFFIX)],
                content_type=req.headers.get("x-ms-blob-content-type", "application/octet-stream"),
                metadata=self._meta_headers(req),
            )
            # Like Azure: no Content-MD5 for a block list unless the client sets one.
            blob.content_md5 = req.headers.get("x-ms-blob-content-md5")
            blob.blocks = ids
            self._staged_blocks.pop((req.host, container, name), None)
            return self._blob_written(blob, 201)
        if existing is None:
            return blob_error(404, "BlobNotFound", "The specified blob does not exist.", req.method)
        if comp == "metadata":
            existing.metadata = self._meta_headers(req)
            existing.modified = self._tick()
            return self._blob_written(existing, 200)
        if comp == "properties":
            if "x-ms-blob-content-type" in req.headers:
                existing.content_type = req.headers["x-ms-blob-content-type"]
            if "x-ms-blob-content-md5" in req.headers:
                existing.content_md5 = req.headers["x-ms-blob-content-md5"]
            existing.modified = self._tick()
            return self._blob_written(existing, 200)
        return blob_error(400, "UnsupportedInFake", f"comp={comp} is not supported by the fake", req.method)

    @staticmethod
    def _meta_headers(req: FakeRequest) -> dict[str, str]:
        return {k[len("x-ms-meta-") :]: v for k, v in req.headers.items() if k.lower().startswith("x-ms-meta-")}

    @staticmethod
    def _check_conditions(req: FakeRequest, existing: Blob | None) -> FakeResponse | None:
        inm = req.headers.get("If-None-Match")
        if inm == "*" and existing is not None:
            return blob_error(409, "BlobAlreadyExists", "The specified blob already exists.", req.method)
        im = req.headers.get("If-Match")
        if im and (existing is None or (im != "*" and im != existing.etag)):
            return blob_error(
                412,
                "ConditionNotMet",
                "The condition specified using HTTP conditional header(s) is not met.",
                req.method,
            )
        return None

    def _blob_written(self, blob: Blob, status: int, request_md5: bool = False) -> FakeResponse:
        h = Headers(
            {
                "ETag": blob.etag,
                "Last-Modified": _http_date(blob.modified),
                "x-ms-request-server-encrypted": "true",
            }
        )
        if blob.content_md5 and request_md5:
            h["Content-MD5"] = blob.content_md5
        return FakeResponse(status, h)

    def _blob_delete(self, req: FakeRequest) -> FakeResponse:
        blob, err = self._find_blob(req)
        if err:
            return err
        del self._account(req)[req.group("container")][req.group("blob")]
        return FakeResponse(202, Headers({"x-ms-delete-type-permanent": "true"}))
