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

As a script: ``python azml_runtime.py notebook-error EXECUTED.ipynb`` names the cell of a failed
papermill run (whole-notebook jobs) and exits 1.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import pickle
import re
import shlex
import subprocess
import sys
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
    """Run one submitted cell as the kernel would: its last expression, if any, is displayed (printed)."""
    path = os.path.join(_here, file)
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=path)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = tree.body[:-1] if last is not None else tree.body
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), namespace)
    if last is not None:
        result = eval(compile(ast.Expression(last.value), path, "eval"), namespace)
        if result is not None:
            display(result)


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
def notebook_error(path: str) -> int:
    """Print which cell of a papermill-executed notebook failed (papermill marks nothing in the log's
    last line); exit status 1 so the job is Failed with that line as its error."""
    try:
        with open(path, encoding="utf-8") as fh:
            notebook = json.load(fh)
    except (OSError, ValueError):
        print(f"[azml] the notebook did not run to the end and {path} was not written.", flush=True)
        return 1
    code_cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, 1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                source = "".join(cell.get("source", "")).strip().splitlines()
                first = source[0][:80] if source else ""
                count = cell.get("execution_count")
                print(
                    f"[azml] Notebook failed in code cell {number} (In [{count}]: {first!r}): "
                    f"{output.get('ename')}: {output.get('evalue')}",
                    flush=True,
                )
                return 1
    print("[azml] papermill failed before any cell raised (kernel start or a missing parameter).", flush=True)
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "notebook-error":
        sys.exit(notebook_error(sys.argv[2]))
    sys.exit("usage: python azml_runtime.py notebook-error EXECUTED.ipynb")
