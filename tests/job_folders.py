"""Job folders for the engine-level tests (tests/engine, tests/security): write a job folder (YAML plus
files), submit it through load_job as every real caller does, wait, read its log."""

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

    def wait_for_status(self, name: str, status: str, timeout: float = 30):
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.workspace.get_job(name)
            if record.status.value == status:
                return record
            assert not record.is_terminal, f"{name} ended {record.status} ({record.error}) before reaching {status}"
            time.sleep(0.05)
        raise AssertionError(f"{name} did not reach {status} in {timeout}s")

    def log(self, name: str) -> str:
        return self.workspace.read_log(name, 0, 1 << 24)[0]
