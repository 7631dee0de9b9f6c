"""``ensure_cluster``: make a compute cluster have the shape asked for, creating it when it is missing,
updating it when it differs, leaving it alone when it already matches, and saying which of the three
happened and what changed. Used non-interactively (a notebook's set-up cell, a script before
submitting a job) and by the ``ClusterSizer`` widget's Create/Update button.

Everything is checked before anything changes:

* the name follows Azure ML's compute naming rule (``spec.names``);
* the numbers are whole and consistent (``0 <= min_nodes <= max_nodes``, ``max_nodes >= 1``,
  ``idle_seconds >= 0``) and the tier is ``dedicated`` or ``low_priority``;
* the VM size is one the backend offers (``list_sizes``), matched without regard to case (Azure's own
  rule); an unknown size is refused with the closest offered names;
* the quota (``list_usage``) holds the cluster at ``max_nodes``, after giving back what the cluster
  itself already holds (``quota.release``); over quota is a ``QuotaExceeded`` (409) that says what is
  short and how many nodes would fit, and nothing is created or changed. A change that does not grow
  the cluster's claim (same size and tier, no more nodes) is never refused for quota: shrinking must
  always be possible. When the usage data cannot tell, the change goes ahead and the result's notes
  say the quota was not known.

Defaults are the ones that cost nothing while idle: ``min_nodes=0`` and an idle scale-down after
``idle_seconds=120`` (Azure ML's own default for new clusters; the sizing engine's
``DEFAULT_IDLE_SECONDS``). With ``wait=True`` (default) the call returns when the backend's operation
has ended (the local engine: at once; Azure ML: typically within a minute or two), and raises when it
failed (``ProvisioningFailed``) or did not end within ``timeout`` seconds (``ProvisioningTimeout``; the
operation goes on and can be watched by its id).
"""

from __future__ import annotations

import dataclasses
import difflib
import time
from collections.abc import Callable
from typing import Any

from ..backends.base import ComputeRequest
from ..errors import AzmlError, Conflict, InvalidRequest, NotFound
from ..models import ComputeInfo, Operation, OperationState, Record, VmSize
from ..spec.names import check_name
from .local_sizes import LOCAL_FAMILY
from .prices import normalize_tier
from .quota import Quota, QuotaCheck, family_key, release
from .recommend import DEFAULT_IDLE_SECONDS

DEFAULT_TIMEOUT_SECONDS = 900.0
FIELDS = ("size", "min_nodes", "max_nodes", "idle_seconds", "tier")


class QuotaExceeded(Conflict):
    """The cluster asked for does not fit the quota left; ``details`` has the numbers."""

    code = "quota_exceeded"


class ProvisioningFailed(AzmlError):
    """The backend accepted the create/update but its operation failed or was canceled."""

    status = 409
    code = "provisioning_failed"


class ProvisioningTimeout(AzmlError):
    """The operation did not end within the timeout; it goes on (``details.operation`` is its id)."""

    status = 504
    code = "provisioning_timeout"


@dataclasses.dataclass
class EnsureResult(Record):
    action: str  # "created" | "updated" | "unchanged"
    name: str
    changes: dict[str, tuple[Any, Any]]  # field -> (old, new); old is None when created
    compute: ComputeInfo | None  # the cluster as the backend reports it afterwards
    operation: Operation | None  # None when unchanged
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"

    def summary(self) -> str:
        shape = _shape(self.compute) if self.compute else ""
        if self.action == "created":
            return f"Created cluster {self.name}: {shape}."
        if self.action == "updated":
            what = ", ".join(f"{field} {_show(old)} -> {_show(new)}" for field, (old, new) in self.changes.items())
            return f"Updated cluster {self.name}: {what} (now {shape})."
        return f"Cluster {self.name} already matches: {shape}."

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the summary, not the fields
        printer.text(self.summary() + "".join(f"\nnote: {note}" for note in self.notes))


