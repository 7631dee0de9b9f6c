"""Issue 13 item 5: YAML is bounded (size, aliases and what they expand to, nesting) before azure-ai-ml
sees it: the job file, and the conda and component files it names. A refusal is a 400 InvalidJobSpec."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from azml_jupyter.errors import InvalidJobSpec
from azml_jupyter.spec import loader


def laughs() -> str:
    """The "billion laughs": nine anchors, each a list of nine aliases of the one before (9**9 values)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def job_with(extra: str) -> str:
    return "command: echo hi\nenvironment: azureml:e:1\n" + extra


def load_within(text: str, base: Path, seconds: float = 20.0):
    """load_job_text in a thread: today's code would tie it up for minutes, so do not wait for that."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["job"] = loader.load_job_text(text, base_path=base)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"loading was still busy after {seconds} s"
    return outcome


def test_the_369_byte_bomb_is_refused_at_once(tmp_path):
    assert len(laughs().encode()) < 369
    text = job_with("tags:\n" + "".join(f"  {line}\n" for line in laughs().splitlines()))
    outcome = load_within(text, tmp_path, seconds=5)
    error = outcome.get("error")
    assert isinstance(error, InvalidJobSpec), outcome
    assert error.status == 400 and "alias" in error.message
    assert error.details["limit"] == "expanded_nodes"


@pytest.mark.parametrize(
    "text, limit",
    [
        (job_with("x: " + "[" * 500 + "]" * 500 + "\n"), "depth"),
        (job_with("x: " + "{a: " * 300 + "1" + "}" * 300 + "\n"), "depth"),
        (job_with("a: &a 1\nb: [" + ", ".join(["*a"] * 2000) + "]\n"), "aliases"),
        (job_with("# " + "x" * (loader.MAX_YAML_BYTES + 10) + "\n"), "bytes"),
    ],
    ids=["deep lists", "deep mappings", "many aliases", "too large"],
)
def test_other_limits(tmp_path, text, limit):
    error = load_within(text, tmp_path).get("error")
    assert isinstance(error, InvalidJobSpec) and error.details["limit"] == limit, error


def test_ordinary_anchors_and_merge_keys_still_load(tmp_path):
    text = (
        "command: echo ${{inputs.a}} ${{inputs.b}}\nenvironment: azureml:e:1\n"
        "tags: &shared {team: ds}\nproperties: *shared\n"
        "inputs:\n  <<: {a: 1}\n  b: 2\n"
    )
    outcome = load_within(text, tmp_path)
    assert "job" in outcome, outcome
    assert outcome["job"].tags == {"team": "ds"}


def test_a_conda_file_bomb_is_refused_naming_the_file(tmp_path):
    (tmp_path / "conda.yml").write_text(laughs() + "dependencies: [*i]\n")
    text = "command: echo hi\nenvironment:\n  image: python:3.11\n  conda_file: ./conda.yml\n"
    error = load_within(text, tmp_path).get("error")
    assert isinstance(error, InvalidJobSpec) and "conda.yml" in error.message, error


def test_a_component_file_bomb_is_refused_naming_the_file(tmp_path):
    (tmp_path / "comp.yml").write_text(
        laughs() + "name: c\ntype: command\ncommand: echo\nenvironment: azureml:e:1\ntags: {x: *i}\n"
    )
    text = "type: pipeline\njobs:\n  step:\n    type: command\n    component: ./comp.yml\n"
    error = load_within(text, tmp_path).get("error")
    assert isinstance(error, InvalidJobSpec) and "comp.yml" in error.message, error


def test_set_overrides_are_bounded_too():
    flow = "{" + laughs().strip().replace("\n", ", ") + "}"  # the same bomb as one flow mapping
    with pytest.raises(InvalidJobSpec, match="alias"):
        loader.parse_set_overrides([f"tags={flow}"])


async def test_the_rest_api_refuses_a_bomb_at_once_and_stays_responsive(api, stored_state):
    """Through POST /azml/jobs (inline and by path): a 400 with the cause, the workers stay free."""
    import asyncio
    import time

    assert (await api("GET", "workspace")).status == 200  # the workspace exists
    before = stored_state()
    started = time.monotonic()
    reply = await asyncio.wait_for(api("POST", "jobs", {"yaml": job_with(laughs())}), timeout=20)
    assert reply.status == 400 and reply.json["error"] == "invalid_job_spec", reply.body[:300]
    assert "alias" in reply.json["message"]
    assert time.monotonic() - started < 5
    workspace = await asyncio.wait_for(api("GET", "workspace"), timeout=5)  # not stalled behind the bomb
    assert workspace.status == 200
    assert stored_state() == before
