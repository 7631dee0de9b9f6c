"""Sizing advice through a backend, for callers without a kernel: ``GET /azml/computes/recommend``
(the panel) gets the same ranking the ``ClusterSizer`` widget shows, from the same inputs less the
kernel's own memory (a server has no kernel to measure; pass ``memory_gb`` instead).

``parse_query`` turns the route's query parameters into a ``SizingRequest`` plus the data to measure;
``advise`` measures that data (a file or folder already resolved inside the Jupyter root, or a data
asset's recorded size), reads sizes and quota from the backend, gives back the named cluster's own
quota claim (``quota.release``), and ranks. Every caller mistake is an ``InvalidRequest`` (400).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest, NotFound, UnknownReference
from ..spec.names import check_name
from .local_sizes import data_size_bytes
from .prices import PRICES_ENV, PriceTable
from .quota import release
from .recommend import SizingRequest, SizingResult, recommend

PARAMETERS = ("data", "asset", "memory_gb", "gpus", "max_nodes", "tier", "region", "idle_seconds", "name")
IGNORED = ("token", "_xsrf")  # Jupyter's own: a token may come as a query parameter
# Generous but finite bounds, so that no number can overflow the arithmetic behind a ranking.
BOUNDS = {"memory_gb": 1e7, "gpus": 1_000, "max_nodes": 100_000, "idle_seconds": 10_000_000}
_ASSET = re.compile(r"^(?:azureml:)?(?P<name>[^:@/]+)(?::(?P<version>[^:@/]+)|@latest)?$")


@dataclasses.dataclass
class AdviceQuery:
    request: SizingRequest
    data: str | None = None  # a path relative to the Jupyter root, still to be resolved
    asset: str | None = None  # name, name:version, name@latest (azureml: prefix allowed)
    compute: str | None = None  # the cluster the advice is for (its own quota claim is given back)


def parse_query(params: Mapping[str, Sequence[str]]) -> AdviceQuery:
    """Query parameters (name -> values, as tornado gives them) -> what to rank. Unknown or repeated
    parameters, bad numbers and both ``data`` and ``asset`` at once are refused."""
    # JupyterLab's ServerConnection appends a bare cache-busting timestamp ("&1795687467764") to GETs
    unknown = sorted(k for k in params if k not in PARAMETERS and k not in IGNORED and not k.isdigit())
    if unknown:
        raise InvalidRequest(
            f"Unknown query parameter(s): {', '.join(unknown)}; use {', '.join(PARAMETERS)}.",
            details={"fields": unknown},
        )
    values: dict[str, str] = {}
    for key in PARAMETERS:
        given = list(params.get(key) or [])
        if len(given) > 1:
            raise InvalidRequest(f"{key} is given {len(given)} times; give it once.", details={"field": key})
        if given and given[0].strip():
            values[key] = given[0].strip()
    if "data" in values and "asset" in values:
        raise InvalidRequest(
            "Give data (a path) or asset (a data asset), not both.", details={"fields": ["data", "asset"]}
        )
    fields: dict[str, Any] = {}
    if "memory_gb" in values:
        fields["memory_gb"] = _number("memory_gb", values["memory_gb"])
    for key in ("gpus", "max_nodes", "idle_seconds"):
        if key in values:
            fields[key] = _whole(key, values[key])
    if "tier" in values:
        fields["tier"] = values["tier"]
    if "region" in values:
        fields["region"] = values["region"]
    compute = values.get("name")
    if compute is not None:
        check_name("compute", compute)
    return AdviceQuery(SizingRequest(**fields), data=values.get("data"), asset=values.get("asset"), compute=compute)


def advise(
    backend: Any,
    request: SizingRequest,
    *,
    data_path: Path | None = None,
    asset: str | None = None,
    compute: str | None = None,
    prices: PriceTable | None = None,
) -> SizingResult:
    """Rank the backend's sizes for ``request``, with the data measured and the quota of everything but
    ``compute`` itself; ``region`` defaults to the workspace's location."""
    notes: list[str] = []
    data_bytes = request.data_bytes
    if data_path is not None:
        data_bytes = _measure(data_path)
    elif asset:
        data_bytes = _asset_bytes(backend, asset, notes)
    region = request.region or backend.workspace().location
    request = dataclasses.replace(request, data_bytes=data_bytes, region=region)
    sizes = backend.list_sizes()
    usage = backend.list_usage()
    if compute:
        try:
            usage = release(usage, backend.get_compute(compute), sizes)
        except NotFound as exc:
            if exc.code != NotFound.code:
                raise
    result = recommend(request, sizes, usage, prices or default_prices())
    result.notes.extend(notes)
    return result


def default_prices() -> PriceTable:
    """The shipped price table with ``$AZML_JUPYTER_PRICES`` over it, read once per override file."""
    return _prices(os.environ.get(PRICES_ENV))


@functools.lru_cache(maxsize=4)
def _prices(override: str | None) -> PriceTable:
    return PriceTable.load(env={PRICES_ENV: override} if override else {})


def _measure(path: Path) -> int:
    try:
        return data_size_bytes(path)
    except NotFound as exc:
        raise InvalidRequest(f"data: {exc.message}", details={"field": "data"}) from None
    except OSError as exc:
        raise InvalidRequest(
            f"data: cannot measure {path.name}: {exc.strerror or exc}", details={"field": "data"}
        ) from None


def _asset_bytes(backend: Any, text: str, notes: list[str]) -> int | None:
    match = _ASSET.match(text)
    if not match:
        raise InvalidRequest(
            f"asset {text!r}: use name, name:version or name@latest (azureml: in front is fine).",
            details={"field": "asset"},
        )
    name, version = match["name"], match["version"]
    check_name("data asset", name)
    if version is not None:
        check_name("data asset version", version)
    try:
        asset = backend.get_data(name, version)
    except NotFound as exc:
        raise UnknownReference(f"asset: {exc.message}", details={"field": "asset", "asset": text}) from None
    if asset.size_bytes is None:
        notes.append(f"Data asset {asset.reference} has no recorded size: the data was not counted.")
    return asset.size_bytes


def _whole(key: str, text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        raise InvalidRequest(f"{key} must be a whole number, not {text!r}.", details={"field": key})
    value = int(text)
    if value > BOUNDS[key]:
        raise InvalidRequest(f"{key} must be at most {BOUNDS[key]:,}, not {value}.", details={"field": key})
    return value  # below the minimum: SizingRequest says so


def _number(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidRequest(f"{key} must be a number, not {text!r}.", details={"field": key})
    if value > BOUNDS[key]:
        raise InvalidRequest(f"{key} must be at most {BOUNDS[key]:g}, not {text}.", details={"field": key})
    return value
