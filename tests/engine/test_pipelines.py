"""Pipeline jobs on the local engine: bindings, parallel steps, failure handling, status roll-up."""

from __future__ import annotations

import json

STEP = """
    import json, pathlib, sys, time
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    if args.get("--fail") == "yes":
        print("step failing on purpose"); sys.exit(2)
    log = pathlib.Path(args["--events"])
    with open(log, "a") as fh:
        fh.write(json.dumps({"step": args["--tag"], "at": "start"}) + "\\n")
    time.sleep(float(args.get("--sleep", "0")))
    text = "".join(pathlib.Path(args[k], "data.txt").read_text() for k in ("--a", "--b") if k in args)
    out = pathlib.Path(args["--out"]); out.mkdir(parents=True, exist_ok=True)
    (out / "data.txt").write_text(text + args["--tag"] + "\\n")
    with open(log, "a") as fh:
        fh.write(json.dumps({"step": args["--tag"], "at": "end"}) + "\\n")
    """


def diamond(events: str, fail_b: bool = False, keep_going: bool = False) -> str:
    return f"""
        type: pipeline
        display_name: diamond
        settings:
          default_compute: azureml:cpu-cluster
          continue_on_step_failure: {str(keep_going).lower()}
        inputs:
          greeting: hello
          events: {events}
        outputs:
          final:
            type: uri_folder
        jobs:
          a:
            type: command
            code: ./src
            environment: azureml:env:1
            command: python step.py --tag ${{{{inputs.t}}}} --out ${{{{outputs.o}}}} --events ${{{{inputs.ev}}}} --sleep 1
            inputs:
              t: ${{{{parent.inputs.greeting}}}}
              ev: ${{{{parent.inputs.events}}}}
            outputs:
              o:
          b:
            type: command
            code: ./src
            environment: azureml:env:1
            command: python step.py --tag b --out ${{{{outputs.o}}}} --events ${{{{inputs.ev}}}} --sleep 1 --fail {"yes" if fail_b else "no"}
            inputs:
              ev: ${{{{parent.inputs.events}}}}
            outputs:
              o:
          c:
            type: command
            code: ./src
            environment: azureml:env:1
            command: python step.py --tag c --a ${{{{inputs.x}}}} --b ${{{{inputs.y}}}} --out ${{{{outputs.o}}}} --events ${{{{inputs.ev}}}}
            inputs:
              x: ${{{{parent.jobs.a.outputs.o}}}}
              y: ${{{{parent.jobs.b.outputs.o}}}}
              ev: ${{{{parent.inputs.events}}}}
            outputs:
              o: ${{{{parent.outputs.final}}}}
          d:
            type: command
            code: ./src
            environment: azureml:env:1
            command: python step.py --tag d --a ${{{{inputs.x}}}} --out ${{{{outputs.o}}}} --events ${{{{inputs.ev}}}}
            inputs:
              x: ${{{{parent.jobs.a.outputs.o}}}}
              ev: ${{{{parent.inputs.events}}}}
            outputs:
              o:
        """


def read_events(path) -> list[tuple[str, str]]:
    return [(e["step"], e["at"]) for e in map(json.loads, path.read_text().splitlines())]


def test_diamond_runs_in_dependency_order_with_parallel_branches(jobs, workspace, tmp_path):
    workspace.create_or_update_compute("local", max_nodes=2)  # room for both branches on any machine
    events = tmp_path / "events.jsonl"
    record = jobs.submit(diamond(str(events)), files={"src/step.py": STEP})
    assert record.type == "pipeline" and len(record.children) == 4
    done = jobs.wait(record.name)
    assert done.status.value == "Completed", done.error
    assert {c.step_name: c.status.value for c in done.children} == dict.fromkeys("abcd", "Completed")
    order = read_events(events)
    # a and b are independent: both started before either ended
    assert order.index(("hello", "start")) < order.index(("b", "end"))
    assert order.index(("b", "start")) < order.index(("hello", "end"))
    # c waits for a and b; d waits for a
    assert order.index(("c", "start")) > max(order.index(("hello", "end")), order.index(("b", "end")))
    assert order.index(("d", "start")) > order.index(("hello", "end"))
    # the pipeline output is the step output bound to it, and it holds what c wrote from a and b
    final = workspace.output_locations(record.name)["final"]
    assert (final / "data.txt").read_text() == "hello\nb\nc\n"
    assert done.started_at is not None and done.ended_at is not None
    pipeline_log = jobs.log(record.name)
    assert "step c" in pipeline_log and "Completed" in pipeline_log
    # the steps are listed with their parent, and are not top-level jobs
    assert [j.name for j in workspace.list_jobs().jobs] == [record.name]
    assert {j.step_name for j in workspace.list_jobs(parent=record.name).jobs} == set("abcd")


def test_failed_step_fails_the_pipeline_and_dependents_never_start(jobs, tmp_path):
    events = tmp_path / "events.jsonl"
    record = jobs.submit(diamond(str(events), fail_b=True), files={"src/step.py": STEP})
    done = jobs.wait(record.name)
    states = {c.step_name: c for c in done.children}
    assert done.status.value == "Failed"
    assert "b" in done.error
    assert states["b"].status.value == "Failed" and states["b"].exit_code == 2
    assert states["c"].status.value == "Canceled" and states["c"].started_at is None
    assert "Not started" in states["c"].error
    assert ("c", "start") not in read_events(events)
    # a was already running when b failed: with continue_on_step_failure false it is stopped or finishes
    assert states["a"].status.value in ("Completed", "Canceled")


def test_continue_on_step_failure_lets_independent_branches_finish(jobs, tmp_path):
    events = tmp_path / "events.jsonl"
    record = jobs.submit(diamond(str(events), fail_b=True, keep_going=True), files={"src/step.py": STEP})
    done = jobs.wait(record.name)
    states = {c.step_name: c.status.value for c in done.children}
    assert done.status.value == "Failed"
    assert states == {"a": "Completed", "b": "Failed", "c": "Canceled", "d": "Completed"}


def test_cancel_a_pipeline_cancels_its_steps(jobs, workspace, tmp_path):
    events = tmp_path / "events.jsonl"
    text = diamond(str(events)).replace("--sleep 1", "--sleep 60")
    record = jobs.submit(text, files={"src/step.py": STEP})
    jobs.wait_for_status(record.name, "Running")
    workspace.cancel_job(record.name)
    done = jobs.wait(record.name, timeout=60)
    assert done.status.value == "Canceled"
    assert all(c.status.value == "Canceled" for c in done.children)


def test_bad_binding_is_refused_before_anything_is_stored(jobs, workspace):
    import pytest

    from azml_jupyter.errors import InvalidJobSpec

    with pytest.raises(InvalidJobSpec, match="parent.jobs.nope"):
        jobs.submit(
            """
            type: pipeline
            jobs:
              a:
                type: command
                environment: azureml:env:1
                command: echo ${{inputs.x}}
                inputs:
                  x: ${{parent.jobs.nope.outputs.o}}
            """
        )
    assert workspace.list_jobs().jobs == []
