"""Remaining vCPU quota, read from the usage entries a backend reports.

Azure reports quota as usage rows, one per VM family and one per region total, each with a current
value and a limit in vCPUs (cores). Azure ML's own usage API (``MLClient.compute.list_usage``, REST
``Microsoft.MachineLearningServices/locations/{region}/usages``) names them like this:

    Total Cluster Dedicated Regional vCPUs           region total, dedicated nodes
    Total Cluster LowPriority Regional vCPUs         region total, low-priority nodes
    Standard DSv2 Family Cluster Dedicated vCPUs     one family, dedicated nodes
    Standard DSv2 Family Cluster LowPriority vCPUs   one family, low priority (limit -1: none)
    Clusters / Total Clusters                        a count of clusters, not vCPUs (ignored)

and the same rows may come back again scoped to a workspace or a cluster. The Compute provider
(``az vm list-usage``) spells them ``cores`` / "Total Regional vCPUs", ``standardDSv2Family`` /
"Standard DSv2 Family vCPUs" and ``lowPriorityCores`` / "Total Regional Low-priority vCPUs". Both
spellings are understood here, from ``Usage.family`` (the ``name.value``) and ``Usage.label`` (the
``localizedValue``). A family row matches a VM size when both names agree after lower-casing and
dropping everything that is not a letter or digit, up to the word "family": ``standardDSv2Family``
(the size's ``family`` from ``list_sizes``) and "Standard DSv2 Family Cluster Dedicated vCPUs" are
the same family.

Rules: a cluster of N nodes of a size with V vCPUs needs N x V of its family's remaining quota
(limit - current) and of the regional total for its tier. A limit below zero means "no limit".
When the same row appears more than once (subscription, workspace, cluster scope), the one with
the least room left counts.

The local engine reports one row, family ``local`` (see ``local_sizes``): without a limit a local
size always fits; with one (the optional local vCPU quota) N nodes x V vCPUs must fit in what the
local clusters do not already claim, whatever the tier.

Changing an existing cluster: ``release(usage, compute, sizes)`` gives back what the cluster itself
already holds before the new shape is checked, so a resize is measured against everything else.
What a cluster holds: a local cluster its claim (max nodes x vCPUs, as ``local_usage`` counts it);
an Azure cluster its allocated nodes x vCPUs (Azure's usage counts allocated cores), in its
family's row and the regional total of its tier.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from ..models import ComputeInfo, Usage, VmSize
from .local_sizes import LOCAL_FAMILY, local_claim

DEDICATED = "dedicated"
LOW_PRIORITY = "low_priority"

_TOTAL_ALIASES = {"cores", "totalcores", "dedicatedcores", "lowprioritycores", "spotcores"}


def _squash(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def family_key(name: str | None) -> str | None:
    """``standardDSv2Family`` and "Standard DSv2 Family Cluster Dedicated vCPUs" -> ``standarddsv2family``."""
    squashed = _squash(name)
    if not squashed:
        return None
    cut = squashed.find("family")
    return squashed[: cut + len("family")] if cut >= 0 else squashed


@dataclasses.dataclass(frozen=True)
class QuotaKey:
    scope: str  # "family" | "total"
    tier: str  # DEDICATED | LOW_PRIORITY
    family: str | None = None  # family_key(...) for scope "family"


def classify(usage: Usage) -> QuotaKey | None:
    """What a usage row limits, or None when it is not a vCPU quota (cluster counts, disks ...)."""
    texts = [_squash(usage.family), _squash(usage.label)]
    joined = "|".join(texts)
    tier = LOW_PRIORITY if ("lowpriority" in joined or "spot" in joined) else DEDICATED
    for text in texts:
        if text in _TOTAL_ALIASES or text.startswith("total"):
            if "vcpu" in text or "cores" in text:
                return QuotaKey("total", tier)
            return None  # "Total Clusters", "totalClusters": counts, not vCPUs
    for raw in (usage.family, usage.label):
        if raw and "family" in _squash(raw):
            return QuotaKey("family", tier, family_key(raw))
    if _squash(usage.family) == LOCAL_FAMILY:
        return QuotaKey("family", tier, LOCAL_FAMILY)
    return None


@dataclasses.dataclass(frozen=True)
class QuotaLine:
    """One limit that applies to a cluster: how much of it is left."""

    name: str
    current: int
    limit: int  # < 0: no limit

    @property
    def remaining(self) -> int | None:
        if self.limit < 0:
            return None
        return max(self.limit - self.current, 0)


@dataclasses.dataclass(frozen=True)
class QuotaCheck:
    fits: bool | None  # None: not enough usage data to tell
    needed_vcpus: int | None
    max_nodes: int | None  # how many nodes the known limits allow (None: no limit known)
    text: str  # one line for a recommendation's reasons
    shortfall: str | None = None  # what is over, when fits is False


class Quota:
    """Remaining vCPUs per (scope, tier, family), built from a backend's usage rows."""

    def __init__(self, lines: dict[QuotaKey, QuotaLine]):
        self._lines = lines

    @classmethod
    def from_usage(cls, usage: Iterable[Usage]) -> Quota:
        lines: dict[QuotaKey, QuotaLine] = {}
        for row in usage:
            key = classify(row)
            if key is None:
                continue
            line = QuotaLine(name=row.label or row.family, current=int(row.current), limit=int(row.limit))
            held = lines.get(key)
            if held is None or _tighter(line, held):
                lines[key] = line
        return cls(lines)

    @property
    def known(self) -> bool:
        return bool(self._lines)

    def line(self, scope: str, tier: str, family: str | None = None) -> QuotaLine | None:
        return self._lines.get(QuotaKey(scope, tier, family))

    def check(self, size: VmSize, nodes: int, tier: str) -> QuotaCheck:
        if family_key(size.family) == LOCAL_FAMILY:
            return self._check_local(size, nodes)
        if not size.vcpus:
            return QuotaCheck(None, None, None, f"quota: unknown, {size.name} does not report its vCPUs")
        needed = nodes * size.vcpus
        family = family_key(size.family)
        tier_word = "low-priority" if tier == LOW_PRIORITY else "dedicated"
        family_line = self.line("family", tier, family) if family else None
        total_line = self.line("total", tier)

        parts: list[str] = []
        known: list[QuotaLine] = []
        unknown = False
        if family_line is None:
            if tier == LOW_PRIORITY:
                parts.append("no per-family low-priority limit")
            else:
                unknown = True
                parts.append(f"no {tier_word} quota reported for {size.family or 'its family'}")
        elif family_line.remaining is None:
            parts.append(f"no limit on {family_line.name}")
        else:
            known.append(family_line)
            parts.append(f"{family_line.remaining} vCPUs left in {family_line.name}")
        if total_line is None:
            unknown = True
            parts.append(f"no regional {tier_word} total reported")
        elif total_line.remaining is None:
            parts.append(f"no limit on {total_line.name}")
        else:
            known.append(total_line)
            parts.append(f"{total_line.remaining} left in {total_line.name}")

        over = [line for line in known if needed > (line.remaining or 0)]
        max_nodes = min(((line.remaining or 0) // size.vcpus for line in known), default=None)
        head = f"{nodes} node{'s' if nodes != 1 else ''} x {size.vcpus} vCPUs = {needed} {tier_word} vCPUs"
        if over:
            worst = min(over, key=lambda line: line.remaining or 0)
            shortfall = (
                f"needs {needed} {tier_word} vCPUs but only {worst.remaining} are left in {worst.name}"
                f" (current {worst.current} of {worst.limit})"
            )
            allowed = "no node" if not max_nodes else f"at most {max_nodes} node{'s' if max_nodes != 1 else ''}"
            return QuotaCheck(
                False, needed, max_nodes, f"over quota: {shortfall}; quota allows {allowed} of this size", shortfall
            )
        if unknown and not self.known:
            return QuotaCheck(None, needed, max_nodes, f"quota: unknown (no usage data); {head}")
        if unknown:
            return QuotaCheck(None, needed, max_nodes, f"quota: {head}; " + "; ".join(parts))
        return QuotaCheck(True, needed, max_nodes, f"fits quota: {head}; " + "; ".join(parts))

    def _check_local(self, size: VmSize, nodes: int) -> QuotaCheck:
        """The local engine: no quota, unless a local vCPU quota is configured (any tier counts)."""
        line = self.line("family", DEDICATED, LOCAL_FAMILY) or self.line("family", LOW_PRIORITY, LOCAL_FAMILY)
        if line is None or line.remaining is None:
            return QuotaCheck(True, None, None, "quota: none on the local engine")
        vcpus = size.vcpus or 1
        needed = nodes * vcpus
        max_nodes = line.remaining // vcpus
        head = f"{nodes} node{'s' if nodes != 1 else ''} x {vcpus} vCPUs = {needed} vCPUs"
        if needed > line.remaining:
            shortfall = (
                f"needs {needed} vCPUs ({head}) but only {line.remaining} are left in the {line.name} "
                f"(the local clusters claim {line.current} of {line.limit}; raise it with "
                "AZML_JUPYTER_LOCAL_VCPU_QUOTA or c.AzmlJupyter.local_vcpu_quota)"
            )
            allowed = "no node" if not max_nodes else f"at most {max_nodes} node{'s' if max_nodes != 1 else ''}"
            return QuotaCheck(
                False, needed, max_nodes, f"over quota: {shortfall}; quota allows {allowed} of this size", shortfall
            )
        return QuotaCheck(
            True, needed, max_nodes, f"fits quota: {head}; {line.remaining} vCPUs left in the {line.name}"
        )


def release(usage: Iterable[Usage], compute: ComputeInfo, sizes: Iterable[VmSize]) -> list[Usage]:
    """``usage`` as it would read without ``compute``'s own claim (see the module docstring): what a
    change to that cluster is checked against. Rows the cluster does not count in come back as they are."""
    usage = list(usage)
    sizes = list(sizes)
    keys: set[QuotaKey] = set()
    held = 0
    if compute.type == "local":
        local = next((s for s in sizes if family_key(s.family) == LOCAL_FAMILY), None)
        held = local_claim(compute, local.vcpus if local and local.vcpus else None)
        keys = {QuotaKey("family", DEDICATED, LOCAL_FAMILY), QuotaKey("family", LOW_PRIORITY, LOCAL_FAMILY)}
    else:
        size = next((s for s in sizes if s.name.lower() == (compute.size or "").lower()), None)
        if size is not None and size.vcpus:
            held = (compute.current_nodes or 0) * size.vcpus
            tier = LOW_PRIORITY if compute.tier == LOW_PRIORITY else DEDICATED
            keys = {QuotaKey("family", tier, family_key(size.family)), QuotaKey("total", tier)}
    if not held:
        return usage
    return [
        dataclasses.replace(row, current=max(int(row.current) - held, 0)) if classify(row) in keys else row
        for row in usage
    ]


def _tighter(a: QuotaLine, b: QuotaLine) -> bool:
    """Does ``a`` leave less room than ``b``? An unlimited line is never tighter than a limited one."""
    if a.remaining is None:
        return False
    if b.remaining is None:
        return True
    return a.remaining < b.remaining
