"""Cluster-sizing engine: ranking and reasons (table-driven), quota reading, the price table and its
override, and what the local engine measures on this machine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from azml_jupyter.errors import InvalidRequest, NotFound
from azml_jupyter.models import ComputeInfo, DataAsset, Usage, VmSize
from azml_jupyter.sizing import (
    LOCAL_VCPU_QUOTA_ENV,
    PRICES_ENV,
    SHIPPED_PRICES,
    PriceTable,
    Quota,
    SizingRequest,
    classify,
    count_nvidia_gpus,
    data_size_bytes,
    local_kernel_memory,
    local_usage,
    local_vcpu_quota,
    local_vm_size,
    memory_need,
    recommend,
    release,
)
from azml_jupyter.sizing.quota import DEDICATED, LOW_PRIORITY, QuotaKey

GIB = 1024**3

# What Azure ML's list_sizes reports for these sizes (vCPUs, memoryGB, GPUs, family).
CATALOG = [
    VmSize("Standard_DS3_v2", 4, 14, 0, "standardDSv2Family", True),
    VmSize("Standard_DS4_v2", 8, 28, 0, "standardDSv2Family", True),
    VmSize("Standard_DS11_v2", 2, 14, 0, "standardDSv2Family", True),
    VmSize("Standard_DS12_v2", 4, 28, 0, "standardDSv2Family", True),
    VmSize("Standard_D4s_v3", 4, 16, 0, "standardDSv3Family", True),
    VmSize("Standard_D8s_v3", 8, 32, 0, "standardDSv3Family", True),
    VmSize("Standard_E4s_v3", 4, 32, 0, "standardESv3Family", True),
    VmSize("Standard_E8s_v3", 8, 64, 0, "standardESv3Family", True),
    VmSize("Standard_E32s_v3", 32, 256, 0, "standardESv3Family", True),
    VmSize("Standard_F8s_v2", 8, 16, 0, "standardFSv2Family", True),
    VmSize("Standard_NC4as_T4_v3", 4, 28, 1, "standardNCASv3_T4Family", True),
    VmSize("Standard_NC8as_T4_v3", 8, 56, 1, "standardNCASv3_T4Family", True),
    VmSize("Standard_NC6s_v3", 6, 112, 1, "standardNCSv3Family", True),
    VmSize("Standard_NC24ads_A100_v4", 24, 220, 1, "StandardNCADSA100v4Family", True),
    VmSize("Standard_ND96asr_v4", 96, 900, 8, "standardNDASv4_A100Family", False),
]


def _ml_usage(family: str, label: str, current: int, limit: int) -> Usage:
    """A row as Azure ML's usages API reports it: name.value -> family, localizedValue -> label."""
    return Usage(family=family, current=current, limit=limit, label=label)


# Azure ML usages in the shape of the REST API's list response (totals, per family, low priority).
USAGE = [
    _ml_usage("Clusters", "Clusters", 3, 100),
    _ml_usage("Total Cluster Dedicated Regional vCPUs", "Total Cluster Dedicated Regional vCPUs", 8, 100),
    _ml_usage("Total Cluster LowPriority Regional vCPUs", "Total Cluster LowPriority Regional vCPUs", 0, 100),
    _ml_usage("standardDSv2Family", "Standard DSv2 Family Cluster Dedicated vCPUs", 0, 24),
    _ml_usage("standardDSv3Family", "Standard DSv3 Family Cluster Dedicated vCPUs", 0, 24),
    _ml_usage("standardESv3Family", "Standard ESv3 Family Cluster Dedicated vCPUs", 0, 64),
    _ml_usage("standardFSv2Family", "Standard FSv2 Family Cluster Dedicated vCPUs", 0, 24),
    _ml_usage("standardNCASv3_T4Family", "Standard NCASv3_T4 Family Cluster Dedicated vCPUs", 0, 16),
    _ml_usage("standardNCSv3Family", "Standard NCSv3 Family Cluster Dedicated vCPUs", 0, 12),
    _ml_usage("StandardNCADSA100v4Family", "Standard NCADSA100v4 Family Cluster Dedicated vCPUs", 0, 24),
    _ml_usage("standardNDASv4_A100Family", "Standard NDASv4_A100 Family Cluster Dedicated vCPUs", 0, 0),
    _ml_usage("standardDSv2Family", "Standard DSv2 Family Cluster LowPriority vCPUs", 0, -1),
    _ml_usage("standardNCASv3_T4Family", "Standard NCASv3_T4 Family Cluster LowPriority vCPUs", 0, -1),
]

