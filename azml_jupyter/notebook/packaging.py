"""Cells + the kernel's namespace -> a job folder that ``az ml job create -f job.yml`` accepts.

    <folder>/job.yml                  CLI-v2 command job (code: src, inline environment or --environment)
    <folder>/src/main.py              the script: imports, notebook functions/classes, shipped values,
                                      then each submitted cell (run from its own file, so a traceback
                                      names the cell and its line), then the returns
    <folder>/src/azml_<label>.py      the submitted cells (azml_in_7.py), IPython syntax rewritten (analysis.py)
    <folder>/src/azml_values/         shipped variables (azml_runtime formats) + manifest.json
    <folder>/src/azml_job.json        what the runtime needs: value entries, returns, parameter types, and
                                      how tracebacks name the user's code (cell files, main.py's cell lines)
    <folder>/src/azml_runtime.py      the runtime helper (a copy of azml_runtime.py)
    <folder>/src/<module>.py          local modules next to the notebook that the code imports
    <folder>/environment/conda.yaml   the kernel's distributions (with versions) the shipped code imports
                                      (environment_capture.py)

One builder for the magic, ``submit_cells``, the panel's command and ``azml-jupyter export``.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
import json
import math
import os
import re
import shutil
import sys
import textwrap
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import InvalidRequest
from ..spec import secrets
from . import analysis, azml_runtime, environment_capture
from .analysis import CellAnalysisError, Definition, TranslatedCell

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job

DEFAULT_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
VALUES_WARN_BYTES = 100 << 20
# Parts of an environment variable's name that say it holds a credential.
SECRET_PHRASES = ("CONNECTION_STRING", "CONNECTIONSTRING", "CONN_STR")
INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UnserialisableVariable(InvalidRequest):
    code = "unserialisable_variable"


@dataclasses.dataclass
class JobOptions:
    """What ``%%azml_submit`` flags and the ``submit_cells`` keywords set."""

    compute: str | None = None
    environment: str | None = None  # a registered environment: name, name:version or name@label
    name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    description: str | None = None
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> local path | azureml:... | URL
    outputs: list[str] = dataclasses.field(default_factory=list)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    returns: list[str] = dataclasses.field(default_factory=list)
    environment_variables: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class JobFolder:
    root: Path
    yaml_text: str
    notes: list[str]  # what was dropped, assumed or left out, for the user to read
    shipped: dict[str, list[str]]  # "imports" / "definitions" / "values" -> names, for messages and tests
    values: dict[str, dict[str, Any]]  # name -> manifest entry (format, bytes, cell)
    requirements: list[str]  # pip requirement lines written to the conda file

    @property
    def job_file(self) -> Path:
        return self.root / "job.yml"

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def load(self) -> Job:
        """The azure-ai-ml entity, via ``load_job`` exactly as ``az ml job create -f`` reads the file."""
        from ..spec.loader import load_job_file

        return load_job_file(self.job_file)


# ---- checks ----------------------------------------------------------------------------------------
def check_no_secrets(environment_variables: Mapping[str, Any] | None) -> None:
    """The product's one rule for credentials in a job's environment (``spec/secrets.py``)."""
    secrets.check_no_secrets(environment_variables, where="the job")


# ---- the builder -----------------------------------------------------------------------------------
def build_cell_job(
    cells: Sequence[str],
    selected: Sequence[int],
    namespace: Mapping[str, Any],
    options: JobOptions,
    folder: Path,
    *,
    labels: Sequence[str] | None = None,
    source: str | None = None,
    data_types: Mapping[str, str] | None = None,
    relative_paths: bool = False,
    hidden: Mapping[str, Any] | None = None,
) -> JobFolder:
    """Write the job folder for ``cells[i] for i in selected`` into ``folder`` (which must be empty or
    absent). ``namespace`` is the kernel's (``get_ipython().user_ns``): values come from it.
    ``data_types``: the type (uri_file/uri_folder) of ``azureml:`` inputs, looked up by the caller.
    ``relative_paths``: write local input paths relative to ``folder`` (an exported, movable folder).
    ``hidden``: what IPython itself put into ``namespace`` (default: ``user_ns_hidden`` of the running
    shell when ``namespace`` is its ``user_ns``); those names are not the user's variables.
    Raises CellAnalysisError / UnserialisableVariable / SecretInJob / InvalidRequest before anything
    could be submitted."""
    labels = list(labels) if labels is not None else cell_labels(len(cells))
    selected = sorted(set(selected))
    if not selected:
        raise InvalidRequest("Select at least one cell to submit.")
    for index in selected:
        if not 0 <= index < len(cells):
            raise InvalidRequest(f"Cell index {index} is out of range (0..{len(cells) - 1}).")
    _check_options(options)

    notes: list[str] = []
    body = [analysis.translate_cell(cells[i], labels[i]) for i in selected]
    for cell in body:
        notes.extend(cell.notes)
    if not any(_has_code(cell.tree) for cell in body):
        raise InvalidRequest("The selected cells have no code to run.")

    earlier: dict[str, Definition] = {}
    for index in range(max(selected)):
        if index in selected:
            continue
        try:
            translated = analysis.translate_cell(cells[index], labels[index], strict=False)
        except CellAnalysisError:
            continue  # a cell that never ran as Python defines nothing; its names resolve from the kernel
        earlier.update(analysis.definitions(translated, index))

    bound_by_job = set(options.inputs) | set(options.outputs) | set(options.params)
    hidden = injected_by_kernel(namespace) if hidden is None else hidden
    resolver = _Resolver(earlier, namespace, bound_by_job, notes, hidden)
    tree = ast.Module(body=[stmt for cell in body for stmt in cell.tree.body], type_ignores=[])
    free = analysis.free_names(tree)
    resolver.resolve(free, where=", ".join(c.label for c in body))

    root = Path(folder)
    src = root / "src"
    values_dir = src / azml_runtime.VALUES_DIR
    src.mkdir(parents=True, exist_ok=False)
    values = resolver.ship_values(str(values_dir))
    total = sum(entry["bytes"] for entry in values.values())
    if total > VALUES_WARN_BYTES:
        notes.append(
            f"The shipped variables take {total / 1e6:.0f} MB; large data travels better as a data asset "
            "(--input name=azureml:asset:version)."
        )
    for name in values:
        if secrets.looks_like_secret(name):
            notes.append(f"Variable {name!r} looks like a credential and is shipped inside the job's code folder.")

    cell_files = []  # one file per cell, named after it, lines numbered as in the cell
    for cell in body:
        file = f"azml_{_slug(cell.label)}.py"
        (src / file).write_text(cell.python, encoding="utf-8")
        cell_files.append((cell.label, file))

    modules = resolver.modules(body)
    local_files = _copy_local_modules(modules, src, notes)
    captured = environment_capture.capture(sorted(modules - local_files))  # this process is the kernel
    notes.extend(captured["notes"])
    requirements = captured["requirements"]

    main, code_lines = _main_script(resolver, cell_files, source)
    (src / "main.py").write_text(main, encoding="utf-8")
    shutil.copy2(azml_runtime.__file__, src / "azml_runtime.py")
    job_json = {
        "source": source or "a notebook",
        "cells": [c.label for c in body],
        # how a traceback names the user's code: cell files and the lines of main.py that came from cells
        "files": {file: label for label, file in cell_files},
        "code_lines": code_lines,
        "values": values,
        "returns": list(options.returns),
        "params": {k: _param_kind(v) for k, v in options.params.items()},
    }
    (src / azml_runtime.JOB_FILE).write_text(json.dumps(job_json, indent=2), encoding="utf-8")

    if options.environment is None:
        write_conda_file(root / "environment" / "conda.yaml", requirements)
    spec = _job_yaml(options, root, data_types or {}, relative_paths, [c.label for c in body], source)
    yaml_text = dump_yaml(spec)
    (root / "job.yml").write_text(yaml_text, encoding="utf-8")
    return JobFolder(
        root=root,
        yaml_text=yaml_text,
        notes=notes,
        shipped={
            "imports": sorted(resolver.imports),
            "definitions": sorted(resolver.code),
            "values": sorted(values),
        },
        values=values,
        requirements=requirements,
    )


def cell_labels(count: int, execution_counts: Sequence[int | None] | None = None) -> list[str]:
    """How messages, job descriptions and tracebacks name cells: as JupyterLab shows them, ``In [5]``
    for a cell with an execution count, else its position among the notebook's code cells."""
    counts = list(execution_counts or [])
    counts += [None] * (count - len(counts))
    return [f"In [{n}]" if isinstance(n, int) and n > 0 else f"code cell {i + 1}" for i, n in enumerate(counts)]


