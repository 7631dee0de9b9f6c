"""``JobMonitor``: a live view of one job in the notebook: status badge, elapsed time, the tail of the
log (long lines wrap), a Cancel button while the job can be canceled and (on Azure) a link to the studio.

It is updated from a background thread (ipywidgets 8 sends updates from any thread), so the kernel
stays free while the job runs. Everything goes through the Backend protocol: ``get_job`` for status,
``read_logs`` from the last offset for new log text, ``cancel_job`` for the button.
"""

from __future__ import annotations

import datetime as _dt
import html
import threading
from typing import Any

import ipywidgets as widgets

from ..errors import AzmlError
from ..models import STATUS_STYLE, JobRecord, JobStatus

POLL_SECONDS = 0.5
TAIL_LINES = 30
MAX_ERRORS = 20  # consecutive failed polls before the monitor gives up (the job itself goes on)


class JobMonitor(widgets.VBox):
    def __init__(
        self,
        name: str,
        *,
        backend: Any = None,
        record: JobRecord | None = None,
        poll: float = POLL_SECONDS,
        tail_lines: int = TAIL_LINES,
        start: bool = True,
    ):
        if backend is None:
            from ..notebook.handle import default_backend

            backend = default_backend()
        self.name = name
        self.backend = backend
        self.poll = poll
        self.tail_lines = tail_lines
        self.record: JobRecord | None = record
        self.status: str = record.status.value if record else JobStatus.NOT_STARTED.value
        self.log_text = ""
        self._offset = 0
        self._cancel_asked = False
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

        self.title_html = widgets.HTML()
        self.status_badge = widgets.HTML()
        self.elapsed_html = widgets.HTML()
        self.studio_link = widgets.HTML()
        self.cancel_button = widgets.Button(
            description="Cancel", icon="stop", button_style="danger", tooltip=f"Cancel job {name}"
        )
        self.cancel_button.on_click(lambda _: self.cancel())
        self.error_html = widgets.HTML()
        self.log_view = widgets.HTML(layout=widgets.Layout(width="100%"))
        header = widgets.HBox(
            [self.status_badge, self.title_html, self.elapsed_html, self.studio_link, self.cancel_button],
            layout=widgets.Layout(align_items="center", gap="0.75em", flex_flow="row wrap"),
        )
        super().__init__([header, self.error_html, self.log_view])
        self.add_class("azml-job-monitor")
        self._render()
        if start:
            self.start()

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._follow, name=f"azml-monitor-{self.name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the monitor has seen the job end (True) or ``timeout`` passed (False)."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> None:
        self._cancel_asked = True
        try:
            self.record = self.backend.cancel_job(self.name)
            self.status = self.record.status.value
        except AzmlError as exc:
            self.error_html.value = _error_html(exc.message)
        self._render()

    # ---- the polling thread ----------------------------------------------------------------------
    def _follow(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    record = self.backend.get_job(self.name)
                    complete = self._read_new_log()
                    failures = 0
                except Exception as exc:  # a transient backend error must not kill the view
                    failures += 1
                    self.error_html.value = _error_html(f"Cannot refresh: {exc}")
                    if failures >= MAX_ERRORS:
                        return
                    self._stop.wait(self.poll * 2)
                    continue
                self.record, self.status = record, record.status.value
                self._render()
                if record.is_terminal and complete:
                    return
                self._stop.wait(self.poll)
        finally:
            self._done.set()

    def _read_new_log(self) -> bool:
        while True:
            chunk = self.backend.read_logs(self.name, self._offset)
            if chunk.text:
                self.log_text = _keep_tail(self.log_text + chunk.text, self.tail_lines)
            moved = chunk.next_offset != self._offset
            self._offset = chunk.next_offset
            if chunk.complete:
                return True
            if not moved:
                return False

    # ---- drawing ---------------------------------------------------------------------------------
    def _render(self) -> None:
        record = self.record
        status = JobStatus.parse(self.status)
        category, colour = STATUS_STYLE[status]
        self.status_badge.value = (
            f'<span class="azml-status azml-status-{category}" style="background:{colour};'
            "color:var(--jp-ui-inverse-font-color1);border-radius:0.8em;padding:0.1em 0.7em;"
            f'font-weight:600">{html.escape(status.value)}</span>'
        )
        label = record.display_name if record and record.display_name else self.name
        self.title_html.value = f"<b>{html.escape(label)}</b> <code>{html.escape(self.name)}</code>"
        self.elapsed_html.value = f"<span title='elapsed'>{_elapsed(record)}</span>" if record else ""
        if record and record.studio_url:
            self.studio_link.value = (
                f'<a href="{html.escape(record.studio_url)}" target="_blank" rel="noopener">Open in Azure ML studio</a>'
            )
        # asked for: disabled until the job ends; ended: gone (a disabled red button still looks live)
        self.cancel_button.disabled = self._cancel_asked or status.is_terminal or status is JobStatus.CANCEL_REQUESTED
        self.cancel_button.layout.display = "none" if status.is_terminal else None
        if record and record.error and status.is_terminal:
            self.error_html.value = _error_html(record.error)
        elif record and not record.error and self.error_html.value.startswith("<div class='azml-error'>Cannot refresh"):
            self.error_html.value = ""
        text = html.escape(self.log_text) if self.log_text else "<i>no log output yet</i>"
        self.log_view.value = (
            # long lines (the engine's environment line, paths) wrap instead of scrolling the view sideways
            "<pre style='max-height:18em;overflow:auto;margin:0.3em 0;font-size:var(--jp-code-font-size);"
            "white-space:pre-wrap;overflow-wrap:anywhere;"
            f"background:var(--jp-layout-color2);padding:0.4em'>{text}</pre>"
        )


def _keep_tail(text: str, lines: int) -> str:
    parts = text.splitlines(keepends=True)
    return "".join(parts[-lines:])


def _error_html(message: str) -> str:
    return f"<div class='azml-error' style='color:var(--jp-error-color1)'>{html.escape(message)}</div>"


def _parse_time(stamp: str | None) -> _dt.datetime | None:
    if not stamp:
        return None
    return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _elapsed(record: JobRecord) -> str:
    start = _parse_time(record.started_at)
    created = _parse_time(record.created_at)
    end = _parse_time(record.ended_at) or _dt.datetime.now(_dt.timezone.utc)
    if start is None:
        return f"waiting {_duration((end - created).total_seconds())}" if created else ""
    return f"{'ran' if record.is_terminal else 'running'} {_duration((end - start).total_seconds())}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
