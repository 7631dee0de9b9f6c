"""Jobs in a real JupyterLab: submit a job YAML from the file browser, follow it to Completed with
its log streamed (Server-Sent Events), get notified, cancel a long job from the panel, and see the
server's error message when a YAML file is refused."""

from __future__ import annotations

import json
import re
import urllib.error
import uuid

import pytest

from lab_ui import (
    JOB_TIMEOUT_MS,
    SIDEBAR,
    context_menu,
    dialog,
    file_item,
    go_to_folder,
    job_row,
    open_sidebar,
    show_file_browser,
    show_sidebar,
)
from playwright.sync_api import Page, expect

JOB_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: {command}
environment: azureml:AzureML-sklearn-1.5@latest
compute: azureml:local
display_name: {display_name}
experiment_name: ui-tests
"""


def write_job(lab_server, folder: str, display_name: str, command: str) -> str:
    """A job YAML file under the root; returns its file name."""
    directory = lab_server.root_dir / folder
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{display_name}.yml"
    path.write_text(JOB_YAML.format(command=command, display_name=display_name))
    return path.name


def submit_from_file_browser(page: Page, folder: str, file_name: str) -> str:
    """Right-click the YAML file -> "Submit Azure ML job"; returns the new job's name (the row marked new)."""
    go_to_folder(page, folder)
    with page.expect_response(
        lambda r: re.search(r"/azml/jobs(\?|$)", r.url) is not None and r.request.method == "POST"
    ) as submitted:
        context_menu(page, file_item(page, file_name), "Submit Azure ML job")
    response = submitted.value
    assert response.status == 201, response.text()
    name = response.json()["name"]
    panel = show_sidebar(page)
    expect(panel.locator(f'.azml-JobRow.azml-mod-new[data-job-name="{name}"]')).to_be_visible()
    return name


def test_submit_yaml_follow_to_completed_with_streamed_log(page: Page, lab_server, screenshot) -> None:
    marker = f"log-line-{uuid.uuid4().hex[:8]}"
    folder = "yaml-jobs"
    file_name = write_job(
        lab_server, folder, "hello-ui", f"echo start && sleep 2 && echo {marker} && sleep 1 && echo finished"
    )
    open_sidebar(page, lab_server)
    log_requests: list[str] = []
    page.on("request", lambda r: log_requests.append(r.url) if "/logs" in r.url else None)

    name = submit_from_file_browser(page, folder, file_name)
    row = job_row(page, name)
    expect(row.locator(".azml-JobRow-name")).to_have_text("hello-ui")
    expect(row.locator(".azml-JobRow-compute")).to_have_text("local")

    # Open it while it runs: the log viewer streams and follows the tail.
    row.click()
    detail = page.locator(f'.azml-JobDetail-content[data-job-name="{name}"]')
    expect(detail).to_be_visible()
    log = detail.locator(".azml-LogViewer-text")
    expect(log).to_contain_text(marker, timeout=JOB_TIMEOUT_MS)
    expect(log).to_contain_text("finished", timeout=JOB_TIMEOUT_MS)
    expect(detail.locator(".azml-JobDetail-header .azml-StatusBadge")).to_have_text(
        "Completed", timeout=JOB_TIMEOUT_MS
    )
    expect(detail.locator(".azml-LogViewer-state")).to_have_text("End of log (Completed)")
    # Each line once: the stream resumes by byte offset, never repeats.
    assert log.inner_text().count(marker) == 1
    # The list row agrees, with a duration.
    expect(row).to_have_attribute("data-status", "Completed", timeout=JOB_TIMEOUT_MS)
    expect(row.locator(".azml-JobRow-duration")).to_have_text(re.compile(r"^\d+s$"))
    # Properties and outputs from the server's record.
    record = lab_server.get_json(f"azml/jobs/{name}")
    assert record["status"] == "Completed"
    expect(detail.locator(".azml-JobProperty-name")).to_have_text(name)
    expect(detail.locator(".azml-JobProperty-exit-code")).to_have_text("0")
    expect(detail.locator('.azml-JobOutputs-list [data-output="default"]')).to_be_visible()

    # "Download to folder…": the outputs land under the root like `az ml job download` lays them out.
    detail.locator(".azml-JobOutputs-download").click()
    form = dialog(page)
    expect(form.locator(".azml-Download-path")).to_be_focused()
    expect(form.locator(".azml-Download-path")).to_have_value(f"{folder}/azml-outputs/{name}")
    form.get_by_role("button", name="Download").click()
    expect(page.locator(".Toastify__toast").filter(has_text=f"of {name} into {folder}/azml-outputs/{name}")).to_be_visible()
    std_log = lab_server.root_dir / folder / "azml-outputs" / name / "artifacts" / "user_logs" / "std_log.txt"
    assert marker in std_log.read_text()

    # SSE authentication: the EventSource used the page's cookie, no token in its URL.
    assert log_requests, "the log viewer opened no stream"
    assert all("token=" not in url for url in log_requests), log_requests

    # The end was announced with an action that opens the logs.
    toast = page.locator(".Toastify__toast").filter(has_text=re.compile(r"hello-ui: Completed"))
    expect(toast).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(toast.locator(".jp-toast-button", has_text="Open logs")).to_be_visible()
    screenshot("azml-job-logs")