# The tests' own prices (eastus figures of the shipped table, frozen here so that refreshing the
# shipped table cannot change what these cases expect). No westeurope: "price unknown" cases use it.
TEST_PRICES = PriceTable.from_dict(
    {
        "as_of": "2026-11-26",
        "prices": {
            "eastus": {
                "Standard_DS3_v2": {"dedicated": 0.293, "low_priority": 0.035453},
                "Standard_DS4_v2": {"dedicated": 0.585, "low_priority": 0.070785},
                "Standard_DS11_v2": {"dedicated": 0.185, "low_priority": 0.022385},
                "Standard_DS12_v2": {"dedicated": 0.371, "low_priority": 0.044891},
                "Standard_D4s_v3": {"dedicated": 0.192, "low_priority": 0.023232},
                "Standard_D8s_v3": {"dedicated": 0.384, "low_priority": 0.046464},
                "Standard_E4s_v3": {"dedicated": 0.252, "low_priority": 0.030492},
                "Standard_E8s_v3": {"dedicated": 0.504, "low_priority": 0.060984},
                "Standard_E32s_v3": {"dedicated": 2.016, "low_priority": 0.243936},
                "Standard_F8s_v2": {"dedicated": 0.338, "low_priority": 0.040898},
                "Standard_NC4as_T4_v3": {"dedicated": 0.526, "low_priority": 0.068959},
                "Standard_NC8as_T4_v3": {"dedicated": 0.752, "low_priority": 0.098587},
                "Standard_NC6s_v3": {"dedicated": 3.06, "low_priority": 0.4284},
                "Standard_NC24ads_A100_v4": {"dedicated": 3.673, "low_priority": 0.488876},
                "Standard_ND96asr_v4": {"dedicated": 27.197},
            }
        },
    },
    origin="test prices",
)

# A catalog where price and vCPUs tie, priced by hand for the tie-breaking case.
TIE_CATALOG = [
    VmSize("Standard_D8s_v3", 8, 32, 0, "standardDSv3Family", True),
    VmSize("Standard_E4s_v3", 4, 32, 0, "standardESv3Family", True),
    VmSize("Standard_E4ds_v4", 4, 32, 0, "standardEDSv4Family", True),
    VmSize("Standard_E4as_v4", 4, 32, 0, "standardEASv4Family", True),
]
TIE_PRICES = PriceTable.from_dict(
    {
        "prices": {
            "eastus": {
                "Standard_D8s_v3": {"dedicated": 0.40},
                "Standard_E4s_v3": {"dedicated": 0.40},
                "Standard_E4ds_v4": {"dedicated": 0.40},
                "Standard_E4as_v4": {"dedicated": 0.30},
            }
        }
    },
    origin="tie prices",
)


@dataclasses.dataclass
class Case:
    id: str
    request: dict
    ranking: list[str]  # expected recommendations, best first (a prefix when ``exact`` is False)
    exact: bool = False
    reasons: tuple[str, ...] = ()  # substrings expected in the best recommendation's reasons
    over_quota: tuple[str, ...] = ()  # sizes expected in over_quota
    over_reason: str | None = None  # substring expected in over_quota[0].reasons
    impossible: tuple[str, ...] = ()  # substrings expected in the explanations (then no ranking)
    basis: str | None = None  # expected memory_basis
    sizes: list[VmSize] = dataclasses.field(default_factory=lambda: CATALOG)
    usage: list[Usage] = dataclasses.field(default_factory=lambda: USAGE)
    prices: PriceTable = TEST_PRICES


