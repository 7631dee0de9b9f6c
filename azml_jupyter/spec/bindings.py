"""Azure ML's command expressions, evaluated the way the service evaluates them.

- ``${{inputs.x}}`` / ``${{outputs.y}}`` are replaced by the input's value (a literal, or the path the
  data is mounted at) and the output's path. Azure ML does not quote; we quote only values a shell would
  split (local paths with spaces), which Azure's own mount paths never contain.
- ``$[[ ... ]]`` is an optional segment: it is kept (without the brackets) when every input it refers to
  was given, and dropped otherwise.
- ``${{name}}`` and ``${{output_name}}`` may appear in output paths (Azure ML's path templates).
- In a pipeline step, inputs may be bound to ``${{parent.inputs.x}}`` or ``${{parent.jobs.a.outputs.b}}``
  and outputs to ``${{parent.outputs.y}}``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from ..errors import InvalidJobSpec

EXPRESSION = re.compile(r"\$\{\{\s*([^{}]+?)\s*\}\}")
OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
PARENT_INPUT = re.compile(r"^\$\{\{\s*parent\.inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
PARENT_OUTPUT = re.compile(r"^\$\{\{\s*parent\.outputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
SIBLING_OUTPUT = re.compile(
    r"^\$\{\{\s*parent\.jobs\.([A-Za-z_][A-Za-z0-9_]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$"
)


def references(text: str) -> set[str]:
    """The ``inputs.x`` / ``outputs.y`` names an expression text refers to."""
    return {m.group(1) for m in EXPRESSION.finditer(text)}


def check_command(command: str, inputs: Mapping[str, object], outputs: Mapping[str, object]) -> None:
    """Refuse a command that refers to an input or output the job does not declare (outside ``$[[ ]]``,
    where a missing *input* is allowed)."""
    required = OPTIONAL.sub("", command)
    for ref in references(command):
        kind, _, name = ref.partition(".")
        declared = inputs if kind == "inputs" else outputs if kind == "outputs" else None
        if declared is None:
            raise InvalidJobSpec(f"The command uses ${{{{{ref}}}}}, which is not an inputs.* or outputs.* expression.")
        if name not in declared and (kind == "outputs" or ref in references(required)):
            raise InvalidJobSpec(
                f"The command uses ${{{{{ref}}}}}, but the job has no {kind[:-1]} named {name!r}.",
                details={"reference": ref},
            )


def render_command(command: str, inputs: Mapping[str, str | None], outputs: Mapping[str, str]) -> str:
    """Substitute ``${{inputs.x}}``/``${{outputs.y}}``. ``inputs`` maps each name to its rendered value
    (``None`` when an optional input was not given)."""

    def keep_optional(match: re.Match[str]) -> str:
        body = match.group(1)
        wanted = [r.partition(".")[2] for r in references(body) if r.startswith("inputs.")]
        if all(inputs.get(name) is not None for name in wanted):
            return body
        return ""

    def substitute(match: re.Match[str]) -> str:
        kind, _, name = match.group(1).partition(".")
        table = inputs if kind == "inputs" else outputs if kind == "outputs" else {}
        value = table.get(name)
        if value is None:
            raise InvalidJobSpec(f"No value for ${{{{{match.group(1)}}}}} in the command.")
        return value

    return EXPRESSION.sub(substitute, OPTIONAL.sub(keep_optional, command))


def literal_text(value: object) -> str:
    """How Azure ML writes a literal input into a command (Python's own str: ``True``, ``0.01``)."""
    return str(value)


def path_text(path: str) -> str:
    return shlex.quote(path)


def render_output_path(template: str, job_name: str, output_name: str) -> str:
    """Fill Azure ML's ``${{name}}`` and ``${{output_name}}`` path placeholders."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "name":
            return job_name
        if key == "output_name":
            return output_name
        raise InvalidJobSpec(f"Unsupported expression ${{{{{key}}}}} in output path {template!r}.")

    return EXPRESSION.sub(substitute, template)
