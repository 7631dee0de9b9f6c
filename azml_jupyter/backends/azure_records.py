"""azure-ai-ml entities (and a few REST objects) -> our records (``models.py``).

Everything that depends on how a given azure-ai-ml release spells things lives here:

* ``Job.status`` / ``provisioning_state`` are plain strings in 1.28 and enums in 1.35 (where
  ``str(x) == "JobStatus.QUEUED"``): always read through :func:`plain` (``getattr(x, "value", x)``);
* ``compute.list_sizes()`` / ``list_usage()`` on 1.35 leave the snake_case attributes ``None`` and keep
  the values under the wire names in ``__dict__`` (``vCPUs``, ``memoryGB``, ``currentValue``...); 1.28
  fills the snake_case ones: :func:`either` reads both;
* compute *entities* drop the node counts, so computes are read from the REST objects, whose
  attributes are the same in both releases (only enum vs string, and timedelta vs ISO duration).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from ..models import ComputeInfo, DataAsset, JobRecord, JobStatus, Usage, VmSize

# Tag put on every job this extension submits, and the data asset properties copy-in writes.
SUBMITTED_BY_TAG = "azml_jupyter"
SIZE_PROPERTY = "azml_jupyter.size_bytes"
FILES_PROPERTY = "azml_jupyter.file_count"

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_ASSET_ID = re.compile(r"/(?P<kind>environments|data|components|codes)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$")


def plain(value: Any) -> Any:
    """An SDK enum (1.35) or its plain string (1.28) -> the string."""
    return getattr(value, "value", value)


def either(obj: Any, snake: str, wire: str) -> Any:
    """``obj.snake``, else the wire-named value 1.35 leaves in ``__dict__``."""
    value = getattr(obj, snake, None)
    if value is None:
        value = (vars(obj) if hasattr(obj, "__dict__") else {}).get(wire)
    if value is None and isinstance(obj, dict):
        value = obj.get(snake, obj.get(wire))
    return value


def iso(value: Any) -> str | None:
    """A datetime (or ISO string) -> ``2026-01-01T00:00:00.000Z`` as the local backend writes it."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def seconds(value: Any) -> int | None:
    """timedelta (1.28), ISO-8601 duration ``PT2M`` (1.35, the wire) or a number -> whole seconds."""
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        return int(value.total_seconds())
    if isinstance(value, (int, float)):
        return int(value)
    match = _DURATION.match(str(value).strip().upper())
    if not match:
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return int(parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"])


def short_reference(value: Any) -> str | None:
    """An ARM id of a compute/environment/asset, ``azureml:x:1`` or ``x:1`` -> a readable reference."""
    if value is None:
        return None
    text = str(value)
    if "/computes/" in text:
        return text.rsplit("/computes/", 1)[1]
    match = _ASSET_ID.search(text)
    if match:
        return f"azureml:{match['name']}:{match['version']}"
    return text


# ---- jobs -------------------------------------------------------------------------------------------


def job_record(
    job: Any,
    *,
    details: Any = None,
    parent_name: str | None = None,
    children: list[JobRecord] | None = None,
) -> JobRecord:
    """A job entity (from ``jobs.get``/``list``/``create_or_update``, or a pipeline child from run
    history) -> JobRecord. ``details`` (run history's RunDetails) adds start/end time, error and parent."""
    job_type = str(plain(getattr(job, "type", None)) or "command")
    properties = dict(getattr(job, "properties", None) or {})
    step_name = properties.get("azureml.nodeid")
    parent = parent_name or (getattr(details, "parent_run_id", None) if details is not None else None)
    if job_type == "base":  # a pipeline step, read from run history
        job_type = "command"
    status = JobStatus.parse(getattr(job, "status", None))
    error = None
    started = ended = None
    if details is not None:
        status = JobStatus.parse(getattr(details, "status", None) or status)
        started = iso(getattr(details, "start_time_utc", None))
        ended = iso(getattr(details, "end_time_utc", None))
        error = _run_error(details)
    creation = getattr(job, "creation_context", None)
    return JobRecord(
        name=job.name,
        type=job_type,
        status=status,
        display_name=getattr(job, "display_name", None),
        experiment_name=getattr(job, "experiment_name", None),
        description=getattr(job, "description", None),
        tags={str(k): str(v) for k, v in (getattr(job, "tags", None) or {}).items()},
        compute=short_reference(getattr(job, "compute", None) or _default_compute(job)),
        environment=_environment(getattr(job, "environment", None)),
        command=getattr(job, "command", None) if job_type == "command" else None,
        parent_name=parent,
        step_name=step_name or (getattr(job, "display_name", None) if parent else None),
        created_at=iso(getattr(creation, "created_at", None)) if creation is not None else None,
        started_at=started,
        ended_at=ended,
        exit_code=None,  # Azure ML does not report the command's exit code
        error=error,
        inputs=_inputs(getattr(job, "inputs", None) or {}),
        outputs=_outputs(job.name, getattr(job, "outputs", None) or {}),
        studio_url=getattr(job, "studio_url", None),
        children=children,
    )


def default_output_uri(job_name: str, output: str, datastore: str = "workspaceblobstore") -> str:
    """Where Azure ML writes a named output that has no ``path`` (its documented default)."""
    return f"azureml://datastores/{datastore}/paths/azureml/{job_name}/{output}/"


def render_output_path(path: str, job_name: str, output: str) -> str:
    """Output paths may use ``${{name}}`` (the job's name) and ``${{output_name}}``."""
    return re.sub(r"\$\{\{\s*name\s*\}\}", job_name, re.sub(r"\$\{\{\s*output_name\s*\}\}", output, path))


def _run_error(details: Any) -> str | None:
    error = getattr(details, "error", None)
    inner = getattr(error, "error", None) if error is not None else None
    message = getattr(inner, "message", None) if inner is not None else None
    if not message and isinstance(error, dict):
        message = (error.get("error") or {}).get("message")
    return message or None


def _default_compute(job: Any) -> Any:
    settings = getattr(job, "settings", None)
    return getattr(settings, "default_compute", None) if settings is not None else None


def _environment(environment: Any) -> str | None:
    if environment is None:
        return None
    if isinstance(environment, str):
        reference = short_reference(environment) or environment
        return reference if reference.startswith("azureml:") else f"azureml:{reference}"
    name, version = getattr(environment, "name", None), getattr(environment, "version", None)
    if name and name != "CliV2AnonymousEnvironment":
        return f"azureml:{name}:{version}" if version else f"azureml:{name}"
    image = getattr(environment, "image", None)
    return f"inline environment: image {image}" if image else "inline environment"


def _inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, node in inputs.items():
        value = getattr(node, "_data", node)
        if value is None:
            continue
        if isinstance(value, (bool, int, float, str)):
            out[key] = {"type": "literal", "value": value}
            continue
        path = getattr(value, "path", None)
        data_type = plain(getattr(value, "type", None))
        if path is None:
            default = getattr(value, "default", None)
            if default is not None:
                out[key] = {"type": "literal", "value": default}
            continue
        path = str(path)
        entry: dict[str, Any] = {"type": data_type, "uri": path}
        if not path.startswith(("azureml://", "http://", "https://", "wasbs://", "abfss://", "/", ".")):
            reference = path if path.startswith("azureml:") else f"azureml:{path}"
            entry = {"type": data_type, "uri": reference, "asset": reference}
        mode = plain(getattr(value, "mode", None))
        if mode:
            entry["mode"] = mode
        out[key] = entry
    return out


def _outputs(job_name: str, outputs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, node in outputs.items():
        if key == "default":  # the run's artifact folder; listed by list_outputs, not a declared output
            continue
        value = getattr(node, "_data", node)
        data_type = plain(getattr(value, "type", None) or getattr(node, "type", None)) or "uri_folder"
        if isinstance(value, str):  # a pipeline binding such as ${{parent.outputs.x}}
            out[key] = {"type": data_type, "uri": value}
            continue
        path = getattr(value, "path", None) or getattr(node, "path", None)
        uri = render_output_path(str(path), job_name, key) if path else default_output_uri(job_name, key)
        out[key] = {"type": data_type, "uri": uri}
    return out


# ---- computes ----------------------------------------------------------------------------------------


def compute_info(resource: Any) -> ComputeInfo:
    """A REST ``ComputeResource`` (``compute._operation.list/get``) -> ComputeInfo."""
    props = resource.properties
    compute_type = str(plain(getattr(props, "compute_type", None)) or "unknown")
    inner = getattr(props, "properties", None)
    state = plain(getattr(props, "provisioning_state", None))
    location = getattr(props, "compute_location", None) or getattr(resource, "location", None)
    size = getattr(inner, "vm_size", None) if inner is not None else None
    if compute_type == "ComputeInstance":
        instance_state = plain(getattr(inner, "state", None)) if inner is not None else None
        if instance_state and state in (None, "Succeeded"):
            state = instance_state  # Running / Stopped tells more than "Succeeded"
        running = 1 if instance_state == "Running" else 0
        return ComputeInfo(
            name=resource.name,
            type="computeinstance",
            size=size,
            state=state,
            min_nodes=0,
            max_nodes=1,
            current_nodes=running,
            target_nodes=running,
            idle_seconds=_instance_idle_seconds(inner),
            tier="dedicated",
            location=location,
        )
    scale = getattr(inner, "scale_settings", None) if inner is not None else None
    priority = plain(getattr(inner, "vm_priority", None)) if inner is not None else None
    current = getattr(inner, "current_node_count", None) if inner is not None else None
    return ComputeInfo(
        name=resource.name,
        type=compute_type.lower(),
        size=size,
        state=state,
        min_nodes=int(_scale(scale, "min_node_count", "minNodeCount") or 0),
        max_nodes=int(_scale(scale, "max_node_count", "maxNodeCount") or 0),
        current_nodes=int(current or 0),
        target_nodes=getattr(inner, "target_node_count", None) if inner is not None else None,
        idle_seconds=seconds(_scale(scale, "node_idle_time_before_scale_down", "nodeIdleTimeBeforeScaleDown")),
        tier=tier_name(priority),
        location=location,
    )


def tier_name(priority: Any) -> str | None:
    """``Dedicated``/``LowPriority`` (REST) or ``dedicated``/``low_priority`` (entity) -> ours."""
    if priority is None:
        return None
    text = str(priority).lower().replace("_", "")
    return "low_priority" if text in ("lowpriority", "spot") else "dedicated"


def _scale(scale: Any, snake: str, wire: str) -> Any:
    if scale is None:
        return None
    if isinstance(scale, dict):
        return scale.get(wire, scale.get(snake))
    return getattr(scale, snake, None)


def _instance_idle_seconds(inner: Any) -> int | None:
    if inner is None:
        return None
    value = getattr(inner, "idle_time_before_shutdown", None)
    return seconds(value)


# ---- sizes and quota ---------------------------------------------------------------------------------


def vm_size(size: Any) -> VmSize:
    return VmSize(
        name=size.name,
        vcpus=_int(either(size, "v_cp_us", "vCPUs")),
        memory_gb=_float(either(size, "memory_gb", "memoryGB")),
        gpus=_int(either(size, "gpus", "gpus")) or 0,
        family=either(size, "family", "family"),
        low_priority_capable=either(size, "low_priority_capable", "lowPriorityCapable"),
    )


def usage(item: Any) -> Usage:
    name = getattr(item, "name", None)
    if name is not None and not isinstance(name, dict):
        name = {"value": getattr(name, "value", None), "localized_value": getattr(name, "localized_value", None)}
    name = name or {}
    family = name.get("value") or str(getattr(item, "id", "") or "").rsplit("/", 1)[-1]
    return Usage(
        family=family,
        current=_int(either(item, "current_value", "currentValue")) or 0,
        limit=_int(getattr(item, "limit", None)) or 0,
        unit=str(plain(getattr(item, "unit", None)) or "Count"),
        label=name.get("localized_value") or name.get("localizedValue"),
    )


# ---- data assets -------------------------------------------------------------------------------------


def data_asset(data: Any) -> DataAsset:
    properties = dict(getattr(data, "properties", None) or {})
    creation = getattr(data, "creation_context", None)
    return DataAsset(
        name=data.name,
        version=str(data.version),
        type=str(plain(getattr(data, "type", None)) or "uri_folder"),
        path=str(getattr(data, "path", "") or ""),
        size_bytes=_int(properties.get(SIZE_PROPERTY)),
        file_count=_int(properties.get(FILES_PROPERTY)),
        created_at=iso(getattr(creation, "created_at", None)) if creation is not None else None,
        description=getattr(data, "description", None),
        tags={str(k): str(v) for k, v in (getattr(data, "tags", None) or {}).items()},
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
