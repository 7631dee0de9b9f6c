"""Every refusal the issue names, as JSON ``{error, message, details}`` with the right status, never a 500,
and nothing stored when a request is refused."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

ENV = "azureml:AzureML-sklearn-1.5@latest"


def assert_error(reply, status: int, code: str | None = None, contains: str | None = None):
    assert reply.status == status, (reply.status, reply.body)
    body = reply.json
    assert set(body) == {"error", "message", "details"}, body
    if code is not None:
        assert body["error"] == code, body
    if contains is not None:
        assert contains in body["message"], body
    return body


# ---- 400: invalid YAML, with the line ------------------------------------------------------------
@pytest.mark.parametrize(
    "text, line, contains",
    [
        ("command: [unclosed\n", 2, "not valid YAML"),
        (f"command: echo\nenvironment: {ENV}\nlimits:\n  timeout: soon\n", 4, "limits.timeout"),
        (f"command: echo\nenvironment: {ENV}\ninputs:\n  a:\n    type: uri_foldr\n    path: ./x\n", 5, "inputs.a.type"),
    ],
)
async def test_invalid_yaml_is_400_with_its_line_and_stores_nothing(api, stored_state, text, line, contains):
    await api("GET", "workspace")  # the workspace exists, so "nothing stored" compares like with like
    before = stored_state()
    body = assert_error(await api("POST", "jobs", {"yaml": text}), 400, "invalid_job_spec", contains)
    assert body["details"]["line"] == line and f"line {line}" in body["message"]
    assert stored_state() == before


async def test_invalid_yaml_file_names_the_file(api, root):
    (root / "bad.yml").write_text("command: echo\nenvironment: [\n")
    body = assert_error(await api("POST", "jobs", {"path": "bad.yml"}), 400, "invalid_job_spec", "bad.yml")
    assert body["details"]["line"] == 3


@pytest.mark.parametrize(
    "body, contains",
    [
        ({"yaml": f"command: echo ${{{{inputs.nope}}}}\nenvironment: {ENV}\n"}, "nope"),
        ({"yaml": "command: echo hi\n"}, "environment"),
        ({"yaml": "- a\n- list\n"}, "mapping"),
        ({"form": {"command": "echo", "environment": ENV, "outputs": {"o": {"type": "nope"}}}}, "form.outputs.o"),
        ({"form": {"command": "", "environment": ENV}}, "form.command"),
        ({"form": {"command": "echo", "environment": ENV, "bogus": 1}}, "bogus"),
    ],
)
async def test_invalid_job_specs_are_400(api, body, contains, stored_state):
    await api("GET", "workspace")
    before = stored_state()
    reply = await api("POST", "jobs", body)
    assert_error(reply, 400, contains=contains)
    assert stored_state() == before


# ---- 400: invalid names (Azure ML naming rules) --------------------------------------------------
@pytest.mark.parametrize(
    "method, path, body, kind",
    [
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\n", "name": "bad name!"}, "job"),
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\n", "name": "-leading-dash"}, "job"),
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\nname: x/y\n"}, "job"),
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\nexperiment_name: 'a b'\n"}, "experiment"),
        ("POST", "jobs", {"form": {"command": "echo", "environment": ENV, "experiment_name": "bad/exp"}}, "experiment"),
        ("POST", "jobs", {"form": {"command": "echo", "environment": ENV, "compute": "9starts-with-digit"}}, "compute"),
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\ncompute: azureml:has_underscore\n"}, "compute"),
        ("POST", "data", {"path": "x.txt", "name": "bad name"}, "data asset"),
        ("POST", "data", {"path": "x.txt", "name": ".hidden"}, "data asset"),
        ("POST", "data", {"path": "x.txt", "name": "ok", "version": "v 1"}, "data asset version"),
        ("PUT", "computes/a", {}, "compute"),
        ("PUT", "computes/cluster-name-far-too-long", {}, "compute"),
        ("PUT", "computes/ends-with-dash-", {}, "compute"),
        ("PUT", "computes/under_score", {}, "compute"),
    ],
)
async def test_invalid_names_are_400_and_store_nothing(api, root, stored_state, method, path, body, kind):
    (root / "x.txt").write_text("x")
    await api("GET", "workspace")
    before = stored_state()
    reply = await api(method, path, body)
    found = assert_error(reply, 400, "invalid_name")
    assert found["details"]["kind"] == kind and found["details"]["rule"]
    assert stored_state() == before


# ---- 400: unknown data assets or computes --------------------------------------------------------
@pytest.mark.parametrize("ref", ["azureml:nope:1", "azureml:nope@latest"])
async def test_unknown_data_asset_is_400_and_nothing_is_copied(api, root, stored_state, ref):
    (root / "local.csv").write_text("a,b\n")
    yaml = (f"command: cat ${{{{inputs.a}}}} ${{{{inputs.b}}}}\nenvironment: {ENV}\n"
            f"inputs:\n  a:\n    type: uri_file\n    path: ./local.csv\n  b:\n    type: uri_file\n    path: {ref}\n")
    await api("GET", "workspace")
    before = stored_state()
    body = assert_error(await api("POST", "jobs", {"yaml": yaml}), 400, "unknown_reference", "does not exist")
    assert body["details"]["name"] == "nope"
    assert stored_state() == before, "the local input was not copied in"


async def test_unknown_data_asset_in_a_form_is_400(api):
    form = {"command": "cat ${{inputs.d}}", "environment": ENV,
            "inputs": {"d": {"type": "uri_folder", "path": "azureml:ghost:3"}}}
    assert_error(await api("POST", "jobs", {"form": form}), 400, "unknown_reference")


@pytest.mark.azml_config(strict_compute=True)
async def test_unknown_compute_is_400_in_strict_mode(api, stored_state):
    await api("GET", "workspace")
    before = stored_state()
    reply = await api("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\ncompute: azureml:gpu-cluster\n"})
    body = assert_error(reply, 400, "unknown_reference", "gpu-cluster")
    assert body["details"] == {"compute": "gpu-cluster"}
    form = {"command": "echo", "environment": ENV, "compute": "gpu-cluster"}
    assert_error(await api("POST", "jobs", {"form": form}), 400, "unknown_reference")
    assert stored_state() == before


async def test_unknown_compute_runs_locally_by_default_and_says_so(api, wait_job):
    reply = await api("POST", "jobs", {"yaml": f"command: echo hi\nenvironment: {ENV}\ncompute: azureml:gpu-cluster\n"})
    assert reply.status == 201 and reply.json["compute"] == "local"


# ---- 400: malformed requests ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, path, raw, contains",
    [
        ("POST", "jobs", b"{not json", "not valid JSON"),
        ("POST", "jobs", b"[1, 2]", "JSON object"),
        ("POST", "jobs", b"{}", "exactly one"),
        ("POST", "jobs", b'{"yaml": "a: 1", "path": "x.yml"}', "exactly one"),
        ("POST", "jobs", b'{"yaml": 5}', "string"),
        ("POST", "jobs", b'{"yaml": "a: 1", "set": [1]}', "set"),
        ("POST", "jobs", b'{"yaml": "a: 1", "extra": 1}', "extra"),
        ("POST", "data", b'{"name": "x"}', "path"),
        ("POST", "data", b'{"path": "x", "name": "x", "type": "mltable"}', "type"),
        ("POST", "data", b'{"path": "x", "name": "x", "colour": "red"}', "colour"),
        ("POST", "data", b"\xff\xfe", "not valid JSON"),
        ("PUT", "computes/cpu", b'{"max_nodes": -1}', "max_nodes"),
        ("PUT", "computes/cpu", b'{"max_nodes": true}', "max_nodes"),
        ("PUT", "computes/cpu", b'{"max_nodes": "2"}', "max_nodes"),
        ("PUT", "computes/cpu", b'{"min_nodes": 3, "max_nodes": 2}', "min_nodes"),
        ("PUT", "computes/cpu", b'{"tier": "spot"}', "tier"),
        ("PUT", "computes/cpu", b'{"max_nodes": 0}', "max_nodes"),
        ("POST", "jobs/x/download", b"{}", "path"),
    ],
)
async def test_malformed_requests_are_400(api, stored_state, method, path, raw, contains):
    await api("GET", "workspace")
    before = stored_state()
    assert_error(await api(method, path, raw=raw), 400, contains=contains)
    assert stored_state() == before


@pytest.mark.parametrize(
    "params, contains",
    [({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "ten"}, "limit"),
     ({"status": "Sleeping"}, "Sleeping"), ({"cursor": "abc"}, "cursor")],
)
async def test_bad_job_list_queries_are_400(api, params, contains):
    assert_error(await api("GET", "jobs", params=params), 400, "invalid_request", contains)


async def test_bad_log_offsets_are_400(api, job_yaml):
    reply = await api("POST", "jobs", {"yaml": job_yaml(), "name": "j1"})
    assert reply.status == 201
    assert_error(await api("GET", "jobs/j1/logs", headers={"Last-Event-ID": "-5"}), 400, "invalid_request")
    assert_error(await api("GET", "jobs/j1/logs", params={"offset": "x"}), 400, "invalid_request")


# ---- 403: paths outside the Jupyter root ----------------------------------------------------------
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "data", {"path": "../outside.txt", "name": "x"}),
        ("POST", "jobs", {"path": "../outside.yml"}),
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\ncode: ../\n"}),
        ("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\n", "base_path": ".."}),
        ("POST", "jobs", {"form": {"command": "echo", "environment": ENV, "code": "/etc"}}),
        ("POST", "jobs", {"notebook": "../nb.ipynb"}),
    ],
)
async def test_paths_outside_the_root_are_403(api, root, stored_state, method, path, body):
    (root.parent / "outside.txt").write_text("secret")
    (root.parent / "outside.yml").write_text(f"command: echo\nenvironment: {ENV}\n")
    await api("GET", "workspace")
    before = stored_state()
    found = assert_error(await api(method, path, body), 403, "path_outside_root")
    assert str(root.parent) not in found["message"], "the message does not reveal the resolved path"
    assert stored_state() == before


# ---- 404: unknown job, unknown operation ----------------------------------------------------------
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "jobs/no_such_job", None),
        ("POST", "jobs/no_such_job/cancel", None),
        ("GET", "jobs/no_such_job/logs", None),
        ("GET", "jobs/no_such_job/outputs", None),
        ("POST", "jobs/no_such_job/download", {"path": "dl"}),
        ("GET", "operations/0123456789abcdef", None),
        ("DELETE", "operations/0123456789abcdef", None),
    ],
)
async def test_unknown_jobs_and_operations_are_404(api, root, method, path, body):
    assert_error(await api(method, path, body), 404, "not_found")
    assert not (root / "dl").exists(), "a refused download creates nothing"


# ---- 409: cancel of a finished job, a second job of the same name ---------------------------------
async def test_cancel_of_a_finished_job_is_409(api, wait_job, job_yaml):
    assert (await api("POST", "jobs", {"yaml": job_yaml(), "name": "quick"})).status == 201
    assert (await wait_job("quick"))["status"] == "Completed"
    body = assert_error(await api("POST", "jobs/quick/cancel"), 409, "conflict", "already ended")
    assert (await api("GET", "jobs/quick")).json["status"] == "Completed"
    assert body["details"] is None or isinstance(body["details"], dict)


async def test_a_second_job_with_the_same_name_is_409(api, job_yaml, stored_state):
    assert (await api("POST", "jobs", {"yaml": job_yaml(), "name": "once"})).status == 201
    before = stored_state()[0]
    assert_error(await api("POST", "jobs", {"yaml": job_yaml(), "name": "once"}), 409, "conflict")
    assert stored_state()[0] == before


async def test_a_data_version_with_other_content_is_409(api, root, wait_operation):
    (root / "v.txt").write_text("one")
    reply = await api("POST", "data", {"path": "v.txt", "name": "v", "version": "1"})
    assert (await wait_operation(reply.json["id"]))["state"] == "Succeeded"
    (root / "v.txt").write_text("two")
    reply = await api("POST", "data", {"path": "v.txt", "name": "v", "version": "1"})
    assert reply.status == 202  # the conflict is found once the content is known: the operation fails
    operation = await wait_operation(reply.json["id"])
    assert operation["state"] == "Failed" and "already exists with different content" in operation["error"]
    assert [d["version"] for d in (await api("GET", "data")).json["data"]] == ["1"]


# ---- unknown routes and methods stay JSON and 4xx -------------------------------------------------
async def test_wrong_methods_are_405_json(api):
    assert_error(await api("DELETE", "jobs"), 405, "method_not_allowed")
    assert_error(await api("POST", "computes/sizes", {}), 405, "method_not_allowed")


async def test_notebook_jobs_without_the_notebook_module_are_a_clear_400(api, root, monkeypatch, stored_state):
    """An installation without ``azml_jupyter.notebook`` answers 400, never 500 (the server runs in this
    process, so hiding the module here hides it from the handler)."""
    import sys

    (root / "nb.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    monkeypatch.setitem(sys.modules, "azml_jupyter.notebook", None)  # import -> ImportError
    await api("GET", "workspace")
    before = stored_state()
    body = assert_error(await api("POST", "jobs", {"notebook": "nb.ipynb"}), 400, "notebook_jobs_unavailable")
    assert "not available" in body["message"] and body["details"]["reason"]
    assert stored_state() == before