def injected_by_kernel(namespace: Mapping[str, Any]) -> Mapping[str, Any]:
    """What IPython put into ``namespace`` itself, when it is the running shell's ``user_ns``: its
    ``user_ns_hidden`` (open/exit/quit/get_ipython, In/Out/_ih/_oh/_dh, and ``_``, ``_5``, ``_i5``... which
    it pushes with ``interactive=False``). Empty outside IPython."""
    if "IPython" not in sys.modules:
        return {}
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or shell.user_ns is not namespace:
        return {}
    return shell.user_ns_hidden


def _has_code(tree: ast.Module) -> bool:
    return any(not isinstance(s, ast.Pass) for s in tree.body)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").lower() or "cell"


def _param_kind(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float"}.get(type(value), "str")


def _check_options(options: JobOptions) -> None:
    check_no_secrets(options.environment_variables)
    groups = {
        "--input": options.inputs,
        "--output": options.outputs,
        "--param": options.params,
        "--return": options.returns,
    }
    seen: dict[str, str] = {}
    for flag, names in groups.items():
        for name in names:
            if not INPUT_NAME.match(name) or name.startswith("azml_"):
                raise InvalidRequest(f"{flag} {name!r}: use a Python identifier (not starting with 'azml_').")
            if name in seen and {flag, seen[name]} != {"--output", "--return"}:
                raise InvalidRequest(f"{name!r} is given as both {seen[name]} and {flag}.")
            seen[name] = flag
    for name, value in options.params.items():
        if not isinstance(value, (bool, int, float, str)):
            raise InvalidRequest(f"--param {name}: use a number, a bool or a string, not {type(value).__name__}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequest(f"--param {name}: {value} is not a finite number.")
        if isinstance(value, str) and ("'" in value or "\n" in value):
            raise InvalidRequest(f"--param {name}: a string parameter cannot contain a quote or a newline.")


# ---- resolving names -------------------------------------------------------------------------------
class _Resolver:
    """Decides, for each name the submitted code reads, how the job gets it."""

    def __init__(
        self,
        earlier: dict[str, Definition],
        namespace: Mapping[str, Any],
        bound: set[str],
        notes: list[str],
        hidden: Mapping[str, Any],
    ):
        self.earlier = earlier
        self.namespace = namespace
        self.bound = bound  # names the job binds itself (inputs, outputs, parameters)
        self.notes = notes
        self.hidden = hidden  # what IPython put into the namespace itself
        self.imports: dict[str, tuple[tuple, str]] = {}  # name -> (order, statement)
        # name -> (order, source, label, tree, first line in its cell or None)
        self.code: dict[str, tuple[tuple, str, str, ast.AST | None, int | None]] = {}
        self.value_names: dict[str, tuple[tuple, str | None]] = {}  # name -> (order, cell label)
        self.runtime_names: set[str] = set()
        self._values: dict[str, dict[str, Any]] = {}
        self._late = 0

    def _order(self, definition: Definition | None) -> tuple:
        if definition is not None:
            return (definition.cell, definition.line)
        self._late += 1
        return (math.inf, self._late)

    def resolve(self, free: analysis.FreeNames, where: str, *, from_definition: bool = False) -> None:
        pending = [(name, free.lines.get(name, 0), name in free.optional) for name in free.needed]
        while pending:
            name, line, optional = pending.pop(0)
            for extra in self._resolve_one(name, line, optional, free, where, from_definition):
                pending.append(extra)

    def _resolve_one(self, name, line, optional, free, where, from_definition):
        if name in self.imports or name in self.code or name in self.value_names or name in self.bound:
            return []
        if name in self.hidden and name in self.namespace and self.namespace[name] is self.hidden[name]:
            # IPython's own object, not the user's (identity: a user who rebinds `open` keeps theirs)
            kind = analysis.history_kind(name)
            if kind is not None:
                example = f"{name}[5]" if name in ("In", "Out", "_ih", "_oh", "_dh") else name
                raise CellAnalysisError(
                    f"{where}, line {line}: {name!r} is IPython's {kind} history of this kernel; a job has no "
                    f"history. Put what the cell needs into a variable in an earlier cell (`value = {example}`) "
                    "and use that. Nothing was submitted.",
                    details={"name": name, "cell": where, "line": line},
                )
            if name in analysis.PYTHON_BUILTINS:
                return []  # IPython's open/exit/quit stand in for the builtins; the job has the real ones
            if name == "get_ipython":
                raise CellAnalysisError(
                    f"{where}, line {line}: get_ipython does not exist in a job.",
                    details={"name": name, "cell": where, "line": line},
                )
        if name in ("display",) and name not in self.namespace:
            self.runtime_names.add(name)
            return []
        definition = self.earlier.get(name)
        present = name in self.namespace
        value = self.namespace.get(name)
        if definition is not None and definition.kind == "import":
            self.imports[name] = (self._order(definition), definition.source or "")
            return []
        if definition is not None and definition.kind in ("function", "class"):
            # the cell's own code, unless the kernel has since rebound the name to something else
            if not present or (_is_code_object(value) and _import_statement(name, value) is None):
                start = analysis.statement_start(definition.node) if definition.node is not None else None
                return self._ship_code(
                    name, definition.source or "", definition.label, self._order(definition), start
                )
        if present:
            if isinstance(value, types.ModuleType):
                module = value.__name__
                text = (
                    f"import {module}"
                    if module == name
                    else (
                        f"import {module} as {name}"
                        if "." not in module
                        else f"from {module.rpartition('.')[0]} import {module.rpartition('.')[2]} as {name}"
                    )
                )
                self.imports[name] = (self._order(definition), text)
                return []
            if _is_code_object(value):
                module = getattr(value, "__module__", None)
                if module == "__main__":
                    try:
                        text = textwrap.dedent(inspect.getsource(value))
                    except (OSError, TypeError):
                        raise CellAnalysisError(
                            f"{name!r} is a {'class' if isinstance(value, type) else 'function'} defined in the "
                            "kernel whose source cannot be found; define it in a cell before the submitted one.",
                            details={"name": name},
                        ) from None
                    return self._ship_code(name, text, "the kernel", self._order(definition))
                importable = _import_statement(name, value)
                if importable:
                    self.imports[name] = (self._order(definition), importable)
                    return []
            self.value_names[name] = (self._order(definition), definition.label if definition else None)
            return []
        if analysis.is_builtin(name):
            return []
        if optional:
            return []  # a $name in a shell command that is no Python variable: the shell's own
        if definition is not None:
            raise CellAnalysisError(
                f"{name!r} is assigned in {definition.label} but has no value in the kernel; run that cell first.",
                details={"name": name, "cell": definition.label},
            )
        if name in free.maybe_bound or from_definition:
            return []  # bound on some path of the code itself; Python decides at run time
        raise CellAnalysisError(
            f"{where}, line {line}: name {name!r} is not defined in the notebook or the kernel.",
            details={"name": name, "cell": where, "line": line},
        )

    def _ship_code(self, name: str, text: str, label: str, order: tuple, start: int | None = None) -> list:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            raise CellAnalysisError(
                f"The source of {name!r} ({label}) does not parse.", details={"name": name}
            ) from None
        self.code[name] = (order, text, label, tree, start)
        inner = analysis.free_names(tree)
        return [(n, inner.lines.get(n, 0), n in inner.optional) for n in inner.needed if n != name]

    def ship_values(self, folder: str) -> dict[str, dict[str, Any]]:
        """Serialise every value (raising UnserialisableVariable for the first that cannot be); values
        that refer to notebook classes or functions pull those in as code."""
        done: set[str] = set()
        while True:
            todo = [n for n in self.value_names if n not in done]
            if not todo:
                return self._values
            for name in todo:
                done.add(name)
                order, label = self.value_names[name]
                try:
                    entry = azml_runtime.save_value(name, self.namespace[name], folder)
                except azml_runtime.ValueNotSerialisable as exc:
                    where = f"assigned in {label}" if label else "found in the kernel's namespace"
                    raise UnserialisableVariable(
                        f"Variable {name!r} ({where}) cannot be sent to the job: {exc.reason}. "
                        "Create it inside the submitted cell, or pass its data as an --input. Nothing was submitted.",
                        details={"variable": name, "cell": label},
                    ) from None
                entry["cell"] = label
                self._values[name] = entry
                for main_name in entry["main_names"]:
                    empty = analysis.FreeNames([main_name], {main_name: 0}, set(), set(), set())
                    self.resolve(empty, where=f"variable {name!r}", from_definition=True)
                    if main_name not in self.code:
                        raise UnserialisableVariable(
                            f"Variable {name!r} refers to {main_name!r}, defined in the kernel, whose source "
                            "cannot be found. Nothing was submitted.",
                            details={"variable": name},
                        )

    def modules(self, body: list[TranslatedCell]) -> set[str]:
        """Top-level modules the job imports (its own code and the values it unpickles)."""
        found: set[str] = set()
        trees = [c.tree for c in body] + [entry[3] for entry in self.code.values() if entry[3] is not None]
        trees += [ast.parse(text) for _, text in self.imports.values()]
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
        for entry in self._values.values():
            found.update(entry["modules"])
        return {m for m in found if m and m != "__main__"}


def _is_code_object(value: Any) -> bool:
    return isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType))


