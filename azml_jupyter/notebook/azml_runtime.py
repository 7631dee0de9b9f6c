"""The runtime of a notebook-cell job, shipped as ``src/azml_runtime.py`` next to the generated ``main.py``.

It is also ``azml_jupyter.notebook.azml_runtime`` in the kernel, so values are written (kernel -> job,
job -> kernel) and read by one implementation. It must run on a bare Python: the standard library
only at import time; pandas/numpy are imported only to read or write values of their own types.

Value formats (one file per value under a folder with ``manifest.json``):

- ``json``    plain data (None, bool, int, finite float, str, lists, dicts with str keys), < 1 MB
- ``npy``     numpy arrays without Python objects inside (``allow_pickle=False`` on both sides)
- ``parquet`` pandas DataFrames with string column names, when pyarrow is installed
- ``pickle``  everything else (protocol 5). Only files this job or the kernel wrote are unpickled.

In the job: ``main.py`` calls ``start(globals())`` (binds ``--azml-input/--azml-output/--azml-param``
names), ``value(name)`` for shipped variables, ``run_cell(path, globals())`` for each submitted cell,
``finish(globals())`` to save the ``--return`` variables into the ``azml_returns`` output.

As a script: ``python azml_runtime.py papermill NB.ipynb outputs/NB.ipynb [papermill options]`` runs a
whole-notebook job with the notebook's own kernel (``notebook_job.py``).
"""

from __future__ import annotations

import ast
import io
import json
import linecache
import math
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import traceback
import types
from typing import Any

MANIFEST = "manifest.json"
JOB_FILE = "azml_job.json"  # written next to main.py: values, returns, params
VALUES_DIR = "azml_values"
RETURNS_OUTPUT = "azml_returns"
JSON_LIMIT = 1 << 20


class ValueNotSerialisable(Exception):
    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


# ---- values ---------------------------------------------------------------------------------------
class _RecordingPickler(pickle.Pickler):
    """Pickles as usual and notes which globals the pickle refers to: ``__main__`` names (classes and
    functions the notebook defined, which the job must define before loading) and top-level modules
    (whose distributions the job's environment needs)."""

    def __init__(self, file: io.BytesIO):
        super().__init__(file, protocol=5)
        self.main_names: set[str] = set()
        self.modules: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            module = getattr(obj, "__module__", None)
            if module == "__main__":
                self.main_names.add(getattr(obj, "__qualname__", obj.__name__).split(".")[0])
            elif module:
                self.modules.add(module.split(".")[0])
        return NotImplemented


def _is_plain(value: Any, depth: int = 0) -> bool:
    if depth > 50:
        return False
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_is_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__


def save_value(name: str, value: Any, folder: str) -> dict[str, Any]:
    """Write one value; returns its manifest entry (with ``main_names``/``modules`` it refers to).
    Raises ValueNotSerialisable with the reason."""
    os.makedirs(folder, exist_ok=True)
    entry: dict[str, Any] = {"type": _type_name(value), "main_names": [], "modules": []}
    kind = type(value)
    if _is_plain(value):
        text = json.dumps(value)
        if len(text) <= JSON_LIMIT:
            _write(folder, f"{name}.json", text.encode())
            return {**entry, "format": "json", "file": f"{name}.json", "bytes": len(text)}
    if kind.__module__ == "numpy" and kind.__name__ == "ndarray" and not value.dtype.hasobject:
        import numpy

        buffer = io.BytesIO()
        numpy.save(buffer, value, allow_pickle=False)
        _write(folder, f"{name}.npy", buffer.getvalue())
        return {**entry, "format": "npy", "file": f"{name}.npy", "bytes": buffer.tell(), "modules": ["numpy"]}
    if kind.__module__.startswith("pandas") and kind.__name__ == "DataFrame" and _parquet_available():
        if all(isinstance(c, str) for c in value.columns) and value.columns.nlevels == 1:
            buffer = io.BytesIO()
            try:
                value.to_parquet(buffer)
            except Exception:  # mixed-type object columns and the like: pickle keeps them exactly
                pass
            else:
                _write(folder, f"{name}.parquet", buffer.getvalue())
                return {
                    **entry,
                    "format": "parquet",
                    "file": f"{name}.parquet",
                    "bytes": buffer.tell(),
                    "modules": ["pandas", "pyarrow"],
                }
    buffer = io.BytesIO()
    pickler = _RecordingPickler(buffer)
    try:
        pickler.dump(value)
    except Exception as exc:
        raise ValueNotSerialisable(
            name, f"{_type_name(value)} cannot be pickled ({type(exc).__name__}: {exc})"
        ) from None
    _write(folder, f"{name}.pkl", buffer.getvalue())
    return {
        **entry,
        "format": "pickle",
        "file": f"{name}.pkl",
        "bytes": buffer.tell(),
        "main_names": sorted(pickler.main_names),
        "modules": sorted(pickler.modules),
    }


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _write(folder: str, file: str, data: bytes) -> None:
    with open(os.path.join(folder, file), "wb") as fh:
        fh.write(data)


