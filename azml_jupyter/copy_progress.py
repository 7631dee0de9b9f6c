"""Progress of a copy (local datastore or Azure storage), aggregated from worker threads.

One home for both copy paths, so the panel and the CLI see the same numbers whichever backend copies.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from .errors import AzmlError

REPORT_INTERVAL = 0.25  # seconds: at most four progress callbacks a second (and one at the end)


class CopyCanceled(AzmlError):
    status = 409
    code = "canceled"


@dataclasses.dataclass
class CopyProgress:
    bytes_total: int = 0
    files_total: int = 0
    bytes_done: int = 0
    files_done: int = 0
    files_skipped: int = 0
    bytes_skipped: int = 0  # not copied this time: stored unchanged files, the kept part of a resumed copy
    current_item: str | None = None


class ProgressReporter:
    """Counts from many threads; calls ``callback`` at most every REPORT_INTERVAL, one call at a time
    and in order (so a slower, older snapshot never overwrites a newer one)."""

    def __init__(self, progress: CopyProgress, callback: Callable[[CopyProgress], None] | None):
        self.progress = progress
        self.callback = callback
        self.lock = threading.Lock()
        self.report_lock = threading.Lock()
        self.last = 0.0

    def start(self, item: str) -> None:
        self.progress.current_item = item  # a plain attribute write: no lock needed

    def advance(self, nbytes: int, *, file_done: bool = False) -> None:
        with self.lock:
            self.progress.bytes_done += nbytes
            if file_done:
                self.progress.files_done += 1
        self.report()

    def skipped(self, nbytes: int, *, file_done: bool = True) -> None:
        """Bytes (and, for a whole file, the file) that needed no copying."""
        with self.lock:
            self.progress.bytes_done += nbytes
            self.progress.bytes_skipped += nbytes
            if file_done:
                self.progress.files_done += 1
                self.progress.files_skipped += 1
        self.report()

    def file_done(self) -> None:
        with self.lock:
            self.progress.files_done += 1
        self.report()

    def report(self, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self.last < REPORT_INTERVAL:
            return
        with self.report_lock:
            if not force and now - self.last < REPORT_INTERVAL:
                return
            self.last = now
            with self.lock:
                snapshot = dataclasses.replace(self.progress)
            self.callback(snapshot)