def _import_statement(name: str, value: Any) -> str | None:
    """``from module import qualname as name`` when that import gives back this very object."""
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not module or module == "__main__" or not qualname or "." in qualname or "<" in qualname:
        return None
    try:
        imported = getattr(importlib.import_module(module), qualname)
    except Exception:
        return None
    if imported is not value:
        return None
    return f"from {module} import {qualname}" + (f" as {name}" if name != qualname else "")


# ---- main.py ---------------------------------------------------------------------------------------
def _main_script(
    resolver: _Resolver, cell_files: list[tuple[str, str]], source: str | None
) -> tuple[str, list[list[Any]]]:
    """main.py, and ``[first, last, label, line]`` for each block of main.py that is a cell's own
    ``def``/``class`` (so a traceback through it names the cell and the cell's line)."""
    lines = [
        f'"""Job script generated by azml_jupyter from {source or "a notebook"}: '
        + ", ".join(label for label, _ in cell_files)
        + ".",
        "",
        "Run it as the job does:",
        "    python main.py [--azml-input NAME=PATH] [--azml-param NAME=VALUE] [--azml-output NAME=PATH]",
        '"""',
        "import azml_runtime as _azml_runtime",
        "",
        "_azml_runtime.start(globals())",
    ]
    if resolver.imports:
        lines += ["", "# imports the submitted code uses"]
        lines += [text for _, text in sorted(resolver.imports.values(), key=lambda item: item[0])]
    items: list[tuple[tuple, str, str | None, int | None]] = []
    for name, (order, text, label, _, start) in resolver.code.items():
        items.append((order, f"# {name}, from {label}\n{text.rstrip()}\n", label, start))
    for name, (order, label) in resolver.value_names.items():
        where = f"from {label}" if label else "from the kernel"
        items.append((order, f"{name} = _azml_runtime.value({name!r})  # {where}", None, None))
    code_lines: list[list[Any]] = []
    if items:
        lines += ["", "# what the submitted code uses from earlier cells, in notebook order"]
        for _, text, label, start in sorted(items, key=lambda item: item[0]):
            if start is not None:
                first = "\n".join(lines).count("\n") + 3  # 1-based, after the "# name, from label" comment
                code_lines.append([first, first + text.rstrip().count("\n") - 1, label, start])
            lines.append(text)
    lines += [""]
    lines += [f"_azml_runtime.run_cell({file!r}, globals())  # {label}" for label, file in cell_files]
    lines += ["_azml_runtime.finish(globals())", ""]
    return "\n".join(lines), code_lines


