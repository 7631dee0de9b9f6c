"""What the local engine offers and what the running kernel measures, for the sizing engine.

The local engine has one "VM size": this machine (family ``local``, vCPUs from ``os.cpu_count()``,
memory from psutil, GPUs from ``nvidia-smi -L`` when it exists). It costs nothing, and by default it
has no quota; ``local_usage()`` says so in the same ``Usage`` form the Azure backend reports.

Optional local vCPU quota (``c.AzmlJupyter.local_vcpu_quota`` or ``AZML_JUPYTER_LOCAL_VCPU_QUOTA``;
default none): a cap on how much of this machine the local clusters may claim together, in the unit
Azure quotas use (vCPUs = nodes x vCPUs per node). Every node of a local cluster is this machine, so
a local cluster of ``max_nodes`` N claims N x ``os.cpu_count()`` vCPUs whether it is busy or not
(local nodes are process slots, reserved by the cluster's node limit; there is no allocation to
count, as Azure does). ``current`` is the sum of those claims over the workspace's local clusters,
the default ``local`` cluster included; a change to one cluster gives its own claim back first
(``quota.release``), so resizing is checked against what the *other* clusters claim. A quota of
``k x os.cpu_count()`` therefore allows k local nodes in all.

``local_kernel_memory()`` reads a process's current and peak resident memory. The peak is the
kernel's high-water mark: on Linux ``VmHWM`` in ``/proc/<pid>/status``, on Windows psutil's
``peak_wset``; elsewhere (macOS) no peak is kept by the OS, so the current RSS stands in for it and
``peak_source`` says so. ``data_size_bytes()`` measures the data a job will read: a file, a folder
(every file under it) or a data asset (its recorded size).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import psutil

from ..errors import InvalidRequest, NotFound
from ..models import ComputeInfo, DataAsset, Record, Usage, VmSize

LOCAL_FAMILY = "local"
LOCAL_SIZE_NAME = "local"
LOCAL_VCPU_QUOTA_ENV = "AZML_JUPYTER_LOCAL_VCPU_QUOTA"
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


def local_vcpu_quota(value: int | str | None = None, *, env: Mapping[str, str] | None = None) -> int | None:
    """The local vCPU quota: ``value`` when given (configuration), else ``$AZML_JUPYTER_LOCAL_VCPU_QUOTA``;
    ``None`` (no quota) when neither is set. A value that is not a whole number >= 0 is refused."""
    source = "local_vcpu_quota"
    if value is None or value == "":
        value = (os.environ if env is None else env).get(LOCAL_VCPU_QUOTA_ENV, "").strip() or None
        source = LOCAL_VCPU_QUOTA_ENV
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value.strip())
    raise InvalidRequest(
        f"{source} must be a whole number of vCPUs >= 0 (or unset for no quota), not {value!r}.",
        details={"setting": source},
    )


def local_claim(compute: ComputeInfo, vcpus: int | None = None) -> int:
    """vCPUs a local cluster claims of the local quota: its max nodes x this machine's vCPUs."""
    return compute.max_nodes * (vcpus if vcpus is not None else (os.cpu_count() or 1))


def local_usage(
    limit: int | None = None, computes: Iterable[ComputeInfo] = (), vcpus: int | None = None
) -> list[Usage]:
    """The local engine's quota row: ``limit`` vCPUs (``None``: no quota, reported as -1 like Azure's
    "no limit"), ``current`` = what the local ``computes`` claim (``local_claim``, see the module)."""
    current = sum(local_claim(c, vcpus) for c in computes if c.type == "local")
    if limit is None:
        return [Usage(family=LOCAL_FAMILY, current=current, limit=-1, label="local engine (no quota)")]
    return [Usage(family=LOCAL_FAMILY, current=current, limit=int(limit), label="local engine vCPU quota")]


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
