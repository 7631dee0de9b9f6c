"""Notebooks to jobs: cells (``submit_cells``, the ``%%azml_submit`` magic), whole notebooks
(``submit_notebook``, ``notebook_job``: papermill), export to a job folder + GitHub workflow
(``export_notebook``), and the ``Job`` handle. See docs/notebook-jobs.md.

    analysis.py      which earlier-cell definitions a cell needs (ast), IPython syntax -> Python
    packaging.py     the job folder: script, shipped values, conda spec, job.yml
    environment_capture.py  the kernel's distributions and Python version (also run in another kernel)
    azml_runtime.py  the helper shipped into every cell job (and the one value format implementation)
    submit.py        submit_cells, the %%azml_submit option line
    notebook_job.py  whole-notebook jobs with papermill
    export.py        azml-jupyter export, GitHub Actions workflow with OIDC
    handle.py        Job: wait(), result(), cancel(), logs(), the live widget
"""

from __future__ import annotations

from .handle import Job, JobFailed, last_job
from .notebook_job import notebook_job, submit_notebook
from .submit import DryRun, submit_cells


def export_notebook(*args, **kwargs):
    """See ``export.export_notebook`` (imported on use: it starts kernels)."""
    from .export import export_notebook as _export

    return _export(*args, **kwargs)


__all__ = [
    "Job",
    "JobFailed",
    "DryRun",
    "submit_cells",
    "submit_notebook",
    "notebook_job",
    "export_notebook",
    "last_job",
]