# ---- environment capture (environment_capture.py) ---------------------------------------------
def _copy_local_modules(modules: set[str], src: Path, notes: list[str]) -> set[str]:
    """Ship modules that live next to the notebook (``import helpers`` of ./helpers.py) with the code."""
    cwd = Path.cwd().resolve()
    prefixes = {Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
    copied: set[str] = set()
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module == "azml_runtime":
            continue
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
            continue
        origin = Path(spec.origin).resolve()
        if cwd not in origin.parents or any(p in origin.parents for p in prefixes):
            continue
        if spec.submodule_search_locations:
            package = origin.parent
            shutil.copytree(package, src / package.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, src / origin.name)
        notes.append(f"Local module {module!r} ({origin.relative_to(cwd)}) is shipped with the code.")
        copied.add(module)
    return copied


def write_conda_file(
    path: Path, requirements: Sequence[str], *, python_version: str | None = None, extra_comment: str = ""
) -> None:
    """``python_version``: the kernel's full version (default: this process's, when it is the kernel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    full = python_version or sys.version.split()[0]
    python = ".".join(full.split(".")[:2])
    spec = {
        "name": "azml-notebook-job",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": list(requirements)}],
    }
    header = (
        f"# Captured by azml_jupyter from the kernel's environment (Python {full}):\n"
        "# the installed distributions, with their versions, of the modules the job imports.\n" + extra_comment
    )
    path.write_text(header + dump_yaml(spec), encoding="utf-8")


# ---- job.yml ---------------------------------------------------------------------------------------
def _job_yaml(
    options: JobOptions,
    root: Path,
    data_types: Mapping[str, str],
    relative_paths: bool,
    cell_labels: list[str],
    source: str | None,
) -> dict[str, Any]:
    command = ["python main.py"]
    inputs: dict[str, Any] = {}
    for name, where in options.inputs.items():
        inputs[name] = data_input(where, root, data_types.get(name), relative_paths, name)
        command.append(f"--azml-input {name}=${{{{inputs.{name}}}}}")
    for name, value in options.params.items():
        inputs[name] = value
        command.append(f"--azml-param '{name}=${{{{inputs.{name}}}}}'")
    outputs: dict[str, Any] = {name: {"type": "uri_folder"} for name in options.outputs}
    for name in options.outputs:
        command.append(f"--azml-output {name}=${{{{outputs.{name}}}}}")
    if options.returns:
        outputs[azml_runtime.RETURNS_OUTPUT] = {"type": "uri_folder"}
        command.append(f"--azml-output {azml_runtime.RETURNS_OUTPUT}=${{{{outputs.{azml_runtime.RETURNS_OUTPUT}}}}}")
    spec: dict[str, Any] = {"$schema": SCHEMA, "type": "command"}
    if options.name:
        spec["name"] = options.name
    spec["display_name"] = options.display_name or default_display_name(source, cell_labels)
    if options.experiment_name:
        spec["experiment_name"] = options.experiment_name
    spec["description"] = options.description or (
        f"{', '.join(cell_labels)} of {source or 'a notebook'}, submitted by azml_jupyter"
    )
    if options.tags:
        spec["tags"] = dict(options.tags)
    spec["code"] = "src"
    spec["command"] = " ".join(command)
    spec["environment"] = environment_reference(options.environment) or {
        "image": DEFAULT_IMAGE,
        "conda_file": "environment/conda.yaml",
    }
    if options.compute:
        spec["compute"] = compute_reference(options.compute)
    if inputs:
        spec["inputs"] = inputs
    if outputs:
        spec["outputs"] = outputs
    if options.environment_variables:
        spec["environment_variables"] = {str(k): str(v) for k, v in options.environment_variables.items()}
    return spec


def default_display_name(source: str | None, labels: Sequence[str]) -> str:
    stem = Path(source).stem if source else "notebook"
    return f"{stem} {', '.join(labels)}"


def environment_reference(environment: str | None) -> str | None:
    if not environment:
        return None
    if environment.startswith("azureml:"):
        return environment
    if ":" in environment or "@" in environment:
        return f"azureml:{environment}"
    return f"azureml:{environment}@latest"


def compute_reference(compute: str) -> str:
    return compute if compute.startswith("azureml:") else f"azureml:{compute}"


def data_input(where: str, root: Path, data_type: str | None, relative: bool, name: str) -> dict[str, Any]:
    """``--input name=...`` -> the YAML input: a local file or folder (uploaded at submission), a data
    asset ``azureml:name:version`` / ``azureml:name@latest``, or a URI."""
    if where.startswith(("azureml:", "http://", "https://", "wasbs://", "abfss://")):
        return {"type": data_type or "uri_folder", "path": where}
    local = Path(where).expanduser().resolve()
    if not local.exists():
        raise InvalidRequest(f"--input {name}: {where} does not exist (resolved to {local}).", details={"input": name})
    path = os.path.relpath(local, root) if relative else str(local)
    return {"type": "uri_folder" if local.is_dir() else "uri_file", "path": path}


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
