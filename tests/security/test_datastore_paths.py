"""Issue 13 item 2: a datastore URI never resolves outside its datastore's folder, however it is spelled.

One function (``LocalDatastores.path_for_uri``) turns ``azureml://datastores/<ds>/paths/<p>`` into a
path; job inputs, outputs, the engine's input mounting and downloads all go through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from azml_jupyter.errors import AzmlError, InvalidRequest

from .engine_jobs import JobFolders, files_containing


@pytest.fixture
def job_folders(workspace, tmp_path) -> JobFolders:
    return JobFolders(workspace, tmp_path)


SECRET = b"the-outside-secret-0451"
DS = "azureml://datastores/workspaceblobstore/paths/"


@pytest.fixture
def secret(workspace) -> Path:
    """A file beside the workspace folder (outside every datastore), and a link inside the datastore
    that points at it."""
    outside = workspace.layout.home.parent / "secret.txt"
    outside.write_bytes(SECRET)
    store = workspace.layout.datastore("workspaceblobstore")
    (store / "shared").mkdir()
    os.symlink(outside, store / "shared" / "link_to_file")
    os.symlink(outside.parent, store / "shared" / "link_to_folder")
    return outside


ESCAPES = [
    # the datastore name
    "azureml://datastores/../paths/workspace.db",
    "azureml://datastores/../../paths/secret.txt",
    "azureml://datastores/./paths/workspaceartifactstore",
    "azureml://datastores/workspaceblobstore/../../paths/secret.txt",
    "azureml://datastores/workspaceblobstore/../../../paths/x",
    "azureml://datastores/%2e%2e/%2e%2e/paths/secret.txt",
    "azureml://datastores/..%2f../paths/secret.txt",
    "azureml://datastores/workspaceblobstore%2f..%2f../paths/x",
    "azureml://datastores/..\\..\\/paths/secret.txt",
    "azureml://datastores//paths/x",
    # '..' segments after paths/
    DS + "..",
    DS + "../",
    DS + "../../secret.txt",
    DS + "../../../secret.txt",
    DS + "a/../../../secret.txt",
    DS + "a/b/../../../../secret.txt",
    DS + "./../secret.txt",
    DS + "../workspaceartifactstore/x",
    DS + "a/./b",
    # absolute paths and doubled slashes
    DS + "/etc/passwd",
    DS + "//etc/passwd",
    DS + "a//../../secret.txt",
    DS + "a//b",
    # percent-encoded dots and separators (never decoded, always refused)
    DS + "%2e%2e/%2e%2e/secret.txt",
    DS + "%2E%2E/x",
    DS + "..%2f..%2fsecret.txt",
    DS + "%2e%2e%2f%2e%2e%2fsecret.txt",
    DS + "a%2f..%2f..%2f..",
    DS + "%252e%252e/%252e%252e/secret.txt",
    DS + "%2fetc%2fpasswd",
    DS + "%5c..%5c..%5csecret.txt",
    # backslashes and NUL
    DS + "..\\..\\secret.txt",
    DS + "a\\..\\..\\x",
    DS + "a%00/../../x",
    DS + "a\x00b",
    # links inside the datastore that point out of it
    DS + "shared/link_to_file",
    DS + "shared/link_to_folder/secret.txt",
    DS + "shared/link_to_folder",
]


@pytest.mark.parametrize("uri", ESCAPES)
def test_no_spelling_of_a_datastore_uri_escapes_the_datastore(workspace, secret, uri):
    root = workspace.layout.home / "datastores"
    try:
        path = workspace.datastores.path_for_uri(uri, what="input 'data'")
    except InvalidRequest as exc:
        assert exc.status == 400
        assert exc.message.startswith("input 'data': ")  # the message names what used the URI
        return
    raise AssertionError(f"{uri!r} was accepted as {path} (inside the datastores: {root in path.parents})")


def test_thirty_plus_spellings_are_covered():
    assert len(ESCAPES) >= 30


@pytest.mark.parametrize(
    "uri, relative",
    [
        (DS + "data/train.csv", "workspaceblobstore/data/train.csv"),
        (DS + "data/", "workspaceblobstore/data"),
        (DS + "v1.2/..hidden/a..b.csv", "workspaceblobstore/v1.2/..hidden/a..b.csv"),
        (DS + "my%20data/x", "workspaceblobstore/my%20data/x"),  # never decoded: a plain name
        (
            "azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.x/",
            "workspaceartifactstore/ExperimentRun/dcid.x",
        ),
    ],
)
def test_ordinary_datastore_paths_still_resolve(workspace, uri, relative):
    assert workspace.datastores.path_for_uri(uri) == (workspace.layout.home / "datastores" / relative).resolve()


def test_a_job_input_outside_the_datastore_is_refused_naming_the_input(job_folders, workspace, secret):
    with pytest.raises(InvalidRequest, match=r"Input 'd': .*escapes the datastore"):
        job_folders.submit(
            """
            command: cat ${{inputs.d}}
            environment: azureml:e:1
            inputs:
              d:
                type: uri_file
                path: azureml://datastores/../../paths/secret.txt
            """
        )
    assert workspace.list_jobs().jobs == []


def test_a_job_output_outside_the_datastore_is_refused_naming_the_output(job_folders, workspace):
    with pytest.raises(InvalidRequest, match=r"Output 'o': .*datastore"):
        job_folders.submit(
            """
            command: echo hi > ${{outputs.o}}/x
            environment: azureml:e:1
            outputs:
              o:
                type: uri_folder
                path: azureml://datastores/workspaceblobstore/paths/../../../elsewhere/
            """
        )
    assert workspace.list_jobs().jobs == []


def test_a_download_never_copies_what_a_link_in_an_output_points_at(job_folders, workspace, local_backend, tmp_path):
    outside = workspace.layout.home.parent / "secret.txt"
    outside.write_bytes(SECRET)
    record = job_folders.submit(
        f"""
        command: echo fine > ${{{{outputs.o}}}}/ok.txt && ln -s {outside} ${{{{outputs.o}}}}/leak.txt
        environment: azureml:e:1
        outputs:
          o:
            type: uri_folder
        """
    )
    assert job_folders.wait(record.name).status.value == "Completed"
    destination = tmp_path / "download"
    with pytest.raises(AzmlError, match=r"leak.txt.*outside"):
        local_backend.download(record.name, destination, output="o")
    with pytest.raises(AzmlError, match=r"leak.txt.*outside"):
        local_backend.list_outputs(record.name)
    if destination.exists():
        assert files_containing(destination, SECRET) == []  # a refused download writes nothing


def test_a_stored_output_uri_that_escapes_is_refused_when_read(workspace, secret):
    """A workspace written by an older version may hold such a URI: reading it (outputs, download) refuses."""
    with workspace.store.transaction() as db:
        workspace.store.insert_jobs(
            db,
            [
                {
                    "name": "old_job",
                    "type": "command",
                    "status": "Completed",
                    "spec": {},
                    "outputs": {"o": {"type": "uri_file", "uri": "azureml://datastores/../../paths/secret.txt"}},
                }
            ],
        )
    with pytest.raises(InvalidRequest, match="escapes the datastore"):
        workspace.output_locations("old_job")
