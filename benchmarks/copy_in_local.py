"""Copy-in to the local datastore against ``cp``, measured in one script (issue 3's goals).

    .venv/bin/python benchmarks/copy_in_local.py [--runs 5] [--big-mib 1024] [--files 5000] [--file-kib 20]

What is timed (median of ``--runs``; ``sync`` before every timed step so write-back of the previous
step does not land in the next one; sources are in the page cache, as a file just written by a notebook):

- ``cp big dst``                      vs a first copy-in of the same file into a fresh workspace
- ``cp -r tree dst``                  vs a first copy-in of the same folder into a fresh workspace
- a first copy-in                     vs an unchanged re-copy (the same request again)

Copy-in is ``LocalWorkspace.create_data`` -- exactly what ``POST /azml/data`` runs in its operation
thread: plan, fingerprint lookup, BLAKE3-hashed content-addressed copy, hard-linked asset folder,
fingerprints and the asset row in SQLite. Goals: big >= 0.9x cp, small files >= 0.5x cp -r,
re-copy >= 20x faster than the first copy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azml_jupyter.engine.workspace import LocalWorkspace  # noqa: E402


def make_big(path: Path, mib: int) -> None:
    block = os.urandom(8 << 20)
    with open(path, "wb") as fh:
        for index in range(mib // 8):
            fh.write(index.to_bytes(8, "little") + block[8:])  # every block differs: nothing dedupes


def make_tree(path: Path, files: int, kib: int) -> None:
    for index in range(files):
        folder = path / f"part-{index // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file-{index:05d}.bin").write_bytes(os.urandom(kib << 10))


def timed(action) -> float:
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_cp(args: list[str]) -> None:
    subprocess.run(args, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--file-kib", type=int, default=20)
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temp folder); same filesystem for all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="azml-copyin-bench-", dir=args.dir))
    try:
        big = scratch / "src" / "big.bin"
        tree = scratch / "src" / "tree"
        big.parent.mkdir(parents=True)
        make_big(big, args.big_mib)
        make_tree(tree, args.files, args.file_kib)
        names = ("cp_big", "copyin_big", "recopy_big", "cp_tree", "copyin_tree", "recopy_tree")
        results: dict[str, list[float]] = {k: [] for k in names}
        for run in range(args.runs):
            for label, source, cp_args in (("big", big, ["cp"]), ("tree", tree, ["cp", "-r"])):
                target = scratch / f"cp-{label}-{run}"
                command = [*cp_args, str(source), str(target)]
                results[f"cp_{label}"].append(timed(lambda command=command: run_cp(command)))
                shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink()
                home = scratch / f"home-{label}-{run}"
                workspace = LocalWorkspace(home, start_engine=False)
                copy = lambda workspace=workspace, label=label, source=source: workspace.create_data(  # noqa: E731
                    f"bench-{label}", source)
                results[f"copyin_{label}"].append(timed(copy))
                results[f"recopy_{label}"].append(timed(copy))
                workspace.close()
                shutil.rmtree(home, ignore_errors=True)
        med = {k: statistics.median(v) for k, v in results.items()}

        def paired(a: str, b: str) -> float:  # median of per-run ratios: a busy moment hits both sides
            return statistics.median(x / y for x, y in zip(results[a], results[b], strict=True))

        gib = args.big_mib / 1024
        mib_tree = args.files * args.file_kib / 1024
        print(f"machine: {os.cpu_count()} vCPU, python {sys.version.split()[0]}, runs={args.runs} (medians), "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"1 file of {args.big_mib} MiB:  cp {med['cp_big']:.3f} s ({gib / med['cp_big']:.2f} GiB/s)   "
              f"copy-in {med['copyin_big']:.3f} s ({gib / med['copyin_big']:.2f} GiB/s)   "
              f"speed vs cp {paired('cp_big', 'copyin_big'):.2f}x (goal >= 0.9)")
        print(f"{args.files} x {args.file_kib} KiB:  cp -r {med['cp_tree']:.3f} s   copy-in {med['copyin_tree']:.3f} s "
              f"({args.files / med['copyin_tree']:.0f} files/s, {mib_tree / med['copyin_tree']:.0f} MiB/s)   "
              f"speed vs cp -r {paired('cp_tree', 'copyin_tree'):.2f}x (goal >= 0.5)")
        print(f"unchanged re-copy: big {med['recopy_big'] * 1000:.1f} ms "
              f"({paired('copyin_big', 'recopy_big'):.0f}x faster than the first copy)   "
              f"tree {med['recopy_tree'] * 1000:.1f} ms ({paired('copyin_tree', 'recopy_tree'):.0f}x faster) "
              "(goal >= 20x)")
        print("all runs (s):", json.dumps({k: [round(x, 4) for x in v] for k, v in results.items()}))
        if args.json:
            print(json.dumps({"median_seconds": med, "runs": results}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
