"""``ClusterSizer``: size a compute cluster from the notebook and create or update it.

    from azml_jupyter.widgets import ClusterSizer
    ClusterSizer()                      # or: %azml_size --data data/ --max-nodes 2

What it shows, top to bottom: the inputs (cluster name, the data the job reads, memory per node,
whether to count the kernel's own peak memory, GPUs, min and max nodes, tier, idle minutes before
scale-down, the region whose prices apply); the kernel's measured memory; the ranked sizes with
their reasons (``sizing.recommend``), the ones over quota apart; the cost of the chosen size (per
hour with every node busy, and while idle: nothing with min nodes 0); the Create/Update button,
which runs ``ensure_cluster`` in a background thread with its progress; the result and the
workspace's compute list after it (the same list the panel and ``azml-jupyter compute list`` show).

Backend calls are made once per widget, when it opens (sizes, quota usage, computes, the
workspace's region), again only when Refresh is pressed or after a Create/Update: typing into the
inputs re-ranks from that cache (each input's ``value`` is observed). Data sizes are measured once
per path or asset. The kernel's memory is measured in the kernel's own process (``os.getpid()``)
when the widget opens and on Refresh.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

import ipywidgets as widgets

from ..errors import AzmlError, InvalidRequest
from ..models import ComputeInfo, Operation, Usage, VmSize
from ..sizing import (
    KernelMemory,
    PriceTable,
    Recommendation,
    SizingRequest,
    SizingResult,
    data_size_bytes,
    ensure_cluster,
    local_kernel_memory,
    recommend,
    release,
)
from ..sizing.local_sizes import GIB, LOCAL_FAMILY
from ..sizing.quota import family_key
from ..sizing.recommend import DEFAULT_IDLE_SECONDS
from ..spec.names import check_name

_STYLE = {"description_width": "8.5em"}
_WIDE = widgets.Layout(width="24em")
_NARROW = widgets.Layout(width="14em")
_CHOICE = widgets.Layout(width="19em")
_CELL = "padding:0.15em 0.6em;text-align:left;vertical-align:top"
_ASSET = re.compile(r"^azureml:(?P<name>[^:@/]+)(?:(?::(?P<version>[^:@/]+))|@latest)?$")


class ClusterSizer(widgets.VBox):
    def __init__(
        self,
        backend: Any = None,
        *,
        data: str | None = None,
        name: str = "cpu-cluster",
        memory_gb: float | None = None,
        gpus: int = 0,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        tier: str | None = None,
        idle_minutes: float | None = None,
        region: str | None = None,
        use_kernel_memory: bool = True,
        prices: PriceTable | None = None,
        kernel_memory: KernelMemory | None = None,
    ):
        if backend is None:
            from ..settings import process_backend

            backend = process_backend()
        self.backend = backend
        self.prices = prices or PriceTable.load()
        self.kernel_memory = kernel_memory
        self._measure_kernel = kernel_memory is None
        self.result: SizingResult | None = None  # the current ranking
        self.last_ensure = None  # the EnsureResult of the last Create/Update
        self.error: str | None = None  # the last Create/Update error message
        self._sizes: list[VmSize] = []
        self._usage: list[Usage] = []
        self._computes: dict[str, ComputeInfo] = {}
        self._location: str | None = None
        self._data_cache: dict[str, tuple[int | None, str]] = {}
        self._rendering = False
        self._problems: list[str] = []
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        # Settings given by the caller win over the cluster's own; the rest are filled in from the
        # cluster when its name is one that exists (never a silent shrink of a cluster to defaults).
        self._given = {
            name: value
            for name, value in (
                ("min_nodes", min_nodes),
                ("max_nodes", max_nodes),
                ("tier", tier),
                ("idle_minutes", idle_minutes),
            )
            if value is not None
        }
        self._opened_name = name
        self._prefilled_for: str | None = None  # the cluster whose settings the inputs were filled from
        self._prefer_size: str | None = None  # that cluster's size, chosen once it is ranked
        self.pending_shrink: str | None = None  # the warning shown while a shrink waits for confirmation

        def control(widget: widgets.Widget) -> widgets.Widget:
            widget.observe(self._inputs_changed, names="value")
            return widget

        self.name_input = control(
            widgets.Text(name, description="Cluster", style=_STYLE, layout=_WIDE, continuous_update=False)
        )
        self.data_input = control(
            widgets.Text(
                data or "",
                description="Data",
                placeholder="file, folder or azureml:name:version",
                style=_STYLE,
                layout=_WIDE,
                continuous_update=False,
            )
        )
        self.data_info = widgets.HTML()
        self.memory_input = control(
            widgets.BoundedFloatText(
                memory_gb or 0, min=0, max=100_000, step=1, description="Memory GB", style=_STYLE, layout=_NARROW
            )
        )
        self.kernel_input = control(
            widgets.Checkbox(use_kernel_memory, description="count the kernel's peak memory", indent=False)
        )
        self.kernel_info = widgets.HTML()
        self.gpus_input = control(
            widgets.BoundedIntText(gpus, min=0, max=64, description="GPUs per node", style=_STYLE, layout=_NARROW)
        )
        self.min_nodes_input = control(
            widgets.BoundedIntText(
                min_nodes or 0, min=0, max=10_000, description="Min nodes", style=_STYLE, layout=_NARROW
            )
        )
        self.max_nodes_input = control(
            widgets.BoundedIntText(
                max_nodes or 1, min=1, max=10_000, description="Max nodes", style=_STYLE, layout=_NARROW
            )
        )
        self.tier_input = control(
            widgets.Dropdown(
                options=[("dedicated", "dedicated"), ("low priority", "low_priority")],
                value=_tier_value(tier),
                description="Tier",
                style=_STYLE,
                layout=_CHOICE,
            )
        )
        self.idle_input = control(
            widgets.BoundedFloatText(
                DEFAULT_IDLE_SECONDS / 60 if idle_minutes is None else idle_minutes,
                min=0,
                max=10_080,
                step=1,
                description="Idle minutes",
                style=_STYLE,
                layout=_NARROW,
            )
        )
        self.region_input = control(
            widgets.Dropdown(options=[("(none)", "")], value="", description="Prices in", style=_STYLE, layout=_CHOICE)
        )
        self.size_input = widgets.Dropdown(options=[], description="Size", style=_STYLE, layout=_WIDE)
        self.size_input.observe(self._size_chosen, names="value")
        self.table = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.cost = widgets.HTML()
        self.create_button = widgets.Button(
            description="Create", icon="server", button_style="primary", layout=widgets.Layout(width="auto")
        )
        self.create_button.on_click(lambda _: self.create())
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", tooltip="Read sizes, quota again")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.progress = widgets.HTML()
        self.shrink_warning = widgets.HTML()
        self.shrink_button = widgets.Button(
            description="Shrink", icon="compress", button_style="danger", layout=widgets.Layout(width="auto")
        )
        self.shrink_button.on_click(lambda _: self.create(confirm_shrink=True))
        self.keep_button = widgets.Button(description="Keep the cluster as it is", layout=widgets.Layout(width="auto"))
        self.keep_button.on_click(lambda _: self._cancel_shrink())
        self.shrink_box = widgets.VBox(
            [self.shrink_warning, widgets.HBox([self.shrink_button, self.keep_button])],
            layout=widgets.Layout(display="none"),
        )
        self.shrink_box.add_class("azml-sizer-shrink")
        self.result_view = widgets.HTML()
        self.computes_view = widgets.HTML()
        self.problems = widgets.HTML()

        def column(*children: widgets.Widget) -> widgets.VBox:
            return widgets.VBox(list(children), layout=widgets.Layout(margin="0 1.5em 0.5em 0"))

        inputs = widgets.HBox(
            [
                column(self.name_input, self.data_input, self.data_info, self.size_input),
                column(self.memory_input, self.gpus_input, self.kernel_input, self.kernel_info),
                column(self.min_nodes_input, self.max_nodes_input, self.tier_input),
                column(self.idle_input, self.region_input),
            ],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        actions = widgets.HBox(
            [self.create_button, self.refresh_button, self.progress], layout=widgets.Layout(align_items="center")
        )
        super().__init__(
            [
                widgets.HTML("<b>Cluster sizing</b>"),
                inputs,
                self.problems,
                self.table,
                self.cost,
                actions,
                self.shrink_box,
                self.result_view,
                self.computes_view,
            ]
        )
        self.add_class("azml-cluster-sizer")
        self.refresh(region=region)

    # ---- the backend (once per widget, and on Refresh) -----------------------------------------------
    def refresh(self, *, region: str | None = None) -> None:
        """Read sizes, quota usage, computes and the workspace region again; measure the kernel again."""
        if self._measure_kernel:
            try:
                self.kernel_memory = local_kernel_memory()
            except AzmlError:
                self.kernel_memory = None
        try:
            self._sizes = self.backend.list_sizes()
            self._usage = self.backend.list_usage()
            self._computes = {c.name: c for c in self.backend.list_computes()}
            if self._location is None:
                self._location = self.backend.workspace().location
            loaded = None
        except AzmlError as exc:
            loaded = exc.message
        self._data_cache.clear()
        self._set_regions(region)
        self._inputs_changed()
        if loaded:
            self.problems.value = _error(f"Cannot read the workspace: {loaded}")
        self._render_computes()

    def _set_regions(self, wanted: str | None) -> None:
        regions = self.prices.regions()
        current = wanted if wanted is not None else (self.region_input.value or self._location or "")
        match = next((r for r in regions if _squash(r) == _squash(current)), None) if current else None
        options = [("(none)", "")] + [(r, r) for r in regions]
        if current and match is None and (wanted or current != "local"):  # the local engine has no region
            options.append((current, current))  # prices there are unknown; the table will say so
            match = current
        self._rendering = True
        try:
            self.region_input.options = options
            self.region_input.value = match or ""
        finally:
            self._rendering = False

    # ---- inputs -> ranking -------------------------------------------------------------------------
    def _inputs_changed(self, change: dict | None = None) -> None:
        if self._rendering:
            return
        self._prefill_from_cluster()
        self._cancel_shrink()  # any change of the inputs asks again
        problems: list[str] = []
        data_bytes = self._data_bytes(problems)
        memory = self.kernel_memory if self.kernel_input.value else None
        request = SizingRequest(
            data_bytes=data_bytes,
            kernel_rss_bytes=memory.rss_bytes if memory else None,
            kernel_peak_rss_bytes=memory.peak_rss_bytes if memory else None,
            memory_gb=self.memory_input.value or None,
            gpus=self.gpus_input.value,
            max_nodes=self.max_nodes_input.value,
            tier=self.tier_input.value,
            idle_seconds=round(self.idle_input.value * 60),
            region=self.region_input.value or None,
        )
        if self.min_nodes_input.value > self.max_nodes_input.value:
            problems.append(
                f"Min nodes ({self.min_nodes_input.value}) cannot exceed max nodes ({self.max_nodes_input.value})."
            )
        try:
            check_name("compute", self.name_input.value)
        except InvalidRequest as exc:
            problems.append(exc.message)
        usage = self._usage
        existing = self._computes.get(self.name_input.value)
        if existing is not None:
            usage = release(usage, existing, self._sizes)  # its own claim does not count against it
        self.result = recommend(request, self._sizes, usage, self.prices)
        self._problems = problems
        self._render()

    def _prefill_from_cluster(self) -> None:
        """When the name is an existing cluster's (at open, or typed later), show its current settings:
        pressing Update without touching anything then changes nothing."""
        name = self.name_input.value
        existing = self._computes.get(name)
        if existing is None or self._prefilled_for == name:
            return
        self._prefilled_for = name
        given = self._given if name == self._opened_name else {}  # the caller's values: for the cluster named at open
        self._rendering = True
        try:
            self.min_nodes_input.value = given.get("min_nodes", existing.min_nodes)
            self.max_nodes_input.value = given.get("max_nodes", existing.max_nodes)
            self.tier_input.value = _tier_value(given.get("tier", existing.tier))
            if "idle_minutes" in given:
                self.idle_input.value = given["idle_minutes"]
            elif existing.idle_seconds is not None:
                self.idle_input.value = existing.idle_seconds / 60
        finally:
            self._rendering = False
        self._prefer_size = existing.size

    def _data_bytes(self, problems: list[str]) -> int | None:
        text = self.data_input.value.strip()
        if not text:
            self.data_info.value = ""
            return None
        if text not in self._data_cache:
            self._data_cache[text] = self._measure(text)
        size, words = self._data_cache[text]
        self.data_info.value = f"<small>{html.escape(words)}</small>"
        if size is None and words.startswith("cannot"):
            problems.append(f"Data: {words}")
        return size

    def _measure(self, text: str) -> tuple[int | None, str]:
        try:
            match = _ASSET.match(text)
            if match:
                asset = self.backend.get_data(match["name"], match["version"])
                size = data_size_bytes(asset)
                if size is None:
                    return None, f"{asset.reference}: size not recorded"
                return size, f"{asset.reference}: {_bytes(size)}"
            size = data_size_bytes(text)
            return size, f"{_bytes(size)} on disk"
        except AzmlError as exc:
            return None, f"cannot measure: {exc.message}"

    # ---- drawing -----------------------------------------------------------------------------------
    def _render(self) -> None:
        result = self.result
        memory = self.kernel_memory
        if memory is None:
            self.kernel_info.value = "<small>kernel memory: not measured</small>"
        else:
            self.kernel_info.value = (
                f"<small>this kernel: {_bytes(memory.rss_bytes)} now, peak {_bytes(memory.peak_rss_bytes)} "
                f"({html.escape(memory.peak_source)})</small>"
            )
        self.problems.value = "".join(_error(p) for p in self._problems)

        names = [r.name for r in result.recommendations]
        prefer, self._prefer_size = self._prefer_size, None  # an existing cluster's own size, once
        if prefer in names:
            keep = prefer
        else:
            keep = self.size_input.value if self.size_input.value in names else (names[0] if names else None)
        self._rendering = True
        try:
            self.size_input.options = [(f"{r.rank}. {r.name}", r.name) for r in result.recommendations]
            self.size_input.value = keep
        finally:
            self._rendering = False
        self._render_choice()

    def _size_chosen(self, change: dict) -> None:
        if not self._rendering:
            self._render_choice()

    def _render_choice(self) -> None:
        result = self.result
        chosen = self.chosen
        self.table.value = _ranking_html(result, chosen.name if chosen else None, self.prices)
        self.cost.value = _cost_html(chosen, self.min_nodes_input.value, self.idle_input.value, self.prices)
        exists = self.name_input.value in self._computes
        self.create_button.description = f"{'Update' if exists else 'Create'} {self.name_input.value}"
        self.create_button.disabled = chosen is None or bool(self._problems) or not self._idle.is_set()

    def _render_computes(self, highlight: str | None = None) -> None:
        if not self._computes:
            self.computes_view.value = ""
            return
        rows = []
        for compute in sorted(self._computes.values(), key=lambda c: c.name):
            mark = " style='font-weight:600;background:var(--jp-layout-color2)'" if compute.name == highlight else ""
            idle = "" if compute.idle_seconds is None else f"{compute.idle_seconds} s"
            cells = [
                compute.name,
                compute.size or "",
                f"{compute.min_nodes}-{compute.max_nodes}",
                idle,
                compute.tier or "",
            ]
            rows.append(
                f"<tr{mark}>" + "".join(f"<td style='{_CELL}'>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
        head = "".join(f"<th style='{_CELL}'>{h}</th>" for h in ("compute", "size", "nodes", "idle scale-down", "tier"))
        self.computes_view.value = (
            "<details class='azml-sizer-computes'" + (" open" if highlight else "") + "><summary>Computes in the "
            f"workspace ({len(rows)})</summary><table class='azml-sizer-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></details>"
        )

    @property
    def chosen(self) -> Recommendation | None:
        """The recommendation the Create/Update button will use (the best one unless another is chosen)."""
        if self.result is None:
            return None
        return next((r for r in self.result.recommendations if r.name == self.size_input.value), None)

    @property
    def ranking(self) -> list[str]:
        """The recommended size names, best first."""
        return [r.name for r in self.result.recommendations] if self.result else []

    # ---- Create/Update -----------------------------------------------------------------------------
    def create(self, *, confirm_shrink: bool = False) -> None:
        """Create or update the cluster with the chosen size, in a background thread (see ``wait``).

        An update that lowers the cluster's max nodes only asks first (``pending_shrink``, with Shrink
        and Keep buttons); ``confirm_shrink=True`` (the Shrink button) goes ahead."""
        chosen = self.chosen
        if chosen is None or self._problems or not self._idle.is_set():
            return
        warning = self._shrink_message()
        if warning and not confirm_shrink:
            self.pending_shrink = warning
            self.shrink_warning.value = (
                f"<div class='azml-warning' style='color:var(--jp-warn-color1)'>{html.escape(warning)}</div>"
            )
            self.shrink_button.description = f"Shrink to {self.max_nodes_input.value} max nodes"
            self.shrink_box.layout.display = "flex"
            return
        self._cancel_shrink()
        self._idle.clear()
        self.create_button.disabled = True
        self.error = None
        arguments = {
            "name": self.name_input.value,
            "size": chosen.name,
            "min_nodes": self.min_nodes_input.value,
            "max_nodes": self.max_nodes_input.value,
            "idle_seconds": round(self.idle_input.value * 60),
            "tier": self.tier_input.value,
        }
        verb = "Updating" if arguments["name"] in self._computes else "Creating"
        self.progress.value = _progress(f"{verb} {arguments['name']} ({chosen.name}) ...")
        self.result_view.value = ""
        self._thread = threading.Thread(
            target=self._provision, args=(arguments, verb), name=f"azml-sizer-{arguments['name']}", daemon=True
        )
        self._thread.start()

    def _shrink_message(self) -> str | None:
        existing = self._computes.get(self.name_input.value)
        wanted = self.max_nodes_input.value
        if existing is None or wanted >= existing.max_nodes:
            return None
        busy = existing.current_nodes or 0
        queued = existing.queued_jobs or 0
        load = f"{busy} node{'s' if busy != 1 else ''} busy now"
        if queued:
            load += f", {queued} job{'s' if queued != 1 else ''} waiting"
        lost = max(0, busy - wanted)
        consequence = (
            f"; {lost} running job{'s' if lost != 1 else ''} beyond the new limit keep their node until "
            "they end, then the cluster holds at most "
            f"{wanted}"
            if lost
            else f"; later jobs queue for {wanted} node{'s' if wanted != 1 else ''}"
        )
        return (
            f"This shrinks {existing.name} from {existing.max_nodes} to {wanted} max node"
            f"{'s' if wanted != 1 else ''} ({load}){consequence}. Shrink it?"
        )

    def _cancel_shrink(self) -> None:
        self.pending_shrink = None
        self.shrink_warning.value = ""
        self.shrink_box.layout.display = "none"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no Create/Update is running (True), or ``timeout`` passed (False)."""
        return self._idle.wait(timeout)

    def _provision(self, arguments: dict[str, Any], verb: str) -> None:
        started = time.monotonic()

        def progress(operation: Operation) -> None:
            self.progress.value = _progress(
                f"{verb} {arguments['name']}: {operation.state.value} ({time.monotonic() - started:.0f} s)"
            )

        try:
            outcome = ensure_cluster(self.backend, on_progress=progress, **arguments)
        except AzmlError as exc:
            self.error = exc.message
        except Exception as exc:  # the widget must say what went wrong, not swallow it
            self.error = f"{type(exc).__name__}: {exc}"
        else:
            self.last_ensure = outcome
        try:
            self._computes = {c.name: c for c in self.backend.list_computes()}
            self._usage = self.backend.list_usage()  # the cluster's claim changed
        except AzmlError as exc:
            self.error = self.error or f"Cannot read the computes again: {exc.message}"
        self.progress.value = ""
        if self.error:
            self.result_view.value = _error(self.error)
        else:
            notes = "".join(f"<div><small>{html.escape(n)}</small></div>" for n in self.last_ensure.notes)
            self.result_view.value = (
                f"<div class='azml-sizer-result' style='color:var(--jp-success-color1)'>"
                f"{html.escape(self.last_ensure.summary())}</div>{notes}"
            )
        self._render_computes(highlight=arguments["name"])
        self._idle.set()
        self._inputs_changed()


