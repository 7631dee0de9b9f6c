"""100 trivial command jobs through the local engine vs the same 100 commands as bare subprocesses.

Both run at the same concurrency (the local cluster's node count), in the same script, so the ratio
is the engine's own cost: submission, queueing, scheduling, log capture, status bookkeeping.
Also reports submit -> Running latency per job (the engine's recorded created_at -> started_at).

    .venv/bin/python benchmarks/engine_throughput.py [--jobs 100] [--nodes 2] [--rounds 3] [--command "..."]

Results and the machine they came from: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bare(command: str, jobs: int, nodes: int) -> float:
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(nodes) as pool:
        codes = list(pool.map(lambda _: subprocess.run(["/bin/bash", "-c", command], capture_output=True).returncode, range(jobs)))
    assert codes == [0] * jobs
    return time.perf_counter() - start


def engine(command: str, jobs: int, nodes: int) -> tuple[float, list[float]]:
    from azml_jupyter.engine import daemon
    from azml_jupyter.engine.workspace import LocalWorkspace
    from azml_jupyter.spec.loader import load_job_text
    from azml_jupyter.spec.normalize import job_to_spec

    with tempfile.TemporaryDirectory(prefix="azml-bench-") as home:
        workspace = LocalWorkspace(home)
        workspace.create_or_update_compute("local", max_nodes=nodes)
        # one load_job (the 1.6 s SDK import is a per-process cost, not a per-job one), then 100 submissions
        spec = job_to_spec(load_job_text(f"command: {command}\nenvironment: azureml:bench:1\n", base_path=home))
        daemon.ensure_running(workspace.layout)
        while not workspace.layout.engine_pid.exists():  # written once the daemon is up (its start-up is not timed)
            time.sleep(0.01)
        start = time.time()  # the engine stamps jobs with time.time(): the same clock
        names = [workspace.submit(spec).name for _ in range(jobs)]
        pending = set(names)
        while pending:
            rows = workspace.store.read(
                f"SELECT name, status FROM jobs WHERE name IN ({','.join('?' * len(pending))})", list(pending)
            )
            for row in rows:
                if row["status"] in ("Completed", "Failed", "Canceled"):
                    assert row["status"] == "Completed", row
                    pending.discard(row["name"])
            if pending:
                time.sleep(0.05)  # light polling: the benchmark must not steal the CPU it measures
        # the last job's recorded end, not when this loop noticed it (it polls every 50 ms)
        elapsed = workspace.store.read_one("SELECT MAX(ended_at) AS t FROM jobs")["t"] - start
        latencies = [  # in submission order
            r["started_at"] - r["created_at"]
            for r in workspace.store.read("SELECT created_at, started_at FROM jobs ORDER BY seq")
        ]
        daemon.stop(workspace.layout)
        return elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--command", default=f"{shlex.quote(sys.executable)} -c 'print(42)'")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, {_cpu_model()}, Python {platform.python_version()}")
    print(f"date: {dt.date.today()}  jobs: {args.jobs}  concurrency: {args.nodes}  command: {args.command}")
    bare_times, engine_times, latencies, first_wave = [], [], [], []
    for round_ in range(1, args.rounds + 1):
        b = bare(args.command, args.jobs, args.nodes)
        e, lat = engine(args.command, args.jobs, args.nodes)
        bare_times.append(b)
        engine_times.append(e)
        latencies.extend(lat)
        first_wave.extend(lat[: args.nodes])  # jobs that found a free node
        print(f"round {round_}: bare {b:.2f} s  engine {e:.2f} s  ratio {e / b:.2f}x")
    b, e = statistics.median(bare_times), statistics.median(engine_times)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    paired = statistics.median(e_ / b_ for e_, b_ in zip(engine_times, bare_times, strict=True))
    print(f"median: bare {b:.2f} s, engine {e:.2f} s -> ratio {e / b:.2f}x; median of the paired ratios {paired:.2f}x")
    print(f"engine overhead per job and node: {(e - b) / args.jobs * args.nodes * 1000:.1f} ms (goal: ratio <= 1.5x)")
    print(
        f"submit -> Running: p50 {p50 * 1000:.0f} ms, p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms "
        f"(includes waiting for a free node: {args.jobs} jobs on {args.nodes} nodes)"
    )
    print(
        f"submit -> Running with a free node (first {args.nodes} jobs of each round): "
        f"median {statistics.median(first_wave) * 1000:.0f} ms, max {max(first_wave) * 1000:.0f} ms"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
