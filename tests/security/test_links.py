"""Links shown to the user (a job's or workspace's studio URL) are https only (issue 13, item 18)."""

from __future__ import annotations

import pytest

from azml_jupyter.models import JobRecord, JobStatus, WorkspaceInfo, web_link


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://ml.azure.com/runs/x",
        "vbscript:msgbox(1)",
        "https://",
        "//evil.example/x",
        "file:///etc/passwd",
        "https://[::1",  # does not parse
    ],
)
def test_unsafe_links_are_dropped_everywhere(url):
    assert web_link(url) is None
    assert JobRecord(name="j", type="command", status=JobStatus.COMPLETED, studio_url=url).studio_url is None
    assert WorkspaceInfo(backend="azure", name="w", studio_url=url).studio_url is None
    record = JobRecord.from_dict({"name": "j", "type": "command", "status": "Completed", "studio_url": url})
    assert record.studio_url is None and "javascript" not in str(record.to_dict())


def test_https_links_stay():
    url = "https://ml.azure.com/runs/j?wsid=/subscriptions/s/resourcegroups/r/workspaces/w&tid=t"
    assert JobRecord(name="j", type="command", status=JobStatus.COMPLETED, studio_url=url).studio_url == url
    assert WorkspaceInfo(backend="azure", name="w", studio_url="HTTPS://ml.azure.com/").studio_url
