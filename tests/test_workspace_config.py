"""azml_jupyter.workspace_config: config.json from Terraform outputs, found and read the way
azure.ai.ml.MLClient.from_config finds and reads it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from azml_jupyter import workspace_config
from azml_jupyter.errors import InvalidRequest, NotFound, Unavailable
from azml_jupyter.workspace_config import (
    AzureWorkspaceConfig,
    configure_from_terraform,
    find_config,
    load_config,
)

FIXTURE = Path(__file__).parent / "terraform" / "fixtures" / "terraform-output.json"
SUBSCRIPTION = "3f2a9c1e-7b4d-4e8a-9c61-2d5f0a8b7e43"
TENANT = "b1e0c7d2-5a34-4f1b-8e9d-6c2a1f0e9b85"


class StaticCredential:
    """Any object will do: building an MLClient makes no call with it."""

    def get_token(self, *scopes, **kwargs):  # pragma: no cover - never called
        raise AssertionError("MLClient must not ask for a token while being built")


def outputs() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def write_outputs(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# -- configure_from_terraform on a recorded `terraform output -json` -------------------------------


def test_fixture_has_the_terraform_output_json_shape():
    for name, entry in outputs().items():
        assert set(entry) == {"sensitive", "type", "value"}, name
        assert entry["sensitive"] is False


def test_configure_writes_a_config_load_config_accepts(tmp_path):
    written = configure_from_terraform(FIXTURE, tmp_path / "config.json")
    assert written == tmp_path / "config.json"
    config = load_config(written)
    assert config == AzureWorkspaceConfig(
        subscription_id=SUBSCRIPTION,
        resource_group="rg-azml-prod",
        workspace_name="mlw-azml-prod-k3x9q2",
        location="westeurope",
        storage_account="stazmlprodk3x9q2",
        datasets_container="datasets",
        results_container="results",
        default_compute="cpu-cluster",
        studio_url=outputs()["studio_url"]["value"],
        tenant_id=TENANT,
    )


def test_written_file_is_mlclient_shape_with_extras_under_one_key(tmp_path):
    written = configure_from_terraform(FIXTURE, tmp_path / "config.json")
    document = json.loads(written.read_text(encoding="utf-8"))
    assert set(document) == {"subscription_id", "resource_group", "workspace_name", "azml_jupyter"}
    assert document["azml_jupyter"]["default_compute"] == "cpu-cluster"
    assert document == outputs()["azureml_config"]["value"]


def test_mlclient_from_config_accepts_the_written_file(tmp_path):
    from azure.ai.ml import MLClient

    written = configure_from_terraform(FIXTURE, tmp_path / "config.json")
    client = MLClient.from_config(credential=StaticCredential(), path=str(written))
    assert client.subscription_id == SUBSCRIPTION
    assert client.resource_group_name == "rg-azml-prod"
    assert client.workspace_name == "mlw-azml-prod-k3x9q2"


def test_default_destination_is_dot_azureml_under_cwd_where_mlclient_finds_it(tmp_path, monkeypatch):
    from azure.ai.ml import MLClient

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(project)
    written = configure_from_terraform(FIXTURE)
    assert written == project / ".azureml" / "config.json"
    # A notebook in a subfolder finds it both ways, and both agree.
    assert find_config(project / "notebooks") == written
    client = MLClient.from_config(credential=StaticCredential(), path=str(project / "notebooks"))
    assert client.workspace_name == load_config(written).workspace_name


def test_destination_folder_gets_config_json(tmp_path):
    assert configure_from_terraform(FIXTURE, tmp_path) == tmp_path / "config.json"


def test_overwrites_an_existing_config_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "config.json"
    target.write_text('{"old": true}', encoding="utf-8")
    configure_from_terraform(FIXTURE, target)
    assert load_config(target).workspace_name == "mlw-azml-prod-k3x9q2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_accepts_the_output_of_terraform_output_json_azureml_config(tmp_path):
    # `terraform output -json azureml_config` prints the value alone.
    source = write_outputs(tmp_path / "value.json", outputs()["azureml_config"]["value"])
    config = load_config(configure_from_terraform(source, tmp_path / "out" / "config.json"))
    assert config.storage_account == "stazmlprodk3x9q2"


# -- broken Terraform output ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["subscription_id", "resource_group", "workspace_name"])
def test_missing_required_field_is_named(tmp_path, field):
    data = outputs()
    del data["azureml_config"]["value"][field]
    source = write_outputs(tmp_path / "outputs.json", data)
    with pytest.raises(InvalidRequest) as caught:
        configure_from_terraform(source, tmp_path / "config.json")
    assert field in caught.value.message
    assert caught.value.details["missing"] == [field]
    assert not (tmp_path / "config.json").exists()


def test_several_missing_fields_are_all_named(tmp_path):
    data = outputs()
    data["azureml_config"]["value"] = {"workspace_name": "w", "azml_jupyter": {}}
    source = write_outputs(tmp_path / "outputs.json", data)
    with pytest.raises(InvalidRequest) as caught:
        configure_from_terraform(source, tmp_path / "config.json")
    assert caught.value.details["missing"] == ["subscription_id", "resource_group"]
    assert "subscription_id, resource_group" in caught.value.message


def test_missing_azureml_config_output_lists_what_was_found(tmp_path):
    data = outputs()
    del data["azureml_config"]
    source = write_outputs(tmp_path / "outputs.json", data)
    with pytest.raises(InvalidRequest) as caught:
        configure_from_terraform(source, tmp_path / "config.json")
    assert "azureml_config" in caught.value.message
    assert "storage_account_name" in caught.value.details["found"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("{}", "no outputs"),
        ("this is not json", "not the JSON of `terraform output -json`"),
        ('{"azureml_config": ', "not the JSON"),
        ("[1, 2]", "JSON object of Terraform outputs"),
        ('{"azureml_config": {"sensitive": false, "type": "string"}}', 'has no "value"'),
        ('{"azureml_config": {"value": "not an object"}}', "must hold a JSON object"),
        (
            '{"azureml_config": {"value": {"subscription_id": 1, "resource_group": "r", "workspace_name": "w"}}}',
            "subscription_id must be non-empty strings",
        ),
        (
            '{"azureml_config": {"value": {"subscription_id": "s", "resource_group": " ", "workspace_name": "w"}}}',
            "resource_group must be non-empty strings",
        ),
        (
            '{"azureml_config": {"value": {"subscription_id": "s", "resource_group": "r", "workspace_name": "w", '
            '"azml_jupyter": []}}}',
            '"azml_jupyter" must be a JSON object',
        ),
    ],
)
def test_broken_output_fails_clearly(tmp_path, content, expected):
    source = write_outputs(tmp_path / "outputs.json", content)
    with pytest.raises(InvalidRequest) as caught:
        configure_from_terraform(source, tmp_path / "config.json")
    assert expected in caught.value.message
    assert str(source) in caught.value.message
    assert not (tmp_path / "config.json").exists()


def test_source_that_does_not_exist(tmp_path):
    with pytest.raises(InvalidRequest, match="neither a Terraform directory"):
        configure_from_terraform(tmp_path / "nope", tmp_path / "config.json")


# -- a Terraform directory: terraform runs there -------------------------------------------------


def fake_terraform(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / "terraform"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_terraform_directory_runs_terraform_output_json_there(tmp_path, monkeypatch):
    bin_dir, tf_dir = tmp_path / "bin", tmp_path / "terraform"
    tf_dir.mkdir()
    # Records its arguments, then prints the recorded outputs the way terraform would.
    fake_terraform(bin_dir, f'echo "$@" > "{tmp_path}/args"\ncat "{FIXTURE}"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    written = configure_from_terraform(tf_dir, tmp_path / "config.json")
    assert load_config(written).default_compute == "cpu-cluster"
    assert (tmp_path / "args").read_text().split() == [f"-chdir={tf_dir}", "output", "-json"]


def test_terraform_failure_is_reported_with_its_message(tmp_path, monkeypatch):
    bin_dir, tf_dir = tmp_path / "bin", tmp_path / "terraform"
    tf_dir.mkdir()
    fake_terraform(bin_dir, 'echo "Error: No outputs found" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(InvalidRequest) as caught:
        configure_from_terraform(tf_dir, tmp_path / "config.json")
    assert "exit 1" in caught.value.message and "No outputs found" in caught.value.message


def test_terraform_not_installed_says_so_and_offers_the_file_route(tmp_path, monkeypatch):
    tf_dir = tmp_path / "terraform"
    tf_dir.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(InvalidRequest) as caught:
        configure_from_terraform(tf_dir, tmp_path / "config.json")
    assert "terraform is not installed" in caught.value.message
    assert "terraform output -json >" in caught.value.message


def test_terraform_that_hangs_times_out(tmp_path, monkeypatch):
    bin_dir, tf_dir = tmp_path / "bin", tmp_path / "terraform"
    tf_dir.mkdir()
    fake_terraform(bin_dir, "exec sleep 30\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(workspace_config, "TERRAFORM_TIMEOUT_SECONDS", 0.5)
    with pytest.raises(Unavailable, match="did not finish within"):
        configure_from_terraform(tf_dir, tmp_path / "config.json")


# -- load_config ---------------------------------------------------------------------------------


def test_load_config_of_a_plain_portal_config(tmp_path):
    # The file the Azure portal offers for download: just the three keys.
    path = write_outputs(
        tmp_path / "config.json",
        {"subscription_id": SUBSCRIPTION, "resource_group": "rg", "workspace_name": "ws"},
    )
    config = load_config(path)
    assert (config.subscription_id, config.resource_group, config.workspace_name) == (SUBSCRIPTION, "rg", "ws")
    assert config.storage_account is None and config.default_compute is None


def test_load_config_of_a_legacy_scope_file(tmp_path):
    scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
    path = write_outputs(tmp_path / "project.json", {"Scope": scope})
    assert load_config(path).workspace_name == "ws"


def test_load_config_of_a_bad_scope(tmp_path):
    path = write_outputs(tmp_path / "project.json", {"Scope": "/subscriptions/x"})
    with pytest.raises(InvalidRequest, match="Scope must be a workspace resource id"):
        load_config(path)


def test_load_config_missing_field_is_named(tmp_path):
    path = write_outputs(tmp_path / "config.json", {"subscription_id": SUBSCRIPTION, "resource_group": "rg"})
    with pytest.raises(InvalidRequest) as caught:
        load_config(path)
    assert "workspace_name" in caught.value.message and str(path) in caught.value.message


@pytest.mark.parametrize(
    ("content", "expected"), [("", "empty"), ("{", "not valid JSON"), ('"text"', "must hold a JSON object")]
)
def test_load_config_broken_file(tmp_path, content, expected):
    path = write_outputs(tmp_path / "config.json", content)
    with pytest.raises(InvalidRequest, match=expected):
        load_config(path)


def test_load_config_missing_file(tmp_path):
    with pytest.raises(NotFound):
        load_config(tmp_path / "config.json")


def test_round_trip_through_to_config_json():
    config = AzureWorkspaceConfig("s", "r", "w", default_compute="c")
    assert config.to_config_json() == {
        "subscription_id": "s",
        "resource_group": "r",
        "workspace_name": "w",
        "azml_jupyter": {"default_compute": "c"},
    }
    assert AzureWorkspaceConfig.from_dict(config.to_config_json(), source="test") == config


# -- find_config: MLClient.from_config's search order --------------------------------------------


def make(path: Path, workspace: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"subscription_id": SUBSCRIPTION, "resource_group": "rg", "workspace_name": workspace}),
        encoding="utf-8",
    )
    return path


def mlclient_choice(start: Path) -> str:
    from azure.ai.ml import MLClient

    return MLClient.from_config(credential=StaticCredential(), path=str(start)).workspace_name


def test_dot_azureml_beats_plain_config_json(tmp_path):
    make(tmp_path / "config.json", "plain")
    make(tmp_path / ".azureml" / "config.json", "dotazureml")
    assert load_config(find_config(tmp_path)).workspace_name == "dotazureml" == mlclient_choice(tmp_path)


def test_dot_azureml_in_a_parent_beats_plain_config_json_here(tmp_path):
    here = tmp_path / "project" / "notebooks"
    make(here / "config.json", "plain-here")
    make(tmp_path / ".azureml" / "config.json", "dotazureml-up")
    assert load_config(find_config(here)).workspace_name == "dotazureml-up" == mlclient_choice(here)


def test_nearest_folder_wins_for_the_same_kind_of_file(tmp_path):
    here = tmp_path / "project" / "notebooks"
    make(tmp_path / ".azureml" / "config.json", "outer")
    make(tmp_path / "project" / ".azureml" / "config.json", "inner")
    here.mkdir(parents=True)
    assert load_config(find_config(here)).workspace_name == "inner" == mlclient_choice(here)


def test_config_json_beats_project_json_and_aml_config_comes_second(tmp_path):
    make(tmp_path / "aml_config" / "config.json", "aml_config")
    make(tmp_path / ".azureml" / "project.json", "dotazureml-project")
    assert load_config(find_config(tmp_path)).workspace_name == "dotazureml-project" == mlclient_choice(tmp_path)
    (tmp_path / ".azureml" / "project.json").unlink()
    assert load_config(find_config(tmp_path)).workspace_name == "aml_config" == mlclient_choice(tmp_path)


def test_plain_config_json_in_a_parent(tmp_path):
    here = tmp_path / "a" / "b" / "c"
    here.mkdir(parents=True)
    make(tmp_path / "config.json", "parent")
    assert find_config(here) == tmp_path / "config.json"
    assert mlclient_choice(here) == "parent"


def test_a_file_path_is_returned_as_is(tmp_path):
    path = make(tmp_path / "team-workspace.json", "team")
    make(tmp_path / ".azureml" / "config.json", "other")
    assert find_config(path) == path
    assert mlclient_choice(path) == "team"


def test_default_start_is_the_current_directory(tmp_path, monkeypatch):
    make(tmp_path / ".azureml" / "config.json", "cwd")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    found = find_config()
    assert found == tmp_path / ".azureml" / "config.json"
    assert found.is_absolute()


def test_search_stops_twenty_levels_up(tmp_path):
    make(tmp_path / ".azureml" / "config.json", "far")
    deep = tmp_path.joinpath(*[f"d{i}" for i in range(21)])
    deep.mkdir(parents=True)
    # 20 parents up from deep is d0; tmp_path is the 21st: out of reach, as for azure-ai-ml.
    assert find_config(deep) != tmp_path / ".azureml" / "config.json"
    assert find_config(deep.parent) == tmp_path / ".azureml" / "config.json"


def test_finds_nothing_where_mlclient_finds_nothing(tmp_path):
    from azure.ai.ml.exceptions import ValidationException

    # 21 empty levels: the search (start + 20 parents) never leaves this tree.
    deep = tmp_path.joinpath(*[f"d{i}" for i in range(21)])
    deep.mkdir(parents=True)
    assert find_config(deep) is None
    with pytest.raises(ValidationException):
        mlclient_choice(deep)
