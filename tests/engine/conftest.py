from __future__ import annotations

from pathlib import Path

import pytest

from tests.job_folders import JobFolders


@pytest.fixture
def jobs(workspace, tmp_path: Path) -> JobFolders:
    return JobFolders(workspace, tmp_path)
