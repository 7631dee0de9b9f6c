"""Names IPython and the kernel put into the user namespace (``open``, ``exit``, ``In``/``Out``, ``_``,
``_5``, ``_i5`` ...) are not user variables: a submitted cell that calls ``open()`` gets the job's builtin,
history names are refused with a clear message, and a user's own ``open`` is still theirs.
Real kernels through nbclient on the local engine."""

from __future__ import annotations

import json

from .conftest import error_of, outputs_text

WRITE_AND_READ = (
    "import os\n"
    "os.makedirs('outputs', exist_ok=True)\n"
    "with open('outputs/{file}', 'w') as fh:\n"
    "    fh.write('hello from open()')\n"
    "with open('outputs/{file}') as fh:\n"
    "    print('read back:', fh.read())"
)


def _job_name(cell) -> str:
    return outputs_text(cell).strip().splitlines()[-1]


def _greeting(local_backend, name: str, file: str, tmp_path) -> str:
    local_backend.download(name, tmp_path / name)
    return (tmp_path / name / "artifacts" / "outputs" / file).read_text()


def test_cells_calling_open_are_submitted_by_the_magic_and_the_panel(run_cells, local_backend, tmp_path):
    panel_cells = [WRITE_AND_READ.format(file="panel.txt")]
    panel_call = (
        "import azml_jupyter, json\n"
        f"_azml_job = azml_jupyter.submit_cells({json.dumps(panel_cells)}, selected=[0], "
        "wait=True, show=False)\n"
        "print(_azml_job.name)"
    )
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "%%azml_submit --wait\n" + WRITE_AND_READ.format(file="magic.txt"),
            "print(_.name)",
            panel_call,
        ],
        allow_errors=True,
    )
    for index in (1, 3):
        assert error_of(nb.cells[index]) is None, outputs_text(nb.cells[index])
    magic_job, panel_job = _job_name(nb.cells[2]), _job_name(nb.cells[3])
    for name, file in ((magic_job, "magic.txt"), (panel_job, "panel.txt")):
        assert local_backend.get_job(name).status.value == "Completed", local_backend.read_logs(name).text
        assert "read back: hello from open()" in local_backend.read_logs(name).text
        assert _greeting(local_backend, name, file, tmp_path) == "hello from open()"


def test_history_names_are_refused_and_a_users_own_open_is_theirs(run_cells, local_backend):
    nb = run_cells(
        [
            "%load_ext azml_jupyter",
            "40 + 2",
            "%%azml_submit\nprint(Out[2])",
            "%%azml_submit\nprint(_ + 1)",
            "%%azml_submit\nprint(_i2)",
            "def open(name, mode='r'):\n    return f'my own open({name})'",
            "%%azml_submit --wait\nprint(open('data.csv'))",
            "print(_.name)",
        ],
        allow_errors=True,
    )
    out, under, source = (outputs_text(nb.cells[i]) for i in (2, 3, 4))
    # line numbers as JupyterLab shows the cell: the %%azml_submit line is line 1
    assert "UsageError: In [3], line 2: 'Out' is IPython's output history" in out, out
    assert "`value = Out[5]`" in out
    assert "In [4], line 2: '_' is IPython's output history" in under, under
    assert "In [5], line 2: '_i2' is IPython's input history" in source, source
    for text in (out, under, source):
        assert "Nothing was submitted" in text
    assert error_of(nb.cells[6]) is None, outputs_text(nb.cells[6])
    name = _job_name(nb.cells[7])
    assert "my own open(data.csv)" in local_backend.read_logs(name).text
    assert [j.name for j in local_backend.list_jobs().jobs] == [name]  # the refused cells submitted nothing
