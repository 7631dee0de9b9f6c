"""Load Azure ML CLI-v2 job YAML with ``azure.ai.ml.load_job`` and turn its failures into clear errors.

There is no schema of our own: the SDK validates exactly what ``az ml job create -f`` validates.
Our part is the error message: the SDK reports schema problems as nested JSON inside a string with no
line numbers, so we pull out each (field path, message) and find the field's line in the YAML.

And the bounds: YAML from users is checked by :func:`check_yaml_limits` before anything loads it (us or
the SDK) -- the job file, the conda and component files it names, ``--set`` values. A 369-byte document
of nested anchors ("billion laughs") expands to hundreds of millions of values and would tie a worker
thread up for minutes; counting the parser's events costs microseconds and builds nothing.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import InvalidJobSpec

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job


def load_job_file(path: str | os.PathLike[str], *, overrides: list[dict[str, Any]] | None = None) -> Job:
    """Load a job YAML file; relative paths in it (``code``, local inputs) resolve against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidJobSpec(f"Job file not found: {path}", details={"path": str(path)}) from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise InvalidJobSpec(f"Cannot read job file {path}: {exc}", details={"path": str(path)}) from None
    return load_job_text(text, base_path=path.parent, source_name=str(path), overrides=overrides)


def load_job_text(
    text: str,
    *,
    base_path: str | os.PathLike[str],
    source_name: str = "<job>",
    overrides: list[dict[str, Any]] | None = None,
) -> Job:
    """Load a job from YAML text; ``base_path`` is the folder relative paths resolve against."""
    check_yaml_limits(text, source_name)
    document = _check_yaml_syntax(text, source_name)
    _check_referenced_files(document, Path(base_path), source_name)
    # azure-ai-ml logs an "experimental class" warning per schema on first use: noise for our users
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    from azure.ai.ml import load_job  # lazy: 1.6 s; callers run this off the event loop

    try:
        # load_job resolves relative paths against the *folder of* relative_origin, which names a file
        origin = Path(base_path) / (Path(source_name).name if source_name != "<job>" else "job.yml")
        job = load_job(io.StringIO(text), relative_origin=str(origin), params_override=overrides or [])
    except Exception as exc:  # marshmallow ValidationError, azure ValidationException, JobException ...
        raise _to_invalid_spec(exc, text, source_name) from None
    if getattr(job, "type", None) not in ("command", "pipeline"):
        raise InvalidJobSpec(
            f"{source_name}: job type {getattr(job, 'type', None)!r} is not supported yet; "
            "use a command or pipeline job.",
            details={"type": getattr(job, "type", None)},
        )
    return job


