"""The OpenAPI document in the repo (``azml_jupyter/server/openapi.json``) and the code agree: every
route of the route table has a path with the same methods and vice versa, and the record schemas have
exactly the fields of the model dataclasses."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from azml_jupyter import models
from azml_jupyter.backends.base import OutputFile
from azml_jupyter.server.handlers import OPENAPI_FILE, ROUTES

DOCUMENT = json.loads(OPENAPI_FILE.read_text())
METHODS = ("get", "post", "put", "delete", "patch")


def code_routes() -> dict[str, set[str]]:
    routes = {}
    for pattern, handler in ROUTES:
        path = "/azml/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        routes[path] = {m for m in METHODS if m in vars(handler)}
    return routes


def document_routes() -> dict[str, set[str]]:
    return {path: {m for m in METHODS if m in item} for path, item in DOCUMENT["paths"].items()}


def test_every_route_has_a_documented_path_and_every_documented_path_a_route():
    assert code_routes() == document_routes()


def test_path_parameters_are_declared():
    for path, item in DOCUMENT["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method in METHODS:
            if method not in item:
                continue
            declared = {p["name"] for p in item.get("parameters", []) + item[method].get("parameters", [])
                        if p["in"] == "path"}
            assert declared == names, (path, method)


@pytest.mark.parametrize(
    "schema, model",
    [
        ("JobRecord", models.JobRecord), ("JobPage", models.JobPage), ("ComputeInfo", models.ComputeInfo),
        ("VmSize", models.VmSize), ("Usage", models.Usage), ("DataAsset", models.DataAsset),
        ("Operation", models.Operation), ("WorkspaceInfo", models.WorkspaceInfo), ("OutputFile", OutputFile),
    ],
)
def test_record_schemas_match_the_models(schema, model):
    documented = set(DOCUMENT["components"]["schemas"][schema]["properties"])
    assert documented == {f.name for f in dataclasses.fields(model)}


def test_status_enum_matches_the_model():
    assert DOCUMENT["components"]["schemas"]["JobStatus"]["enum"] == [s.value for s in models.JobStatus]


def test_every_operation_documents_403_and_has_an_id():
    ids = []
    for path, item in DOCUMENT["paths"].items():
        for method in METHODS:
            if method in item:
                assert "403" in item[method]["responses"], (path, method)
                ids.append(item[method]["operationId"])
    assert len(ids) == len(set(ids))


def test_schemathesis_can_load_the_document():
    import schemathesis

    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(m) for m in code_routes().values())
