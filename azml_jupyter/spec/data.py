"""What a copy-in request must be, checked the same way (in the same words) by both backends before any
byte is copied: a valid asset name and version, a source that exists, a type that matches it."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidRequest
from .names import check_name


def check_copy_in(source: Path, name: str, *, type: str | None = None, version: str | None = None) -> str:
    """Returns the asset type the source makes: ``uri_folder`` for a folder, ``uri_file`` for a file."""
    check_name("data asset", name)
    if version is not None:
        check_name("data asset version", str(version))
    source = Path(source)
    if not source.exists():
        raise InvalidRequest(f"{source} does not exist.", details={"path": str(source)})
    kind = "uri_folder" if source.is_dir() else "uri_file"
    if type is not None and type != kind:
        raise InvalidRequest(
            f"{source} is a {'folder' if kind == 'uri_folder' else 'file'}, so the asset type is {kind}, not {type}.",
            details={"type": type, "expected": kind},
        )
    return kind
