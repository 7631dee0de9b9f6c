"""``POST /azml/jobs`` bodies -> one azure-ai-ml job entity (the one job model), inside the Jupyter root.

Four body forms (``docs/rest-contract.md``): ``yaml`` text, a ``path`` to a job file, a ``form`` built
with ``azure.ai.ml.command(...)``, or a whole ``notebook`` (``azml_jupyter.notebook.notebook_job``).
Everything here runs in the server's worker pool (it imports azure.ai.ml and reads files).

Root confinement of a job that came from the browser (decision, ``docs/rest-api.md``): every local
path the job names -- ``code``, local input paths, component files, conda files, docker build contexts,
also when set through ``set`` overrides -- must resolve inside the Jupyter root, or the request is a
403 before the SDK reads anything. The YAML text is scanned *before* ``load_job`` (so the SDK never
opens a file outside the root) and the loaded entity is checked again (so nothing the SDK resolved
slips through). Remote references (``azureml:``, ``azureml://``, ``https://`` ...) are not paths.
What a job's *command* reads when it runs is not the server's business: it runs with the user's own
rights, as a notebook cell would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import InvalidJobSpec, InvalidRequest
from ..spec.names import check_name
from .paths import RootPaths

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job

BODY_KINDS = ("yaml", "path", "form", "notebook")
COMMON_FIELDS = {"name"}
FIELDS = {
    "yaml": {"yaml", "base_path", "set"},
    "path": {"path", "set"},
    "form": {"form"},
    "notebook": {"notebook", "parameters", "compute", "environment", "experiment_name", "display_name"},
}
FORM_FIELDS = {
    "command", "environment", "code", "compute", "inputs", "outputs", "display_name", "experiment_name",
    "environment_variables", "description", "tags",
}
DATA_TYPES = ("uri_file", "uri_folder", "mltable")
# YAML keys whose string values are local paths (CLI v2 job, component and environment schemas)
PATH_KEYS = {"code", "path", "conda_file", "component", "local_path"}
REMOTE_PREFIXES = ("azureml:", "git+", "${{")
MAX_COMPONENT_DEPTH = 8


def parse_request(body: dict[str, Any]) -> tuple[str, str | None]:
    """Check the body's shape without touching the disk or the SDK: returns (kind, job name)."""
    kinds = [kind for kind in BODY_KINDS if kind in body]
    if len(kinds) != 1:
        raise InvalidRequest(
            "The body must have exactly one of 'yaml', 'path', 'form' or 'notebook'.",
            details={"found": kinds},
        )
    kind = kinds[0]
    unknown = sorted(set(body) - FIELDS[kind] - COMMON_FIELDS)
    if unknown:
        raise InvalidRequest(
            f"Unknown field(s) for a {kind} submission: {', '.join(unknown)}.", details={"fields": unknown}
        )
    name = body.get("name")
    if name is not None:
        check_name("job", name)
    if kind == "yaml" and not isinstance(body["yaml"], str):
        raise InvalidRequest("'yaml' must be the job's YAML text (a string).")
    if "set" in body:
        _overrides(body["set"])
    if kind == "form" and not isinstance(body["form"], dict):
        raise InvalidRequest("'form' must be an object.")
    if kind == "notebook":
        for key in ("compute", "environment", "experiment_name", "display_name"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise InvalidRequest(f"'{key}' must be a string.")
        if body.get("parameters") is not None and not isinstance(body["parameters"], dict):
            raise InvalidRequest("'parameters' must be an object.")
        if body.get("experiment_name") is not None:
            check_name("experiment", body["experiment_name"])
        if body.get("compute") is not None:
            check_name("compute", _compute_name(body["compute"]))
    return kind, name


def build_job(kind: str, body: dict[str, Any], paths: RootPaths) -> Job:
    """The azure-ai-ml entity for a request already checked by ``parse_request``."""
    builders: dict[str, Callable[[dict[str, Any], RootPaths], Any]] = {
        "yaml": _from_yaml,
        "path": _from_path,
        "form": _from_form,
        "notebook": _from_notebook,
    }
    job = builders[kind](body, paths)
    _check_computes(job)
    return job


# ---- the four body forms ------------------------------------------------------------------------
def _from_yaml(body: dict[str, Any], paths: RootPaths) -> Job:
    from ..spec.loader import load_job_text

    base = paths.resolve(body.get("base_path", ""), field="base_path", must_exist=True)
    if not base.is_dir():
        raise InvalidRequest(f"base_path {body['base_path']!r} is not a folder.", code="invalid_path")
    overrides = _overrides(body.get("set"))
    _scan_yaml_text(body["yaml"], base, paths, "<yaml>")
    _scan_overrides(overrides, base, paths)
    job = load_job_text(body["yaml"], base_path=base, overrides=overrides)
    _check_entity_paths(job, base, paths)
    return job


def _from_path(body: dict[str, Any], paths: RootPaths) -> Job:
    from ..spec.loader import load_job_text

    source = paths.resolve(body["path"], field="path", must_exist=True)
    if not source.is_file():
        raise InvalidRequest(f"path {body['path']!r} is not a file.", code="invalid_path")
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJobSpec(f"{body['path']}: not a UTF-8 text file ({exc.reason}).") from None
    overrides = _overrides(body.get("set"))
    _scan_yaml_text(text, source.parent, paths, body["path"])
    _scan_overrides(overrides, source.parent, paths)
    job = load_job_text(text, base_path=source.parent, source_name=body["path"], overrides=overrides)
    _check_entity_paths(job, source.parent, paths)
    return job


def _from_form(body: dict[str, Any], paths: RootPaths) -> Job:
    form = body["form"]
    unknown = sorted(set(form) - FORM_FIELDS)
    if unknown:
        raise InvalidRequest(f"Unknown form field(s): {', '.join(unknown)}.", details={"fields": unknown})
    for key in ("command", "environment"):
        if not isinstance(form.get(key), str) or not form[key].strip():
            raise InvalidRequest(f"form.{key} is required (a non-empty string).", details={"field": f"form.{key}"})
    for key in ("code", "compute", "display_name", "experiment_name", "description"):
        if form.get(key) is not None and not isinstance(form[key], str):
            raise InvalidRequest(f"form.{key} must be a string.", details={"field": f"form.{key}"})
    for key in ("environment_variables", "tags", "inputs", "outputs"):
        if form.get(key) is not None and not isinstance(form[key], dict):
            raise InvalidRequest(f"form.{key} must be an object.", details={"field": f"form.{key}"})
    if form.get("experiment_name") is not None:
        check_name("experiment", form["experiment_name"])
    if form.get("compute"):
        check_name("compute", _compute_name(form["compute"]))
    code = None
    if form.get("code") is not None:
        code = str(paths.resolve(form["code"], field="form.code", must_exist=True))

    from azure.ai.ml import Input, Output, command  # lazy: 1.6 s, and only in the worker pool

    inputs: dict[str, Any] = {}
    for key, value in (form.get("inputs") or {}).items():
        if isinstance(value, (str, int, float, bool)):
            inputs[key] = value
            continue
        if not isinstance(value, dict) or set(value) - {"type", "path", "mode"} or "path" not in value:
            raise InvalidRequest(
                f"form.inputs.{key} must be a literal or {{'type', 'path'}}.", details={"field": f"form.inputs.{key}"}
            )
        kind = value.get("type", "uri_folder")
        if kind not in DATA_TYPES or not isinstance(value["path"], str):
            raise InvalidRequest(
                f"form.inputs.{key}: type must be one of {', '.join(DATA_TYPES)} and path a string.",
                details={"field": f"form.inputs.{key}"},
            )
        location = value["path"]
        if not _is_remote(location):
            location = str(paths.resolve(location, field=f"form.inputs.{key}.path", must_exist=True))
        inputs[key] = Input(type=kind, path=location, **({"mode": value["mode"]} if value.get("mode") else {}))
    outputs: dict[str, Any] = {}
    for key, value in (form.get("outputs") or {}).items():
        kind = value.get("type", "uri_folder") if isinstance(value, dict) else None
        if kind not in ("uri_file", "uri_folder", "mltable") or set(value) - {"type"}:
            raise InvalidRequest(
                f"form.outputs.{key} must be {{'type': 'uri_folder' | 'uri_file'}}.",
                details={"field": f"form.outputs.{key}"},
            )
        outputs[key] = Output(type=kind)
    options = {k: form[k] for k in ("display_name", "experiment_name", "description", "compute") if form.get(k)}
    try:
        return command(
            command=form["command"],
            environment=form["environment"],
            code=code,
            inputs=inputs,
            outputs=outputs,
            environment_variables={str(k): str(v) for k, v in (form.get("environment_variables") or {}).items()},
            tags={str(k): str(v) for k, v in (form.get("tags") or {}).items()},
            **options,
        )
    except Exception as exc:  # the SDK's own validation of the builder's arguments
        message = str(getattr(exc, "message", None) or exc).strip().splitlines()[0]
        raise InvalidJobSpec(f"form: {message}") from None


def _from_notebook(body: dict[str, Any], paths: RootPaths) -> Job:
    try:
        from ..notebook import notebook_job
    except ImportError as exc:
        raise InvalidRequest(
            "Notebook jobs are not available in this installation.",
            details={"reason": str(exc)},
            code="notebook_jobs_unavailable",
        ) from None
    notebook = paths.resolve(body["notebook"], field="notebook", must_exist=True)
    if not notebook.is_file() or notebook.suffix != ".ipynb":
        raise InvalidRequest(f"notebook {body['notebook']!r} is not a .ipynb file.", code="invalid_path")
    return notebook_job(
        notebook,
        parameters=body.get("parameters"),
        compute=body.get("compute"),
        environment=body.get("environment"),
        experiment_name=body.get("experiment_name"),
        display_name=body.get("display_name"),
    )


# ---- helpers ------------------------------------------------------------------------------------
def _overrides(value: Any) -> list[dict[str, Any]]:
    """``{"inputs.lr": 0.1}`` -> load_job's ``params_override`` list."""
    if value is None:
        return []
    if not isinstance(value, dict) or not all(isinstance(k, str) and k.strip() for k in value):
        raise InvalidRequest("'set' must be an object of {\"dotted.field\": value}.", details={"field": "set"})
    return [{key: item} for key, item in value.items()]


def _is_remote(value: str) -> bool:
    return value.startswith(REMOTE_PREFIXES) or "://" in value


def _local_path(key: str, value: Any) -> str | None:
    """The local path a YAML value names, or None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if key == "environment":
        return value[len("file:"):] if value.startswith("file:") else None
    if value.startswith("file:"):
        value = value[len("file:"):]
    if _is_remote(value):
        return None
    return value


def _confine(value: str, base: Path, paths: RootPaths, field: str) -> Path:
    return paths.resolve(value, field=field, base=base)


def _scan_yaml_text(text: str, base: Path, paths: RootPaths, source: str, depth: int = 0) -> None:
    from ..spec.loader import check_yaml_limits

    check_yaml_limits(text, source)  # before anything parses it: an alias bomb never expands here
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return  # load_job_text reports the syntax error with its line
    _scan_node(document, base, paths, source, depth, ())


def _scan_node(node: Any, base: Path, paths: RootPaths, source: str, depth: int, where: tuple[str, ...]) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _scan_node(item, base, paths, source, depth, where + (str(index),))
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        key = str(key)
        field = ".".join(where + (key,))
        if key in PATH_KEYS | {"environment"}:
            local = _local_path(key, value)
            if local is not None:
                target = _confine(local, base, paths, field)
                if key == "component" and target.suffix in (".yml", ".yaml") and target.is_file():
                    if depth >= MAX_COMPONENT_DEPTH:
                        raise InvalidJobSpec(f"{source}: components nest deeper than {MAX_COMPONENT_DEPTH} levels.")
                    text = target.read_text(encoding="utf-8", errors="replace")
                    _scan_yaml_text(text, target.parent, paths, paths.relative(target), depth + 1)
        if key == "build" and isinstance(value, dict) and isinstance(value.get("path"), str):
            local = _local_path("path", value["path"])
            if local is not None:
                _confine(local, base, paths, f"{field}.path")
        _scan_node(value, base, paths, source, depth, where + (key,))


def _scan_overrides(overrides: list[dict[str, Any]], base: Path, paths: RootPaths) -> None:
    for override in overrides:
        for key, value in override.items():
            last = key.rsplit(".", 1)[-1]
            if last in PATH_KEYS:
                local = _local_path(last, value)
                if local is not None:
                    _confine(local, base, paths, f"set.{key}")
            _scan_node(value, base, paths, "set", 0, ("set", key))


def _check_entity_paths(job: Any, base: Path, paths: RootPaths, where: str = "") -> None:
    """What the SDK resolved: code folders and local input paths of the job and its steps."""
    own_base = Path(getattr(job, "base_path", None) or base)
    if not own_base.is_absolute():
        own_base = base / own_base
    code = getattr(job, "code", None)
    code_text = str(getattr(code, "path", code)) if code is not None else None
    if code_text and _local_path("code", code_text) is not None:
        _confine(_local_path("code", code_text), own_base, paths, f"{where}code")
    for key, node in (getattr(job, "inputs", None) or {}).items():
        value = getattr(node, "_data", node)
        location = getattr(value, "path", None)
        if isinstance(location, str) and _local_path("path", location) is not None and "${{" not in location:
            _confine(_local_path("path", location), own_base, paths, f"{where}inputs.{key}.path")
    component = getattr(job, "component", None)
    if component is not None and not isinstance(component, str) and getattr(component, "code", None):
        _check_entity_paths(component, own_base, paths, f"{where}component.")
    for step, child in (getattr(job, "jobs", None) or {}).items():
        _check_entity_paths(child, own_base, paths, f"{where}jobs.{step}.")


def _compute_name(value: str) -> str:
    text = str(value).split("/computes/")[-1]
    return text[len("azureml:"):] if text.startswith("azureml:") else text


def _check_computes(job: Any) -> None:
    """Compute names follow Azure ML's rules (an invalid name can never exist there either)."""
    settings = getattr(job, "settings", None)
    for value in (getattr(job, "compute", None), getattr(settings, "default_compute", None)):
        if isinstance(value, str) and value:
            check_name("compute", _compute_name(value))
    for child in (getattr(job, "jobs", None) or {}).values():
        _check_computes(child)
