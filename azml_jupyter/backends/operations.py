"""Long-running operations (copy-in, cluster create/update) for both backends.

An operation runs in a background thread of the process that started it and writes its progress to
the workspace store, so any process (the panel through the server, the CLI) can watch it. Cancel sets a
flag in the store and an event in the owning process; the work checks the event between chunks.
A process that dies mid-operation leaves it Running with a dead owner: ``get`` reports it Failed with
"interrupted", and repeating the same request resumes (copies are resumable and skip stored files).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..copy_progress import CopyProgress
from ..engine import processes
from ..engine.store import Store
from ..errors import AzmlError, Conflict, NotFound
from ..models import Operation, OperationState, iso_from_epoch

RUNNING = OperationState.RUNNING.value
_OWNER_START = processes.start_marker(os.getpid())


class OperationContext:
    """Handed to the work function: report progress, check for cancel."""

    def __init__(self, tracker: OperationTracker, operation_id: str):
        self.tracker = tracker
        self.id = operation_id
        self.cancel = threading.Event()
        self._rate: float | None = None
        self._last: tuple[float, int] | None = None

    def progress(self, progress: CopyProgress) -> None:
        now = time.monotonic()
        if self._last is not None and now > self._last[0]:
            instant = (progress.bytes_done - self._last[1]) / (now - self._last[0])
            self._rate = instant if self._rate is None else 0.7 * self._rate + 0.3 * instant  # EWMA
        self._last = (now, progress.bytes_done)
        remaining = (progress.bytes_total or 0) - progress.bytes_done
        eta = remaining / self._rate if self._rate and self._rate > 0 else None
        self.tracker.store.update_operation(
            self.id,
            only_if_state=RUNNING,
            progress={
                "bytes_done": progress.bytes_done,
                "bytes_total": progress.bytes_total,
                "bytes_skipped": progress.bytes_skipped,
                "files_done": progress.files_done,
                "files_total": progress.files_total,
                "files_skipped": progress.files_skipped,
                "current_item": progress.current_item,
                "rate_bytes_per_second": self._rate,
                "eta_seconds": eta,
            },
        )
        if self.tracker.store.read_one("SELECT cancel_requested FROM operations WHERE id = ?", (self.id,)) == {
            "cancel_requested": 1
        }:
            self.cancel.set()  # asked from another process


class OperationTracker:
    def __init__(self, store: Store):
        self.store = store
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def start(
        self,
        kind: str,
        description: str,
        work: Callable[[OperationContext], dict[str, Any] | None],
        *,
        request: dict[str, Any] | None = None,
    ) -> Operation:
        operation_id = uuid.uuid4().hex
        now = time.time()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO operations (id, kind, state, description, request, owner_pid, owner_start, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    operation_id,
                    kind,
                    RUNNING,
                    description,
                    json.dumps(request or {}),
                    os.getpid(),
                    _OWNER_START,
                    now,
                    now,
                ),
            )
        context = OperationContext(self, operation_id)
        with self._lock:
            self._events[operation_id] = context.cancel
        thread = threading.Thread(
            target=self._run, args=(context, work), name=f"azml-op-{operation_id[:8]}", daemon=True
        )
        thread.start()
        return self.get(operation_id)

    def record(
        self, kind: str, description: str, result: dict[str, Any], *, request: dict[str, Any] | None = None
    ) -> Operation:
        """An operation that finished at once (e.g. resizing a local cluster)."""
        operation_id = uuid.uuid4().hex
        now = time.time()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO operations (id, kind, state, description, request, result, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    operation_id,
                    kind,
                    OperationState.SUCCEEDED.value,
                    description,
                    json.dumps(request or {}),
                    json.dumps(result),
                    now,
                    now,
                ),
            )
        return self.get(operation_id)

    def _run(self, context: OperationContext, work: Callable[[OperationContext], dict[str, Any] | None]) -> None:
        try:
            result = work(context)
        except AzmlError as exc:
            canceled = context.cancel.is_set()
            self.store.update_operation(
                context.id,
                state=(OperationState.CANCELED if canceled else OperationState.FAILED).value,
                error=None if canceled else exc.message,
            )
        except Exception as exc:  # the operation fails, with the reason, instead of vanishing
            self.store.update_operation(
                context.id, state=OperationState.FAILED.value, error=f"{type(exc).__name__}: {exc}"
            )
        else:
            state = OperationState.CANCELED if context.cancel.is_set() and result is None else OperationState.SUCCEEDED
            self.store.update_operation(context.id, state=state.value, result=result)
        finally:
            with self._lock:
                self._events.pop(context.id, None)

    def get(self, operation_id: str) -> Operation:
        row = self.store.get_operation(operation_id)
        if row is None:
            raise NotFound(f"Operation {operation_id!r} not found.", details={"operation": operation_id})
        if row["state"] == RUNNING and not processes.is_alive(row["owner_pid"], row["owner_start"]):
            self.store.update_operation(
                operation_id,
                only_if_state=RUNNING,
                state=OperationState.FAILED.value,
                error="Interrupted: the process doing this work stopped. Repeat the request to resume; "
                "what was already copied is kept.",
            )
            row = self.store.get_operation(operation_id)
        return _operation(row)

    def cancel(self, operation_id: str) -> Operation:
        operation = self.get(operation_id)
        if operation.state.is_terminal:
            raise Conflict(f"Operation {operation_id} already ended ({operation.state.value}).")
        self.store.update_operation(operation_id, only_if_state=RUNNING, cancel_requested=1)
        with self._lock:
            event = self._events.get(operation_id)
        if event is not None:
            event.set()
        return self.get(operation_id)

    def wait(self, operation_id: str, *, timeout: float | None = None, poll: float = 0.1) -> Operation:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            operation = self.get(operation_id)
            if operation.state.is_terminal or (deadline is not None and time.monotonic() > deadline):
                return operation
            time.sleep(poll)


def _operation(row: dict[str, Any]) -> Operation:
    progress = row.get("progress") or {}
    return Operation(
        id=row["id"],
        kind=row["kind"],
        state=OperationState(row["state"]),
        description=row["description"],
        bytes_done=progress.get("bytes_done", 0),
        bytes_total=progress.get("bytes_total"),
        bytes_skipped=progress.get("bytes_skipped", 0),
        files_done=progress.get("files_done", 0),
        files_total=progress.get("files_total"),
        files_skipped=progress.get("files_skipped", 0),
        current_item=progress.get("current_item"),
        rate_bytes_per_second=progress.get("rate_bytes_per_second"),
        eta_seconds=progress.get("eta_seconds"),
        error=row["error"],
        result=row["result"],
        created_at=iso_from_epoch(row["created_at"]),
        updated_at=iso_from_epoch(row["updated_at"]),
    )
