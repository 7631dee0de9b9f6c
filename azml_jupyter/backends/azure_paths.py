"""``azureml://datastores/<name>/paths/<path>`` URIs of an Azure ML workspace, short and long form."""

from __future__ import annotations

import re

DATASTORE_URI = re.compile(r"^azureml://(?:.*/)?datastores/(?P<datastore>[^/]+)/(?:paths/)?(?P<path>.*)$")


def datastore_uri(datastore: str, path: str) -> str:
    return f"azureml://datastores/{datastore}/paths/{path}"


def same_location(a: str, b: str) -> bool:
    """Short (``azureml://datastores/...``) and long (``azureml://subscriptions/.../datastores/...``) forms."""
    first, second = DATASTORE_URI.match(a or ""), DATASTORE_URI.match(b or "")
    if first is None or second is None:
        return a == b
    return (first["datastore"], first["path"].rstrip("/")) == (second["datastore"], second["path"].rstrip("/"))
