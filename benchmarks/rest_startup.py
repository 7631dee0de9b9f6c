"""Jupyter server start-up with vs without the extension (goal: <= 1.05x).

    .venv/bin/python benchmarks/rest_startup.py [--runs 10]

Time from spawning ``jupyter server`` until ``GET /api/status`` answers 200, alternating a server with
the extension enabled (fresh local workspace configured, not yet opened: it opens on first use) and one
with ``--ServerApp.jpserver_extensions={'azml_jupyter': False}``. Every other installed server
extension (jupyterlab, jupyter_lsp, terminals, ...) is loaded in both.

Reported: the median wall time of each, the median of the per-pair ratios (each pair runs back to back,
so a busy moment of a shared machine hits both), and the CPU time (user + system) the server process
used until it answered -- the figure least disturbed by other work on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rest_common import JupyterServer, machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="azml-bench-start-"))
    times: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    pair_ratios: list[float] = []
    try:
        (scratch / "root").mkdir()
        for warm in (True, False):  # the first start of each fills OS caches: not counted
            JupyterServer(scratch / "root", scratch / "home", extension=warm).stop()
        for run in range(args.runs):
            pair = {}
            for extension in ((True, False) if run % 2 == 0 else (False, True)):
                server = JupyterServer(scratch / "root", scratch / f"home-{run}", extension=extension)
                times[extension].append(server.ready_after)
                pair[extension] = server.ready_after
                with open(f"/proc/{server.process.pid}/stat") as fh:  # utime + stime, in clock ticks
                    fields = fh.read().rsplit(")", 1)[1].split()
                cpu[extension].append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
                server.stop()
            pair_ratios.append(pair[True] / pair[False])
        with_ext, without = statistics.median(times[True]), statistics.median(times[False])
        cpu_with, cpu_without = statistics.median(cpu[True]), statistics.median(cpu[False])
        print(f"machine: {machine()}")
        print(f"start-up to the first /api/status, {args.runs} pairs (goal <= 1.05x):")
        print(f"  with azml_jupyter     wall {with_ext * 1000:.0f} ms   cpu {cpu_with * 1000:.0f} ms   "
              f"runs: {[round(t * 1000) for t in times[True]]}")
        print(f"  without azml_jupyter  wall {without * 1000:.0f} ms   cpu {cpu_without * 1000:.0f} ms   "
              f"runs: {[round(t * 1000) for t in times[False]]}")
        print(f"  ratio of medians {with_ext / without:.3f}x   median of pair ratios "
              f"{statistics.median(pair_ratios):.3f}x   cpu-time ratio {cpu_with / cpu_without:.3f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