CASES = [
    Case(
        "memory-bound",  # 9 GB peak x 1.5 + 1 = 14.5 GB: the 14 GB sizes drop out, cheapest 16 GB+ wins
        {"kernel_peak_rss_bytes": 9 * GIB, "kernel_rss_bytes": 3 * GIB},
        ["Standard_D4s_v3", "Standard_E4s_v3", "Standard_F8s_v2", "Standard_DS12_v2", "Standard_D8s_v3"],
        reasons=("memory: 16 GB per node for 14.5 GB needed (+1.5 GB, 10% headroom)", "price: $0.192/h (eastus"),
        basis="kernel_peak",
    ),
    Case(
        "data-size-driven",  # 5 GB of data x 5 + 1 = 26 GB, more than the kernel's 2 GB x 1.5
        {"data_bytes": 5 * GIB, "kernel_peak_rss_bytes": 2 * GIB},
        ["Standard_E4s_v3", "Standard_DS12_v2", "Standard_D8s_v3", "Standard_E8s_v3", "Standard_NC4as_T4_v3"],
        reasons=("memory: 32 GB per node for 26.0 GB needed",),
        basis="data",
    ),
    Case(
        "explicit-memory",  # 64 GB asked for: taken as it is, so the 64 GB size qualifies
        {"memory_gb": 64, "kernel_peak_rss_bytes": 1 * GIB},
        ["Standard_E8s_v3", "Standard_E32s_v3", "Standard_NC6s_v3", "Standard_NC24ads_A100_v4"],
        exact=True,
        reasons=("memory: 64 GB per node for 64.0 GB needed (+0.0 GB, 0% headroom)",),
        over_quota=("Standard_ND96asr_v4",),
        over_reason="needs 96 dedicated vCPUs but only 0 are left in Standard NDASv4_A100 Family",
        basis="explicit",
    ),
    Case(
        "gpu-bound",  # one GPU: only NC sizes, cheapest first; the 8-GPU size has no quota
        {"gpus": 1, "kernel_peak_rss_bytes": 4 * GIB},
        ["Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC6s_v3", "Standard_NC24ads_A100_v4"],
        exact=True,
        reasons=("GPU match: 1 per node for 1 asked", "fits quota: 1 node x 4 vCPUs = 4 dedicated vCPUs"),
        over_quota=("Standard_ND96asr_v4",),
    ),
    Case(
        "over-quota-parallelism",  # 8 nodes: DSv2/DSv3/FSv2 families (24 vCPUs each) cannot hold 8 x 4+
        {"kernel_peak_rss_bytes": 2 * GIB, "max_nodes": 8},
        ["Standard_DS11_v2", "Standard_E4s_v3", "Standard_E8s_v3"],
        exact=True,
        reasons=(
            "fits quota: 8 nodes x 2 vCPUs = 16 dedicated vCPUs; 24 vCPUs left in Standard DSv2 Family",
            "price: $0.185/h per node, $1.480/h at 8 nodes (eastus, dedicated)",
        ),
        over_quota=("Standard_D4s_v3", "Standard_DS3_v2", "Standard_F8s_v2", "Standard_NC4as_T4_v3"),
        over_reason="over quota: needs 32 dedicated vCPUs but only 24 are left in Standard DSv3 Family Cluster "
        "Dedicated vCPUs (current 0 of 24); quota allows at most 6 nodes of this size",
    ),
    Case(
        "over-quota-regional-total",  # 92 of 100 regional vCPUs in use: 8 left for everything
        {"kernel_peak_rss_bytes": 2 * GIB, "max_nodes": 3},
        ["Standard_DS11_v2"],
        exact=True,
        usage=[
            dataclasses.replace(u, current=92) if u.family == "Total Cluster Dedicated Regional vCPUs" else u
            for u in USAGE
        ],
        over_quota=("Standard_D4s_v3", "Standard_E4s_v3"),
        over_reason="needs 12 dedicated vCPUs but only 8 are left in Total Cluster Dedicated Regional vCPUs",
    ),
    Case(
        "everything-over-quota",  # 8 GPUs exist only on ND96asr_v4, whose family quota is 0
        {"gpus": 8},
        [],
        over_quota=("Standard_ND96asr_v4",),
        impossible=(
            "Every size that fits is over quota",
            "Standard_ND96asr_v4, needs 96 dedicated vCPUs",
            "request a quota increase",
        ),
    ),
    Case(
        "low-priority-saving",  # low-priority prices rank; per-family low-priority limits are -1 (none)
        {"kernel_peak_rss_bytes": 2 * GIB, "max_nodes": 4, "tier": "LowPriority"},
        ["Standard_DS11_v2", "Standard_D4s_v3", "Standard_E4s_v3", "Standard_DS3_v2", "Standard_F8s_v2"],
        reasons=(
            "low-priority saving: 88% against dedicated ($0.185/h per node), $0.650/h at 4 nodes",
            "no limit on Standard DSv2 Family Cluster LowPriority vCPUs",
            "100 left in Total Cluster LowPriority Regional vCPUs",
            "price: $0.022/h per node, $0.090/h at 4 nodes (eastus, low priority)",
        ),
        over_quota=("Standard_E32s_v3",),
        over_reason="needs 128 low-priority vCPUs but only 100 are left in Total Cluster LowPriority",
    ),
    Case(
        "quota-known-before-quota-unknown",  # no DSv3 row reported: the cheaper D4s_v3 ranks after known fits
        {"kernel_peak_rss_bytes": 9 * GIB},
        ["Standard_E4s_v3", "Standard_F8s_v2", "Standard_DS12_v2", "Standard_E8s_v3"],
        reasons=("fits quota: 1 node x 4 vCPUs = 4 dedicated vCPUs; 64 vCPUs left in Standard ESv3 Family",),
        usage=[u for u in USAGE if u.family != "standardDSv3Family"],
    ),
    Case(
        "tie-breaking-by-price-then-vcpus-then-name",
        {"kernel_peak_rss_bytes": 4 * GIB},
        ["Standard_E4as_v4", "Standard_E4ds_v4", "Standard_E4s_v3", "Standard_D8s_v3"],
        exact=True,
        reasons=("price: $0.300/h (eastus, dedicated)", "quota: unknown (no usage data)"),
        sizes=TIE_CATALOG,
        usage=[],
        prices=TIE_PRICES,
    ),
    Case(
        "more-than-the-largest-size",
        {"memory_gb": 2000},
        [],
        impossible=(
            "Needs 2000.0 GB of memory per node (2000 GB asked for explicitly)",
            "the largest size offered, Standard_ND96asr_v4, has 900 GB",
        ),
    ),
    Case(
        "more-memory-than-any-gpu-size",
        {"gpus": 1, "memory_gb": 1000},
        [],
        impossible=("the largest size with 1 GPU offered, Standard_ND96asr_v4, has 900 GB",),
    ),
    Case(
        "more-gpus-than-any-size",
        {"gpus": 16},
        [],
        impossible=("Asked for 16 GPUs per node; the most any offered size has is 8 (Standard_ND96asr_v4)",),
    ),
    Case(
        "low-priority-not-offered",
        {"gpus": 8, "tier": "low_priority"},
        [],
        impossible=("None of the 1 size(s) with enough memory and GPUs offers low priority",),
    ),
    Case(
        "region-without-price",  # still recommended, marked "price unknown", ranked by fewest vCPUs
        {"gpus": 1, "region": "westeurope"},
        ["Standard_NC4as_T4_v3", "Standard_NC6s_v3", "Standard_NC8as_T4_v3", "Standard_NC24ads_A100_v4"],
        exact=True,
        reasons=("price unknown: the price table has no dedicated price for Standard_NC4as_T4_v3 in westeurope",),
        over_quota=("Standard_ND96asr_v4",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_recommendations(case: Case):
    request = SizingRequest(**{"region": "eastus", **case.request})
    result = recommend(request, case.sizes, case.usage, case.prices)
    names = [r.name for r in result.recommendations]

    if case.exact:
        assert names == case.ranking
    else:
        assert names[: len(case.ranking)] == case.ranking
    assert [r.rank for r in result.recommendations] == list(range(1, len(names) + 1))
    if case.ranking:
        assert result.best is not None and result.best.name == case.ranking[0]
        assert result.impossible == []
        joined = "\n".join(result.best.reasons)
        for text in case.reasons:
            assert text in joined, f"{text!r} not in:\n{joined}"
    else:
        assert result.best is None and names == []
    assert set(case.over_quota) <= {r.name for r in result.over_quota}
    assert all(r.fits_quota is False and r.quota_shortfall for r in result.over_quota)
    assert all(r.fits_quota is not False for r in result.recommendations)
    if case.over_reason:
        assert any(case.over_reason in "\n".join(r.reasons) for r in result.over_quota), [
            r.reasons for r in result.over_quota
        ]
    explained = "\n".join(result.impossible)
    for text in case.impossible:
        assert text in explained, f"{text!r} not in:\n{explained}"
    if case.basis:
        assert result.memory_basis == case.basis
    json.dumps(result.to_dict())  # the REST route and the widget get plain JSON


def test_numbers_of_a_low_priority_recommendation():
    request = SizingRequest(
        kernel_peak_rss_bytes=2 * GIB, max_nodes=4, tier="low_priority", idle_seconds=600, region="eastus"
    )
    best = recommend(request, CATALOG, USAGE, TEST_PRICES).best
    assert best.name == "Standard_DS11_v2"
    assert best.price_per_hour == pytest.approx(0.022385)
    assert best.price_at_max_nodes == pytest.approx(4 * 0.022385)
    assert best.dedicated_price_per_hour == pytest.approx(0.185)
    assert best.low_priority_saving == pytest.approx(1 - 0.022385 / 0.185, abs=1e-4)
    assert best.low_priority_saving_at_max_nodes == pytest.approx(4 * (0.185 - 0.022385))
    assert best.idle_cost_at_max_nodes == pytest.approx(4 * 0.022385 * 600 / 3600, abs=1e-6)
    assert "idle time: each 600 s wait before scale-down costs up to $0.015 at 4 nodes" in best.reasons
    assert best.vcpus_at_max_nodes == 8 and best.quota_max_nodes == 50  # 100 low-priority vCPUs / 2
    assert best.needed_memory_gb == pytest.approx(4.0) and best.memory_headroom_gb == pytest.approx(10.0)
    assert best.memory_headroom_ratio == pytest.approx(2.5)
    second = recommend(request, CATALOG, USAGE, TEST_PRICES).recommendations[1]
    assert second.name == "Standard_D4s_v3" and second.fits_quota is True
    assert any("no per-family low-priority limit" in reason for reason in second.reasons)


def test_dedicated_recommendation_reports_what_low_priority_would_save():
    request = SizingRequest(kernel_peak_rss_bytes=2 * GIB, max_nodes=2, region="eastus")
    result = recommend(request, CATALOG, USAGE, TEST_PRICES)
    best = result.best
    assert best.name == "Standard_DS11_v2" and best.price_per_hour == pytest.approx(0.185)
    assert (
        "low-priority saving: $0.022/h per node would save 88% ($0.325/h at 2 nodes), but nodes can be preempted"
        in best.reasons
    )
    nd = recommend(SizingRequest(gpus=8, region="eastus"), CATALOG, [], TEST_PRICES).recommendations[0]
    assert "low priority: not offered for this size" in nd.reasons
    assert nd.low_priority_price_per_hour is None and nd.low_priority_saving is None


def test_memory_need_model():
    assert memory_need(SizingRequest()).gb == pytest.approx(1.0)  # reserve only
    need = memory_need(SizingRequest(kernel_rss_bytes=4 * GIB, kernel_peak_rss_bytes=2 * GIB))
    assert need.gb == pytest.approx(4 * 1.5 + 1) and need.basis == "kernel_peak"  # peak never below current
    need = memory_need(SizingRequest(data_bytes=GIB, data_expansion=8, peak_rss_factor=2, kernel_peak_rss_bytes=GIB))
    assert need.gb == pytest.approx(9.0) and need.basis == "data"
    assert need.terms == {"kernel_peak": 2.0, "data": 8.0, "reserve": 1.0}
    need = memory_need(SizingRequest(memory_gb=3, kernel_peak_rss_bytes=4 * GIB))  # explicit below measured
    assert need.gb == pytest.approx(7.0) and need.basis == "kernel_peak"


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_nodes", 0),
        ("gpus", -1),
        ("data_bytes", -5),
        ("memory_gb", -1.0),
        ("idle_seconds", 1.5),
        ("tier", "spotty"),
        ("max_nodes", True),
        ("peak_rss_factor", 0),
        ("memory_gb", float("nan")),
    ],
)
def test_invalid_requests_are_refused(field, value):
    with pytest.raises(InvalidRequest) as err:
        SizingRequest(**{field: value})
    assert err.value.status == 400


def test_request_from_json_normalizes():
    request = SizingRequest.from_dict({"max_nodes": 3.0, "tier": "LowPriority", "gpus": 1, "ignored": "x"})
    assert (request.max_nodes, request.tier, request.gpus) == (3, "low_priority", 1)


# -- quota ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "family, label, expected",
    [
        ("Total Cluster Dedicated Regional vCPUs", None, QuotaKey("total", DEDICATED)),
        ("Total Cluster LowPriority Regional vCPUs", None, QuotaKey("total", LOW_PRIORITY)),
        ("Total Cluster Low Priority Regional vCPUs", None, QuotaKey("total", LOW_PRIORITY)),
        ("cores", "Total Regional vCPUs", QuotaKey("total", DEDICATED)),
        ("lowPriorityCores", "Total Regional Low-priority vCPUs", QuotaKey("total", LOW_PRIORITY)),
        ("standardDSv2Family", "Standard DSv2 Family vCPUs", QuotaKey("family", DEDICATED, "standarddsv2family")),
        ("Standard DSv2 Family Cluster Dedicated vCPUs", None, QuotaKey("family", DEDICATED, "standarddsv2family")),
        (
            "standardNCASv3_T4Family",
            "Standard NCASv3_T4 Family Cluster LowPriority vCPUs",
            QuotaKey("family", LOW_PRIORITY, "standardncasv3t4family"),
        ),
        ("Clusters", "Clusters", None),
        ("Total Clusters", None, None),
    ],
)
def test_usage_rows_are_read_in_both_spellings(family, label, expected):
    assert classify(Usage(family=family, current=0, limit=1, label=label)) == expected