# ---- HTML ------------------------------------------------------------------------------------------
def _ranking_html(result: SizingResult | None, chosen: str | None, prices: PriceTable) -> str:
    if result is None:
        return ""
    parts = []
    if result.recommendations:
        parts.append(_table(result.recommendations, chosen, prices, "azml-sizer-ranking"))
    for reason in result.impossible:
        parts.append(_error(reason))
    if result.over_quota:
        parts.append("<div><b>Over quota</b> (would fit otherwise)</div>")
        parts.append(_table(result.over_quota, None, prices, "azml-sizer-over-quota"))
    parts.append("".join(f"<div><small>{html.escape(n)}</small></div>" for n in result.notes))
    return "".join(parts)


def _table(recommendations: list[Recommendation], chosen: str | None, prices: PriceTable, css: str) -> str:
    head = "".join(
        f"<th style='{_CELL}'>{h}</th>"
        for h in ("#", "size", "vCPUs", "memory GB", "GPUs", "per node-hour", "at max nodes", "why")
    )
    rows = []
    for rec in recommendations:
        mark = " style='background:var(--jp-layout-color2)'" if rec.name == chosen else ""
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in rec.reasons)
        cells = [
            str(rec.rank),
            rec.name,
            "" if rec.vcpus is None else str(rec.vcpus),
            f"{rec.memory_gb:g}",
            str(rec.gpus),
            _money(rec.price_per_hour, prices),
            _money(rec.price_at_max_nodes, prices),
        ]
        rows.append(
            f"<tr class='azml-sizer-row' data-size='{html.escape(rec.name)}'{mark}>"
            + "".join(f"<td style='{_CELL}'>{html.escape(c)}</td>" for c in cells)
            + f"<td style='{_CELL}'><ul style='margin:0;padding-left:1.2em;font-size:var(--jp-ui-font-size0);"
            f"line-height:1.3'>{reasons}</ul></td></tr>"
        )
    return (
        f"<table class='azml-sizer-table {css}' style='border-collapse:collapse'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cost_html(chosen: Recommendation | None, min_nodes: int, idle_minutes: float, prices: PriceTable) -> str:
    if chosen is None:
        return ""
    local = family_key(chosen.size.family) == LOCAL_FAMILY
    nodes = f"{chosen.nodes} node{'s' if chosen.nodes != 1 else ''}"
    if local:
        busy = f"at max nodes ({nodes}): no charge (runs on this machine)"
    elif chosen.price_at_max_nodes is None:
        busy = f"at max nodes ({nodes}): price unknown (pick the workspace's region; the table has no price here)"
    else:
        busy = f"at max nodes ({nodes}): {prices.money(chosen.price_at_max_nodes)}/h"
    if min_nodes == 0:
        idle = "idle: $0/h (min nodes 0: every node is released when idle, nothing costs money)"
    elif local:
        idle = f"idle: no charge ({min_nodes} node{'s' if min_nodes != 1 else ''} kept, on this machine)"
    elif chosen.price_per_hour is None:
        idle = f"idle: {min_nodes} node{'s' if min_nodes != 1 else ''} kept running, price unknown"
    else:
        idle = (
            f"idle: {prices.money(chosen.price_per_hour * min_nodes)}/h ({min_nodes} node"
            f"{'s' if min_nodes != 1 else ''} kept running; set min nodes to 0 to pay nothing while idle)"
        )
    wait = ""
    if chosen.idle_cost_at_max_nodes:
        wait = (
            f"; each {idle_minutes:g} min wait before scale-down costs up to "
            f"{prices.money(chosen.idle_cost_at_max_nodes)}"
        )
    return (
        f"<div class='azml-sizer-cost'><b>Cost of {html.escape(chosen.name)}</b>: {html.escape(busy)}; "
        f"{html.escape(idle)}{html.escape(wait)}.</div>"
    )


def _money(amount: float | None, prices: PriceTable) -> str:
    return "unknown" if amount is None else prices.money(amount)


def _bytes(size: int) -> str:
    if size >= GIB:
        return f"{size / GIB:.1f} GB"
    if size >= 1024**2:
        return f"{size / 1024**2:.0f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def _error(message: str) -> str:
    return f"<div class='azml-error' style='color:var(--jp-error-color1)'>{html.escape(message)}</div>"


def _progress(message: str) -> str:
    return f"<span class='azml-sizer-progress'>&#8987; {html.escape(message)}</span>"


def _tier_value(tier: str | None) -> str:
    return "low_priority" if tier in ("low_priority", "LowPriority", "low priority") else "dedicated"


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
