"""Benchmark: ``%%azml_submit`` on the local engine, measured from outside a real kernel.

    .venv/bin/python benchmarks/magic_submit.py [--rows 1000000] [--repeat 5] [--json results.json]

Two figures (results in docs/notebook-jobs.md):

1. submit -> Running: from sending the ``%%azml_submit --no-wait`` cell to the kernel until the job is
   Running (the engine's ``started_at``, a wall-clock stamp, so polling adds nothing), and until the
   magic has returned (the kernel is free again). The first submission of a kernel is reported apart:
   it imports azure.ai.ml and may start the engine daemon.
2. overhead vs running directly: the same cell (a groupby over a DataFrame of ``--rows`` rows made in
   an earlier cell, so the DataFrame is shipped as Parquet) run in the kernel, against the whole job
   with ``--wait --return result`` (package, submit, run, fetch the result back into the kernel).

Uses a fresh local workspace in a temporary folder (or ``--home``); nothing else is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

SETUP = [
    "%load_ext azml_jupyter",
    "import numpy as np\nimport pandas as pd",
    "rng = np.random.default_rng(0)\n"
    "frame = pd.DataFrame({'group': rng.integers(0, 100, ROWS), 'x': rng.random(ROWS), 'y': rng.random(ROWS)})",
    "def summarise(df):\n    return df.groupby('group')[['x', 'y']].mean().sum().round(6).to_dict()",
]
WORK = "result = summarise(frame)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--home", help="local workspace folder (default: a new temporary one)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="azml-bench-home-"))
    os.environ["AZML_JUPYTER_HOME"] = str(home)
    os.environ.pop("AZML_JUPYTER_BACKEND", None)
    from jupyter_client.manager import start_new_kernel

    from azml_jupyter.backends.local import LocalBackend

    backend = LocalBackend(home)
    workdir = Path(tempfile.mkdtemp(prefix="azml-bench-nb-"))
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(workdir), env=dict(os.environ))
    try:
        for cell in SETUP:
            run(kc, cell.replace("ROWS", str(args.rows)))

        # 1. submit -> Running (and -> the magic returned)
        to_running, to_return = [], []
        for index in range(args.repeat + 1):
            name = f"bench_submit_{index}_{int(time.time())}"
            started = time.time()
            run(kc, f"%%azml_submit --no-wait --name {name}\n{WORK}")
            returned = time.time() - started
            record = wait_for(backend, name, lambda r: r.started_at is not None)
            running = _epoch(record.started_at) - started
            to_running.append(running)
            to_return.append(returned)
            wait_for(backend, name, lambda r: r.is_terminal)

        # 2. overhead: in the kernel vs the whole job with the result brought back
        direct, job = [], []
        for index in range(args.repeat):
            reply = run(kc, f"import time as _t\n_s = _t.perf_counter()\n{WORK}\nprint(_t.perf_counter() - _s)")
            direct.append(float(reply.strip().splitlines()[-1]))
            started = time.perf_counter()
            run(kc, f"%%azml_submit --wait --return result --name bench_wait_{index}_{int(time.time())}\n{WORK}")
            job.append(time.perf_counter() - started)
        size = run(kc, "import io\n_b = io.BytesIO()\nframe.to_parquet(_b)\nprint(_b.tell())").strip().splitlines()[-1]
        check = run(kc, "expected = summarise(frame)\nprint(expected == result)").strip().splitlines()[-1]
        assert check == "True", "the job's result differs from the kernel's"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        backend.close()

    figures = {
        "rows": args.rows,
        "shipped_parquet_bytes": int(size),
        "cold_submit_to_running_s": round(to_running[0], 3),
        "cold_magic_returned_s": round(to_return[0], 3),
        "warm_submit_to_running_s": _stats(to_running[1:]),
        "warm_magic_returned_s": _stats(to_return[1:]),
        "direct_in_kernel_s": _stats(direct),
        "job_with_result_back_s": _stats(job),
        "overhead_s": round(statistics.median(job) - statistics.median(direct), 3),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


def run(kc, code: str, timeout: float = 600) -> str:
    """Execute in the kernel; return its stdout; raise on an error."""
    out: list[str] = []
    errors: list[str] = []

    def hook(message):
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            (errors if content["name"] == "stderr" else out).append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {code[:60]!r}: {''.join(errors)[-2000:]}")
    return "".join(out)


def wait_for(backend, name: str, condition, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = backend.get_job(name)
        if condition(record):
            return record
        time.sleep(0.01)
    raise TimeoutError(name)


def _epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


if __name__ == "__main__":
    sys.exit(main())
