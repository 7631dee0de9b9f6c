"""Benchmark: how long the Azure ML panel takes to show 500 jobs in Chromium, and the labextension's size.

    .venv/bin/python benchmarks/panel_render.py [--jobs 500] [--repeat 7] [--json results.json]

What it does (results in docs/front-end.md):

1. Seeds ``--jobs`` finished jobs (Completed / Failed / Canceled, with display names, computes, start
   and end times) into a fresh local workspace by inserting rows through the engine's own store
   (``LocalWorkspace.store.insert_jobs``, one transaction, well under a second). No job runs: the
   benchmark is about the panel, and 500 real submissions would take minutes and measure the engine.
2. Starts a real ``jupyter lab`` on loopback with that workspace (``AZML_JUPYTER_HOME``), opens it in
   Debian's Chromium through Playwright (never a browser download), opens the panel and waits for the
   first page (50 jobs).
3. Each round switches the page size from 50 to ``--jobs`` and times, inside the page
   (``performance.now()``), from the ``change`` event until ``--jobs`` rows are in the DOM and two
   animation frames have passed (so style, layout and paint are done):
   - ``total``: change -> painted, which includes the request (``GET /azml/jobs?limit=500``, about
     0.5 MB of JSON from the server on this machine);
   - ``render``: the response's ``responseEnd`` (Resource Timing) -> painted: JSON parsing, the
     model update, React's render and commit, layout and paint — the panel's own cost.
   Then it switches back to 50 rows and waits for them, and repeats. Medians are reported.
4. Reports the built labextension's size: the .js files under ``azml_jupyter/labextension/static``
   (what the browser loads; the CSS is one of them), raw and gzip -9, and whether it is a production
   build (no source maps). Run ``jlpm build:prod`` first for the production figure.

The goal stated in issue 4 is < 300 ms for 500 jobs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("AZML_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="azml-jupyter-sidebar"]'
SIDEBAR = "#azml-jupyter-sidebar"

# In-page timing of one round: resolves with {total, render, rows}.
MEASURE_JS = """
async ([size]) => {
  const panel = document.querySelector('#azml-jupyter-sidebar');
  const select = panel.querySelector('.azml-Pager-size');
  const rows = () => panel.querySelectorAll('.azml-JobRow').length;
  const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
  performance.clearResourceTimings();
  const start = performance.now();
  const done = new Promise(resolve => {
    const check = () => { if (rows() >= size) { observer.disconnect(); resolve(); } };
    const observer = new MutationObserver(check);
    observer.observe(panel, { childList: true, subtree: true });
  });
  select.value = String(size);
  select.dispatchEvent(new Event('change', { bubbles: true }));
  await done;
  await frame();
  await frame();
  const painted = performance.now();
  const entry = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/azml/jobs?') && e.name.includes('limit=' + size))
    .pop();
  return {
    total: painted - start,
    render: entry ? painted - entry.responseEnd : null,
    transfer: entry ? entry.responseEnd - entry.startTime : null,
    bytes: entry ? entry.encodedBodySize : null,
    rows: rows()
  };
}
"""


def seed_jobs(home: Path, count: int) -> None:
    """Insert `count` finished jobs straight into the local workspace's store."""
    sys.path.insert(0, str(REPO))
    from azml_jupyter.engine.workspace import LocalWorkspace

    workspace = LocalWorkspace(home, start_engine=False)
    rng = random.Random(4)
    now = time.time()
    statuses = ["Completed"] * 8 + ["Failed", "Canceled"]
    rows = []
    for index in range(count):
        created = now - (count - index) * 97.0
        started = created + rng.uniform(0.2, 20)
        ended = started + rng.uniform(3, 3600)
        status = rng.choice(statuses)
        rows.append(
            {
                "name": f"bench_job_{index:04d}_{secrets.token_hex(4)}",
                "type": "command",
                "status": status,
                "display_name": f"train-model-{index % 37}-lr{rng.choice(['0.1', '0.01', '0.001'])}",
                "experiment_name": f"experiment-{index % 5}",
                "compute": rng.choice(["local", "cpu-cluster", "gpu-cluster"]),
                "environment": "azureml:AzureML-sklearn-1.5@latest",
                "command": "python train.py --lr ${{inputs.lr}}",
                "spec": {},
                "inputs": {"lr": {"kind": "literal", "value": 0.01}},
                "created_at": created,
                "started_at": started,
                "ended_at": ended,
                "exit_code": 0 if status == "Completed" else (1 if status == "Failed" else None),
                "error": "Traceback: ValueError: bad input" if status == "Failed" else None,
            }
        )
    with workspace.store.transaction() as db:
        workspace.store.insert_jobs(db, rows)
    workspace.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_lab(root: Path, home: Path, config: Path, runtime: Path, log: Path) -> tuple[subprocess.Popen, str, str]:
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port = free_port()
    token = secrets.token_hex(24)
    env = {
        **os.environ,
        "AZML_JUPYTER_HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"jupyter lab exited early; see {log}")
        try:
            request = urllib.request.Request(f"{base}api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=2):
                return proc, base, token
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"jupyter lab did not answer; see {log}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def measure(base: str, token: str, jobs: int, repeat: int) -> list[dict]:
    from playwright.sync_api import expect, sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        page.goto(f"{base}lab?token={token}&reset")
        page.locator(SIDEBAR_TAB).click()
        expect(page.locator(f"{SIDEBAR} .azml-JobRow")).to_have_count(50)
        page.wait_for_timeout(1000)  # let start-up work settle
        for _ in range(repeat):
            result = page.evaluate(MEASURE_JS, [jobs])
            assert result["rows"] >= jobs, result
            results.append(result)
            page.locator(f"{SIDEBAR} .azml-Pager-size").select_option("50")
            expect(page.locator(f"{SIDEBAR} .azml-JobRow")).to_have_count(50)
            page.wait_for_timeout(300)
        browser.close()
    return results


def bundle_size() -> dict:
    """What the browser loads from the labextension: its .js files (the CSS is inside one of them)."""
    static = REPO / "azml_jupyter" / "labextension" / "static"
    files = [p for p in static.rglob("*") if p.is_file()]
    if not files:
        return {"error": f"no build in {static}: run jlpm build:prod"}
    code = sorted(p for p in files if p.suffix == ".js")
    return {
        "production": not any(p.name.endswith(".map") for p in files),
        "files": {p.name: p.stat().st_size for p in code},
        "bytes": sum(p.stat().st_size for p in code),
        "gzip_bytes": sum(len(gzip.compress(p.read_bytes(), 9)) for p in code),
        "source_map_bytes": sum(p.stat().st_size for p in files if p.name.endswith(".map")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium package")

    scratch = Path(tempfile.mkdtemp(prefix="azml-panel-bench-"))
    root, home, config, runtime = (scratch / n for n in ("root", "home", "config", "runtime"))
    for folder in (root, home, config, runtime):
        folder.mkdir()
    started = time.perf_counter()
    seed_jobs(home, args.jobs)
    seed_seconds = time.perf_counter() - started
    proc, base, token = start_lab(root, home, config, runtime, scratch / "lab.log")
    try:
        rounds = measure(base, token, args.jobs, args.repeat)
    finally:
        stop(proc)
        shutil.rmtree(scratch, ignore_errors=True)

    def summary(key: str) -> dict:
        values = [r[key] for r in rounds if r[key] is not None]
        return {"median_ms": round(statistics.median(values), 1), "min_ms": round(min(values), 1),
                "max_ms": round(max(values), 1)}  # fmt: skip

    report = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "chromium": subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True).stdout.strip(),
        "jobs": args.jobs,
        "repeat": args.repeat,
        "seed_seconds": round(seed_seconds, 2),
        "response_bytes": rounds[0]["bytes"],
        "total": summary("total"),
        "render": summary("render"),
        "transfer": summary("transfer"),
        "bundle": bundle_size(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**report, "rounds": rounds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
