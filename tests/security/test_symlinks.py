"""Issue 13 item 3: links in a job's code folder and in local inputs never carry a file from outside the
folder into the snapshot or the object store. One rule (``engine/confinement.py``) for code, inputs and
data copy-in: links out are refused (naming the link), links inside are copied as their target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from azml_jupyter.errors import Forbidden

from .engine_jobs import JobFolders, files_containing


@pytest.fixture
def job_folders(workspace, tmp_path) -> JobFolders:
    return JobFolders(workspace, tmp_path)


SECRET = b"id_rsa-PRIVATE-0451"
JOB = """
command: ls
code: ./src
environment: azureml:e:1
"""
JOB_WITH_INPUT = """
command: ls ${{inputs.d}}
environment: azureml:e:1
inputs:
  d:
    type: uri_folder
    path: ./data
"""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    (folder / "inner").mkdir(parents=True)
    (folder / "id_rsa").write_bytes(SECRET)
    (folder / "inner" / "key").write_bytes(SECRET)
    return folder


def _assert_nothing_leaked(workspace):
    assert files_containing(workspace.layout.home, SECRET) == []
    assert workspace.list_jobs().jobs == []


@pytest.mark.parametrize(
    "where, link",
    [
        ("src/leak.txt", "id_rsa"),  # a link to a file outside
        ("src/deep/er/leak.txt", "id_rsa"),
        ("src/outside_folder", "inner"),  # a link to a folder outside
        ("src/up", ".."),  # a relative link up and out
    ],
)
def test_a_code_folder_link_out_of_the_folder_is_refused(job_folders, workspace, outside, where, link):
    job_file = job_folders.write(JOB, files={"src/train.py": "print(1)"})
    target = job_file.parent / where
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside / link if link != ".." else "../..", target)
    spec = job_folders.spec(job_file)
    with pytest.raises(Forbidden, match=r"code folder .*is a symbolic link to .*outside the folder") as caught:
        workspace.submit(spec)
    assert caught.value.status == 403 and caught.value.code == "link_outside_folder"
    assert where.removeprefix("src/") in caught.value.message  # names the link
    _assert_nothing_leaked(workspace)


@pytest.mark.parametrize("where, link", [("data/leak.txt", "id_rsa"), ("data/sub/k", "inner/key")])
def test_a_local_input_link_out_of_the_folder_is_refused(job_folders, workspace, outside, where, link):
    job_file = job_folders.write(JOB_WITH_INPUT, files={"data/a.csv": "x\n"})
    target = job_file.parent / where
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside / link, target)
    spec = job_folders.spec(job_file)
    with pytest.raises(Forbidden, match=r"is a symbolic link to .*outside the folder"):
        workspace.submit(spec)
    _assert_nothing_leaked(workspace)


def test_links_inside_the_folder_are_copied_as_their_target(job_folders, workspace):
    """As Azure ML's uploader does: the content of a link that stays inside is uploaded under the link's name."""
    job_file = job_folders.write(
        "command: cat util.py && cat ${{inputs.d}}/alias.csv\ncode: ./src\nenvironment: azureml:e:1\n"
        "inputs:\n  d:\n    type: uri_folder\n    path: ./data\n",
        files={"src/lib/util.py": "print('util')\n", "data/real.csv": "a,b\n"},
    )
    os.symlink("lib/util.py", job_file.parent / "src" / "util.py")
    os.symlink("real.csv", job_file.parent / "data" / "alias.csv")
    os.symlink("nowhere", job_file.parent / "src" / "dangling")  # skipped, as copy-in skips it
    record = workspace.submit(job_folders.spec(job_file))
    snapshot = workspace.layout.snapshot(record.name)
    assert (snapshot / "util.py").read_text() == "print('util')\n" and not (snapshot / "util.py").is_symlink()
    assert not (snapshot / "dangling").exists()
    done = job_folders.wait(record.name)
    assert done.status.value == "Completed", job_folders.log(record.name)
    assert "a,b" in job_folders.log(record.name)


def test_data_copy_in_follows_the_same_rule(workspace, outside, tmp_path):
    folder = tmp_path / "asset"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    os.symlink(outside / "id_rsa", folder / "leak")
    with pytest.raises(Forbidden, match=r"'leak' is a symbolic link"):
        workspace.create_data("asset", folder)
    assert files_containing(workspace.layout.home, SECRET) == []
    assert workspace.list_data() == []


def test_a_hard_link_to_a_file_outside_is_copied_like_any_file(job_folders, workspace, outside):
    """Decision (docs/security.md): a hard link *is* the file, with content its creator could read anyway;
    it cannot be planted by a repository or an archive the way a symbolic link can. It is copied."""
    job_file = job_folders.write(JOB, files={"src/train.py": "print(1)"})
    os.link(outside / "id_rsa", job_file.parent / "src" / "hard")
    record = workspace.submit(job_folders.spec(job_file))
    assert (workspace.layout.snapshot(record.name) / "hard").read_bytes() == SECRET
