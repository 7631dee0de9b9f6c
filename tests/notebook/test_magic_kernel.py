"""%%azml_submit through a real kernel (nbclient) on the local engine."""

from __future__ import annotations

import json

import pytest

from .conftest import outputs_text

SETUP = [
    "%load_ext azml_jupyter",
    "import pandas as pd\nimport statistics",
    "def weighted_mean(frame, column, weight):\n"
    "    total = (frame[column] * frame[weight]).sum()\n"
    "    return total / frame[weight].sum()",
    "df = pd.DataFrame({'age': [30, 40, 50, 60], 'w': [1, 2, 3, 4]})\nlocal_answer = weighted_mean(df, 'age', 'w')",
]


def test_cell_uses_import_function_and_dataframe_and_returns_equal_value(run_cells, local_backend):
    pytest.importorskip("pandas", reason="test dependency: pandas (the kernel builds a DataFrame)")
    nb = run_cells(
        SETUP
        + [
            "%%azml_submit --wait --return answer,summary\n"
            "answer = weighted_mean(df, 'age', 'w')\n"
            "summary = {'median': statistics.median(df['age']), 'rows': len(df)}\n"
            "print('computed', answer)",
            "job = _\n"
            "assert answer == local_answer, (answer, local_answer)\n"
            "assert summary == {'median': 45.0, 'rows': 4}, summary\n"
            "assert job.status == 'Completed'\n"
            "print(job.name)",
        ]
    )
    name = outputs_text(nb.cells[-1]).strip()
    record = local_backend.get_job(name)
    assert record.status.value == "Completed"
    log = local_backend.read_logs(name).text
    assert "computed 50.0" in log


def test_unserialisable_variable_is_refused_and_nothing_is_submitted(run_cells, local_backend):
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "import threading\nlock = threading.Lock()\nsize = 3",
            "%%azml_submit\nwith lock:\n    print(size)",
        ],
        allow_errors=True,
    )
    # IPython shows a magic's UsageError as one red line (no traceback) and fails the cell
    message = outputs_text(nb.cells[-1])
    assert "UsageError" in message, message
    assert "Variable 'lock' (assigned in In [2]) cannot be sent to the job" in message, message
    assert "Nothing was submitted" in message
    assert local_backend.list_jobs().jobs == []


def test_dry_run_prints_the_yaml_and_files_and_submits_nothing(run_cells, local_backend):
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "import json\nrows = [1, 2, 3]",
            "%%azml_submit --dry-run --compute cpu-cluster --return total\ntotal = sum(rows)\nprint(json.dumps(total))",
        ]
    )
    text = outputs_text(nb.cells[-1])
    assert "dry run: nothing was submitted" in text
    assert "compute: azureml:cpu-cluster" in text
    assert "command: python main.py --azml-output azml_returns=${{outputs.azml_returns}}" in text
    assert "src/main.py" in text and "src/azml_values/rows.json" in text and "environment/conda.yaml" in text
    assert "imports: json" in text and "values: rows" in text
    assert local_backend.list_jobs().jobs == []


def test_no_wait_returns_at_once_and_the_widget_reaches_completed(run_cells, local_backend, tmp_path):
    # The job waits for a file that only the *next* cell creates: if the magic blocked until the job
    # ended, the job would give up after 60 s and fail.
    go = tmp_path / "go"
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            f"flag = {str(go)!r}",
            "%%azml_submit --no-wait\nimport os, time\n"
            "for _ in range(600):\n    if os.path.exists(flag):\n        break\n    time.sleep(0.1)\n"
            "else:\n    raise SystemExit('the notebook never created the flag file')\nprint('saw the flag')",
            "job = _\nmonitor = job.monitor()\nassert not job.record.is_terminal\nopen(flag, 'w').close()",
            "assert monitor.wait(timeout=120), 'the monitor did not see the job end'\n"
            "assert monitor.status == 'Completed', monitor.status\n"
            "assert 'Completed' in monitor.status_badge.value\n"
            "assert 'saw the flag' in monitor.log_text\n"
            "assert monitor.cancel_button.disabled\n"
            "print(job.name)",
        ]
    )
    name = outputs_text(nb.cells[-1]).strip().splitlines()[-1]
    assert local_backend.get_job(name).status.value == "Completed"
    # the magic's output is the widget (a JobMonitor view), not a text repr
    views = [o for o in nb.cells[2].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1


def test_cancel_from_the_handle(run_cells, local_backend):
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "%%azml_submit\nimport time\nprint('started', flush=True)\ntime.sleep(300)",
            "job = _\nimport time\n"
            "while 'started' not in job.logs():\n    time.sleep(0.1)\n"
            "job.cancel()\nfinal = job.wait(timeout=60)\nassert final.status.value == 'Canceled', final.status\n"
            "try:\n    job.result()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\nprint(job.name)",
        ]
    )
    text = outputs_text(nb.cells[-1])
    assert "JobFailed Job" in text and "Canceled" in text
    assert local_backend.get_job(text.strip().splitlines()[-1]).status.value == "Canceled"


def test_jobs_table_and_logs_magics(run_cells):
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "%%azml_submit --wait --name magic_logs_job --experiment magics\nprint('hello from the job')",
            "%azml_logs magic_logs_job",
            "%azml_jobs --experiment magics",
        ]
    )
    assert "hello from the job" in outputs_text(nb.cells[2])
    table = nb.cells[3].outputs[0]["data"]
    assert "magic_logs_job" in table["text/html"] and "Completed" in table["text/plain"]


def test_panel_submit_cells_call_with_selected_cells(run_cells, local_backend):
    # What the panel's "Submit selected cells" command sends: all code cells in document order, the
    # selected indices, options; it reads the job from the JSON line.
    sources = [
        "import math",
        "def area(r):\n    return math.pi * r * r",
        "radius = 2.0",
        "a = area(radius)",
        "b = round(a, 3)",
        "print('never selected')",
    ]
    call = (
        "import azml_jupyter, json\n"
        f"_azml_job = azml_jupyter.submit_cells({json.dumps(sources)}, selected=[3, 4], compute=None, "
        "environment=None, experiment_name='panel', wait=False, returns=['b'], show=False)\n"
        "print(json.dumps(_azml_job.to_dict()))"
    )
    nb = run_cells(sources[:3] + [call, "print(_azml_job.result())"])
    answer = json.loads(outputs_text(nb.cells[3]).strip().splitlines()[-1])
    assert answer["status"] in ("Queued", "Preparing", "Running", "Completed")
    assert "{'b': 12.566}" in outputs_text(nb.cells[4])
    record = local_backend.get_job(answer["name"])
    assert record.experiment_name == "panel" and record.status.value == "Completed"
    assert "never selected" not in local_backend.read_logs(answer["name"]).text


def test_failed_job_with_wait_reports_the_error(run_cells, local_backend):
    nb = run_cells(
        ["%load_ext azml_jupyter", "%%azml_submit --wait --return x\nx = 1\nraise ValueError('bad input row 7')"],
        allow_errors=True,
    )
    text = outputs_text(nb.cells[-1])
    assert "Failed" in text and "ValueError: bad input row 7" in text
    assert [j.status.value for j in local_backend.list_jobs().jobs] == ["Failed"]