def test_the_tightest_duplicate_row_counts():
    # Azure ML repeats a family's row at subscription, workspace and cluster scope (REST list example).
    label = "Standard NC Family Cluster Dedicated vCPUs"
    rows = [
        Usage(label, 12, 24, label=label),
        Usage(label, 6, 24, label=label),
        Usage(label, 6, 24, label=label),
        Usage("Total Cluster Dedicated Regional vCPUs", 0, -1),
    ]
    quota = Quota.from_usage([Usage(label, 0, -1, label=label)] + rows)  # an unlimited duplicate never wins
    check = quota.check(VmSize("Standard_NC6", 6, 56, 1, "standardNCFamily"), nodes=3, tier="dedicated")
    assert check.fits is False and check.max_nodes == 2 and "only 12 are left" in check.text
    assert quota.check(VmSize("Standard_NC6", 6, 56, 1, "standardNCFamily"), 2, "dedicated").fits is True


def test_missing_family_row_means_quota_unknown_unless_the_total_is_already_exceeded():
    quota = Quota.from_usage([Usage("Total Cluster Dedicated Regional vCPUs", 40, 100)])
    hb = VmSize("Standard_HB60rs", 60, 228, 0, "standardHBSFamily")
    unknown = quota.check(hb, 1, "dedicated")
    assert unknown.fits is None and unknown.needed_vcpus == 60 and unknown.max_nodes == 1
    assert "no dedicated quota reported for standardHBSFamily" in unknown.text
    over = quota.check(hb, 2, "dedicated")
    assert over.fits is False and "only 60 are left in Total Cluster Dedicated Regional vCPUs" in over.shortfall


