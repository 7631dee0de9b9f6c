"""Kernel tests run real notebooks through nbclient with the venv's ``python3`` kernel; the kernel
inherits ``AZML_JUPYTER_HOME`` from the ``azml_home`` fixture, so its jobs go to the test's workspace."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def make_notebook(cells: list, tags: dict[int, list[str]] | None = None) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for index, cell in enumerate(cells):
        if isinstance(cell, tuple) and cell[0] == "markdown":
            notebook.cells.append(nbformat.v4.new_markdown_cell(cell[1]))
            continue
        node = nbformat.v4.new_code_cell(cell)
        if tags and index in tags:
            node.metadata["tags"] = tags[index]
        notebook.cells.append(node)
    return notebook


def execute(notebook: nbformat.NotebookNode, cwd: Path, *, timeout: int = 240, allow_errors: bool = False):
    """Run every cell in a fresh kernel started in ``cwd``; returns the executed notebook."""
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=timeout,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=dict(os.environ))
    return notebook


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def error_of(cell) -> dict | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


@pytest.fixture
def run_cells(azml_home: Path, tmp_path: Path):
    """run_cells([...sources...]) -> executed notebook, in a kernel whose cwd is tmp_path/nb."""
    folder = tmp_path / "nb"
    folder.mkdir()

    def run(cells: list, **kwargs):
        notebook = make_notebook(cells, kwargs.pop("tags", None))
        try:
            return execute(notebook, folder, **kwargs)
        except CellExecutionError as exc:
            pytest.fail(f"a notebook cell failed:\n{exc}")

    run.folder = folder  # type: ignore[attr-defined]
    return run


__all__ = ["make_notebook", "execute", "outputs_text", "error_of", "CellExecutionError"]
