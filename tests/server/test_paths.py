"""Path traversal: paths from the browser stay inside the Jupyter root. Copy-in and download each get
more than 20 attempts (``..``, absolute paths, links out of the root, encoded separators, NUL bytes,
backslashes); every one is refused, and nothing outside the root is read (nothing is stored, no FIFO
is opened) or written (the outside folder is byte-for-byte unchanged)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from azml_jupyter.errors import Forbidden, InvalidRequest, PathOutsideRoot
from azml_jupyter.server.paths import RootPaths

pytestmark = pytest.mark.filterwarnings("ignore")

ENV = "azureml:AzureML-sklearn-1.5@latest"
INPUT = "inputs:\n  d:\n    type: {}\n    path: {}\n"
REFUSALS = {"path_outside_root", "invalid_path", "path_not_found", "hidden_path", "path_conflict", "not_found"}


@pytest.fixture
def layout(root: Path) -> dict[str, Path]:
    """A root with every kind of escape hatch, and an outside folder that must stay untouched."""
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    (outside / "inner").mkdir()
    (outside / "inner" / "x.txt").write_text("x")
    os.mkfifo(outside / "pipe.yml")  # opening it for reading would block: proof that nobody reads it
    (root / "sub").mkdir()
    (root / "sub" / "ok.txt").write_text("fine")
    os.symlink(outside, root / "link_out")
    os.symlink(outside / "secret.txt", root / "link_file")
    os.symlink("../..", root / "sub" / "link_up")
    os.symlink(root / "chain2", root / "chain1")
    os.symlink(outside, root / "chain2")
    (root / "dir_with_link").mkdir()
    (root / "dir_with_link" / "ok.txt").write_text("ok")
    os.symlink(outside / "secret.txt", root / "dir_with_link" / "evil")
    (root / "dir_with_dirlink" / "deep").mkdir(parents=True)
    os.symlink(outside / "inner", root / "dir_with_dirlink" / "deep" / "evil_dir")
    (root / "dl_artifacts_link").mkdir()
    os.symlink(outside, root / "dl_artifacts_link" / "artifacts")
    (root / "dl_file_link" / "artifacts" / "outputs").mkdir(parents=True)
    os.symlink(outside / "secret.txt", root / "dl_file_link" / "artifacts" / "outputs" / "result.txt")
    (root / "dl_inner_link").mkdir()
    (root / "elsewhere").mkdir()
    os.symlink(root / "elsewhere", root / "dl_inner_link" / "artifacts")
    (root / "a_file").write_text("not a folder")
    return {"outside": outside}


def snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_fifo():
            out[rel] = "fifo"
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + f":{path.stat().st_mtime_ns}"
        else:
            out[rel] = "dir"
    return out


COPY_IN_ATTEMPTS = [
    ("../outside/secret.txt", 403),
    ("../../../../../../../../etc/passwd", 403),
    ("/etc/passwd", 403),
    ("ABS_SECRET", 403),
    ("sub/../../outside/secret.txt", 403),
    ("./../outside", 403),
    ("..", 403),
    ("link_out", 403),
    ("link_out/secret.txt", 403),
    ("link_file", 403),
    ("sub/link_up/outside/secret.txt", 403),
    ("chain1", 403),
    ("chain1/inner/x.txt", 403),
    ("dir_with_link", 403),
    ("dir_with_dirlink", 403),
    ("//etc/passwd", 403),
    ("sub/./../../outside/secret.txt", 403),
    ("..%2foutside%2fsecret.txt", 400),
    ("%2e%2e/outside/secret.txt", 400),
    ("..%2Foutside", 400),
    ("..\\outside\\secret.txt", 400),
    ("sub\\..\\..\\outside", 400),
    ("secret\x00.txt", 400),
    ("sub/ok.txt\x00/../../outside/secret.txt", 400),
    ("~/../outside/secret.txt", 400),  # "~" is not expanded: a (missing) folder named "~"
    ("file:///etc/passwd", 400),
    ("..%252f..%252fetc%252fpasswd", 403),  # double-encoded: a literal name, and a hidden one
]


async def test_copy_in_refuses_every_traversal(api, root, layout, stored_state):
    await api("GET", "workspace")
    before_state, before_outside = stored_state(), snapshot(layout["outside"])
    assert len(COPY_IN_ATTEMPTS) >= 20
    for path, status in COPY_IN_ATTEMPTS:
        path = path.replace("ABS_SECRET", str(layout["outside"] / "secret.txt"))
        reply = await api("POST", "data", {"path": path, "name": "stolen"})
        assert reply.status == status, (path, reply.status, reply.body)
        assert reply.json["error"] in REFUSALS, (path, reply.json)
    # JSON unicode escapes decode to plain dots and slashes before any check: still refused
    reply = await api("POST", "data", raw=b'{"path": "\\u002e\\u002e/outside/secret.txt", "name": "stolen"}')
    assert reply.status == 403
    assert stored_state() == before_state, "no operation, no object, no asset"
    assert snapshot(layout["outside"]) == before_outside
    assert (await api("GET", "data")).json["data"] == []


DOWNLOAD_ATTEMPTS = [
    ("../outside-dl", 403),
    ("ABS_TMP", 403),
    ("ABS_OUTSIDE", 403),
    ("/tmp", 403),
    ("//tmp/escape", 403),
    ("..", 403),
    ("a/../../outside", 403),
    ("sub/../../outside", 403),
    ("link_out", 403),
    ("link_out/deeper", 403),
    ("sub/link_up/outside/dl", 403),
    ("chain1/dl", 403),
    ("dl_artifacts_link", 403),  # dl_artifacts_link/artifacts -> outside
    ("dl_file_link", 403),  # .../artifacts/outputs/result.txt -> outside/secret.txt
    ("dl_inner_link", 403),  # a link inside the root: downloads never write through links
    ("..%2foutside", 400),
    ("%2e%2e", 400),
    ("%2E%2E/outside", 400),
    ("..\\outside", 400),
    ("dl\x00", 400),
    ("a_file", 400),  # a file, not a folder
    ("a_file/below", 400),
]


async def finished_job(api, wait_job) -> str:
    reply = await api("POST", "jobs", {
        "yaml": f"command: mkdir -p outputs && echo 42 > outputs/result.txt && echo 1 > ${{{{outputs.o}}}}/o.txt\n"
                f"environment: {ENV}\noutputs:\n  o:\n    type: uri_folder\n",
        "name": "producer",
    })
    assert reply.status == 201, reply.body
    assert (await wait_job("producer"))["status"] == "Completed"
    return "producer"


async def test_download_refuses_every_traversal(api, root, layout, wait_job):
    finished = await finished_job(api, wait_job)
    before_outside = snapshot(layout["outside"])
    before_root = snapshot(root)
    escape = Path("/tmp") / f"azml-escape-{uuid.uuid4().hex}"
    assert len(DOWNLOAD_ATTEMPTS) >= 20
    for path, status in DOWNLOAD_ATTEMPTS:
        path = path.replace("ABS_TMP", str(escape)).replace("ABS_OUTSIDE", str(layout["outside"]))
        for output in (None, "all"):
            body = {"path": path} if output is None else {"path": path, "output": output}
            reply = await api("POST", f"jobs/{finished}/download", body)
            assert reply.status == status, (path, output, reply.status, reply.body)
            assert reply.json["error"] in REFUSALS
    for output in ("../../../outside", "o/../../x", "/etc"):  # output names are names, not paths
        reply = await api("POST", f"jobs/{finished}/download", {"path": "dl", "output": output})
        assert 400 <= reply.status < 500 and reply.json["error"] in REFUSALS, reply.body
    reply = await api("POST", f"jobs/{finished}/download", raw=b'{"path": "\\u002e\\u002e/outside"}')
    assert reply.status == 403
    assert not escape.exists() and not Path("/tmp/escape").exists()
    assert snapshot(layout["outside"]) == before_outside, "nothing written outside the root"
    assert snapshot(root) == before_root, "a refused download writes nothing, not even its staging folder"

    # and the legitimate download next to all that still works
    reply = await api("POST", f"jobs/{finished}/download", {"path": "sub/dl", "output": "all"})
    assert reply.status == 200, reply.body
    assert sorted(reply.json["files"]) == [
        "sub/dl/artifacts/outputs/result.txt", "sub/dl/artifacts/user_logs/std_log.txt", "sub/dl/named-outputs/o/o.txt"
    ]
    assert (root / "sub/dl/artifacts/outputs/result.txt").read_text() == "42\n"


@pytest.mark.parametrize(
    "body",
    [
        {"yaml": f"command: echo\nenvironment: {ENV}\ncode: ../outside\n"},
        {"yaml": f"command: echo\nenvironment: {ENV}\ncode: /etc\n"},
        {"yaml": f"command: echo\nenvironment: {ENV}\ncode: link_out\n"},
        {"yaml": f"command: echo\nenvironment: {ENV}\ncode: file:../outside\n"},
        {"yaml": f"command: cat ${{{{inputs.d}}}}\nenvironment: {ENV}\n{INPUT.format('uri_file', 'link_file')}"},
        {"yaml": f"command: cat ${{{{inputs.d}}}}\nenvironment: {ENV}\n"
                 f"{INPUT.format('uri_folder', '../outside/inner')}"},
        {"yaml": "type: pipeline\njobs:\n  a:\n    type: command\n    component: ../outside/pipe.yml\n"},
        {"yaml": "type: pipeline\njobs:\n  a:\n    type: command\n    component: file:link_out/pipe.yml\n"},
        {"yaml": "command: echo\nenvironment:\n  image: python\n  conda_file: ../outside/pipe.yml\n"},
        {"yaml": "command: echo\nenvironment:\n  build:\n    path: ../outside\n"},
        {"yaml": f"command: echo\nenvironment: {ENV}\ncode: ./sub\n", "set": {"code": "../outside"}},
        {"yaml": f"command: echo ${{{{inputs.d}}}}\nenvironment: {ENV}\n{INPUT.format('uri_file', './sub/ok.txt')}",
         "set": {"inputs.d.path": "../outside/pipe.yml"}},
        {"yaml": f"command: echo\nenvironment: {ENV}\ncode: ../../sub\n", "base_path": "sub"},
        {"path": "link_out/pipe.yml"},
        {"form": {"command": "echo", "environment": ENV, "code": "link_out"}},
        {"form": {"command": "echo", "environment": ENV, "inputs": {"d": {"type": "uri_file", "path": "/etc/passwd"}}}},
        {"form": {"command": "echo", "environment": ENV, "inputs": {"d": {"type": "uri_folder", "path": "chain1"}}}},
        {"notebook": "link_out/pipe.yml"},
    ],
)
async def test_job_submissions_from_the_browser_stay_inside_the_root(api, layout, stored_state, body):
    """Local paths a submitted job names are checked before the SDK reads anything (a FIFO outside the
    root would block any reader forever)."""
    await api("GET", "workspace")
    before = stored_state()
    reply = await api("POST", "jobs", body)
    assert reply.status == 403 and reply.json["error"] == "path_outside_root", reply.body
    assert stored_state() == before


async def test_hidden_paths_are_refused_by_default(api, root, stored_state):
    (root / ".secrets").mkdir()
    (root / ".secrets" / "key.txt").write_text("k")
    (root / "visible").mkdir()
    os.symlink(root / ".secrets", root / "visible" / "door")
    await api("GET", "workspace")
    before = stored_state()
    for path in (".secrets", ".secrets/key.txt", "visible/door", "visible/door/key.txt", "visible/../.secrets"):
        reply = await api("POST", "data", {"path": path, "name": "h"})
        assert reply.status == 403 and reply.json["error"] == "hidden_path", (path, reply.body)
    reply = await api("POST", "jobs", {"yaml": f"command: echo\nenvironment: {ENV}\ncode: .secrets\n"})
    assert reply.status == 403 and reply.json["error"] == "hidden_path"
    assert stored_state() == before


@pytest.mark.server_config(ContentsManager={"allow_hidden": True})
async def test_hidden_paths_are_allowed_when_the_contents_manager_allows_them(api, root, wait_operation):
    (root / ".data").mkdir()
    (root / ".data" / "x.txt").write_text("x")
    reply = await api("POST", "data", {"path": ".data", "name": "hidden-ok"})
    assert reply.status == 202, reply.body
    assert (await wait_operation(reply.json["id"]))["state"] == "Succeeded"


# ---- RootPaths on its own -----------------------------------------------------------------------
def test_root_paths_resolve_inside_and_refuse_outside(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    paths = RootPaths(root)
    assert paths.resolve("") == root.resolve() and paths.resolve(".") == root.resolve()
    assert paths.resolve("a/../a/new.txt") == root.resolve() / "a" / "new.txt"
    assert paths.resolve(str(root / "a")) == root.resolve() / "a"  # absolute but inside
    assert paths.resolve("50%off.csv").name == "50%off.csv"  # percent signs that decode to nothing special
    with pytest.raises(PathOutsideRoot):
        paths.resolve("a/../../x")
    with pytest.raises(InvalidRequest):
        paths.resolve(7)
    with pytest.raises(InvalidRequest):
        paths.resolve("missing", must_exist=True)
    with pytest.raises(Forbidden) as hidden:
        paths.resolve("a/.git/config")
    assert hidden.value.code == "hidden_path"
    assert RootPaths(root, allow_hidden=True).resolve("a/.git").name == ".git"
    assert paths.relative(root.resolve() / "a" / "b") == "a/b" and paths.relative(root.resolve()) == ""


def test_a_root_given_through_a_link_is_its_real_folder(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    paths = RootPaths(tmp_path / "alias")
    assert paths.resolve("x") == (tmp_path / "real" / "x")
    with pytest.raises(PathOutsideRoot):
        paths.resolve(str(tmp_path / "alias" / ".." / "other"))