# -- prices -----------------------------------------------------------------------------------------

BRIEF_SIZES = [
    "Standard_DS3_v2",
    "Standard_DS4_v2",
    "Standard_DS11_v2",
    "Standard_D4s_v3",
    "Standard_D8s_v3",
    "Standard_D16s_v3",
    "Standard_E4s_v3",
    "Standard_E8s_v3",
    "Standard_E16s_v3",
    "Standard_E32s_v3",
    "Standard_F4s_v2",
    "Standard_F8s_v2",
    "Standard_F16s_v2",
    "Standard_NC6s_v3",
    "Standard_NC4as_T4_v3",
    "Standard_NC8as_T4_v3",
    "Standard_NC24ads_A100_v4",
    "Standard_ND96asr_v4",
]


def test_shipped_price_table_is_dated_sourced_and_sane():
    data = json.loads(SHIPPED_PRICES.read_text())
    dt.date.fromisoformat(data["as_of"])
    assert data["source"]["api"] == "https://prices.azure.com/api/retail/prices"
    assert "serviceName eq 'Virtual Machines'" in data["source"]["filter"]
    assert data["source"]["transcribed_from"]
    table = PriceTable.load(env={})
    assert table.as_of == data["as_of"] and table.currency == "USD"
    assert {"eastus", "westus2", "westeurope"} <= set(table.regions())
    for size in BRIEF_SIZES:
        assert table.price(size, "eastus") is not None, size
    assert table.price("Standard_DS3_v2", "East US") == pytest.approx(0.293)
    assert table.price("standard_ds3_v2", "eastus", "LowPriority") == pytest.approx(0.035453)
    assert table.price("Standard_D4s_v3", "westeurope") == pytest.approx(0.24)
    assert table.price("Standard_D4s_v3", "westeurope", "low_priority") is None  # not published: left out
    assert table.price("Standard_NC4as_T4_v3", "uksouth") is None
    for region in table.regions():
        for size in table.sizes(region):
            dedicated = table.price(size, region)
            low = table.price(size, region, "low_priority")
            assert dedicated and dedicated > 0, (region, size)
            assert low is None or 0 < low < dedicated, (region, size)


