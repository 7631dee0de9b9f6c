"""What a job needs from the kernel's environment: the installed distributions (``name==version``) that
provide the modules the job imports, and the kernel's Python version.

Cell jobs are built inside the kernel, so ``capture`` runs in-process. A whole-notebook job is built
wherever ``submit_notebook`` runs (the Jupyter server, another kernel), while the notebook's own kernel may
be another environment: ``capture_in`` runs this very file in that kernel's interpreter (fed on stdin, so
nothing has to be installed there). Hence: the standard library only.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import sys

RUNTIME_MODULE = "azml_runtime"  # shipped with every job, never a distribution


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def capture(modules: list[str]) -> dict:
    """``{"python": "3.11.7", "executable": ..., "requirements": ["pandas==2.2.3", ...], "notes": [...]}``
    for the top-level ``modules`` (standard-library modules skipped; local installs left out with a note)."""
    stdlib = set(sys.stdlib_module_names)
    mapping = _packages_distributions()
    found: dict[str, str] = {}
    notes: list[str] = []
    for module in sorted(set(modules)):
        if module in stdlib or module == RUNTIME_MODULE:
            continue
        dists = mapping.get(module)
        if not dists:
            notes.append(f"Module {module!r} comes from no installed distribution; the job may not find it.")
            continue
        for dist_name in dists[:1]:
            try:
                dist = importlib.metadata.distribution(dist_name)
            except importlib.metadata.PackageNotFoundError:
                continue
            canonical = dist.metadata["Name"] or dist_name
            if _is_local_install(dist):
                notes.append(
                    f"{canonical} {dist.version} is installed from a local folder (editable or file://); "
                    "it is not in the job's environment: publish it or pass --environment."
                )
                continue
            found[canonical.lower()] = f"{canonical}=={dist.version}"
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "requirements": [found[k] for k in sorted(found)],
        "notes": notes,
    }


def _is_local_install(dist: importlib.metadata.Distribution) -> bool:
    try:
        text = dist.read_text("direct_url.json")
    except Exception:
        return False
    if not text:
        return False
    try:
        info = json.loads(text)
    except ValueError:
        return False
    return bool(info.get("dir_info", {}).get("editable")) or str(info.get("url", "")).startswith("file:")


def capture_in(interpreter: str, modules: list[str], *, env: dict[str, str] | None = None, what: str) -> dict:
    """``capture(modules)`` as seen by another Python interpreter (``what`` names it in errors)."""
    import subprocess

    from ..errors import InvalidRequest

    with open(__file__, encoding="utf-8") as fh:
        source = fh.read()
    try:
        done = subprocess.run(
            [interpreter, "-", json.dumps(sorted(set(modules)))],
            input=source,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidRequest(f"Cannot run {what} ({interpreter}) to capture its environment: {exc}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InvalidRequest(f"Cannot capture the environment of {what} ({interpreter}): {tail}")
    return json.loads(lines[-1])


if __name__ == "__main__":  # python - MODULES_JSON < environment_capture.py
    print(json.dumps(capture(json.loads(sys.argv[1]))))
