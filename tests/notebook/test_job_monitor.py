"""``JobMonitor`` at the widget-state level on real jobs of the local engine: the Cancel button is there
while the job can be canceled and gone once it ended; long log lines wrap instead of scrolling."""

from __future__ import annotations

import time

from azml_jupyter.notebook import submit_cells
from azml_jupyter.widgets import JobMonitor


def _submit(backend, source: str):
    return submit_cells([source], namespace={}, backend=backend, show=False)


def _until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_cancel_button_shows_while_the_job_runs_and_goes_when_it_is_canceled(local_backend):
    running = _submit(local_backend, "import time\nprint('started', flush=True)\ntime.sleep(120)")
    monitor = JobMonitor(running.name, backend=local_backend, poll=0.1)
    try:
        _until(lambda: "started" in monitor.log_text)
        assert monitor.status == "Running"
        assert monitor.cancel_button.layout.display != "none" and not monitor.cancel_button.disabled
        monitor.cancel()
        assert monitor.cancel_button.disabled  # asked; it stays in view until the job has ended
        assert monitor.wait(timeout=60) and monitor.status == "Canceled"
        assert monitor.cancel_button.layout.display == "none"
    finally:
        monitor.stop()


def test_cancel_button_is_gone_on_completed_and_failed_jobs(local_backend):
    for source, status in (("print('done')", "Completed"), ("raise SystemExit(3)", "Failed")):
        job = _submit(local_backend, source)
        job.wait(timeout=60)
        monitor = JobMonitor(job.name, backend=local_backend, poll=0.1)
        assert monitor.wait(timeout=30) and monitor.status == status
        assert monitor.cancel_button.layout.display == "none", status


def test_long_log_lines_wrap_in_the_log_view(local_backend):
    job = _submit(local_backend, "print('x' * 400)")
    job.wait(timeout=60)
    monitor = JobMonitor(job.name, backend=local_backend, poll=0.1)
    assert monitor.wait(timeout=30)
    view = monitor.log_view.value
    assert "x" * 400 in view and "[azml-local] Environment" in view  # the line that made the view scroll
    style = view[view.index("<pre") : view.index(">", view.index("<pre"))]
    assert "white-space:pre-wrap" in style and "overflow-wrap:anywhere" in style, style
