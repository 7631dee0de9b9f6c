"""``/api/status`` latency while 20 slow backend calls are in flight (goal: p99 < 50 ms).

    .venv/bin/python benchmarks/rest_status_under_load.py [--slow 2.0] [--in-flight 20] [--requests 300]
        [--kind sleep|cpu]

A real ``jupyter server`` whose backend is a LocalBackend with a ``list_computes`` that sleeps
``--slow`` seconds -- waiting (``--kind sleep``), or running Python code that holds the GIL
(``--kind cpu``) -- (configured through ``c.AzmlJupyter.backend_factory`` in a config file). Twenty
client threads keep twenty ``GET /azml/computes`` in flight at all times (8 run in the worker pool, the
rest wait for a worker); meanwhile one more connection times Jupyter's own ``GET /api/status`` and the
extension's ``GET /azml/statuses`` (served on the event loop, no backend). The same is measured first
with no load, for comparison.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rest_common import JupyterServer, machine, ms, percentiles  # noqa: E402

CONFIG = """
import time
from azml_jupyter.backends.local import LocalBackend

class SlowBackend(LocalBackend):
    def list_computes(self):
        if "{kind}" == "sleep":  # waiting on a remote service: the GIL is free
            time.sleep({slow})
        else:  # Python work holding the GIL (e.g. importing azure.ai.ml, parsing a large reply)
            end = time.monotonic() + {slow}
            while time.monotonic() < end:
                sum(range(1000))
        return super().list_computes()

c.AzmlJupyter.backend_factory = lambda app: SlowBackend(app.local_home)
"""


def measure(server: JupyterServer, path: str, count: int) -> list[float]:
    client = server.client()
    samples = []
    for _ in range(count):
        took, status = client.timed("GET", path)
        assert status == 200, status
        samples.append(took)
        time.sleep(0.01)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=float, default=2.0)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--kind", choices=("sleep", "cpu"), default="sleep",
                        help="slow by waiting (I/O, the usual case) or by running Python code (holds the GIL)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="azml-bench-load-"))
    try:
        (scratch / "root").mkdir()
        config = scratch / "jupyter_server_config.py"
        config.write_text(textwrap.dedent(CONFIG.format(slow=args.slow, kind=args.kind)))
        with JupyterServer(scratch / "root", scratch / "home", [f"--config={config}"]) as server:
            for path in ("/api/status", "/azml/statuses"):  # warm up
                measure(server, path, 20)
            idle = {path: measure(server, path, args.requests) for path in ("/api/status", "/azml/statuses")}

            stop = threading.Event()
            completed = [0]

            def keep_one_in_flight() -> None:
                client = server.client()
                while not stop.is_set():
                    status, _, _ = client.request("GET", "/azml/computes")
                    assert status == 200
                    completed[0] += 1

            threads = [threading.Thread(target=keep_one_in_flight, daemon=True) for _ in range(args.in_flight)]
            for thread in threads:
                thread.start()
            time.sleep(0.5)  # every slow call is sent and waiting
            loaded = {path: measure(server, path, args.requests) for path in ("/api/status", "/azml/statuses")}
            slow_during = completed[0]
            stop.set()
            for thread in threads:
                thread.join()
        print(f"machine: {machine()}")
        print(f"{args.in_flight} slow backend calls ({args.slow:.1f} s of {args.kind} each) kept in flight; "
              "goal /api/status p99 < 50 ms")
        for path in ("/api/status", "/azml/statuses"):
            print(f"  {path:15s} idle    {ms(percentiles(idle[path]))}")
            print(f"  {path:15s} loaded  {ms(percentiles(loaded[path]))}")
        print(f"  slow calls completed while measuring: {slow_during} (8 workers x {args.slow:.1f} s each)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
