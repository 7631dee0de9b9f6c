"""Dependency detection over tricky cells (no kernel): analysis.free_names / translate_cell and the
resolution in packaging.build_cell_job against a namespace dict."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from azml_jupyter.errors import InvalidRequest
from azml_jupyter.notebook import azml_runtime
from azml_jupyter.notebook.analysis import CellAnalysisError, free_names, translate_cell
from azml_jupyter.notebook.packaging import (
    JobOptions,
    UnserialisableVariable,
    build_cell_job,
)
from azml_jupyter.spec.secrets import looks_like_secret


def needed(source: str) -> list[str]:
    return free_names(translate_cell(source, "cell").tree).needed


# ---- shadowed names --------------------------------------------------------------------------------
def test_a_name_bound_before_it_is_read_is_not_needed():
    assert needed("x = 1\nprint(x)") == ["print"]


def test_a_name_read_before_it_is_rebound_is_needed():
    assert needed("df = df.dropna()\ndf.head()") == ["df"]
    assert needed("total += 1") == ["total"]


def test_parameters_and_locals_shadow_notebook_names():
    assert needed("def f(df, n=limit):\n    rows = df.head(n)\n    return rows\n") == ["limit"]


def test_a_function_body_is_read_at_call_time():
    # `data` is bound later in the same cell: by the time f() runs it exists
    assert needed("def f():\n    return data * factor\ndata = 2\nprint(f())") == ["factor", "print"]


def test_names_bound_only_on_some_paths_are_needed_if_the_kernel_has_them():
    result = free_names(translate_cell("if flag:\n    v = 1\nprint(v)", "c").tree)
    assert result.needed == ["flag", "print", "v"]
    assert "v" in result.maybe_bound
    both = free_names(translate_cell("if flag:\n    v = 1\nelse:\n    v = 2\nprint(v)", "c").tree)
    assert "v" not in both.needed


def test_try_except_binding_in_every_branch_counts_as_bound():
    assert needed("try:\n    import ujson as js\nexcept ImportError:\n    js = None\njs") == ["ImportError"]


def test_class_body_names_are_not_visible_in_methods():
    source = "class Model(Base):\n    rate = default_rate\n    def step(self):\n        return rate + helper(self)\n"
    assert needed(source) == ["Base", "default_rate", "rate", "helper"]


def test_nested_function_sees_the_enclosing_functions_locals():
    assert needed("def outer(a):\n    b = a\n    def inner():\n        return a + b + c\n    return inner") == ["c"]


# ---- comprehensions --------------------------------------------------------------------------------
def test_comprehension_variables_do_not_leak_but_the_first_iterable_is_outside():
    assert needed("[row for row in rows if row > cutoff]") == ["rows", "cutoff"]
    assert needed("[x for x in x]") == ["x"]  # the iterable `x` is the notebook's
    assert needed("{k: v for k, v in pairs.items()}\nk") == ["pairs", "k"]


def test_nested_comprehensions_and_generators():
    assert needed("[[c * scale for c in r] for r in matrix]") == ["matrix", "scale"]
    assert needed("sum(w for w in weights)") == ["sum", "weights"]


def test_walrus_in_a_comprehension_binds_in_the_enclosing_scope():
    assert needed("[last := v for v in values]\nprint(last)") == ["values", "print"]


# ---- global / nonlocal -----------------------------------------------------------------------------
def test_global_statement_reads_the_notebook_variable():
    source = "def bump():\n    global counter\n    counter += 1\nbump()\nprint(counter)"
    assert needed(source) == ["counter", "print"]
    assert needed("def bump():\n    global counter\n    counter += 1\nbump()") == ["counter"]


def test_global_assignment_binds_a_module_name_for_later_functions():
    source = "def init():\n    global cache\n    cache = {}\ndef use():\n    return cache['a']\ninit()"
    assert needed(source) == []


# ---- star imports ----------------------------------------------------------------------------------
def test_star_import_in_the_submitted_cell_is_refused_with_a_message():
    with pytest.raises(CellAnalysisError) as caught:
        translate_cell("from math import *\nsqrt(2)", "In [4]")
    assert "In [4], line 1" in caught.value.message
    assert "`from math import *` cannot be analysed" in caught.value.message
    assert "import the names the cell uses" in caught.value.message


def test_star_import_in_an_earlier_cell_resolves_through_the_kernel(tmp_path: Path):
    import math

    namespace = {"__name__": "__main__", "sqrt": math.sqrt}
    folder = build_cell_job(["from math import *", "root = sqrt(16)"], [1], namespace, JobOptions(), tmp_path / "j")
    assert "from math import sqrt" in (folder.root / "src" / "main.py").read_text()


# ---- magics inside cells ---------------------------------------------------------------------------
def test_magics_are_rewritten_with_line_numbers_kept():
    cell = translate_cell(
        "%pip install scikit-learn\nx = 1\n%time y = f(x)\n!echo {y}\nfiles = !ls\n%matplotlib inline\n", "c"
    )
    lines = cell.python.splitlines()
    assert lines[0].startswith("pass  # %pip install scikit-learn")
    assert lines[2] == "y = f(x)"
    assert lines[3] == "_azml_runtime.system('echo {y}', globals(), locals())"
    assert lines[4] == "files = _azml_runtime.getoutput('ls', globals(), locals())"
    assert lines[5].startswith("pass  # %matplotlib")
    assert any("%pip dropped" in note for note in cell.notes)
    assert free_names(cell.tree).needed == ["f"]


def test_shell_expansions_are_optional_needs():
    result = free_names(translate_cell("!ls {data_dir} $pattern $HOME", "c").tree)
    assert {"data_dir", "pattern", "HOME"} <= set(result.needed)
    assert {"data_dir", "pattern", "HOME"} <= result.optional


def test_cell_magics():
    timed = translate_cell("%%time\ntotal = compute(n)\n!echo done\n", "c")
    assert timed.python.splitlines()[1] == "total = compute(n)"  # body lines keep the cell's numbering
    assert free_names(timed.tree).needed == ["compute", "n"]
    bash = translate_cell("%%bash\necho $HOME\n", "c")
    assert bash.python.startswith("_azml_runtime.shell(")


@pytest.mark.parametrize(
    "source, message",
    [
        ("%timeit f()", "%timeit runs a statement many times"),
        ("%%perl\nprint 1", "%%perl has no meaning in an unattended job"),
        ("%run other.py", "%run has no meaning in an unattended job"),
        ("x = 1\nshell = get_ipython()", "line 2: the cell calls get_ipython()"),
        ("x = (", "is not valid Python (line 1)"),
    ],
)
def test_magics_without_a_meaning_in_a_job_are_refused(source: str, message: str):
    with pytest.raises(CellAnalysisError) as caught:
        translate_cell(source, "cell 3")
    assert message in caught.value.message


def test_earlier_cells_with_magics_still_give_their_definitions(tmp_path: Path):
    cells = ["%%time\nimport json as js\ndef dump(v):\n    return js.dumps(v)", "%%azml_submit\nout = dump({'a': 1})"]
    folder = build_cell_job(cells, [1], {"__name__": "__main__"}, JobOptions(), tmp_path / "j")
    main = (folder.root / "src" / "main.py").read_text()
    assert "import json as js" in main and "def dump(v):" in main


# ---- resolution against the kernel namespace ---------------------------------------------------------
def run_job_script(folder, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=folder.root / "src", capture_output=True, text=True, timeout=60
    )


def test_transitive_functions_imports_and_values_run_as_a_script(tmp_path: Path):
    cells = [
        "import json\nimport math as m",
        "def norm(v):\n    return m.sqrt(sum(x * x for x in v))",
        "def describe(v):\n    return json.dumps({'norm': norm(v), 'label': LABEL})",
        "LABEL = 'vec'\nvector = [3, 4]\nunused = object()",
        "text = describe(vector)\n!echo shell says {len(vector)}\ntext",
    ]
    namespace = {"__name__": "__main__", "LABEL": "vec", "vector": [3, 4], "unused": object()}
    import json as _json
    import math as _math

    namespace.update(json=_json, m=_math)
    folder = build_cell_job(cells, [4], namespace, JobOptions(returns=["text"]), tmp_path / "j", source="t.ipynb")
    assert folder.shipped == {
        "imports": ["json", "m"],
        "definitions": ["describe", "norm"],
        "values": ["LABEL", "vector"],
    }
    done = run_job_script(folder, "--azml-output", f"azml_returns={tmp_path / 'ret'}")
    assert done.returncode == 0, done.stderr
    assert "shell says 2" in done.stdout
    assert '\'{"norm": 5.0, "label": "vec"}\'' in done.stdout  # the last expression is displayed
    assert azml_runtime.load_values(str(tmp_path / "ret")) == {"text": '{"norm": 5.0, "label": "vec"}'}


def test_a_value_of_a_notebook_class_ships_the_class(tmp_path: Path):
    namespace = {"__name__": "__main__"}
    exec("class Point:\n    def __init__(self, x):\n        self.x = x", namespace)
    import pickle  # the kernel's __main__ is its namespace; give the pickler the same view
    import types

    main = types.ModuleType("__main__")
    main.__dict__.update(namespace)
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = main
    try:
        namespace["p"] = main.Point(7)
        cells = ["class Point:\n    def __init__(self, x):\n        self.x = x", "p = Point(7)", "print(p.x * 2)"]
        folder = build_cell_job(cells, [2], namespace, JobOptions(), tmp_path / "j")
    finally:
        sys.modules["__main__"] = saved
    assert folder.shipped["definitions"] == ["Point"] and folder.shipped["values"] == ["p"]
    assert folder.values["p"]["format"] == "pickle"
    done = run_job_script(folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("14")
    assert pickle  # imported for the reader: pickling is what main_names comes from


def test_type_specific_formats(tmp_path: Path):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    namespace = {
        "__name__": "__main__",
        "frame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
        "matrix": np.eye(2),
        "config": {"lr": 0.1, "layers": [1, 2]},
        "pair": (1, 2),
    }
    cells = ["print(frame, matrix, config, pair)"]
    folder = build_cell_job(cells, [0], namespace, JobOptions(), tmp_path / "j")
    formats = {name: entry["format"] for name, entry in folder.values.items()}
    assert formats["matrix"] == "npy" and formats["config"] == "json" and formats["pair"] == "pickle"
    assert formats["frame"] in ("parquet", "pickle")  # parquet when pyarrow is installed
    requirements = " ".join(folder.requirements)
    assert "numpy==" in requirements and "pandas==" in requirements
    loaded = {n: azml_runtime.load_value(e, str(folder.root / "src" / "azml_values")) for n, e in folder.values.items()}
    pd.testing.assert_frame_equal(loaded["frame"], namespace["frame"])
    assert (loaded["matrix"] == namespace["matrix"]).all() and loaded["pair"] == (1, 2)


def test_unserialisable_variable_names_the_variable_and_its_cell_and_writes_nothing(tmp_path: Path):
    namespace = {"__name__": "__main__", "lock": threading.Lock()}
    with pytest.raises(UnserialisableVariable) as caught:
        build_cell_job(
            ["lock = threading.Lock()", "lock.acquire()"],
            [1],
            namespace,
            JobOptions(),
            tmp_path / "j",
            labels=["In [3]", "In [4]"],
        )
    assert "Variable 'lock' (assigned in In [3]) cannot be sent to the job" in caught.value.message
    assert caught.value.details == {"variable": "lock", "cell": "In [3]"}


def test_assigned_but_never_run_and_undefined_names_are_refused(tmp_path: Path):
    with pytest.raises(CellAnalysisError, match="'rate' is assigned in code cell 1 but has no value in the kernel"):
        build_cell_job(["rate = 0.1", "print(rate)"], [1], {"__name__": "__main__"}, JobOptions(), tmp_path / "a")
    with pytest.raises(CellAnalysisError, match="code cell 1, line 2: name 'mystery' is not defined"):
        build_cell_job(["x = 1\nprint(mystery)"], [0], {"__name__": "__main__"}, JobOptions(), tmp_path / "b")


def test_inputs_outputs_and_params_are_bound_by_the_job(tmp_path: Path):
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n2\n")
    options = JobOptions(
        inputs={"data": str(data)}, outputs=["plots"], params={"lr": 0.5, "tag": "two words"}, returns=["summary"]
    )
    cell = (
        "import os\nsummary = (open(data).read().count('\\n'), lr * 2, tag)\n"
        "open(os.path.join(plots, 'p.txt'), 'w').write('x')"
    )
    folder = build_cell_job([cell], [0], {"__name__": "__main__"}, options, tmp_path / "j")
    spec = __import__("yaml").safe_load(folder.yaml_text)
    assert spec["inputs"] == {"data": {"type": "uri_file", "path": str(data)}, "lr": 0.5, "tag": "two words"}
    assert set(spec["outputs"]) == {"plots", "azml_returns"}
    assert "--azml-param 'lr=${{inputs.lr}}'" in spec["command"]
    done = run_job_script(
        folder,
        "--azml-input",
        f"data={data}",
        "--azml-param",
        "lr=0.5",
        "--azml-param",
        "tag=two words",
        "--azml-output",
        f"plots={tmp_path / 'plots'}",
        "--azml-output",
        f"azml_returns={tmp_path / 'ret'}",
    )
    assert done.returncode == 0, done.stderr
    assert azml_runtime.load_values(str(tmp_path / "ret")) == {"summary": (3, 1.0, "two words")}
    assert (tmp_path / "plots" / "p.txt").exists()


def test_a_missing_return_fails_the_job_with_a_clear_line(tmp_path: Path):
    folder = build_cell_job(["x = 1"], [0], {"__name__": "__main__"}, JobOptions(returns=["y"]), tmp_path / "j")
    done = run_job_script(folder, "--azml-output", f"azml_returns={tmp_path / 'ret'}")
    assert done.returncode == 1
    assert "--return y: the submitted cell did not define y." in done.stderr


def test_traceback_points_at_the_cell_and_its_line(tmp_path: Path):
    folder = build_cell_job(
        ["a = 1\nb = a / 0"], [0], {"__name__": "__main__"}, JobOptions(), tmp_path / "j", labels=["In [7]"]
    )
    done = run_job_script(folder)
    assert done.returncode == 1
    assert 'File "In [7]", line 2, in <module>\n    b = a / 0' in done.stderr and "ZeroDivisionError" in done.stderr
    assert "main.py" not in done.stderr and "azml_runtime.py" not in done.stderr  # the user's frames only


# ---- secrets and options ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["AZURE_CLIENT_SECRET", "DB_PASSWORD", "GITHUB_TOKEN", "API_KEY", "STORAGE_CONNECTION_STRING", "openai_key"]
)
def test_credential_like_environment_variables_are_refused(tmp_path: Path, name: str):
    with pytest.raises(InvalidRequest) as caught:
        build_cell_job(["x = 1"], [0], {}, JobOptions(environment_variables={name: "v"}), tmp_path / "j")
    assert caught.value.code == "secret_in_environment" and name in caught.value.message
    assert not (tmp_path / "j").exists()


def test_ordinary_environment_variables_are_fine(tmp_path: Path):
    assert not looks_like_secret("MONKEY_BUSINESS") and not looks_like_secret("OMP_NUM_THREADS")
    folder = build_cell_job(
        ["x = 1"], [0], {}, JobOptions(environment_variables={"OMP_NUM_THREADS": "2"}), tmp_path / "j"
    )
    assert "OMP_NUM_THREADS: '2'" in folder.yaml_text


def test_job_json_and_conda_file(tmp_path: Path):
    folder = build_cell_job(
        ["import yaml\nprint(yaml.__version__)"], [0], {"__name__": "__main__"}, JobOptions(), tmp_path / "j"
    )
    conda = (folder.root / "environment" / "conda.yaml").read_text()
    assert "PyYAML==" in conda and f"python={sys.version_info.major}.{sys.version_info.minor}" in conda
    job = json.loads((folder.root / "src" / "azml_job.json").read_text())
    assert job["cells"] == ["code cell 1"] and job["returns"] == []