def load_value(entry: dict[str, Any], folder: str) -> Any:
    path = os.path.join(folder, entry["file"])
    fmt = entry["format"]
    if fmt == "json":
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    if fmt == "npy":
        import numpy

        return numpy.load(path, allow_pickle=False)
    if fmt == "parquet":
        import pandas

        return pandas.read_parquet(path)
    if fmt == "pickle":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    raise ValueError(f"unknown value format {fmt!r} in {folder}")


def save_values(values: dict[str, Any], folder: str) -> dict[str, Any]:
    manifest = {name: save_value(name, value, folder) for name, value in values.items()}
    _write(folder, MANIFEST, json.dumps(manifest, indent=2).encode())
    return manifest


def load_values(folder: str) -> dict[str, Any]:
    with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
        manifest = json.load(fh)
    return {name: load_value(entry, folder) for name, entry in manifest.items()}


# ---- inside the job ---------------------------------------------------------------------------------
_job: dict[str, Any] = {}
_outputs: dict[str, str] = {}
_here = os.path.dirname(os.path.abspath(__file__))


def start(namespace: dict[str, Any]) -> None:
    """Read ``azml_job.json`` and the command line; bind inputs, outputs and parameters as variables."""
    with open(os.path.join(_here, JOB_FILE), encoding="utf-8") as fh:
        _job.update(json.load(fh))
    args = sys.argv[1:]
    while args:
        flag, pair = args[0], args[1] if len(args) > 1 else ""
        args = args[2:]
        key, _, text = pair.partition("=")
        if flag == "--azml-input":
            namespace[key] = text
        elif flag == "--azml-output":
            _outputs[key] = text
            if key != RETURNS_OUTPUT:
                os.makedirs(text, exist_ok=True)
                namespace[key] = text
        elif flag == "--azml-param":
            namespace[key] = _parse_param(text, _job.get("params", {}).get(key, "str"))
        else:
            raise SystemExit(f"azml_runtime: unknown argument {flag!r}")
    namespace.setdefault("display", display)
    print(f"[azml] job from {_job.get('source', 'a notebook')}; running {', '.join(_job.get('cells', []))}", flush=True)


def _parse_param(text: str, kind: str) -> Any:
    if kind == "bool":
        return text.strip().lower() in ("true", "1", "yes")
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    return text


def value(name: str) -> Any:
    folder = os.path.join(_here, VALUES_DIR)
    return load_value(_job["values"][name], folder)


