"""Bad job files and unknown references: a clear error, and nothing stored."""

from __future__ import annotations

import os

import pytest

from azml_jupyter.errors import InvalidJobSpec, InvalidRequest, UnknownReference


def stored_state(workspace) -> tuple:
    home = workspace.layout.home
    files = sorted(
        str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and not p.name.startswith("workspace.db")
        and p.name not in ("engine.log", "engine.pid", "engine.lock")
    )
    return (len(workspace.list_jobs(limit=1000).jobs), len(workspace.list_data()), files)


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("command: [unclosed\n", "not valid YAML", 2),
        ("command: echo\nenvironment: azureml:e:1\nlimits:\n  timeout: soon\n", "limits.timeout: Not a valid integer", 4),
        ("command: echo\nenvironment: azureml:e:1\ninputs:\n  a:\n    type: uri_foldr\n    path: ./x\n", "inputs.a.type", 5),
        ("command: echo hi\n", "environment: Missing data for required field", None),
        ("- just\n- a list\n", "must be a YAML mapping", None),
        ("command: echo ${{inputs.nope}}\nenvironment: azureml:e:1\n", "no input named 'nope'", None),
        ("command: echo\nenvironment: azureml:e:1\ninputs:\n  d:\n    type: uri_folder\n    path: ./missing\n", "does not exist", None),
    ],
)
def test_invalid_job_files_are_explained_and_nothing_is_stored(jobs, workspace, text, message, line):
    before = stored_state(workspace)
    with pytest.raises(InvalidJobSpec) as caught:
        jobs.submit(text, files={"src/x.py": "print(1)"})
    assert message in caught.value.message
    if line is not None:
        assert caught.value.details["line"] == line
        assert f"(line {line})" in caught.value.message
    assert stored_state(workspace) == before


@pytest.mark.parametrize(
    "path, message",
    [
        ("azureml:nope:1", "data asset azureml:nope:1, which does not exist"),
        ("azureml:nope@latest", "data asset azureml:nope@latest, which does not exist"),
        ("azureml://datastores/nostore/paths/x", "Unknown datastore 'nostore'"),
        ("azureml://jobs/no_such_job/outputs/out", "no job named 'no_such_job'"),
    ],
)
def test_unknown_references_are_refused_before_local_data_is_copied(jobs, workspace, path, message):
    before = stored_state(workspace)
    with pytest.raises(UnknownReference, match=message):
        jobs.submit(
            f"""
            command: echo ${{{{inputs.local}}}} ${{{{inputs.ref}}}}
            code: ./src
            environment: azureml:e:1
            inputs:
              local:
                type: uri_folder
                path: ./data
              ref:
                type: uri_folder
                path: {path}
            """,
            files={"src/x.py": "print(1)", "data/big.csv": "a,b\n" * 1000},
        )
    assert stored_state(workspace) == before  # the local folder was not copied in, no snapshot was kept


def test_remote_storage_urls_are_refused_with_advice(jobs):
    with pytest.raises(InvalidRequest, match="not reachable from the local engine"):
        jobs.submit(
            """
            command: echo ${{inputs.x}}
            environment: azureml:e:1
            inputs:
              x:
                type: uri_folder
                path: wasbs://container@account.blob.core.windows.net/x
            """
        )


def test_data_assets_version_and_deduplicate(workspace, tmp_path):
    from azml_jupyter.errors import Conflict

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    first, created = workspace.create_data("ds", folder)
    assert created and first.version == "1" and first.type == "uri_folder" and first.file_count == 1
    objects_before = sorted(p.name for p in workspace.layout.objects.rglob("*") if p.is_file())
    again, created = workspace.create_data("ds", folder)
    assert not created and again.version == "1"  # unchanged: same version, nothing new stored
    assert sorted(p.name for p in workspace.layout.objects.rglob("*") if p.is_file()) == objects_before
    (folder / "b.txt").write_text("beta")
    second, created = workspace.create_data("ds", folder)
    assert created and second.version == "2" and second.file_count == 2
    with pytest.raises(Conflict, match="different content"):
        workspace.create_data("ds", tmp_path / "d" / "a.txt", version="2", type="uri_file")
    assert workspace.get_data("ds").version == "2"
    assert workspace.get_data("ds", "1").path != second.path
    path = workspace.datastores.path_for_uri(second.path)
    assert sorted(os.listdir(path)) == ["a.txt", "b.txt"]
    with pytest.raises(InvalidRequest, match="is a folder"):
        workspace.create_data("ds", folder, type="uri_file")
