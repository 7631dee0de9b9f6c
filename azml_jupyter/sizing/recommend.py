"""Cluster-sizing recommendations: a pure function from what the job needs and what the backend
offers (VM sizes, remaining quota, prices) to a ranked list of sizes, each with its reasons.

Nothing here talks to Azure, reads files or draws widgets: the caller brings ``list_sizes()``,
``list_usage()`` and a ``PriceTable``, and measures the kernel and the data itself (see
``local_sizes``). The same inputs always give the same answer, which is what the tests pin down.

Memory model (per node: every node of a command job runs the whole command)
---------------------------------------------------------------------------
    derived   = max(peak kernel RSS x peak_rss_factor,   # default 1.5
                    data size x data_expansion)          # default 5
    needed_gb = max(memory_gb asked for, derived + 1 GB reserve)

* The kernel's peak resident memory (``VmHWM``, never less than its current RSS) is the best
  measure of what the notebook's code needs; x1.5 covers run-to-run variance and the job holding
  a second copy of something the notebook held once.
* Data read into pandas takes several times its size on disk (the usual rule of thumb is 5 to 10x);
  x5 is the low end, raise ``data_expansion`` for wide string columns or compressed Parquet.
* 1 GB per node stays with the OS, the Azure ML agent and the container runtime.
* An explicit ``memory_gb`` is the node memory the user wants and is taken as it is (no reserve on
  top), so "64" admits a 64 GB size.
Sizes report memory the way Azure's ``memoryGB`` does (binary gigabytes); bytes are divided by 2**30.

Which sizes qualify
-------------------
Memory >= needed, GPUs >= asked, and (for the low-priority tier) not marked as lacking low priority.
Those within quota (or whose quota is unknown) are ``recommendations``; those over quota are kept
apart in ``over_quota`` with what is short, never dropped and never silently shrunk to fewer nodes.
When no size qualifies, ``impossible`` says why (more memory or GPUs than the largest size, no
low-priority size, everything over quota) instead of offering something that will not do.

Ranking (first difference wins)
-------------------------------
1. quota known to fit before quota unknown;
2. price known before price unknown (an unknown price is shown as such, not guessed);
3. cheaper per node-hour at the asked tier (same order as the price at max nodes);
4. fewer GPUs beyond those asked for;
5. fewer vCPUs;
6. name.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidRequest
from ..models import Record, Usage, VmSize
from .local_sizes import GIB, LOCAL_FAMILY
from .prices import PriceTable, normalize_tier
from .quota import LOW_PRIORITY, Quota, QuotaCheck, family_key

DEFAULT_PEAK_RSS_FACTOR = 1.5
DEFAULT_DATA_EXPANSION = 5.0
NODE_RESERVE_GB = 1.0
DEFAULT_IDLE_SECONDS = 120  # Azure ML's default idle time before a cluster scales down


@dataclasses.dataclass
class SizingRequest(Record):
    """What the job needs. Every field is optional; bytes are bytes, memory is GB per node."""

    data_bytes: int | None = None  # size of the data the job reads (local path or data asset)
    kernel_rss_bytes: int | None = None  # the notebook kernel's resident memory now
    kernel_peak_rss_bytes: int | None = None  # ... and its high-water mark
    memory_gb: float | None = None  # explicit memory need per node
    gpus: int = 0  # GPUs per node
    max_nodes: int = 1  # wanted parallelism
    tier: str = "dedicated"  # "dedicated" | "low_priority"
    idle_seconds: int = DEFAULT_IDLE_SECONDS  # idle time before scale-down
    region: str | None = None  # where prices are looked up (the workspace's location)
    peak_rss_factor: float = DEFAULT_PEAK_RSS_FACTOR
    data_expansion: float = DEFAULT_DATA_EXPANSION

    def __post_init__(self) -> None:
        for name in ("data_bytes", "kernel_rss_bytes", "kernel_peak_rss_bytes"):
            setattr(self, name, _whole(name, getattr(self, name), minimum=0, optional=True))
        self.gpus = _whole("gpus", self.gpus, minimum=0)
        self.max_nodes = _whole("max_nodes", self.max_nodes, minimum=1)
        self.idle_seconds = _whole("idle_seconds", self.idle_seconds, minimum=0)
        self.memory_gb = _number("memory_gb", self.memory_gb, optional=True)
        self.peak_rss_factor = _number("peak_rss_factor", self.peak_rss_factor, positive=True)
        self.data_expansion = _number("data_expansion", self.data_expansion, positive=True)
        self.tier = normalize_tier(self.tier)
        self.region = self.region or None


@dataclasses.dataclass
class MemoryNeed(Record):
    gb: float  # memory a node must have
    basis: str  # which term decided: "explicit" | "kernel_peak" | "data" | "reserve"
    terms: dict[str, float]  # every term that was computed, in GB
    text: str  # how the number came about, for people


@dataclasses.dataclass
class Recommendation(Record):
    rank: int  # 1 = best, within its list
    name: str
    size: VmSize
    nodes: int  # max nodes of the cluster
    tier: str
    memory_gb: float
    needed_memory_gb: float
    memory_headroom_gb: float  # memory_gb - needed_memory_gb
    memory_headroom_ratio: float  # headroom / needed (0.5 = 50 % more than needed)
    gpus: int
    vcpus: int | None
    vcpus_at_max_nodes: int | None
    fits_quota: bool | None  # None: the usage data does not say
    quota_max_nodes: int | None  # nodes of this size the known quota allows (None: no known limit)
    quota_shortfall: str | None  # what is over quota, when fits_quota is False
    price_per_hour: float | None  # one node, at the asked tier
    price_at_max_nodes: float | None  # all nodes busy, per hour
    dedicated_price_per_hour: float | None
    low_priority_price_per_hour: float | None
    low_priority_saving: float | None  # fraction of the dedicated price saved by low priority
    low_priority_saving_at_max_nodes: float | None  # per hour, all nodes busy
    idle_cost_at_max_nodes: float | None  # one idle wait before scale-down, all nodes
    reasons: list[str]


@dataclasses.dataclass
class SizingResult(Record):
    request: SizingRequest
    needed_memory_gb: float
    memory_basis: str
    memory_terms: dict[str, float]
    recommendations: list[Recommendation]  # qualify and fit quota (or quota unknown), best first
    over_quota: list[Recommendation]  # would qualify but exceed quota, best first
    impossible: list[str]  # why nothing qualifies (empty when something does)
    notes: list[str]  # how the numbers were made: memory need, price source

    @property
    def best(self) -> Recommendation | None:
        return self.recommendations[0] if self.recommendations else None


def memory_need(request: SizingRequest) -> MemoryNeed:
    """Memory per node for ``request`` (see the module docstring for the model)."""
    terms: dict[str, float] = {}
    words: dict[str, str] = {}
    peak = max(request.kernel_peak_rss_bytes or 0, request.kernel_rss_bytes or 0)
    if peak:
        terms["kernel_peak"] = peak / GIB * request.peak_rss_factor
        words["kernel_peak"] = f"kernel peak {peak / GIB:.1f} GB x {request.peak_rss_factor:g}"
    if request.data_bytes:
        terms["data"] = request.data_bytes / GIB * request.data_expansion
        words["data"] = f"data {request.data_bytes / GIB:.1f} GB x {request.data_expansion:g} in memory"
    derived_basis = max(terms, key=lambda k: terms[k]) if terms else "reserve"
    derived = (terms[derived_basis] if terms else 0.0) + NODE_RESERVE_GB
    derived_text = (
        f"{words[derived_basis]} + {NODE_RESERVE_GB:g} GB reserve" if terms else f"{NODE_RESERVE_GB:g} GB reserve only"
    )
    terms["reserve"] = NODE_RESERVE_GB
    if request.memory_gb is not None:
        terms["explicit"] = request.memory_gb
        if request.memory_gb >= derived:
            return MemoryNeed(
                round(request.memory_gb, 3), "explicit", terms, f"{request.memory_gb:g} GB asked for explicitly"
            )
    return MemoryNeed(round(derived, 3), derived_basis, terms, derived_text)


def recommend(
    request: SizingRequest, sizes: Iterable[VmSize], usage: Iterable[Usage], prices: PriceTable
) -> SizingResult:
    """Rank ``sizes`` for ``request`` given the remaining quota in ``usage`` and ``prices``."""
    sizes = list(sizes)
    need = memory_need(request)
    quota = Quota.from_usage(usage)
    notes = [f"Memory need: {need.gb:.1f} GB per node ({need.text})."]

    measured = [s for s in sizes if s.memory_gb is not None]
    if len(measured) < len(sizes):
        unmeasured = sorted(s.name for s in sizes if s.memory_gb is None)
        notes.append(f"Skipped {len(unmeasured)} size(s) that report no memory: {', '.join(unmeasured)}.")
    gpu_ok = [s for s in measured if (s.gpus or 0) >= request.gpus]
    both_ok = [s for s in gpu_ok if s.memory_gb >= need.gb]
    tier_ok = [s for s in both_ok if request.tier != LOW_PRIORITY or s.low_priority_capable is not False]

    candidates = [_evaluate(s, request, need, quota.check(s, request.max_nodes, request.tier), prices) for s in tier_ok]
    fitting = _ranked([c for c in candidates if c.fits_quota is not False], request)
    over = _ranked([c for c in candidates if c.fits_quota is False], request)

    if any(family_key(s.family) != LOCAL_FAMILY for s in tier_ok):
        notes.append(prices.describe() + ".")
        notes.extend(prices.notes)
        if not request.region:
            notes.append("No region given: prices cannot be looked up.")

    impossible = [] if fitting else _explain(request, need, sizes, measured, gpu_ok, both_ok, tier_ok, over)
    return SizingResult(
        request=request,
        needed_memory_gb=need.gb,
        memory_basis=need.basis,
        memory_terms={k: round(v, 3) for k, v in need.terms.items()},
        recommendations=fitting,
        over_quota=over,
        impossible=impossible,
        notes=notes,
    )


# -- one size ------------------------------------------------------------------------------------


def _evaluate(
    size: VmSize, request: SizingRequest, need: MemoryNeed, quota: QuotaCheck, prices: PriceTable
) -> Recommendation:
    nodes = request.max_nodes
    local = family_key(size.family) == LOCAL_FAMILY
    if local:
        dedicated = low = 0.0
    else:
        dedicated = prices.price(size.name, request.region, "dedicated")
        low = None if size.low_priority_capable is False else prices.price(size.name, request.region, "low_priority")
    per_node = low if request.tier == LOW_PRIORITY else dedicated
    at_max = None if per_node is None else per_node * nodes
    saving = saving_at_max = None
    if not local and dedicated and low is not None:
        saving = 1 - low / dedicated
        saving_at_max = (dedicated - low) * nodes
    idle_cost = None if at_max is None else at_max * request.idle_seconds / 3600
    headroom = size.memory_gb - need.gb

    reasons = [
        f"memory: {size.memory_gb:g} GB per node for {need.gb:.1f} GB needed "
        f"({headroom:+.1f} GB, {headroom / need.gb:.0%} headroom)"
    ]
    surplus = (size.gpus or 0) - request.gpus
    if request.gpus:
        reasons.append(
            f"GPU match: {size.gpus} per node for {request.gpus} asked"
            + (f" ({surplus} more than asked)" if surplus else "")
        )
    elif size.gpus:
        reasons.append(f"GPU: {size.gpus} per node that the job did not ask for")
    reasons.append(quota.text)
    reasons.extend(
        _price_reasons(size, request, prices, local, dedicated, low, per_node, at_max, saving, saving_at_max)
    )
    if idle_cost:
        reasons.append(
            f"idle time: each {request.idle_seconds} s wait before scale-down costs up to "
            f"{prices.money(idle_cost)} at {nodes} node{'s' if nodes != 1 else ''}"
        )

    return Recommendation(
        rank=0,
        name=size.name,
        size=size,
        nodes=nodes,
        tier=request.tier,
        memory_gb=size.memory_gb,
        needed_memory_gb=need.gb,
        memory_headroom_gb=round(headroom, 3),
        memory_headroom_ratio=round(headroom / need.gb, 4),
        gpus=size.gpus or 0,
        vcpus=size.vcpus,
        vcpus_at_max_nodes=None if size.vcpus is None else size.vcpus * nodes,
        fits_quota=quota.fits,
        quota_max_nodes=quota.max_nodes,
        quota_shortfall=quota.shortfall,
        price_per_hour=per_node,
        price_at_max_nodes=None if at_max is None else round(at_max, 6),
        dedicated_price_per_hour=dedicated,
        low_priority_price_per_hour=low,
        low_priority_saving=None if saving is None else round(saving, 4),
        low_priority_saving_at_max_nodes=None if saving_at_max is None else round(saving_at_max, 6),
        idle_cost_at_max_nodes=None if idle_cost is None else round(idle_cost, 6),
        reasons=reasons,
    )


def _price_reasons(
    size: VmSize,
    request: SizingRequest,
    prices: PriceTable,
    local: bool,
    dedicated: float | None,
    low: float | None,
    per_node: float | None,
    at_max: float | None,
    saving: float | None,
    saving_at_max: float | None,
) -> list[str]:
    if local:
        return ["price: no charge, runs on this machine"]
    nodes = request.max_nodes
    tier_word = "low priority" if request.tier == LOW_PRIORITY else "dedicated"
    money = prices.money
    out: list[str] = []
    if per_node is None:
        where = f"in {request.region}" if request.region else "(no region given)"
        out.append(f"price unknown: the price table has no {tier_word} price for {size.name} {where}")
    elif nodes == 1:
        out.append(f"price: {money(per_node)}/h ({request.region}, {tier_word})")
    else:
        out.append(
            f"price: {money(per_node)}/h per node, {money(at_max)}/h at {nodes} nodes ({request.region}, {tier_word})"
        )
    if size.low_priority_capable is False:
        if request.tier != LOW_PRIORITY:
            out.append("low priority: not offered for this size")
    elif saving is not None:
        at_nodes = f"{money(saving_at_max)}/h at {nodes} nodes" if nodes != 1 else f"{money(saving_at_max)}/h"
        if request.tier == LOW_PRIORITY:
            out.append(
                f"low-priority saving: {saving:.0%} against dedicated ({money(dedicated)}/h per node), "
                f"{at_nodes}; nodes can be preempted"
            )
        else:
            out.append(
                f"low-priority saving: {money(low)}/h per node would save {saving:.0%} ({at_nodes}), "
                "but nodes can be preempted"
            )
    elif dedicated is not None and low is None:
        out.append("low-priority price unknown")
    return out


# -- ranking and explanations ---------------------------------------------------------------------


def _ranked(recs: list[Recommendation], request: SizingRequest) -> list[Recommendation]:
    def key(rec: Recommendation) -> tuple[Any, ...]:
        return (
            0 if rec.fits_quota else 1,
            0 if rec.price_per_hour is not None else 1,
            rec.price_per_hour if rec.price_per_hour is not None else 0.0,
            rec.gpus - request.gpus,
            rec.vcpus if rec.vcpus is not None else math.inf,
            rec.name.lower(),
        )

    ordered = sorted(recs, key=key)
    for number, rec in enumerate(ordered, start=1):
        rec.rank = number
    return ordered


def _explain(
    request: SizingRequest,
    need: MemoryNeed,
    sizes: list[VmSize],
    measured: list[VmSize],
    gpu_ok: list[VmSize],
    both_ok: list[VmSize],
    tier_ok: list[VmSize],
    over: list[Recommendation],
) -> list[str]:
    """Why no size qualifies, in the order a user would fix it."""
    if not sizes:
        return ["The backend offers no VM sizes to choose from."]
    if not measured:
        return ["None of the offered VM sizes reports its memory, so none can be checked."]
    out: list[str] = []
    if not gpu_ok:
        most = max(measured, key=lambda s: (s.gpus or 0, -(s.memory_gb or 0)))
        out.append(
            f"Asked for {request.gpus} GPU{'s' if request.gpus != 1 else ''} per node; the most any offered size "
            f"has is {most.gpus or 0} ({most.name})."
        )
    elif not both_ok:
        largest = max(gpu_ok, key=lambda s: s.memory_gb)
        with_gpus = f" with {request.gpus} GPU{'s' if request.gpus != 1 else ''}" if request.gpus else ""
        out.append(
            f"Needs {need.gb:.1f} GB of memory per node ({need.text}); the largest size{with_gpus} offered, "
            f"{largest.name}, has {largest.memory_gb:g} GB. Hold less in memory at once (read the data in chunks, "
            "use smaller dtypes, split the work across nodes or jobs) or use a workspace region or family with "
            "larger sizes."
        )
    elif not tier_ok:
        out.append(
            f"None of the {len(both_ok)} size(s) with enough memory and GPUs offers low priority: "
            "use the dedicated tier."
        )
    elif over:
        cheapest = over[0]
        shortfall = cheapest.quota_shortfall or "is over quota"
        allowed = cheapest.quota_max_nodes or 0
        fewer = f"lower max nodes to {allowed} or " if allowed and allowed < request.max_nodes else ""
        out.append(
            f"Every size that fits is over quota. The cheapest, {cheapest.name}, {shortfall}. "
            f"To go ahead: {fewer}request a quota increase (Azure ML studio, Quota) or choose another region."
        )
    return out


# -- validation -----------------------------------------------------------------------------------


def _whole(name: str, value: Any, *, minimum: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise InvalidRequest(f"{name} must be a whole number, not {value!r}.", details={"field": name})
    if value < minimum:
        raise InvalidRequest(f"{name} must be at least {minimum}, not {value!r}.", details={"field": name})
    return int(value)


def _number(name: str, value: Any, *, optional: bool = False, positive: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        raise InvalidRequest(f"{name} must be a number, not {value!r}.", details={"field": name})
    if value < 0 or (positive and value == 0):
        bound = "above 0" if positive else "0 or more"
        raise InvalidRequest(f"{name} must be {bound}, not {value!r}.", details={"field": name})
    return float(value)
