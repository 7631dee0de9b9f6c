"""IPython magics: ``%%azml_submit`` (a cell as an Azure ML command job), ``%azml_jobs``, ``%azml_logs``,
``%azml_size`` (the cluster-sizing widget).

``%load_ext azml_jupyter`` registers them. This module imports nothing heavy: azure.ai.ml (1.6 s) is
imported only when a job is submitted, ipywidgets only when a widget is shown.

In a kernel started by ``azml-jupyter export`` (environment variable ``AZML_JUPYTER_MAGIC=run-locally``)
``%%azml_submit`` runs its cell in the kernel instead of submitting it, so preparing an export never
submits jobs and later cells still find the variables the cell defines.
"""

from __future__ import annotations

import html
import os
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from .errors import AzmlError


@magics_class
class AzmlMagics(Magics):
    @cell_magic
    def azml_submit(self, line: str, cell: str) -> Any:
        """Run this cell as a command job on the configured backend (local engine or Azure ML).

        %%azml_submit [--compute C] [--environment E] [--name N] [--experiment X] [--display-name D]
                      [--input name=PATH|azureml:asset:version] [--output name] [--param key=value]
                      [--return var1,var2] [--env KEY=VALUE] [--wait | --no-wait] [--dry-run]

        The cell brings along what it uses from earlier cells (imports, functions, classes, variables).
        The result is the job's handle (``job = _``): ``job.wait()``, ``job.result()``, ``job.cancel()``.
        """
        from .notebook.submit import parse_submit_line, submit_cells

        if os.environ.get("AZML_JUPYTER_MAGIC") == "run-locally":
            self.shell.ex(self.shell.transform_cell(cell))
            return None
        try:
            options = parse_submit_line(line)
            history = list(self.shell.history_manager.input_hist_raw)
            current = len(history) - 1  # this cell is already in the history, as In[current]
            earlier = history[1:current]
            labels = [f"In [{i}]" for i in range(1, current)] + [f"In [{current}]"]
            # the cell as JupyterLab shows it, magic line included, so line numbers in messages and in
            # the job's tracebacks are the ones the user sees (the analysis turns that line into `pass`)
            shown = f"%%azml_submit {line}".rstrip() + "\n" + cell
            result = submit_cells(
                earlier + [shown],
                [len(earlier)],
                namespace=self.shell.user_ns,
                labels=labels,
                show=True,
                **options,
            )
        except AzmlError as exc:
            raise UsageError(exc.message) from None
        if options["dry_run"]:
            return None  # submit_cells printed the YAML and the files
        return result

    @line_magic
    def azml_jobs(self, line: str) -> Any:
        """%azml_jobs [--limit N] [--status S] [--experiment X]: recent jobs, newest first."""
        import argparse

        from .notebook.handle import default_backend

        parser = argparse.ArgumentParser(prog="%azml_jobs", add_help=False, exit_on_error=False)
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--status", action="append")
        parser.add_argument("--experiment")
        try:
            args = parser.parse_args(shlex.split(line))
            page = default_backend().list_jobs(status=args.status, experiment=args.experiment, limit=args.limit)
        except (argparse.ArgumentError, AzmlError) as exc:
            raise UsageError(getattr(exc, "message", str(exc))) from None
        return JobTable(page.jobs)

    @line_magic
    def azml_logs(self, line: str) -> None:
        """%azml_logs NAME [--follow]: print a job's log (``--follow``: until the job ends)."""
        import time

        from .notebook.handle import default_backend

        words = shlex.split(line)
        follow = "--follow" in words or "-f" in words
        names = [w for w in words if not w.startswith("-")]
        if len(names) != 1:
            raise UsageError("usage: %azml_logs NAME [--follow]")
        backend, offset = default_backend(), 0
        try:
            while True:
                chunk = backend.read_logs(names[0], offset)
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
                stalled = chunk.next_offset == offset
                offset = chunk.next_offset
                if chunk.complete or (stalled and not follow):
                    return
                if stalled:
                    time.sleep(0.5)
        except AzmlError as exc:
            raise UsageError(exc.message) from None

    @line_magic
    def azml_size(self, line: str) -> Any:
        """%azml_size [--data PATH|azureml:name:version] [--memory GB] [--gpus N] [--min-nodes N] [--max-nodes N]
                      [--tier dedicated|low_priority] [--idle-minutes M] [--region R] [--name CLUSTER]

        Show the cluster-sizing widget (``azml_jupyter.widgets.ClusterSizer``): ranked VM sizes for the
        data, this kernel's peak memory and the GPUs asked for, their cost, and a Create/Update button.
        """
        import argparse

        parser = argparse.ArgumentParser(prog="%azml_size", add_help=False, exit_on_error=False)
        parser.add_argument("--data")
        parser.add_argument("--memory", type=float)
        parser.add_argument("--gpus", type=int, default=0)
        # No defaults for the cluster's settings: an existing cluster's own are shown (see ClusterSizer).
        parser.add_argument("--min-nodes", type=int)
        parser.add_argument("--max-nodes", type=int)
        parser.add_argument("--tier", choices=["dedicated", "low_priority"])
        parser.add_argument("--idle-minutes", type=float)
        parser.add_argument("--region")
        parser.add_argument("--name", default="cpu-cluster")
        try:
            args = parser.parse_args(shlex.split(line))
            from .widgets import ClusterSizer

            return ClusterSizer(
                data=args.data,
                name=args.name,
                memory_gb=args.memory,
                gpus=args.gpus,
                min_nodes=args.min_nodes,
                max_nodes=args.max_nodes,
                tier=args.tier,
                idle_minutes=args.idle_minutes,
                region=args.region,
            )
        except (argparse.ArgumentError, AzmlError) as exc:
            raise UsageError(getattr(exc, "message", str(exc))) from None


class JobTable:
    """The result of ``%azml_jobs``: an HTML table in the notebook, plain text elsewhere."""

    COLUMNS = ("name", "display_name", "status", "compute", "experiment_name", "created_at")

    def __init__(self, jobs: list):
        self.jobs = jobs

    def _repr_html_(self) -> str:
        from .models import STATUS_STYLE

        head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in self.COLUMNS)
        rows = []
        for job in self.jobs:
            cells = []
            for column in self.COLUMNS:
                value = getattr(job, column)
                text = html.escape("" if value is None else str(value))
                if column == "status":
                    colour = STATUS_STYLE[job.status][1]
                    text = f'<span style="color:{colour};font-weight:600">{text}</span>'
                cells.append(f"<td>{text}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        if not rows:
            return "<i>No jobs yet.</i>"
        return f"<table class='azml-jobs'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def __repr__(self) -> str:
        if not self.jobs:
            return "No jobs yet."
        table = [[("" if getattr(j, c) is None else str(getattr(j, c))) for c in self.COLUMNS] for j in self.jobs]
        widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(self.COLUMNS)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.COLUMNS, widths, strict=True))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in table]
        return "\n".join(line.rstrip() for line in lines)


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(AzmlMagics)


def unload_ipython_extension(ipython) -> None:  # %unload_ext: nothing to tear down
    pass