def ensure_cluster(
    backend: Any,
    name: str,
    size: str,
    *,
    min_nodes: int = 0,
    max_nodes: int,
    idle_seconds: int = DEFAULT_IDLE_SECONDS,
    tier: str = "dedicated",
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_progress: Callable[[Operation], None] | None = None,
) -> EnsureResult:
    """Create cluster ``name`` if missing, update it if it differs, or leave it; see the module docstring.

    ``backend`` is any Backend (``None``: the notebook's default backend, as ``%%azml_submit`` uses).
    ``on_progress(operation)`` is called with the operation each time it is read while waiting.
    """
    if backend is None:
        from ..settings import process_backend

        backend = process_backend()
    check_name("compute", name)
    min_nodes = _whole("min_nodes", min_nodes, 0)
    max_nodes = _whole("max_nodes", max_nodes, 1)
    idle_seconds = _whole("idle_seconds", idle_seconds, 0)
    if min_nodes > max_nodes:
        raise InvalidRequest(
            f"min_nodes ({min_nodes}) cannot exceed max_nodes ({max_nodes}).", details={"field": "min_nodes"}
        )
    tier = normalize_tier(tier)
    sizes = backend.list_sizes()
    vm = find_size(sizes, size)

    existing = _get_compute(backend, name)
    wanted = {
        "size": vm.name,
        "min_nodes": min_nodes,
        "max_nodes": max_nodes,
        "idle_seconds": idle_seconds,
        "tier": tier,
    }
    if existing is None:
        changes = {field: (None, value) for field, value in wanted.items()}
    else:
        changes = {
            field: (getattr(existing, field), value)
            for field, value in wanted.items()
            if not _same(field, getattr(existing, field), value)
        }
        if not changes:
            return EnsureResult("unchanged", name, {}, existing, None)

    notes: list[str] = []
    if existing is None or _grows(existing, vm, max_nodes, tier):
        usage = backend.list_usage()
        if existing is not None:
            usage = release(usage, existing, sizes)
        verdict = Quota.from_usage(usage).check(vm, max_nodes, tier)
        if verdict.fits is False:
            raise _over_quota(name, vm, max_nodes, tier, verdict, existing)
        if verdict.fits is None:
            notes.append(f"Quota not checked: {verdict.text}.")

    operation = backend.create_or_update_compute(
        ComputeRequest(
            name=name, size=vm.name, min_nodes=min_nodes, max_nodes=max_nodes, idle_seconds=idle_seconds, tier=tier
        )
    )
    if on_progress is not None:
        on_progress(operation)
    if wait:
        operation = _wait(backend, operation, timeout, on_progress, name)
    compute = None
    if operation.state is OperationState.SUCCEEDED or not wait:
        compute = _get_compute(backend, name)
    action = "created" if existing is None else "updated"
    if not wait and not operation.state.is_terminal:
        notes.append(f"Not waited for: operation {operation.id} is {operation.state.value}.")
    return EnsureResult(action, name, changes, compute, operation, notes)


