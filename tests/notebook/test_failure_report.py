"""A failing cell job reports the user's code only: the job's traceback names cells (``In [3]``, line 3)
and leaves out main.py/azml_runtime.py, and a failing ``%%azml_submit --wait`` shows it once (in the
widget) with a message that says where the full log is."""

from __future__ import annotations

import re

import pytest

from .conftest import error_of, outputs_text

INTERNALS = ("main.py", "azml_runtime.py", "exec(compile", "azml_in_")


def _widget_texts(nb) -> list[str]:
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [m["state"].get("value", "") for m in state.values() if isinstance(m["state"].get("value"), str)]


def test_failing_wait_cell_shows_the_users_frames_once_named_by_cell(run_cells, local_backend):
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "def check(row):\n    if row > 5:\n        raise ValueError(f'bad input row {row}')\n    return row",
            "%%azml_submit --wait\nrows = [1, 7]\nresults = [check(r) for r in rows]",
        ],
        allow_errors=True,
    )
    (job,) = local_backend.list_jobs().jobs
    log = local_backend.read_logs(job.name).text
    # the job's own log: the user's frames, named by cell and the cell's line (the magic line is line 1)
    assert 'File "In [3]", line 3, in <module>' in log, log
    assert 'File "In [2]", line 3, in check' in log, log
    assert "raise ValueError(f'bad input row {row}')" in log
    assert log.rstrip().splitlines()[-1] == "[azml] In [2], line 3: ValueError: bad input row 7"
    for internal in INTERNALS:
        assert internal not in log.split("[azml-local]", 1)[-1].split("\n", 1)[-1], (internal, log)

    # IPython prints a magic's UsageError as one message on stderr, no traceback
    message = outputs_text(nb.cells[2]).split("UsageError: ", 1)[-1]
    assert "UsageError: " in outputs_text(nb.cells[2]) and error_of(nb.cells[2]) is None
    assert f"Job {job.name} Failed" in message and "In [2], line 3: ValueError: bad input row 7" in message
    assert "user_logs/std_log.txt" in message and f"%azml_logs {job.name}" in message
    assert "Traceback" not in message and "[azml-local]" not in message  # the widget shows the log
    widget_log = "\n".join(t for t in _widget_texts(nb) if "<pre" in t)
    assert widget_log.count("Traceback (most recent call last)") == 1, widget_log
    assert "File &quot;In [2]&quot;, line 3, in check" in widget_log
    for internal in INTERNALS:
        assert internal not in widget_log


def test_without_the_widget_the_message_carries_the_users_traceback(local_backend):
    from azml_jupyter.notebook import JobFailed, submit_cells

    with pytest.raises(JobFailed) as caught:
        submit_cells(["x = 1\nraise KeyError('age')"], namespace={}, backend=local_backend, wait=True, show=False)
    message = caught.value.message
    assert re.search(r'Traceback \(most recent call last\):\n  File "code cell 1", line 2, in <module>', message)
    assert "KeyError: 'age'" in message and "%azml_logs" in message
    for internal in INTERNALS:
        assert internal not in message, message


def test_cells_are_named_as_jupyterlab_shows_them(local_backend):
    import yaml

    from azml_jupyter.notebook import submit_cells

    sources = ["a = 1", "b = a + 1", "c = b * 2"]
    counted = submit_cells(sources, selected=[1, 2], execution_counts=[4, 5, None], namespace={"a": 1}, dry_run=True)
    spec = yaml.safe_load(counted.yaml)
    assert spec["description"].startswith("In [5], code cell 3 of a notebook"), spec["description"]
    assert spec["display_name"] == "notebook In [5], code cell 3"
    plain = submit_cells(sources, selected=[1], namespace={"a": 1}, dry_run=True)
    assert yaml.safe_load(plain.yaml)["description"].startswith("code cell 2 of a notebook")
