"""GET /azml/computes/recommend through a real Jupyter server on a local workspace: the widget's advice
for the panel; data measured inside the Jupyter root only; bad parameters are 400s with the message;
the optional local vCPU quota (server setting) is honoured; the OpenAPI schemas match the records."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from azml_jupyter.server.handlers import OPENAPI_FILE
from azml_jupyter.sizing import Recommendation, SizingRequest, SizingResult

VCPUS = os.cpu_count() or 1
GIB = 1024**3


@pytest.fixture(autouse=True)
def _no_quota_from_the_environment(monkeypatch):
    monkeypatch.delenv("AZML_JUPYTER_LOCAL_VCPU_QUOTA", raising=False)


async def test_advice_for_the_local_engine(api):
    reply = await api("GET", "computes/recommend", params={"max_nodes": "2", "memory_gb": "1.5"})
    assert reply.status == 200, reply.body
    result = reply.json
    assert set(result) == {f.name for f in dataclasses.fields(SizingResult)}
    [best] = result["recommendations"]
    assert best["name"] == "local" and best["rank"] == 1 and best["nodes"] == 2
    assert best["price_per_hour"] == 0.0 and "quota: none on the local engine" in best["reasons"]
    assert result["request"]["max_nodes"] == 2 and result["request"]["memory_gb"] == 1.5
    assert result["request"]["region"] == "local"  # the workspace's location
    assert result["request"]["idle_seconds"] == 120 and result["over_quota"] == [] and result["impossible"] == []


async def test_data_is_measured_inside_the_root(api, root):
    folder = root / "datasets" / "bank"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"x" * 3000)
    (folder / "b.csv").write_bytes(b"y" * 1000)
    reply = await api("GET", "computes/recommend", params={"data": "datasets/bank"})
    assert reply.status == 200, reply.body
    assert reply.json["request"]["data_bytes"] == 4000
    assert reply.json["memory_terms"]["data"] == round(4000 / GIB * 5, 3)

    outside = root.parent / "secret.bin"
    outside.write_bytes(b"z" * 10)
    reply = await api("GET", "computes/recommend", params={"data": "../secret.bin"})
    assert reply.status == 403 and reply.json["error"] == "path_outside_root"
    reply = await api("GET", "computes/recommend", params={"data": str(outside)})
    assert reply.status == 403 and reply.json["error"] == "path_outside_root"
    reply = await api("GET", "computes/recommend", params={"data": "datasets/none"})
    assert reply.status == 400 and reply.json["error"] == "path_not_found"


async def test_a_data_asset_counts_by_its_recorded_size(api, root, wait_operation):
    (root / "rows.csv").write_bytes(b"r" * 5000)
    reply = await api("POST", "data", {"path": "rows.csv", "name": "rows"})
    assert (await wait_operation(reply.json["id"]))["state"] == "Succeeded"
    for asset in ("rows", "rows:1", "azureml:rows:1", "rows@latest"):
        reply = await api("GET", "computes/recommend", params={"asset": asset})
        assert reply.status == 200, (asset, reply.body)
        assert reply.json["request"]["data_bytes"] == 5000
    reply = await api("GET", "computes/recommend", params={"asset": "rows:7"})
    assert reply.status == 400 and reply.json["error"] == "unknown_reference"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"memory": "4"}, "Unknown query parameter(s): memory"),
        ({"max_nodes": "two"}, "max_nodes must be a whole number, not 'two'"),
        ({"max_nodes": "0"}, "max_nodes must be at least 1"),
        ({"max_nodes": "9" * 40}, "max_nodes must be a whole number"),
        ({"max_nodes": "100001"}, "max_nodes must be at most 100,000"),
        ({"gpus": "-1"}, "gpus must be at least 0"),
        ({"memory_gb": "nan"}, "memory_gb must be a number, not 'nan'"),
        ({"memory_gb": "1e400"}, "memory_gb must be a number"),
        ({"memory_gb": "-2"}, "memory_gb must be 0 or more"),
        ({"idle_seconds": "1.5"}, "idle_seconds must be a whole number"),
        ({"tier": "gold"}, "Unknown tier 'gold'"),
        ({"name": "9-bad"}, "Invalid compute name '9-bad'"),
        ({"data": "a.csv", "asset": "rows"}, "Give data (a path) or asset (a data asset), not both."),
        ({"asset": "a/b"}, "asset 'a/b': use name, name:version or name@latest"),
    ],
)
async def test_bad_parameters_are_400_with_the_message(api, params, message):
    reply = await api("GET", "computes/recommend", params=params)
    assert reply.status == 400, reply.body
    assert message in reply.json["message"]


async def test_jupyterlabs_cache_busting_timestamp_is_ignored(jp_fetch):
    # ServerConnection adds a bare "&<milliseconds>" to every GET the panel sends
    response = await jp_fetch("azml", "computes", "recommend", params=[("max_nodes", "1"), ("1795687467764", "")])
    assert response.code == 200 and json.loads(response.body)["recommendations"][0]["name"] == "local"


async def test_a_repeated_parameter_is_refused(api, jp_fetch):
    response = await jp_fetch("azml", "computes", "recommend", params=[("gpus", "1"), ("gpus", "2")], raise_error=False)
    assert response.code == 400 and "gpus is given 2 times" in json.loads(response.body)["message"]


# The default `local` cluster is seeded with one node per vCPU; this quota leaves 2 local nodes beside it.
@pytest.mark.azml_config(local_vcpu_quota=(VCPUS + 2) * VCPUS)
async def test_the_local_vcpu_quota_setting_is_honoured(api):
    assert (await api("GET", "computes")).json["computes"][0]["max_nodes"] == VCPUS
    usage = (await api("GET", "computes/usage")).json["usage"]
    assert usage == [
        {
            "family": "local",
            "current": VCPUS * VCPUS,
            "limit": (VCPUS + 2) * VCPUS,
            "unit": "Count",
            "label": "local engine vCPU quota",
        }
    ]
    reply = await api("GET", "computes/recommend", params={"max_nodes": "3"})
    assert reply.json["recommendations"] == [] and [r["name"] for r in reply.json["over_quota"]] == ["local"]
    assert "raise it with AZML_JUPYTER_LOCAL_VCPU_QUOTA" in reply.json["over_quota"][0]["quota_shortfall"]
    reply = await api("GET", "computes/recommend", params={"max_nodes": "2"})
    assert [r["name"] for r in reply.json["recommendations"]] == ["local"]
    # advice for the default cluster itself: its own claim is given back
    reply = await api("GET", "computes/recommend", params={"max_nodes": str(VCPUS + 2), "name": "local"})
    assert [r["name"] for r in reply.json["recommendations"]] == ["local"]


def test_openapi_schemas_match_the_sizing_records():
    schemas = json.loads(OPENAPI_FILE.read_text())["components"]["schemas"]
    for schema, record in (
        ("SizingResult", SizingResult),
        ("SizingRequest", SizingRequest),
        ("Recommendation", Recommendation),
    ):
        documented = set(schemas[schema]["properties"])
        # memory_basis/memory_terms etc. are fields; "best" is a property, not serialised
        assert documented == {f.name for f in dataclasses.fields(record)}, schema
    parameters = json.loads(OPENAPI_FILE.read_text())["paths"]["/azml/computes/recommend"]["get"]["parameters"]
    from azml_jupyter.sizing.advice import PARAMETERS

    assert [p["name"] for p in parameters] == list(PARAMETERS)
