"""The first hour of a new user, end to end in a real JupyterLab (issue 21): the state `scripts/lab`
leaves (the examples folder as the root, the nyc-taxi pipeline submitted), then the example notebook run
as shipped, cells that write a file with open() submitted as a job, the whole notebook submitted with its
kernel, the sizing widget used without shrinking the cluster, and a job canceled from the panel.

Screenshots of each step go to docs/screenshots/first-hour-*.png (AZML_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lab_ui import SIDEBAR, context_menu, dialog, job_row, show_sidebar, wait_for_kernel, write_notebook
from playwright.sync_api import Locator, Page, expect

REPO = Path(__file__).resolve().parent.parent
FOLDER = "first-hour"  # the examples, copied: scripts/lab roots JupyterLab at examples/
WORKSPACE = "first-hour-test"  # a JupyterLab layout of its own: the open notebooks stay out of other tests
CLUSTER = "cpu-cluster"
WAIT = {"timeout": 180_000}  # a kernel start, an import of the package, a job that trains a model


@pytest.fixture
def first_hour(lab_server):
    """examples/ in the lab's root and the nyc-taxi pipeline submitted, as `scripts/lab` does; at the
    end the kernels are shut down, running jobs canceled and the example's cluster deleted."""
    root = lab_server.root_dir / FOLDER
    shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "outputs"))
    env = {**os.environ, "AZML_JUPYTER_HOME": str(lab_server.azml_home)}
    submitted = subprocess.run(
        [sys.executable, "-m", "azml_jupyter.cli", "--backend", "local", "job", "create", "-f",
         str(root / "nyc-taxi" / "pipeline.yml"), "-o", "table"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    yield root
    layouts = lab_server.get_json("lab/api/workspaces")
    for layout in layouts.get("workspaces", {}).get("ids", []) if isinstance(layouts, dict) else []:
        if layout.startswith(WORKSPACE):
            lab_server.request_json("DELETE", f"lab/api/workspaces/{layout}")
    for session in lab_server.get_json("api/sessions"):
        if str(session.get("path", "")).startswith(FOLDER):
            lab_server.request_json("DELETE", f"api/sessions/{session['id']}")
    for job in lab_server.get_json("azml/jobs?limit=100")["jobs"]:
        if job["status"] not in ("Completed", "Failed", "Canceled"):
            lab_server.request_json("POST", f"azml/jobs/{job['name']}/cancel", {})
    from azml_jupyter.backends.local import LocalBackend

    backend = LocalBackend(lab_server.azml_home)
    try:
        deadline = time.monotonic() + 60
        while CLUSTER in {c.name for c in backend.list_computes()}:
            try:
                backend.delete_compute(CLUSTER)
            except Exception:  # a canceled job may still hold a node for a moment
                assert time.monotonic() < deadline
                time.sleep(0.5)
    finally:
        backend.close()


def open_notebook(page: Page, lab_server, path: str) -> Locator:
    page.set_default_timeout(60_000)
    # one layout per notebook: the one just opened is the only notebook, and it is the current widget
    page.goto(lab_server.url(f"lab/workspaces/{WORKSPACE}-{Path(path).stem}/tree/{path}"))
    panel = page.locator(".jp-NotebookPanel:visible").filter(has=page.locator(".jp-Notebook"))
    expect(panel.locator(".jp-Cell").first).to_be_visible(**WAIT)
    wait_for_kernel(page, WAIT["timeout"])
    return panel


def run_all_cells(page: Page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()


def wait_for_job(lab_server, name: str, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        record = lab_server.get_json(f"azml/jobs/{name}")
        if record["status"] in ("Completed", "Failed", "Canceled"):
            return record
        assert time.monotonic() < deadline, f"{name} is still {record['status']}"
        time.sleep(0.5)


def test_the_first_hour(page: Page, lab_server, first_hour, screenshot) -> None:
    # 1. The panel after scripts/lab: the example pipeline is there.
    page.set_default_timeout(60_000)
    page.goto(lab_server.url(f"lab/workspaces/{WORKSPACE}"))
    panel = show_sidebar(page)
    pipeline = panel.locator(".azml-JobRow").filter(has_text="nyc")
    expect(pipeline.first).to_be_visible(**WAIT)
    screenshot("first-hour-1-panel")

    # 2. The example notebook runs as shipped: it trains on the cluster and brings model_metrics back.
    notebook = open_notebook(page, lab_server, f"{FOLDER}/bank-marketing/bank-marketing.ipynb")
    run_all_cells(page)
    last = notebook.locator(".jp-CodeCell").last
    expect(last.locator(".jp-OutputArea-output")).to_contain_text("roc_auc", **WAIT)
    expect(notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    assert not notebook.locator(".jp-OutputArea-output", has_text="Traceback").count()
    screenshot("first-hour-2-example-notebook")

    # 3. Cells that write a file with open() go to a job; the file is in the job's outputs.
    write_notebook(
        first_hour / "writes-a-file.ipynb",
        [
            "import os\nos.makedirs('outputs', exist_ok=True)\nmessage = 'written by a job'",
            "with open('outputs/message.txt', 'w') as f:\n    f.write(message)\nprint(open('outputs/message.txt').read())",
        ],
    )
    notebook = open_notebook(page, lab_server, f"{FOLDER}/writes-a-file.ipynb")
    run_all_cells(page)
    expect(notebook.locator(".jp-OutputArea-output").last).to_contain_text("written by a job", **WAIT)
    second = notebook.locator(".jp-CodeCell").nth(1)
    second.locator(".jp-InputPrompt").click()
    context_menu(page, second.locator(".jp-InputArea-editor"), "Submit selected cells as Azure ML job")
    form = dialog(page)
    expect(form.locator(".azml-SubmitForm[data-kind='cells']")).to_be_visible()
    form.locator(".azml-Submit-compute").select_option("local")
    form.locator(".azml-Submit-displayName").fill("writes-a-file")
    form.get_by_role("button", name="Submit").click()
    row = show_sidebar(page).locator(".azml-JobRow.azml-mod-new")
    expect(row.locator(".azml-JobRow-name")).to_have_text("writes-a-file", **WAIT)
    cells_job = row.get_attribute("data-job-name")
    assert wait_for_job(lab_server, cells_job)["status"] == "Completed"
    outputs = lab_server.get_json(f"azml/jobs/{cells_job}/outputs")
    files = [f["path"] for f in (outputs["outputs"] if isinstance(outputs, dict) else outputs)]
    assert any(path.endswith("message.txt") for path in files), files
    screenshot("first-hour-3-cells-job")

    # 4. The whole notebook, with its own kernel (the log says which).
    page.locator(".azml-SubmitNotebookButton:visible").first.click()
    answer = dialog(page)
    if answer.get_by_role("button", name="Submit the saved version").count():
        answer.get_by_role("button", name="Submit the saved version").click()
    form = dialog(page)
    expect(form.locator(".azml-SubmitForm[data-kind='notebook']")).to_be_visible()
    form.locator(".azml-Submit-displayName").fill("whole-notebook")
    form.get_by_role("button", name="Submit").click()
    row = show_sidebar(page).locator(".azml-JobRow.azml-mod-new")
    expect(row.locator(".azml-JobRow-name")).to_have_text("whole-notebook", **WAIT)
    notebook_job = row.get_attribute("data-job-name")
    assert wait_for_job(lab_server, notebook_job)["status"] == "Completed"
    row.click()
    log = page.locator(f'.azml-JobDetail-content[data-job-name="{notebook_job}"] .azml-LogViewer-text')
    expect(log).to_contain_text("Notebook kernel:", **WAIT)
    screenshot("first-hour-4-notebook-job")

    # 5. The sizer shows the cluster as it is (2 nodes, made by the example) and a shrink asks first.
    assert {c["name"]: c for c in lab_server.get_json("azml/computes")["computes"]}[CLUSTER]["max_nodes"] == 2
    write_notebook(first_hour / "sizing.ipynb", ["%load_ext azml_jupyter\n%azml_size"])
    open_notebook(page, lab_server, f"{FOLDER}/sizing.ipynb")
    run_all_cells(page)
    sizer = page.locator(".azml-cluster-sizer:visible")
    expect(sizer).to_be_visible(**WAIT)
    max_nodes = sizer.locator(".widget-inline-hbox", has_text="Max nodes").locator("input")
    expect(max_nodes).to_have_value("2")
    max_nodes.fill("1")
    max_nodes.press("Enter")
    sizer.get_by_role("button", name=f"Update {CLUSTER}").click()
    warning = sizer.locator(".azml-sizer-shrink")
    expect(warning).to_contain_text(f"This shrinks {CLUSTER} from 2 to 1 max node")
    screenshot("first-hour-5-sizer-asks")
    warning.get_by_role("button", name="Keep the cluster as it is").click()
    expect(warning).to_be_hidden()
    assert {c["name"]: c for c in lab_server.get_json("azml/computes")["computes"]}[CLUSTER]["max_nodes"] == 2

    # 6. A long job, canceled from the panel.
    long_job = lab_server.request_json(
        "POST",
        "azml/jobs",
        {"yaml": "command: echo started && sleep 600\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"
         "display_name: long-one\n"},
    )["name"]  # fmt: skip
    show_sidebar(page)
    row = job_row(page, long_job)
    expect(row).to_have_attribute("data-status", "Running", **WAIT)
    row.click()
    detail = page.locator(f'.azml-JobDetail-content[data-job-name="{long_job}"]')
    expect(detail.locator(".azml-LogViewer-text")).to_contain_text("started", **WAIT)
    detail.locator(".azml-JobDetail-cancel").click()
    dialog(page).get_by_role("button", name="Cancel job").click()
    expect(row).to_have_attribute("data-status", "Canceled", **WAIT)
    expect(page.locator(SIDEBAR)).to_be_visible()
    screenshot("first-hour-6-canceled")