def test_a_job_ending_while_the_panel_is_hidden_is_notified(page: Page, lab_server) -> None:
    folder = "yaml-jobs"
    file_name = write_job(lab_server, folder, "notify-ui", "echo notified-line && sleep 2")
    open_sidebar(page, lab_server)
    name = submit_from_file_browser(page, folder, file_name)
    # Hide the panel and do not open the job: the page keeps watching it (slower) and announces its end.
    show_file_browser(page)
    expect(page.locator(SIDEBAR)).to_be_hidden()
    toast = page.locator(".Toastify__toast").filter(has_text="notify-ui: Completed")
    expect(toast).to_be_visible(timeout=JOB_TIMEOUT_MS)
    toast.locator(".jp-toast-button", has_text="Open logs").click()
    detail = page.locator(f'.azml-JobDetail-content[data-job-name="{name}"]')
    expect(detail.locator(".azml-LogViewer-text")).to_contain_text("notified-line")


def test_cancel_a_long_job_from_the_panel(page: Page, lab_server) -> None:
    folder = "yaml-jobs"
    file_name = write_job(lab_server, folder, "long-ui", "echo long-job-started && sleep 600")
    open_sidebar(page, lab_server)
    name = submit_from_file_browser(page, folder, file_name)
    try:
        row = job_row(page, name)
        expect(row).to_have_attribute("data-status", "Running", timeout=JOB_TIMEOUT_MS)
        row.click()
        detail = page.locator(f'.azml-JobDetail-content[data-job-name="{name}"]')
        expect(detail.locator(".azml-LogViewer-text")).to_contain_text("long-job-started", timeout=JOB_TIMEOUT_MS)

        # Cancel asks first; "Keep running" changes nothing.
        detail.locator(".azml-JobDetail-cancel").click()
        expect(dialog(page)).to_contain_text(name)
        dialog(page).get_by_role("button", name="Keep running").click()
        expect(dialog(page)).to_have_count(0)
        assert lab_server.get_json(f"azml/jobs/{name}")["status"] == "Running"

        detail.locator(".azml-JobDetail-cancel").click()
        dialog(page).get_by_role("button", name="Cancel job").click()
        expect(detail.locator(".azml-JobDetail-header .azml-StatusBadge")).to_have_text(
            "Canceled", timeout=JOB_TIMEOUT_MS
        )
        expect(row).to_have_attribute("data-status", "Canceled", timeout=JOB_TIMEOUT_MS)
        expect(detail.locator(".azml-JobDetail-cancel")).to_have_count(0)
        assert lab_server.get_json(f"azml/jobs/{name}")["status"] == "Canceled"
    finally:
        record = lab_server.get_json(f"azml/jobs/{name}")
        if record["status"] not in ("Canceled", "Completed", "Failed"):
            lab_server.request_json("POST", f"azml/jobs/{name}/cancel", {})