def test_price_override_file_from_the_environment(tmp_path):
    override = tmp_path / "our-prices.json"
    override.write_text(
        json.dumps(
            {
                "as_of": "2027-01-15",
                "source": "our enterprise agreement",
                "prices": {
                    "eastus": {"standard_ds3_v2": {"dedicated": 0.25}},
                    "UK South": {"Standard_D4s_v3": {"dedicated": 0.2, "low_priority": 0.03}},
                },
            }
        )
    )
    table = PriceTable.load(env={PRICES_ENV: str(override)})
    assert table.price("Standard_DS3_v2", "eastus") == pytest.approx(0.25)  # the override wins ...
    assert table.price("Standard_DS3_v2", "eastus", "low_priority") == pytest.approx(0.035453)  # ... tier by tier
    assert table.price("Standard_D4s_v3", "uksouth") == pytest.approx(0.2)  # new region added
    assert table.price("Standard_E4s_v3", "eastus") == pytest.approx(0.252)  # the rest stays
    assert table.as_of == "2027-01-15" and str(override) in table.describe()

    only = PriceTable.load(override)  # an explicit path is taken alone
    assert only.price("Standard_E4s_v3", "eastus") is None

    request = SizingRequest(kernel_peak_rss_bytes=8 * GIB, region="eastus")
    best = recommend(request, [CATALOG[0]], USAGE, table).best
    assert best.price_per_hour == pytest.approx(0.25) and "price: $0.250/h (eastus, dedicated)" in best.reasons
    assert any(str(override) in note for note in recommend(request, [CATALOG[0]], USAGE, table).notes)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"prices": {"eastus": {"Standard_DS3_v2": {"dedicated": -1}}}}, "eastus/Standard_DS3_v2/dedicated"),
        ({"prices": {"eastus": {"Standard_DS3_v2": {"spot_price": 0.1}}}}, "unknown tier 'spot_price'"),
        ({"prices": {"eastus": {"Standard_DS3_v2": 0.29}}}, "must be an object"),
        ({"as_of": "last week", "prices": {}}, "is not a date"),
        ({"eastus": {}}, '"prices" object'),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_price_files_are_refused_with_the_entry_named(tmp_path, content, message):
    path = tmp_path / "prices.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(InvalidRequest) as err:
        PriceTable.load(env={PRICES_ENV: str(path)})
    assert message in err.value.message and str(path) in err.value.message


def test_overlay_refuses_mixed_currencies():
    eur = PriceTable.from_dict({"currency": "EUR", "prices": {}}, origin="eur.json")
    with pytest.raises(InvalidRequest, match="cannot mix currencies"):
        TEST_PRICES.overlay(eur)


def test_no_region_means_price_unknown_with_a_note():
    result = recommend(SizingRequest(kernel_peak_rss_bytes=GIB), CATALOG[:1], USAGE, TEST_PRICES)
    assert result.best.price_per_hour is None
    assert (
        "price unknown: the price table has no dedicated price for Standard_DS3_v2 (no region given)"
        in result.best.reasons
    )
    assert "No region given: prices cannot be looked up." in result.notes


# -- the local engine on this machine ------------------------------------------------------------


