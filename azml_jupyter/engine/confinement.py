"""What the engine copies or reads from a folder comes from inside that folder.

One rule for symbolic links wherever the engine walks a user's tree — a job's code snapshot, a local input
or a data asset copied in, an output listed or downloaded:

- a link to a file inside the folder is copied as that file (what Azure ML's uploader does with links);
- a link to a folder is not entered (its files are copied under their own names, if they are inside);
- a dangling link is skipped;
- a link whose target is outside the folder is **refused**, naming the link: the server's copy-in
  already refuses links out of the Jupyter root, and a cloned repository can carry a link to
  ``~/.ssh/id_rsa`` that nobody sees in the job file. Copying it would put the secret into the snapshot
  and the object store (and, on Azure, into the workspace's storage).

The path a job file or a request names itself may be a link (it is the caller's own statement, like an
absolute path); only what lies *inside* it is confined.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Forbidden


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def link_target(link: Path, folder: Path, *, what: str, shown: str, where: str = "the folder") -> Path | None:
    """The real target of ``link`` when it stays inside ``folder`` (a real path); None when it points
    nowhere; ``Forbidden`` when it leads out. ``what`` names the tree ("code folder /x/src"), ``shown``
    the link within it."""
    target = Path(os.path.realpath(link))
    if not target.exists():
        return None
    if inside(target, folder):
        return target
    raise Forbidden(
        f"{what}: {shown!r} is a symbolic link to {target}, outside {where}. Links that leave the folder "
        "are not copied (copy-in refuses them too): replace the link with a copy of what it points at, "
        "or remove it.",
        details={"link": shown, "target": str(target)},
        code="link_outside_folder",
    )