def run_cell(file: str, namespace: dict[str, Any]) -> None:
    """Run one submitted cell as the kernel would: its last expression, if any, is displayed (printed).

    The cell is compiled under its label (``In [6]``; its lines are the cell's, registered with
    linecache as IPython does), so a traceback reads ``File "In [6]", line 2``. When the cell raises,
    the traceback shows the user's frames only (cells and their functions, and the libraries they call;
    not main.py or this file), then ``[azml] In [6], line 2: ValueError: ...`` as the last line, which
    the local engine reports as the job's error; the job exits 1."""
    path = os.path.join(_here, file)
    label = _job.get("files", {}).get(file, file)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    linecache.cache[label] = (len(text), None, text.splitlines(keepends=True), label)
    tree = ast.parse(text, filename=label)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = tree.body[:-1] if last is not None else tree.body
    try:
        exec(compile(ast.Module(body=body, type_ignores=[]), label, "exec"), namespace)
        if last is not None:
            result = eval(compile(ast.Expression(last.value), label, "eval"), namespace)
            if result is not None:
                display(result)
    except Exception as exc:  # SystemExit/KeyboardInterrupt keep their meaning
        sys.stdout.flush()
        report = traceback.TracebackException.from_exception(exc)
        where = _user_frames(report)
        sys.stderr.write("".join(report.format()))
        place = f"{where[0]}, line {where[1]}: " if where else ""
        sys.stderr.write(f"[azml] {place}{''.join(report.format_exception_only()).strip()}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None


def _user_frames(report: traceback.TracebackException) -> tuple[str, int] | None:
    """Drop this file's and main.py's own frames from ``report`` (and its causes), name frames of
    main.py that are a cell's function by that cell and line; returns the innermost user place."""
    own, main = os.path.realpath(__file__), os.path.realpath(os.path.join(_here, "main.py"))
    blocks = _job.get("code_lines", [])
    frames, place = [], None
    for frame in report.stack:
        filename = os.path.realpath(frame.filename) if os.path.isabs(frame.filename) else frame.filename
        if filename == own:
            continue
        if filename == main:
            block = next((b for b in blocks if b[0] <= frame.lineno <= b[1]), None)
            if block is None:
                continue  # main.py's own lines: imports, loading values, calling the cell
            frame = traceback.FrameSummary(block[2], block[3] + frame.lineno - block[0], frame.name, line=frame.line)
        frames.append(frame)
        if frame.filename in _job.get("cells", []) or frame.filename in [b[2] for b in blocks]:
            place = (frame.filename, frame.lineno)
    report.stack = traceback.StackSummary.from_list(frames)
    for linked in (report.__cause__, report.__context__):
        if linked is not None:
            _user_frames(linked)
    return place


def finish(namespace: dict[str, Any]) -> None:
    """Save the ``--return`` variables into the returns output."""
    names = _job.get("returns", [])
    if not names:
        return
    missing = [n for n in names if n not in namespace]
    if missing:
        raise SystemExit(f"--return {', '.join(missing)}: the submitted cell did not define {', '.join(missing)}.")
    folder = _outputs.get(RETURNS_OUTPUT)
    if not folder:
        raise SystemExit("azml_runtime: no --azml-output azml_returns=PATH on the command line.")
    manifest = save_values({n: namespace[n] for n in names}, folder)
    sizes = ", ".join(f"{n} ({e['format']}, {e['bytes']} bytes)" for n, e in manifest.items())
    print(f"[azml] returned {sizes}", flush=True)


def display(*objects: Any, **_: Any) -> None:
    """The job's ``display``: what the notebook would show (the object's repr), as text in the log."""
    for obj in objects:
        print(repr(obj), flush=True)


# ---- IPython syntax in jobs (see analysis.translate_cell) ----------------------------------------------
_EXPANSION = re.compile(r"(?<![{$]){([^{}]+)}(?!})|(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)")


def _expand(command: str, global_ns: dict[str, Any], local_ns: dict[str, Any]) -> str:
    """IPython's ``{expr}`` / ``$name`` expansion in shell commands; what cannot be expanded is kept."""

    def replace(match: re.Match[str]) -> str:
        if match.group(2):
            name = match.group(2)
            if name in local_ns:
                return str(local_ns[name])
            return str(global_ns[name]) if name in global_ns else match.group(0)
        try:
            return str(eval(match.group(1), global_ns, local_ns))
        except Exception:
            return match.group(0)

    return _EXPANSION.sub(replace, command).replace("$$", "$")


def system(command: str, global_ns: dict[str, Any], local_ns: dict[str, Any]) -> None:
    sys.stdout.flush()
    subprocess.run(_expand(command, global_ns, local_ns), shell=True, check=False)


def getoutput(command: str, global_ns: dict[str, Any], local_ns: dict[str, Any]) -> list[str]:
    done = subprocess.run(_expand(command, global_ns, local_ns), shell=True, capture_output=True, text=True)
    return (done.stdout + done.stderr).splitlines()


def shell(script: str) -> None:
    sys.stdout.flush()
    done = subprocess.run(["bash", "-c", script], check=False)
    if done.returncode:
        raise RuntimeError(f"%%bash cell exited with code {done.returncode}")


def writefile(line: str, body: str) -> None:
    parts = shlex.split(line)
    append = "-a" in parts or "--append" in parts
    path = [p for p in parts if not p.startswith("-")][0]
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        fh.write(body)
    print(f"{'Appending to' if append else 'Writing'} {path}")


def env(line: str) -> Any:
    line = line.strip()
    if not line:
        return dict(os.environ)
    if "=" in line or " " in line:
        key, _, val = line.replace("=", " ", 1).partition(" ")
        os.environ[key.strip()] = val.strip()
        return None
    return os.environ.get(line)


def cd(line: str) -> None:
    os.chdir(os.path.expanduser(line.strip().strip("'\"") or "~"))
    print(os.getcwd())


# ---- whole-notebook jobs ---------------------------------------------------------------------------
NOTEBOOK_JOB_FILE = "azml_notebook.json"  # next to the notebook: its kernel, the submission's notes
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_papermill(args: list[str]) -> int:
    """``python azml_runtime.py papermill NB.ipynb outputs/NB.ipynb -k KERNEL ...``: papermill's own
    command line, run with the notebook's kernel (``azml_notebook.json``), cells numbered as the user
    sees the notebook in the log, and a failure reported as the failing cell's traceback plus one line."""
    with open(os.path.join(_here, NOTEBOOK_JOB_FILE), encoding="utf-8") as fh:
        job = json.load(fh)
    for note in job.get("notes", []):
        print(f"[azml] note: {note}", flush=True)
    kernels = _install_kernel(job["kernel"])
    executed = args[1] if len(args) > 1 else ""
    if os.path.dirname(executed):
        os.makedirs(os.path.dirname(executed), exist_ok=True)  # ./outputs, the job's default output
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # as papermill's CLI does
    for handler in logging.getLogger().handlers:
        handler.addFilter(_CellNumbers(executed))
    # jsonschema's optional IRI format checker (rfc3987_syntax, pulled in by nbformat) builds a grammar
    # at import: 1.2 s of the 2.3 s `import papermill.cli` takes here; no notebook schema uses that format
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from papermill.cli import papermill as papermill_cli
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill_cli.main(args=args, prog_name="papermill", standalone_mode=False)
    except PapermillExecutionError:
        return notebook_error(executed)
    except Exception as exc:  # a bad option, a parameter papermill cannot inject, a kernel that does not start
        print(f"[azml] papermill failed before any cell raised: {type(exc).__name__}: {exc}", flush=True)
        return 1
    finally:
        shutil.rmtree(kernels, ignore_errors=True)
    return 0


def _install_kernel(kernel: dict[str, Any]) -> str:
    """Make the notebook's kernel papermill's ``-k NAME`` here: a kernelspec in a private JUPYTER_PATH
    folder (searched before the user's and the system's). It runs the kernel's own interpreter where that
    exists (the local engine: the machine the notebook was submitted from), else this job's Python, whose
    environment was built from the kernel's captured one (Azure ML)."""
    name, display_name = kernel["name"], kernel.get("display_name") or kernel["name"]
    interpreter = kernel.get("interpreter") or ""
    if interpreter and os.access(interpreter, os.X_OK):
        argv, env = kernel["argv"], kernel.get("env", {})
        print(
            f"[azml] Notebook kernel: {display_name} ({name}), interpreter {interpreter} "
            f"(Python {kernel.get('python', '?')})",
            flush=True,
        )
    else:
        argv, env = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], {}
        print(
            f"[azml] Notebook kernel: {display_name} ({name}); its interpreter {interpreter} is not on this "
            f"machine, so it runs with this job's Python {sys.executable} (Python {sys.version.split()[0]}), "
            "from the environment captured from that kernel",
            flush=True,
        )
    folder = tempfile.mkdtemp(prefix="azml-kernel-")
    spec = os.path.join(folder, "kernels", name)
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w", encoding="utf-8") as fh:
        json.dump({"argv": argv, "display_name": display_name, "language": "python", "env": env}, fh)
    os.environ["JUPYTER_PATH"] = os.pathsep.join([folder] + [p for p in [os.environ.get("JUPYTER_PATH")] if p])
    return folder