def test_local_size_is_this_machine():
    size = local_vm_size()
    assert size.name == "local" and size.family == "local"
    assert size.vcpus == os.cpu_count()
    assert size.memory_gb == pytest.approx(psutil.virtual_memory().total / GIB, abs=0.01)
    assert size.gpus == count_nvidia_gpus()


def test_local_recommendation_is_free_and_unlimited():
    request = SizingRequest(kernel_peak_rss_bytes=GIB, max_nodes=2, region="local")
    result = recommend(request, [local_vm_size()], local_usage(), PriceTable.load(env={}))
    best = result.best
    assert best.name == "local" and best.fits_quota is True and best.quota_max_nodes is None
    assert best.price_per_hour == 0.0 and best.price_at_max_nodes == 0.0
    assert "price: no charge, runs on this machine" in best.reasons
    assert "quota: none on the local engine" in best.reasons
    assert not any("list prices" in note for note in result.notes)  # no Azure price source to cite

    too_big = recommend(SizingRequest(memory_gb=best.memory_gb + 1), [local_vm_size()], local_usage(), TEST_PRICES)
    assert too_big.best is None and "the largest size offered, local" in too_big.impossible[0]


def _fake_nvidia_smi(folder: Path, body: str) -> str:
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


def test_gpus_are_counted_from_nvidia_smi(tmp_path):
    two = _fake_nvidia_smi(
        tmp_path / "two",
        """
        print("GPU 0: Tesla T4 (UUID: GPU-1)")
        print("  MIG 1g.5gb Device 0: (UUID: MIG-1)")
        print("GPU 1: Tesla T4 (UUID: GPU-2)")
    """,
    )
    assert count_nvidia_gpus(two) == 2
    assert local_vm_size(nvidia_smi=two).gpus == 2
    failing = _fake_nvidia_smi(tmp_path / "failing", "import sys; print('GPU 0: x'); sys.exit(9)")
    assert count_nvidia_gpus(failing) == 0  # NVIDIA-SMI has failed: no usable GPU
    assert count_nvidia_gpus(str(tmp_path / "absent")) == 0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux-only")
