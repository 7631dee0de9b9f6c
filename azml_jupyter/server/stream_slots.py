"""A cap on open log streams (Server-Sent Events), in all and per client (its address): each open stream holds a
connection and polls the backend, so an unbounded number of them (a script, a runaway tab) would
starve the server. Used on the event loop only, so it needs no lock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import Throttled


class StreamSlots:
    def __init__(self, total: int, per_client: int):
        self.total = total
        self.per_client = per_client
        self._open: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return sum(self._open.values())

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        """Take a slot for the stream's lifetime; ``Throttled`` (429) when none is free."""
        if self._open[client] >= self.per_client:
            raise Throttled(
                f"{self._open[client]} log streams are already open from this client (the limit is {self.per_client}); "
                "close a log view and try again.",
                details={"limit": self.per_client, "scope": "client"},
            )
        if self.open >= self.total:
            raise Throttled(
                f"The server has {self.open} log streams open (the limit is {self.total}); try again shortly.",
                details={"limit": self.total, "scope": "server"},
            )
        self._open[client] += 1
        try:
            yield
        finally:
            self._open[client] -= 1
            if not self._open[client]:
                del self._open[client]