def _user_cells(notebook: dict[str, Any]) -> dict[int, str | None]:
    """Cell index in the executed notebook -> how the user names it (``code cell 2``: the cell papermill
    injects is not one of theirs); None for markdown and raw cells."""
    labels: dict[int, str | None] = {}
    number = 0
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            labels[index] = None
        elif "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
            labels[index] = "injected parameters cell"
        else:
            number += 1
            labels[index] = f"code cell {number}"
    return labels


def _read_notebook(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


class _CellNumbers:
    """A logging filter: papermill logs "Executing Cell 4----" counting every cell of the executed
    notebook (markdown cells and the injected one too); say "code cell 2", as the user sees the notebook,
    and leave out the cells that do not run."""

    _LINE = re.compile(r"^(Executing|Ending) Cell (\d+)-*$")

    def __init__(self, executed: str):
        self.executed = executed
        self.labels: dict[int, str | None] | None = None

    def filter(self, record: Any) -> bool:
        match = self._LINE.match(record.getMessage())
        if not match:
            return True
        if self.labels is None:  # papermill wrote the executed notebook (injected cell in) before cell 1
            self.labels = _user_cells(_read_notebook(self.executed) or {})
        index = int(match.group(2)) - 1
        if index not in self.labels:
            return True
        label = self.labels[index]
        if label is None:
            return False
        record.msg, record.args = f"{match.group(1)} {label} ".ljust(45, "-"), ()
        return True


def notebook_error(path: str) -> int:
    """Print the failing cell's traceback and, as the last line (the job's error), which cell failed,
    numbered as in the notebook the user submitted; exit status 1."""
    notebook = _read_notebook(path)
    if notebook is None:
        print(f"[azml] the notebook did not run to the end and {path} was not written.", flush=True)
        return 1
    labels = _user_cells(notebook)
    cells = notebook.get("cells", [])
    # IPython's traceback says "Cell In[4]": the kernel's execution count, which counts the injected cell
    by_count = {c.get("execution_count"): labels[i] for i, c in enumerate(cells) if c.get("execution_count")}
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            text = _ANSI.sub("", "\n".join(output.get("traceback", [])))
            text = re.sub(r"Cell In\[(\d+)\]", lambda m: by_count.get(int(m.group(1))) or m.group(0), text)
            print(text, flush=True)
            source = "".join(cell.get("source", "")).strip().splitlines()
            first = source[0][:80] if source else ""
            name = os.path.basename(path)
            print(
                f"[azml] Notebook failed in {labels[index]} of {name} ({first!r}): "
                f"{output.get('ename')}: {output.get('evalue')}",
                flush=True,
            )
            return 1
    print("[azml] papermill failed before any cell raised (kernel start or a missing parameter).", flush=True)
    return 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "papermill":
        sys.exit(run_papermill(sys.argv[2:]))
    sys.exit("usage: python azml_runtime.py papermill NOTEBOOK OUTPUT [papermill options]")