def test_kernel_peak_memory_outlives_the_allocation():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import sys, time
            block = bytearray(300 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            del block
            print("freed", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "freed"
        memory = local_kernel_memory(child.pid)
        assert memory.peak_source == "VmHWM" and memory.pid == child.pid
        assert memory.peak_rss_bytes >= 290 * 1024 * 1024
        assert memory.rss_bytes < memory.peak_rss_bytes - 200 * 1024 * 1024
    finally:
        child.kill()
        child.wait()
    with pytest.raises(NotFound):
        local_kernel_memory(child.pid)  # reaped: no such process any more
    own = local_kernel_memory()
    assert own.pid == os.getpid() and own.peak_rss_bytes >= own.rss_bytes > 0


def test_data_size_of_files_folders_and_assets(tmp_path):
    (tmp_path / "data" / "part").mkdir(parents=True)
    (tmp_path / "data" / "a.csv").write_bytes(b"x" * 10)
    (tmp_path / "data" / "part" / "b.parquet").write_bytes(b"y" * 20)
    (tmp_path / "data" / "link.csv").symlink_to(tmp_path / "data" / "a.csv")
    assert data_size_bytes(tmp_path / "data") == 30  # symlinks are not counted twice
    assert data_size_bytes(str(tmp_path / "data" / "a.csv")) == 10
    asset = DataAsset("bank", "3", "uri_folder", "azureml://datastores/d/paths/bank", size_bytes=4096)
    assert data_size_bytes(asset) == 4096
    assert data_size_bytes("azureml:bank:3") is None
    with pytest.raises(NotFound):
        data_size_bytes(tmp_path / "missing")
    request = SizingRequest(data_bytes=data_size_bytes(tmp_path / "data"), region="eastus")
    assert recommend(request, CATALOG, USAGE, TEST_PRICES).memory_terms["data"] == pytest.approx(30 * 5 / GIB, abs=1e-3)


def test_no_sizes_at_all_is_explained():
    result = recommend(SizingRequest(), [], [], TEST_PRICES)
    assert result.impossible == ["The backend offers no VM sizes to choose from."]
    unmeasured = recommend(SizingRequest(), [VmSize("Standard_X", 4, None)], [], TEST_PRICES)
    assert "Skipped 1 size(s) that report no memory: Standard_X." in unmeasured.notes
    assert unmeasured.impossible == ["None of the offered VM sizes reports its memory, so none can be checked."]


def test_results_are_deterministic():
    request = SizingRequest(kernel_peak_rss_bytes=3 * GIB, max_nodes=2, region="eastus")
    first = recommend(request, CATALOG, USAGE, TEST_PRICES).to_dict()
    again = recommend(request, list(reversed(CATALOG)), list(reversed(USAGE)), TEST_PRICES).to_dict()
    assert first == again


# -- the optional local vCPU quota and a cluster's own claim -----------------------------------------


def _local_cluster(name: str, max_nodes: int) -> ComputeInfo:
    return ComputeInfo(name, "local", size="local", max_nodes=max_nodes)


def test_local_vcpu_quota_setting():
    assert local_vcpu_quota(env={}) is None  # the default: no quota
    assert local_vcpu_quota(env={LOCAL_VCPU_QUOTA_ENV: " 16 "}) == 16
    assert local_vcpu_quota(8, env={LOCAL_VCPU_QUOTA_ENV: "16"}) == 8  # configuration wins
    assert local_vcpu_quota(0, env={}) == 0  # a limit of 0 is a limit: no local node at all
    for bad in ("-4", "2.5", "lots", "²"):
        with pytest.raises(InvalidRequest, match=f"{LOCAL_VCPU_QUOTA_ENV} must be a whole number"):
            local_vcpu_quota(env={LOCAL_VCPU_QUOTA_ENV: bad})
    with pytest.raises(InvalidRequest, match="local_vcpu_quota must be a whole number"):
        local_vcpu_quota(-1, env={})


def test_local_usage_counts_every_local_cluster_at_max_nodes():
    clusters = [_local_cluster("local", 4), _local_cluster("cpu-cluster", 2), ComputeInfo("ci", "computeinstance")]
    [row] = local_usage(32, clusters, vcpus=2)
    assert (row.family, row.current, row.limit) == ("local", 12, 32)
    [unlimited] = local_usage(None, clusters, vcpus=2)
    assert (unlimited.current, unlimited.limit, unlimited.label) == (12, -1, "local engine (no quota)")
    assert local_usage()[0].current == 0  # no clusters given, nothing claimed


def test_a_local_limit_is_honoured_whatever_the_tier():
    size = VmSize("local", 2, 8, 0, "local")
    quota = Quota.from_usage(local_usage(12, [_local_cluster("local", 4)], vcpus=2))  # 4 vCPUs left
    fits = quota.check(size, 2, DEDICATED)
    assert fits.fits is True and fits.max_nodes == 2 and fits.needed_vcpus == 4
    assert "4 vCPUs left in the local engine vCPU quota" in fits.text
    for tier in (DEDICATED, LOW_PRIORITY):
        over = quota.check(size, 3, tier)
        assert over.fits is False and over.max_nodes == 2
        assert over.shortfall.startswith("needs 6 vCPUs (3 nodes x 2 vCPUs = 6 vCPUs) but only 4 are left")
        assert "the local clusters claim 8 of 12" in over.shortfall
    result = recommend(
        SizingRequest(max_nodes=3), [size], local_usage(12, [_local_cluster("local", 4)], 2), TEST_PRICES
    )
    assert result.best is None and [r.name for r in result.over_quota] == ["local"]
    assert "lower max nodes to 2" in result.impossible[0]


def test_release_gives_back_a_local_clusters_claim():
    size = VmSize("local", 2, 8, 0, "local")
    own = _local_cluster("cpu-cluster", 3)
    usage = local_usage(16, [_local_cluster("local", 4), own], vcpus=2)  # 8 + 6 = 14 of 16
    assert Quota.from_usage(usage).check(size, 3, DEDICATED).fits is False  # counted twice: itself and the new
    released = release(usage, own, [size])
    assert released[0].current == 8 and usage[0].current == 14  # a new list; the input is untouched
    assert Quota.from_usage(released).check(size, 4, DEDICATED).fits is True
    assert Quota.from_usage(released).check(size, 5, DEDICATED).fits is False


def test_release_gives_back_an_azure_clusters_allocated_nodes_in_its_rows_only():
    ds3 = CATALOG[0]
    usage = [
        _ml_usage("standardDSv2Family", "Standard DSv2 Family Cluster Dedicated vCPUs", 20, 24),
        _ml_usage("standardDSv2Family", "Standard DSv2 Family Cluster LowPriority vCPUs", 8, 100),
        _ml_usage("standardESv3Family", "Standard ESv3 Family Cluster Dedicated vCPUs", 20, 24),
        _ml_usage("TotalDedicatedCores", "Total Cluster Dedicated Regional vCPUs", 40, 100),
    ]
    cluster = ComputeInfo("cpu", "amlcompute", size="standard_ds3_v2", max_nodes=4, current_nodes=3, tier="dedicated")
    released = release(usage, cluster, CATALOG)
    assert [u.current for u in released] == [8, 8, 20, 28]  # 3 nodes x 4 vCPUs, dedicated DSv2 and the total
    idle = dataclasses.replace(cluster, current_nodes=0)
    assert release(usage, idle, CATALOG) == usage  # nothing allocated, nothing held
    unknown = dataclasses.replace(cluster, size="Standard_Unknown")
    assert release(usage, unknown, CATALOG) == usage
    assert Quota.from_usage(released).check(ds3, 4, DEDICATED).fits is True
    assert Quota.from_usage(usage).check(ds3, 4, DEDICATED).fits is False