def find_size(sizes: list[VmSize], name: str) -> VmSize:
    """The offered size called ``name`` (any case), or an ``InvalidRequest`` naming the closest ones."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("size must be the name of a VM size, e.g. Standard_DS3_v2.", details={"field": "size"})
    by_lower = {s.name.lower(): s for s in sizes}
    found = by_lower.get(name.strip().lower())
    if found is not None:
        return found
    offered = sorted(s.name for s in sizes)
    close = [by_lower[n].name for n in difflib.get_close_matches(name.strip().lower(), list(by_lower), n=5, cutoff=0.6)]
    if close:
        hint = f"Did you mean {', '.join(close)}?"
    elif offered:
        shown = ", ".join(offered[:12]) + (f" and {len(offered) - 12} more" if len(offered) > 12 else "")
        hint = f"Offered: {shown}."
    else:
        hint = "The backend offers no VM sizes."
    raise InvalidRequest(
        f"VM size {name!r} is not offered by this workspace. {hint}",
        details={"field": "size", "size": name, "close": close},
        code="unknown_vm_size",
    )


# -- helpers --------------------------------------------------------------------------------------


def _get_compute(backend: Any, name: str) -> ComputeInfo | None:
    try:
        return backend.get_compute(name)
    except NotFound as exc:
        if exc.code != NotFound.code:  # e.g. workspace_not_found: not "no such cluster"
            raise
        return None


def _same(field: str, old: Any, new: Any) -> bool:
    if field == "size":
        return (old or "").lower() == new.lower()
    if field == "tier":
        try:
            return old is not None and normalize_tier(old) == new
        except InvalidRequest:
            return False
    return old == new


def _grows(existing: ComputeInfo, vm: VmSize, max_nodes: int, tier: str) -> bool:
    """Would the new shape claim more quota than the cluster holds now? (Anything unclear: yes.)"""
    if family_key(vm.family) == LOCAL_FAMILY:
        return max_nodes > existing.max_nodes  # a local claim is nodes x this machine, whatever the tier
    if (existing.size or "").lower() != vm.name.lower() or not _same("tier", existing.tier, tier):
        return True
    return max_nodes > existing.max_nodes


def _over_quota(
    name: str, vm: VmSize, max_nodes: int, tier: str, verdict: QuotaCheck, existing: ComputeInfo | None
) -> QuotaExceeded:
    verb = "create" if existing is None else "resize"
    allowed = verdict.max_nodes or 0
    advice = (
        f"Lower max_nodes to {allowed}, or raise the quota."
        if 0 < allowed < max_nodes
        else "Choose a smaller size or raise the quota."
    )
    where = "" if existing is None else " The cluster was left as it is."
    return QuotaExceeded(
        f"Cannot {verb} cluster {name!r} with {max_nodes} x {vm.name}: it {verdict.shortfall}. {advice}{where}",
        details={
            "compute": name,
            "size": vm.name,
            "max_nodes": max_nodes,
            "tier": tier,
            "needed_vcpus": verdict.needed_vcpus,
            "quota_max_nodes": verdict.max_nodes,
            "shortfall": verdict.shortfall,
        },
    )


def _wait(
    backend: Any,
    operation: Operation,
    timeout: float,
    on_progress: Callable[[Operation], None] | None,
    name: str,
) -> Operation:
    deadline = time.monotonic() + timeout
    pause = 0.1
    while not operation.state.is_terminal:
        if time.monotonic() >= deadline:
            raise ProvisioningTimeout(
                f"Cluster {name!r}: the {operation.description or 'change'} did not finish within {timeout:g} s; "
                f"it goes on (operation {operation.id}).",
                details={"compute": name, "operation": operation.id},
            )
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 1.5, 2.0)
        operation = backend.get_operation(operation.id)
        if on_progress is not None:
            on_progress(operation)
    if operation.state is not OperationState.SUCCEEDED:
        reason = operation.error or operation.state.value.lower()
        raise ProvisioningFailed(
            f"Cluster {name!r}: {operation.description or 'the change'} ended {operation.state.value}: {reason}",
            details={"compute": name, "operation": operation.id, "state": operation.state.value},
        )
    return operation


def _whole(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{field} must be a whole number, not {value!r}.", details={"field": field})
    if value < minimum:
        raise InvalidRequest(f"{field} must be at least {minimum}, not {value}.", details={"field": field})
    return value


def _shape(compute: ComputeInfo) -> str:
    idle = (
        "no idle scale-down set" if compute.idle_seconds is None else f"scales down after {compute.idle_seconds} s idle"
    )
    return (
        f"{compute.size}, {compute.min_nodes}-{compute.max_nodes} node{'s' if compute.max_nodes != 1 else ''}, "
        f"{idle}, {compute.tier or 'tier unknown'}"
    )


def _show(value: Any) -> str:
    return "unset" if value is None else str(value)
