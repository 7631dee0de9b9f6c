"""Per-hour Linux list prices of Azure ML VM sizes, from a dated table shipped with the package.

No network at run time: ``prices.json`` beside this file is the table, with its ``source`` (how the
figures are defined in terms of the Azure Retail Prices API, and which public copies of that API's
answers they were transcribed from) and its ``as_of`` date. A user with other prices (a negotiated
rate, another region, a fresher copy) writes a JSON file of the same shape and either passes it to
``PriceTable.load(path)`` or names it in the ``AZML_JUPYTER_PRICES`` environment variable; the file
named there is laid over the shipped table, its entries winning size by size.

Shape (every key but ``prices`` is optional in an override file)::

    {"currency": "USD", "as_of": "2026-11-26", "source": "...",
     "prices": {"eastus": {"Standard_DS3_v2": {"dedicated": 0.293, "low_priority": 0.035453}}}}

Region names are ARM names (``eastus``; "East US" is accepted), size names are ARM SKU names,
matched without regard to case. A missing figure is ``None``: the caller says "price unknown"
rather than guessing.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest

PRICES_ENV = "AZML_JUPYTER_PRICES"
SHIPPED_PRICES = Path(__file__).with_name("prices.json")
TIERS = ("dedicated", "low_priority")


def normalize_region(region: str) -> str:
    """ARM region name: "East US", "east-us" and "EastUS" all become "eastus"."""
    return re.sub(r"[^a-z0-9]", "", region.lower())


def normalize_tier(tier: str) -> str:
    """Tier as this package spells it, "dedicated" or "low_priority" (Azure's "LowPriority" is accepted)."""
    squashed = re.sub(r"[^a-z]", "", str(tier).lower())
    if squashed == "dedicated":
        return "dedicated"
    if squashed in ("lowpriority", "spot"):
        return "low_priority"
    raise InvalidRequest(f"Unknown tier {tier!r}: use 'dedicated' or 'low_priority'.", details={"tier": tier})


class PriceTable:
    """Hourly prices per region, VM size and tier; ``price()`` answers ``None`` when not known."""

    def __init__(
        self,
        prices: Mapping[str, Mapping[str, Mapping[str, float]]],
        *,
        currency: str = "USD",
        as_of: str | None = None,
        source: Any = None,
        notes: list[str] | None = None,
        origin: str = "<in memory>",
    ):
        self.currency = currency
        self.as_of = as_of
        self.source = source
        self.notes = list(notes or [])
        self.origin = origin
        # normalized region -> lower-cased size -> (size name as written, {tier: price})
        self._prices: dict[str, dict[str, tuple[str, dict[str, float]]]] = {}
        self._region_names: dict[str, str] = {}
        for region, sizes in prices.items():
            key = normalize_region(region)
            self._region_names.setdefault(key, region)
            table = self._prices.setdefault(key, {})
            for size, tiers in sizes.items():
                table[size.lower()] = (size, dict(tiers))

    # -- reading -----------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<in memory>") -> PriceTable:
        """Validate and build; a malformed table is an ``InvalidRequest`` naming the bad entry."""

        def bad(message: str) -> InvalidRequest:
            return InvalidRequest(f"Price table {origin}: {message}", details={"origin": origin})

        if not isinstance(data, Mapping) or not isinstance(data.get("prices"), Mapping):
            raise bad('expected an object with a "prices" object of regions')
        as_of = data.get("as_of")
        if as_of is not None:
            try:
                _dt.date.fromisoformat(str(as_of))
            except ValueError as exc:
                raise bad(f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from exc
        prices: dict[str, dict[str, dict[str, float]]] = {}
        for region, sizes in data["prices"].items():
            if not isinstance(sizes, Mapping):
                raise bad(f"region {region!r} must map VM sizes to prices")
            for size, tiers in sizes.items():
                if not isinstance(tiers, Mapping):
                    raise bad(f'{region}/{size} must be an object like {{"dedicated": 0.29}}')
                clean: dict[str, float] = {}
                for tier, value in tiers.items():
                    if tier not in TIERS:
                        raise bad(f"{region}/{size}: unknown tier {tier!r} (use {', '.join(TIERS)})")
                    if value is None:
                        continue
                    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                        raise bad(f"{region}/{size}/{tier}: {value!r} is not a price (a number >= 0)")
                    clean[tier] = float(value)
                prices.setdefault(region, {})[size] = clean
        notes = data.get("notes") or []
        if isinstance(notes, str):
            notes = [notes]
        return cls(
            prices,
            currency=str(data.get("currency") or "USD"),
            as_of=None if as_of is None else str(as_of),
            source=data.get("source"),
            notes=list(notes),
            origin=origin,
        )

    @classmethod
    def read(cls, path: str | os.PathLike) -> PriceTable:
        """Exactly the table in ``path`` (no shipped prices underneath)."""
        path = Path(path).expanduser()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InvalidRequest(f"No price table at {path}.", details={"path": str(path)}) from exc
        except json.JSONDecodeError as exc:
            raise InvalidRequest(
                f"Price table {path} is not valid JSON: {exc.msg} (line {exc.lineno}).",
                details={"path": str(path), "line": exc.lineno},
            ) from exc
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None) -> PriceTable:
        """The table to use: ``path`` if given; else the shipped table, overlaid by ``$AZML_JUPYTER_PRICES``."""
        if path is not None:
            return cls.read(path)
        shipped = cls.read(SHIPPED_PRICES)
        override = (os.environ if env is None else env).get(PRICES_ENV)
        return shipped.overlay(cls.read(override)) if override else shipped

    def overlay(self, other: PriceTable) -> PriceTable:
        """A new table: this one with ``other``'s figures laid over it, tier by tier."""
        if other.currency != self.currency:
            raise InvalidRequest(
                f"Price table {other.origin} is in {other.currency}, {self.origin} in {self.currency}: "
                "one table cannot mix currencies.",
                details={"origin": other.origin},
            )
        merged: dict[str, dict[str, dict[str, float]]] = {}
        for table in (self, other):
            for region_key, sizes in table._prices.items():
                region = self._region_names.get(region_key) or table._region_names[region_key]
                target = merged.setdefault(region, {})
                for size_key, (size, tiers) in sizes.items():
                    name = next((n for n in target if n.lower() == size_key), size)
                    target.setdefault(name, {}).update(tiers)
        return PriceTable(
            merged,
            currency=self.currency,
            as_of=other.as_of or self.as_of,
            source={"base": self.describe(), "override": other.describe()},
            notes=self.notes + other.notes,
            origin=f"{self.origin} + {other.origin}",
        )

    # -- answers -----------------------------------------------------------------------------------

    def price(self, size: str, region: str | None, tier: str = "dedicated") -> float | None:
        """Per-node hourly price of ``size`` in ``region`` at ``tier``; ``None`` when the table has none."""
        tier = normalize_tier(tier)
        if not region or not size:
            return None
        entry = self._prices.get(normalize_region(region), {}).get(size.lower())
        return None if entry is None else entry[1].get(tier)

    def regions(self) -> list[str]:
        return sorted(self._region_names.values())

    def sizes(self, region: str) -> list[str]:
        return sorted(name for name, _ in self._prices.get(normalize_region(region), {}).values())

    def describe(self) -> str:
        """One line of provenance, for a recommendation's notes."""
        dated = f", as of {self.as_of}" if self.as_of else ", undated"
        return (
            f"Linux pay-as-you-go and low-priority list prices in {self.currency} per node-hour "
            f"from {self.origin}{dated}"
        )

    def money(self, amount: float) -> str:
        """``$0.293`` for USD, ``EUR 0.270`` otherwise; three decimals below 10, two above."""
        digits = 3 if amount < 10 else 2
        return f"${amount:.{digits}f}" if self.currency == "USD" else f"{self.currency} {amount:.{digits}f}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "as_of": self.as_of,
            "source": self.source,
            "notes": self.notes,
            "prices": {
                self._region_names[key]: {name: dict(tiers) for name, tiers in sizes.values()}
                for key, sizes in sorted(self._prices.items())
            },
        }
