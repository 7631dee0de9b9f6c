"""Process facts the engine relies on: is *that* process (not a recycled pid) still alive; stop a group."""

from __future__ import annotations

import os
import signal

import psutil


def start_marker(pid: int) -> str | None:
    """The process's start time: with the pid it identifies a process even after the pid is reused.
    On Linux one read of /proc/<pid>/stat (field 22, in clock ticks since boot); elsewhere psutil."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # the command name (field 2) may hold spaces and parentheses: split after its last ")"
            return "t" + fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:
        return f"{psutil.Process(pid).create_time():.3f}"
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_alive(pid: int | None, marker: str | None) -> bool:
    if not pid:
        return False
    if marker is not None and start_marker(pid) != marker:
        return False  # gone, or the pid now belongs to another process
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def signal_group(pgid: int, sig: int = signal.SIGTERM) -> bool:
    """Send ``sig`` to a whole process group; False if the group is already gone."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
