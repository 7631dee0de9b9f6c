"""Load Azure ML CLI-v2 job YAML with ``azure.ai.ml.load_job`` and turn its failures into clear errors.

There is no schema of our own: the SDK validates exactly what ``az ml job create -f`` validates.
Our part is the error message: the SDK reports schema problems as nested JSON inside a string with no
line numbers, so we pull out each (field path, message) and find the field's line in the YAML.
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
    _check_yaml_syntax(text, source_name)
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
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        overrides.append({key.strip(): value})
    return overrides


def _check_yaml_syntax(text: str, source_name: str) -> None:
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
