"""Issue 13 item 6: two submissions of one job name at the same time. One wins and runs as submitted; the
other gets a 409 Conflict and touches nothing of the winner's (its folder, its snapshot, its row)."""

from __future__ import annotations

import threading
import time

import pytest

from azml_jupyter.engine import workspace as workspace_module
from azml_jupyter.engine.workspace import LocalWorkspace
from azml_jupyter.errors import Conflict

from .engine_jobs import JobFolders

JOB = """
command: cat who.txt
code: ./src
environment: azureml:e:1
"""


def two_submissions(folders: JobFolders, home, name: str, *, hold: str | None = None):
    """Submit job "A" and job "B" (each with its own code folder) under one name from two threads, each
    with its own LocalWorkspace (as two processes would), started together. With ``hold``, that side goes
    first and is held for a second in the middle of its submission (while its code is snapshotted); the
    other side arrives during that second."""
    specs = {who: folders.spec(folders.write(JOB, files={"src/who.txt": f"I am {who}\n"})) for who in "AB"}
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}
    real_snapshot = workspace_module.snapshot_code

    def held_snapshot(source, destination):
        if threading.current_thread().name == hold:
            time.sleep(1.0)
        return real_snapshot(source, destination)

    def submit(who: str) -> None:
        own = LocalWorkspace(home)
        barrier.wait()
        if hold is not None and who != hold:
            time.sleep(0.3)  # the held side has claimed the name by now and is in its snapshot
        try:
            results[who] = own.submit(specs[who], name=name)
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            results[who] = exc
        finally:
            own.close()

    workspace_module.snapshot_code = held_snapshot
    try:
        threads = [threading.Thread(target=submit, args=(who,), name=who) for who in "AB"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        workspace_module.snapshot_code = real_snapshot
    return results


def check_one_winner(folders: JobFolders, workspace, name: str, results: dict[str, object]) -> str:
    errors = {who: r for who, r in results.items() if isinstance(r, BaseException)}
    winners = [who for who, r in results.items() if not isinstance(r, BaseException)]
    assert len(winners) == 1, results
    (loser,) = errors
    assert isinstance(errors[loser], Conflict), repr(errors[loser])
    assert errors[loser].status == 409 and name in errors[loser].message
    winner = winners[0]
    snapshot = workspace.layout.snapshot(name)
    assert (snapshot / "who.txt").read_text() == f"I am {winner}\n"  # the winner's code, untouched
    done = folders.wait(name)
    assert done.status.value == "Completed", (done.error, folders.log(name))
    assert f"I am {winner}" in folders.log(name)
    assert workspace.store.read("SELECT name FROM job_claims") == []  # both claims ended with their submission
    return winner


@pytest.mark.parametrize("first", ["A", "B"])
def test_the_loser_arriving_while_the_winner_is_being_stored_gets_a_conflict(workspace, tmp_path, first):
    folders = JobFolders(workspace, tmp_path)
    results = two_submissions(folders, workspace.layout.home, "same_name", hold=first)
    assert check_one_winner(folders, workspace, "same_name", results) == first


@pytest.mark.parametrize("first", ["A", "B"])
def test_the_loser_arriving_after_the_winner_is_stored_gets_a_conflict(workspace, tmp_path, first):
    folders = JobFolders(workspace, tmp_path)
    second = "B" if first == "A" else "A"
    specs = {who: folders.spec(folders.write(JOB, files={"src/who.txt": f"I am {who}\n"})) for who in "AB"}
    workspace.submit(specs[first], name="same_name")
    with pytest.raises(Conflict):
        LocalWorkspace(workspace.layout.home).submit(specs[second], name="same_name")
    assert (workspace.layout.snapshot("same_name") / "who.txt").read_text() == f"I am {first}\n"
    assert f"I am {first}" in folders.log(folders.wait("same_name").name)


def test_simultaneous_submissions_race_freely(workspace, tmp_path):
    folders = JobFolders(workspace, tmp_path)
    winners = [
        check_one_winner(folders, workspace, f"race_{i}", two_submissions(folders, workspace.layout.home, f"race_{i}"))
        for i in range(6)
    ]
    assert set(winners) <= {"A", "B"}


def test_a_pipeline_step_name_is_claimed_too(workspace, tmp_path):
    """A pipeline's steps are named <pipeline>-<step>: a command job of that name conflicts with it."""
    folders = JobFolders(workspace, tmp_path)
    workspace.submit(folders.spec(folders.write(JOB, files={"src/who.txt": "I am the job\n"})), name="p-step")
    pipeline = folders.write(
        "type: pipeline\njobs:\n  step:\n    type: command\n    command: echo hi\n    environment: azureml:e:1\n"
    )
    with pytest.raises(Conflict, match="p-step"):
        workspace.submit(folders.spec(pipeline), name="p")
    assert (workspace.layout.snapshot("p-step") / "who.txt").read_text() == "I am the job\n"
    assert folders.wait("p-step").status.value == "Completed"


def test_a_claim_left_by_a_killed_submitter_does_not_block_the_name(workspace, tmp_path):
    folders = JobFolders(workspace, tmp_path)
    with workspace.store.transaction() as db:  # as a process killed in the middle of a submission leaves it
        db.execute(
            "INSERT INTO job_claims (name, owner_pid, owner_start, claimed_at) VALUES ('orphan', 999999999, 'x', 0)"
        )
    workspace.layout.snapshot("orphan").mkdir(parents=True)
    (workspace.layout.snapshot("orphan") / "half.txt").write_text("left over")
    workspace.submit(folders.spec(folders.write(JOB, files={"src/who.txt": "I am new\n"})), name="orphan")
    assert sorted(p.name for p in workspace.layout.snapshot("orphan").iterdir()) == ["who.txt"]
    assert folders.wait("orphan").status.value == "Completed"
