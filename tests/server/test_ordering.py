"""A slow backend call in flight does not hold up unrelated requests (ordering, never timing).

The slow backend is a real LocalBackend whose ``list_computes`` waits for the test to release it, so
"slow" is as long as the test says: every other request must complete while it is still waiting."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from azml_jupyter.backends.local import LocalBackend

pytestmark = pytest.mark.filterwarnings("ignore")


class GatedBackend(LocalBackend):
    entered = 0
    lock = threading.Lock()
    release = threading.Event()

    def list_computes(self):
        with GatedBackend.lock:
            GatedBackend.entered += 1
        assert GatedBackend.release.wait(120), "the test never released the slow call"
        return super().list_computes()


def gated_backend(app):
    return GatedBackend(app.local_home)


@pytest.fixture(autouse=True)
def reset_gate():
    GatedBackend.entered = 0
    GatedBackend.release.clear()
    yield
    GatedBackend.release.set()  # never leave a worker thread blocked


async def until(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


@pytest.mark.azml_config(backend_factory=gated_backend)
async def test_unrelated_requests_finish_while_a_slow_backend_call_is_in_flight(api, jp_fetch, job_yaml):
    slow = asyncio.ensure_future(api("GET", "computes"))
    await until(lambda: GatedBackend.entered == 1, "the slow call did not start")
    finished = []
    for method, path, body in (
        ("GET", "statuses", None),
        ("GET", "workspace", None),  # also a backend call: another worker takes it
        ("GET", "jobs", None),
        ("POST", "jobs", {"yaml": job_yaml("echo hi"), "name": "meanwhile"}),
        ("GET", "jobs/meanwhile", None),
        ("GET", "openapi.json", None),
    ):
        reply = await api(method, path, body)
        assert reply.status in (200, 201), (path, reply.body)
        assert not slow.done(), f"{path} had to wait for the slow call"
        finished.append(path)
    core = await jp_fetch("api", "status")
    assert core.code == 200 and not slow.done()
    GatedBackend.release.set()
    reply = await slow
    assert reply.status == 200 and reply.json["computes"][0]["name"] == "local"
    assert finished == ["statuses", "workspace", "jobs", "jobs", "jobs/meanwhile", "openapi.json"]


@pytest.mark.azml_config(backend_factory=gated_backend, max_workers=4)
async def test_a_full_worker_pool_never_blocks_the_event_loop(api, jp_fetch):
    """With every worker busy, backend calls queue (the pool is bounded) but the event loop still
    answers: Jupyter's own API, /azml/statuses, and the OpenAPI document once loaded."""
    assert (await api("GET", "openapi.json")).status == 200
    slow = [asyncio.ensure_future(api("GET", "computes")) for _ in range(4)]
    await until(lambda: GatedBackend.entered == 4, "the pool did not fill")
    queued = asyncio.ensure_future(api("GET", "workspace"))
    for _ in range(3):
        assert (await jp_fetch("api", "status")).code == 200
        assert (await api("GET", "statuses")).status == 200
        assert (await api("GET", "openapi.json")).status == 200
    assert not any(task.done() for task in slow) and not queued.done()
    GatedBackend.release.set()
    assert [(await task).status for task in slow] == [200] * 4
    assert (await queued).status == 200
