"""What the local engine offers and what the running kernel measures, for the sizing engine.

The local engine has one "VM size": this machine (family ``local``, vCPUs from ``os.cpu_count()``,
memory from psutil, GPUs from ``nvidia-smi -L`` when it exists). It has no quota and costs nothing;
``local_usage()`` says so in the same ``Usage`` form the Azure backend reports.

``local_kernel_memory()`` reads a process's current and peak resident memory. The peak is the
kernel's high-water mark: on Linux ``VmHWM`` in ``/proc/<pid>/status``, on Windows psutil's
``peak_wset``; elsewhere (macOS) no peak is kept by the OS, so the current RSS stands in for it and
``peak_source`` says so. ``data_size_bytes()`` measures the data a job will read: a file, a folder
(every file under it) or a data asset (its recorded size).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import psutil

from ..errors import InvalidRequest, NotFound
from ..models import DataAsset, Record, Usage, VmSize

LOCAL_FAMILY = "local"
LOCAL_SIZE_NAME = "local"
GIB = 1024**3


def count_nvidia_gpus(nvidia_smi: str = "nvidia-smi", timeout: float = 10.0) -> int:
    """GPUs listed by ``nvidia-smi -L`` (lines "GPU 0: ..."); 0 when the tool is missing or fails."""
    try:
        done = subprocess.run([nvidia_smi, "-L"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return 0
    if done.returncode != 0:
        return 0
    return sum(1 for line in done.stdout.splitlines() if line.strip().startswith("GPU "))


def local_vm_size(nvidia_smi: str = "nvidia-smi") -> VmSize:
    """This machine as a VM size: all its vCPUs, its total memory (GiB), its NVIDIA GPUs."""
    return VmSize(
        name=LOCAL_SIZE_NAME,
        vcpus=os.cpu_count() or 1,
        memory_gb=round(psutil.virtual_memory().total / GIB, 2),
        gpus=count_nvidia_gpus(nvidia_smi),
        family=LOCAL_FAMILY,
        low_priority_capable=None,  # tiers do not apply to the local engine
    )


def local_usage() -> list[Usage]:
    """The local engine's quota: none (limit -1 means "no limit", as in Azure's usage API)."""
    return [Usage(family=LOCAL_FAMILY, current=0, limit=-1, label="local engine (no quota)")]


@dataclasses.dataclass
class KernelMemory(Record):
    pid: int
    rss_bytes: int
    peak_rss_bytes: int
    peak_source: str  # "VmHWM" (Linux) | "peak_wset" (Windows) | "rss" (no peak kept: current RSS)


def local_kernel_memory(pid: int | None = None) -> KernelMemory:
    """Current and peak resident memory of ``pid`` (default: this process, i.e. the kernel itself)."""
    pid = os.getpid() if pid is None else int(pid)
    try:
        info = psutil.Process(pid).memory_info()
    except psutil.NoSuchProcess as exc:
        raise NotFound(f"No process with id {pid} to measure.", details={"pid": pid}) from exc
    except psutil.AccessDenied as exc:
        raise InvalidRequest(f"Not allowed to read the memory of process {pid}.", details={"pid": pid}) from exc
    rss = int(info.rss)
    peak, source = _vm_hwm(pid), "VmHWM"
    if peak is None and getattr(info, "peak_wset", None):
        peak, source = int(info.peak_wset), "peak_wset"
    if peak is None:
        peak, source = rss, "rss"
    return KernelMemory(pid=pid, rss_bytes=rss, peak_rss_bytes=max(peak, rss), peak_source=source)


def _vm_hwm(pid: int) -> int | None:
    """``VmHWM`` (peak resident set) from ``/proc/<pid>/status``, in bytes; None where there is none."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    value, unit = line.split()[1:3]
                    return int(value) * {"kB": 1024, "mB": 1024**2}.get(unit, 1)
    except (OSError, ValueError):
        return None
    return None


def data_size_bytes(source: str | os.PathLike | DataAsset) -> int | None:
    """Bytes of data a job will read: a data asset's recorded size, a file's size, a folder's total.

    ``None`` when the size is not known (a data asset registered without one, or an ``azureml:``
    reference: resolve it to a ``DataAsset`` through the backend first).
    """
    if isinstance(source, DataAsset):
        return source.size_bytes
    text = os.fspath(source)
    if text.startswith("azureml:"):
        return None
    path = Path(text).expanduser()
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        total = 0
        for folder, _dirs, files in os.walk(path):  # does not follow symlinked folders
            for name in files:
                file = Path(folder, name)
                if not file.is_symlink():
                    total += file.stat().st_size
        return total
    raise NotFound(f"No file or folder at {text} to measure.", details={"path": text})
