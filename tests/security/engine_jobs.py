"""Engine-level helpers of the security tests: write a job folder (YAML plus files) and submit it through
load_job, as every real caller does. The root conftest gives each test its own workspace
(``workspace``)."""

from __future__ import annotations

from pathlib import Path

from tests.job_folders import JobFolders  # noqa: F401 - the security tests import it from here


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
