"""Log latency: a line printed by a running job -> received by an SSE client (goal < 0.3 s).

    .venv/bin/python benchmarks/rest_log_latency.py [--lines 200] [--interval 0.05] [--clients 1]

A real ``jupyter server`` on a fresh local workspace runs a command job that prints ``--lines`` lines,
each stamped with ``time.time()`` at the moment it is printed (``flush=True``), every ``--interval``
seconds. ``--clients`` Server-Sent-Event clients (raw sockets) read ``GET /azml/jobs/{name}/logs``; for
every line, latency = arrival time - printed stamp (same machine, same clock).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rest_common import TOKEN, JupyterServer, machine, ms, percentiles  # noqa: E402

PRINTER = """\
import sys, time
lines, interval = int(sys.argv[1]), float(sys.argv[2])
time.sleep(1.0)  # let the clients connect first
for i in range(lines):
    print(f"STAMP {time.time():.6f} line {i}", flush=True)
    time.sleep(interval)
"""


def follow(port: int, name: str, latencies: list[float], done: threading.Event) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    request = f"GET /azml/jobs/{name}/logs HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: token {TOKEN}\r\n\r\n"
    sock.sendall(request.encode())
    buffer = b""
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(65536)
    assert head.split(b" ", 2)[1] == b"200", head[:200]
    buffer = head.split(b"\r\n\r\n", 1)[1]
    while True:
        data = sock.recv(65536)
        now = time.time()
        if not data:
            break
        buffer += data
        for line in buffer.split(b"\n")[:-1]:
            if line.startswith(b"data: STAMP "):
                latencies.append(now - float(line.split()[2]))
        buffer = buffer.rsplit(b"\n", 1)[-1]
    sock.close()
    done.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="azml-bench-logs-"))
    try:
        (scratch / "root" / "src").mkdir(parents=True)
        (scratch / "root" / "src" / "printer.py").write_text(PRINTER)
        with JupyterServer(scratch / "root", scratch / "home") as server:
            client = server.client()
            yaml = (f"command: python printer.py {args.lines} {args.interval}\n"
                    "environment: azureml:AzureML-sklearn-1.5@latest\ncode: ./src\n")
            status, body, _ = client.request("POST", "/azml/jobs", {"yaml": yaml, "name": "printer"})
            assert status == 201, body
            results: list[list[float]] = []
            threads = []
            for _ in range(args.clients):
                latencies: list[float] = []
                results.append(latencies)
                done = threading.Event()
                thread = threading.Thread(target=follow, args=(server.port, "printer", latencies, done), daemon=True)
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join(args.lines * args.interval + 120)
            status, body, _ = client.request("GET", "/azml/jobs/printer")
            assert json.loads(body)["status"] == "Completed", body
        everything = [x for r in results for x in r]
        assert all(len(r) == args.lines for r in results), [len(r) for r in results]
        print(f"machine: {machine()}")
        print(f"printed line -> SSE client, {args.lines} lines every {args.interval * 1000:.0f} ms, "
              f"{args.clients} client(s) (goal < 0.3 s):")
        print(f"  {ms(percentiles(everything))}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