def parse_set_overrides(pairs: list[str]) -> list[dict[str, Any]]:
    """``--set key.sub=value`` (as in ``az ml job create --set``) -> ``params_override`` for load_job."""
    overrides: list[dict[str, Any]] = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidJobSpec(f"--set expects key=value, got {pair!r}")
        check_yaml_limits(raw, f"--set {key.strip()}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        overrides.append({key.strip(): value})
    return overrides


# ---- bounds on user YAML -------------------------------------------------------------------------
MAX_YAML_BYTES = 2 << 20  # a job file is a few KiB; a pipeline of 500 steps about 250 KiB
MAX_YAML_DEPTH = 64  # a pipeline with inline components nests about 12 levels
MAX_YAML_ALIASES = 1000
MAX_YAML_NODES = 100_000  # values once every alias is expanded, as the SDK's walk over the document sees them
# keys whose local file azure-ai-ml reads as YAML: environment conda files, pipeline steps' components, and
# an environment given as a file
REFERENCED_YAML_KEYS = ("conda_file", "component", "environment")
MAX_REFERENCED_DEPTH = 8  # components naming components

_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same events, faster


def check_yaml_limits(text: str, source_name: str) -> None:
    """Refuse YAML (``InvalidJobSpec``, a 400) that is too large, nests too deep, has too many aliases,
    or whose aliases expand to too many values. Counted from the parser's events, so nothing is built
    or expanded; a syntax error is left for the loader to report with its line."""
    if len(text) > MAX_YAML_BYTES or len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise _too_much(source_name, None, "bytes", f"the YAML is larger than {MAX_YAML_BYTES >> 20} MiB")
    expanded: dict[str, int] = {}  # anchor -> how many values it stands for
    open_collections: list[list[Any]] = []  # [anchor, values so far] of each collection being read
    aliases = total = 0
    try:
        for event in yaml.parse(text, Loader=_Parser):
            if isinstance(event, _COLLECTION_START):
                if len(open_collections) >= MAX_YAML_DEPTH:
                    raise _too_much(source_name, event, "depth", f"the YAML nests deeper than {MAX_YAML_DEPTH} levels")
                open_collections.append([event.anchor, 1])
                continue
            if isinstance(event, _COLLECTION_END):
                anchor, count = open_collections.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, count = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise _too_much(source_name, event, "aliases", f"more than {MAX_YAML_ALIASES} YAML aliases (*name)")
                anchor, count = None, expanded.get(event.anchor, 1)
            else:
                continue  # stream and document boundaries
            if anchor is not None:
                expanded[anchor] = count
            if open_collections:
                open_collections[-1][1] += count
                count = open_collections[-1][1]
            else:
                total += count
                count = total
            if count > MAX_YAML_NODES:
                raise _too_much(
                    source_name,
                    event,
                    "expanded_nodes",
                    f"its YAML aliases expand to more than {MAX_YAML_NODES:,} values (a \"billion laughs\" document)",
                )
    except yaml.YAMLError:
        return


def _too_much(source_name: str, event: Any, limit: str, why: str) -> InvalidJobSpec:
    line = event.start_mark.line + 1 if event is not None and event.start_mark is not None else None
    where = f" (line {line})" if line else ""
    return InvalidJobSpec(f"{source_name}{where}: refused: {why}.", details={"line": line, "limit": limit})


def _check_referenced_files(document: Any, base: Path, source_name: str, depth: int = 0) -> None:
    """Bound the local YAML files the SDK will read for this document (conda files, components), and the
    components those name, before it reads them."""
    for value in _referenced_values(document):
        path = Path(value[len("file:") :] if value.startswith("file:") else value)
        path = path if path.is_absolute() else base / path
        if path.suffix not in (".yml", ".yaml") or not path.is_file():
            continue  # not a local YAML file (a remote reference, a folder, a FIFO): not read as YAML
        shown = f"{source_name} -> {value}"
        if depth >= MAX_REFERENCED_DEPTH:
            raise InvalidJobSpec(f"{shown}: files name files deeper than {MAX_REFERENCED_DEPTH} levels.")
        with open(path, "rb") as fh:
            data = fh.read(MAX_YAML_BYTES + 1)
        text = data.decode("utf-8", "replace")
        check_yaml_limits(text, shown)
        try:
            _check_referenced_files(yaml.load(text, Loader=_Parser), path.parent, shown, depth + 1)
        except yaml.YAMLError:
            continue  # the SDK reports it


def _referenced_values(node: Any) -> list[str]:
    found: list[str] = []
    stack, seen = [node], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:  # an alias: the same object again
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            for key, value in item.items():
                if key in REFERENCED_YAML_KEYS and isinstance(value, str):
                    found.append(value.strip())
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(value for value in item if isinstance(value, (dict, list)))
    return found


def _check_yaml_syntax(text: str, source_name: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        where = f" (line {line})" if line else ""
        raise InvalidJobSpec(
            f"{source_name}: not valid YAML{where}: {problem}", details={"line": line, "problem": problem}
        ) from None
    if not isinstance(document, dict):
        raise InvalidJobSpec(
            f"{source_name}: a job file must be a YAML mapping (key: value), not {type(document).__name__}"
        )
    return document


def _to_invalid_spec(exc: Exception, text: str, source_name: str) -> InvalidJobSpec:
    problems = list(_problems(exc))
    if not problems:
        message = str(getattr(exc, "message", None) or exc).strip().splitlines()[0]
        return InvalidJobSpec(f"{source_name}: {message}", details={"errors": [{"message": message}]})
    lines = _LineFinder(text)
    errors = []
    for field_path, message in problems:
        errors.append({"field": ".".join(field_path) or None, "message": message, "line": lines.find(field_path)})
    errors.sort(key=lambda e: (e["line"] is None, e["line"] or 0))  # lead with the first error we can place
    first = errors[0]
    where = f" (line {first['line']})" if first["line"] else ""
    field = f"{first['field']}: " if first["field"] else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidJobSpec(
        f"{source_name}{where}: {field}{first['message']}{more}",
        details={"line": first["line"], "errors": errors},
    )


_FAILED = re.compile(r"failed:\s*", re.IGNORECASE)


def _problems(exc: Exception) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield (field path, message) from the SDK's error text, whatever its nesting."""
    messages = getattr(exc, "messages", None)
    texts = messages if isinstance(messages, list) else [getattr(exc, "message", None) or str(exc)]
    for text in texts:
        if isinstance(text, str):
            yield from _problems_in_text(text, ())


def _problems_in_text(text: str, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    match = _FAILED.search(text)
    if not match:
        # e.g. "Failed to find referenced source for input binding ${{parent.jobs.b.outputs.o}}"
        yield prefix, text.strip().splitlines()[0]
        return
    try:
        payload, _ = json.JSONDecoder().raw_decode(text, match.end())
    except ValueError:
        yield prefix, text.strip().splitlines()[0]
        return
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
        for error in payload["errors"]:
            path = str(error.get("path") or "*")
            sub = prefix if path == "*" else prefix + tuple(path.split("."))
            yield from _problems_in_text(str(error.get("message", "")), sub)
    else:
        yield from _flatten(payload, prefix)


def _flatten(node: Any, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "value" and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                # a union field: the SDK lists why each alternative failed; the first is the one users meant
                yield from _flatten(value[0], prefix)
            else:
                yield from _flatten(value, prefix if key in ("_schema", "null") else prefix + (key,))
    elif isinstance(node, list):
        strings = [v for v in node if isinstance(v, str)]
        if strings:
            yield prefix, "; ".join(strings)
        for value in node:
            if not isinstance(value, str):
                yield from _flatten(value, prefix)
    elif node is not None:
        yield prefix, str(node)


class _LineFinder:
    """Find the 1-based line of a dotted field path in YAML text (the deepest part that exists)."""

    def __init__(self, text: str):
        try:
            self.root = yaml.compose(text)
        except yaml.YAMLError:
            self.root = None

    def find(self, path: tuple[str, ...]) -> int | None:
        node, line = self.root, None
        for part in path:
            if not isinstance(node, yaml.MappingNode):
                break
            for key, value in node.value:
                if key.value == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                break
        return line
