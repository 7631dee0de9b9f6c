"""%%azml_submit through a real kernel (nbclient) on the local engine."""

from __future__ import annotations

from .conftest import error_of, outputs_text

SETUP = [
    "%load_ext azml_jupyter",
    "import pandas as pd\nimport statistics",
    "def weighted_mean(frame, column, weight):\n    total = (frame[column] * frame[weight]).sum()\n    return total / frame[weight].sum()",
    "df = pd.DataFrame({'age': [30, 40, 50, 60], 'w': [1, 2, 3, 4]})\nlocal_answer = weighted_mean(df, 'age', 'w')",
]


def test_cell_uses_import_function_and_dataframe_and_returns_equal_value(run_cells, local_backend):
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
