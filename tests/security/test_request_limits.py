"""Bad input is a 4xx with its cause, never a 500 (issue 13, items 15 and 16): odd digits, huge
numbers, deeply nested JSON, oversized bodies (413, with the limit in the message)."""

from __future__ import annotations

import json

import pytest

from azml_jupyter.server.handlers import MAX_BODY_BYTES


@pytest.mark.parametrize("offset", ["²", "١٢", "٣", "1_000", "+5", "-0", "9" * 5000])
async def test_log_offsets_in_other_digits_or_huge_are_400(api, job_yaml, offset):
    assert (await api("POST", "jobs", {"yaml": job_yaml(), "name": "j1"})).status == 201
    reply = await api("GET", "jobs/j1/logs", params={"offset": offset})
    assert reply.status == 400, reply.body
    reply = await api("GET", "jobs/j1/logs", headers={"Last-Event-ID": offset.encode("utf-8").decode("latin-1")})
    assert reply.status == 400, reply.body


@pytest.mark.parametrize("cursor", ["9" * 5000, "²", "-1", "x" * 10_000, "1e9"])
async def test_list_cursors_that_are_not_ours_are_400(api, cursor):
    reply = await api("GET", "jobs", params={"cursor": cursor})
    assert reply.status == 400, reply.body
    assert reply.json["error"] == "invalid_request"


@pytest.mark.parametrize("limit", ["²", "9" * 5000, "-3", "0"])
async def test_list_limits_that_are_not_whole_positive_numbers_are_400(api, limit):
    reply = await api("GET", "jobs", params={"limit": limit})
    assert reply.status == 400, reply.body


@pytest.mark.parametrize("depth", [1_000, 200_000])
async def test_deeply_nested_json_bodies_are_400(api, depth):
    body = ("[" * depth + "]" * depth).encode()
    for method, path in (("POST", "jobs"), ("POST", "data"), ("PUT", "computes/c1"), ("POST", "jobs/j/download")):
        reply = await api(method, path, raw=body)
        assert reply.status in (400, 404), (method, path, reply.status, reply.body[:200])
        if path != "jobs/j/download":
            assert reply.status == 400


async def test_bodies_over_the_limit_are_413_and_nothing_is_stored(api, stored_state):
    before = stored_state()
    command = "echo " + "x" * (MAX_BODY_BYTES + 10)
    reply = await api("POST", "jobs", {"yaml": f"command: {command}\nenvironment: azureml:e:1\n", "name": "big"})
    assert reply.status == 413, reply.body[:300]
    assert reply.json["error"] == "payload_too_large"
    assert f"{MAX_BODY_BYTES // 1024} KiB" in reply.json["message"]
    assert stored_state() == before


async def test_a_large_body_under_the_limit_still_works(api, wait_job):
    padding = "# " + "y" * (MAX_BODY_BYTES // 2) + "\n"
    reply = await api(
        "POST", "jobs", {"yaml": f"{padding}command: echo fine\nenvironment: azureml:e:1\n", "name": "ok"}
    )
    assert reply.status == 201, reply.body[:300]
    assert json.loads(reply.body)["name"] == "ok"
