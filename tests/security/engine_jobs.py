"""Engine-level helpers of the security tests: write a job folder (YAML plus files) and submit it through
load_job, as every real caller does. The root conftest gives each test its own workspace
(``workspace``)."""

from __future__ import annotations

import textwrap
from pathlib import Path


class JobFolders:
    def __init__(self, workspace, folder: Path):
        self.workspace = workspace
        self.folder = folder
        self.count = 0

    def write(self, text: str, files: dict[str, str] | None = None) -> Path:
        self.count += 1
        folder = self.folder / f"job{self.count}"
        folder.mkdir()
        for rel, content in (files or {}).items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content))
        job_file = folder / "job.yml"
        job_file.write_text(textwrap.dedent(text))
        return job_file

    def spec(self, job_file: Path) -> dict:
        from azml_jupyter.spec.loader import load_job_file
        from azml_jupyter.spec.normalize import job_to_spec

        return job_to_spec(load_job_file(job_file))

    def submit(self, text: str, files: dict[str, str] | None = None, name: str | None = None, workspace=None):
        return (workspace or self.workspace).submit(self.spec(self.write(text, files)), name=name)

    def wait(self, name: str, timeout: float = 60):
        record = self.workspace.wait(name, timeout=timeout)
        assert record.is_terminal, f"{name} still {record.status} after {timeout}s"
        return record

    def log(self, name: str) -> str:
        return self.workspace.read_log(name, 0, 1 << 24)[0]


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Every file under ``root`` (links not followed) whose bytes contain ``needle``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    found.append(str(path.relative_to(root)))
            except OSError:
                pass
    return found
