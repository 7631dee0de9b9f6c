"""``GET /azml/jobs/{name}/logs``: Server-Sent Events while the job runs, resume from ``Last-Event-ID``
(or ``?offset=``) without repeats or gaps, keep-alives, and the stream stops when the client leaves.

Jobs wait for a gate file the test creates, so "while running" is a fact, not a race."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from azml_jupyter.backends.local import LocalBackend
from azml_jupyter.server import handlers

pytestmark = pytest.mark.filterwarnings("ignore")

ENV = "azureml:AzureML-sklearn-1.5@latest"

GATED = """\
import os, sys, time
gate, first, second = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first):
    print(f"before gate {i}", flush=True)
deadline = time.time() + 120
while not os.path.exists(gate) and time.time() < deadline:
    time.sleep(0.02)
for i in range(second):
    print(f"after gate {i} " + "x" * (i % 7), flush=True)
"""


class SSE:
    """A minimal EventSource over a raw HTTP/1.0 connection, so the test decides when to hang up."""

    def __init__(self, port: int, path: str, headers: dict[str, str]):
        self.port, self.path, self.headers = port, path, headers
        self.events: list[dict] = []
        self.comments = 0
        self.status = None

    async def run(self, stop=lambda event, sse: False) -> SSE:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        writer.write(f"GET {self.path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
        await writer.drain()
        self.status = int((await reader.readline()).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        buffer = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return self
                buffer += data
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    event = self._parse(block.decode())
                    if event is None:
                        continue
                    self.events.append(event)
                    if stop(event, self):
                        return self
        finally:
            writer.close()

    def _parse(self, block: str) -> dict | None:
        event: dict = {"event": "message", "data": []}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments += 1
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                event["data"].append(value)
            elif field in ("event", "id"):
                event[field] = value
        if not event["data"] and "id" not in event and event["event"] == "message":
            return None
        event["data"] = "\n".join(event["data"])
        return event

    def text(self) -> str:
        """The log as a client rebuilds it: every log event is whole lines."""
        return "".join(e["data"] + "\n" for e in self.events if e["event"] == "log")

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]


@pytest.fixture
def sse(jp_http_port, jp_base_url, jp_auth_header):
    def open_stream(name: str, *, last_event_id: str | None = None, offset: int | None = None) -> SSE:
        path = f"{jp_base_url}azml/jobs/{name}/logs"
        if offset is not None:
            path += f"?{urlencode({'offset': offset})}"
        headers = dict(jp_auth_header)
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return SSE(jp_http_port, path, headers)

    return open_stream


async def submit_gated(api, root: Path, name: str, first: int, second: int) -> Path:
    (root / "gated").mkdir(exist_ok=True)
    (root / "gated" / "gated.py").write_text(textwrap.dedent(GATED))
    gate = root / f"{name}.gate"
    reply = await api("POST", "jobs", {
        "yaml": f"command: python gated.py {gate} {first} {second}\nenvironment: {ENV}\ncode: ./gated\n",
        "name": name,
    })
    assert reply.status == 201, reply.body
    return gate


def full_log(azml_home: Path, name: str) -> str:
    path = azml_home / "datastores/workspaceartifactstore/ExperimentRun" / f"dcid.{name}" / "user_logs/std_log.txt"
    return path.read_bytes().decode()  # not read_text(): it would turn \r\n into \n


async def test_lines_arrive_while_the_job_runs_and_the_stream_ends_with_the_job(api, root, sse, azml_home):
    gate = await submit_gated(api, root, "streamer", 3, 5)

    def on_event(event, stream):
        if event["event"] == "log" and "before gate 2" in event["data"]:
            assert not gate.exists()
            statuses = [e for e in stream.events if e["event"] == "status"]
            assert statuses[-1]["data"] == '{"status": "Running"}'  # the job cannot end before the gate opens
            gate.write_text("go")
        return False

    stream = await sse("streamer").run(on_event)
    assert stream.status == 200
    assert gate.exists(), "the first lines came while the job was still waiting"
    assert stream.kinds()[-1] == "end" and stream.events[-1]["data"] == '{"status": "Completed"}'
    assert stream.text() == full_log(azml_home, "streamer")
    assert "after gate 4 xxxx" in stream.text()
    ids = [int(e["id"]) for e in stream.events if e["event"] == "log"]
    assert ids == sorted(ids) and ids[-1] == len(full_log(azml_home, "streamer").encode())
    seen = [e["data"] for e in stream.events if e["event"] == "status"]
    assert seen[-1] == '{"status": "Completed"}' and len(seen) == len(set(seen))


async def test_resume_from_last_event_id_has_no_repeats_and_no_gaps(api, root, sse, azml_home):
    gate = await submit_gated(api, root, "resumer", 40, 300)
    # 1) read until the first log event, then hang up (the job is still waiting for its gate)
    first = await sse("resumer").run(lambda event, stream: event["event"] == "log")
    assert first.kinds()[-1] == "log"
    resume_at = first.events[-1]["id"]
    gate.write_text("go")  # the job writes more while nobody listens
    # 2) reconnect as a browser's EventSource does, with Last-Event-ID: the rest, exactly once
    second = await sse("resumer", last_event_id=resume_at).run()
    assert second.kinds()[-1] == "end"
    log = full_log(azml_home, "resumer")
    assert first.text() + second.text() == log
    assert first.text() == log.encode()[: int(resume_at)].decode()
    # 3) ?offset= is the same thing for clients that cannot set headers; any event id is a resume point
    log_ids = [e["id"] for e in second.events if e["event"] == "log"]
    middle_id = log_ids[len(log_ids) // 2]
    third = await sse("resumer", offset=int(middle_id)).run()
    assert third.text() == log.encode()[int(middle_id):].decode()
    # 4) resuming at the end of an ended job: no log events, just the status and the end
    last = await sse("resumer", last_event_id=str(len(log.encode()))).run()
    assert last.kinds() == ["status", "end"]


async def test_a_finished_job_streams_everything_at_once(api, root, sse, wait_job, azml_home):
    (root / "crlf").mkdir()
    (root / "crlf" / "w.py").write_text("import sys\nsys.stdout.write('a\\n\\nb\\r\\nc')\n")
    yaml = f"command: python w.py\nenvironment: {ENV}\ncode: ./crlf\n"
    reply = await api("POST", "jobs", {"yaml": yaml, "name": "done"})
    assert reply.status == 201
    await wait_job("done")
    stream = await sse("done").run()
    assert stream.kinds()[0] == "status" and stream.kinds()[-1] == "end"
    log = full_log(azml_home, "done")
    assert log.endswith("a\n\nb\r\nc")
    assert stream.text() == log.replace("\r\n", "\n") + "\n"  # SSE has one line ending; the last line had none


class CountingBackend(LocalBackend):
    """A real LocalBackend that counts log reads, to see a stream stop when its client leaves."""

    reads = 0

    def read_logs(self, name, offset=0, max_bytes=1 << 20):
        CountingBackend.reads += 1
        return super().read_logs(name, offset, max_bytes)


def counting_backend(app):
    return CountingBackend(app.local_home)


@pytest.mark.azml_config(backend_factory=counting_backend)
async def test_the_stream_stops_when_the_client_disconnects_and_sends_keepalives(api, root, sse, monkeypatch):
    monkeypatch.setattr(handlers, "KEEPALIVE_SECONDS", 0.3)
    gate = await submit_gated(api, root, "quiet", 1, 1)
    # the job prints one line then waits: a quiet stream gets keep-alive comments, and we leave after two
    stream = sse("quiet")

    async def until_two_keepalives():
        reader_task = asyncio.ensure_future(stream.run())
        deadline = time.monotonic() + 30
        while "log" not in stream.kinds():  # the job runs and printed its line
            assert time.monotonic() < deadline, "no log line arrived"
            await asyncio.sleep(0.05)
        quiet_from = stream.comments
        while stream.comments < quiet_from + 2:  # then it is quiet: the stream says it lives
            assert time.monotonic() < deadline, "no keep-alive comments arrived"
            await asyncio.sleep(0.05)
        reader_task.cancel()
        try:
            await reader_task
        except asyncio.CancelledError:
            pass

    await until_two_keepalives()
    assert stream.kinds()[-1] == "log", "nothing but keep-alives after the line"
    # the job is still running; once the client is gone the server stops reading the log
    deadline = time.monotonic() + 30
    previous = -1
    while True:
        await asyncio.sleep(1.0)
        if CountingBackend.reads == previous:
            break
        previous = CountingBackend.reads
        assert time.monotonic() < deadline, "the server kept polling the log of a stream nobody reads"
    assert (await api("GET", "jobs/quiet")).json["status"] == "Running"
    gate.write_text("go")


async def test_a_long_log_streams_whole_and_in_order(api, root, sse, wait_job, azml_home):
    """More than one backend read (1 MiB each) of log: caught up in order, no gaps."""
    (root / "long").mkdir()
    (root / "long" / "w.py").write_text(
        "import sys\nfor i in range(60000):\n    sys.stdout.write(f'line {i:06d} ' + 'y' * 40 + '\\n')\n"
    )
    reply = await api("POST", "jobs", {"yaml": f"command: python w.py\nenvironment: {ENV}\ncode: ./long\n",
                                       "name": "long"})
    assert reply.status == 201
    await wait_job("long")
    stream = await sse("long").run()
    log = full_log(azml_home, "long")
    assert len(log.encode()) > 3 << 20
    assert stream.text() == log
    assert len([e for e in stream.events if e["event"] == "log"]) >= 3


async def test_a_line_longer_than_one_read_streams_and_the_stream_ends(api, root, sse, azml_home):
    """A 2.5 MiB line without a line break (one backend read is 1 MiB): it arrives in pieces while the
    job still runs, the rest follows, and the stream ends with the job (it used to stall for ever)."""
    (root / "wide").mkdir()
    gate = root / "wide.gate"
    (root / "wide" / "w.py").write_text(
        "import os, sys, time\n"
        "sys.stdout.write('é' * (5 << 19)); sys.stdout.flush()\n"  # 2.5 MiB of two-byte characters
        f"deadline = time.time() + 60\nwhile not os.path.exists({str(gate)!r}) and time.time() < deadline:\n"
        "    time.sleep(0.02)\n"
        "print('\\ntail line', flush=True)\n"
    )
    reply = await api("POST", "jobs", {"yaml": f"command: python w.py\nenvironment: {ENV}\ncode: ./wide\n",
                                       "name": "wide"})
    assert reply.status == 201

    def on_event(event, stream):
        pieces = [e for e in stream.events if e["event"] == "log"]
        if event["event"] == "log" and sum(len(e["data"]) for e in pieces) >= 5 << 19:
            gate.write_text("go")  # the whole wide line came while the job was still running
        return False

    stream = await asyncio.wait_for(sse("wide").run(on_event), timeout=90)
    assert gate.exists() and stream.kinds()[-1] == "end"
    log = full_log(azml_home, "wide")
    pieces = [e for e in stream.events if e["event"] == "log"]
    assert len(pieces) >= 3 and max(int(e["id"]) for e in pieces) == len(log.encode())
    assert "".join(e["data"] for e in pieces).replace("\n", "") == log.replace("\n", "")  # no character split


@pytest.mark.azml_config(max_log_streams_per_client=2)
async def test_open_log_streams_are_capped_per_client_and_a_closed_one_frees_its_slot(api, root, sse, jp_serverapp):
    gates = [await submit_gated(api, root, f"capped{i}", 1, 0) for i in range(3)]
    first_line = asyncio.Event()
    hang_up = asyncio.Event()

    def hold_open(event, stream):
        if event["event"] == "log":
            first_line.set()
        return hang_up.is_set()

    held = [asyncio.create_task(sse(f"capped{i}").run(hold_open)) for i in range(2)]
    await asyncio.wait_for(first_line.wait(), 30)
    slots = jp_serverapp.web_app.settings["azml"].log_streams
    for _ in range(200):  # both streams are open
        if slots.open == 2:
            break
        await asyncio.sleep(0.05)
    assert slots.open == 2
    refused = await sse("capped2").run()
    assert refused.status == 429

    reply = await api("GET", "jobs/capped2/logs")
    assert reply.status == 429 and reply.json["error"] == "throttled" and "the limit is 2" in reply.json["message"]

    gates[0].write_text("go")  # capped0 ends: its stream ends and gives its slot back
    assert (await asyncio.wait_for(held[0], 60)).kinds()[-1] == "end"
    stream = await asyncio.wait_for(sse("capped2").run(lambda e, s: e["event"] == "log"), 30)
    assert stream.status == 200
    hang_up.set()
    for gate in gates[1:]:
        gate.write_text("go")
    await asyncio.wait_for(held[1], 60)