def test_a_refused_yaml_shows_the_servers_message(page: Page, lab_server) -> None:
    folder = "yaml-jobs"
    broken = lab_server.root_dir / folder / "broken.yml"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: [unclosed\n")
    # What the server answers for this file, to compare with what the user sees.
    with pytest.raises(urllib.error.HTTPError) as refused:
        lab_server.request_json("POST", "azml/jobs", {"path": f"{folder}/broken.yml"})
    assert refused.value.code == 400
    message = json.loads(refused.value.read())["message"]

    open_sidebar(page, lab_server)
    go_to_folder(page, folder)
    context_menu(page, file_item(page, "broken.yml"), "Submit Azure ML job")
    expect(dialog(page)).to_be_visible()
    expect(dialog(page).locator(".jp-Dialog-header")).to_contain_text("Could not submit yaml-jobs/broken.yml")
    expect(dialog(page).locator(".jp-Dialog-body")).to_contain_text(message.splitlines()[0])
    dialog(page).get_by_role("button").last.click()
    expect(page.locator(SIDEBAR).locator(".azml-JobRow.azml-mod-new")).to_have_count(0)


def submit_yaml_text(lab_server, display_name: str, command: str) -> str:
    """POST /azml/jobs {"yaml"} (the REST API, not the page): set-up for tests about what the panel shows."""
    record = lab_server.request_json(
        "POST", "azml/jobs", {"yaml": JOB_YAML.format(command=command, display_name=display_name)}
    )
    return record["name"]


def test_panel_shows_each_status_in_the_servers_colour(page: Page, lab_server, screenshot) -> None:
    suffix = uuid.uuid4().hex[:4]
    done = submit_yaml_text(lab_server, f"prepare-data-{suffix}", "echo prepared")
    failed = submit_yaml_text(lab_server, f"train-bad-lr-{suffix}", "echo diverged >&2 && exit 3")
    running = submit_yaml_text(lab_server, f"train-long-{suffix}", "echo epoch 1 && sleep 600")
    try:
        panel = open_sidebar(page, lab_server)
        expect(job_row(page, done)).to_have_attribute("data-status", "Completed", timeout=JOB_TIMEOUT_MS)
        expect(job_row(page, failed)).to_have_attribute("data-status", "Failed", timeout=JOB_TIMEOUT_MS)
        expect(job_row(page, running)).to_have_attribute("data-status", "Running", timeout=JOB_TIMEOUT_MS)

        # Each badge carries the colour the server gave for its status: one source, no copy here.
        colours = {s["name"]: s["color"] for s in lab_server.get_json("azml/statuses")["statuses"]}
        for name, status in ((done, "Completed"), (failed, "Failed"), (running, "Running")):
            badge = job_row(page, name).locator(".azml-StatusBadge")
            expect(badge).to_have_text(status)
            shown = badge.evaluate("node => node.style.getPropertyValue('--azml-status-color')")
            assert shown == colours[status], (status, shown)
        # ...and the theme resolves them to different colours.
        resolved = {
            status: job_row(page, name)
            .locator(".azml-StatusBadge")
            .evaluate("node => getComputedStyle(node).borderTopColor")
            for name, status in ((done, "Completed"), (failed, "Failed"), (running, "Running"))
        }
        assert len(set(resolved.values())) == 3, resolved
        expect(panel.locator(".azml-Error")).to_have_count(0)
        screenshot("azml-panel")

        # The same panel in JupyterLab's dark theme (its CSS variables, nothing of ours changes).
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        expect(page.locator("#jupyterlab-splash")).to_have_count(0)  # the theme switch's splash is gone
        expect(job_row(page, running).locator(".azml-StatusBadge")).to_be_visible()
        screenshot("azml-panel-dark")
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Light", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")
        expect(page.locator("#jupyterlab-splash")).to_have_count(0)
    finally:
        if lab_server.get_json(f"azml/jobs/{running}")["status"] not in ("Canceled", "Completed", "Failed"):
            lab_server.request_json("POST", f"azml/jobs/{running}/cancel", {})
