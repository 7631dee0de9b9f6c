"""Copy-in to Azure blob storage: our uploader against azure-ai-ml's own upload, adlfs and azcopy.

Everything runs against one Azurite (npm, started here in a fresh folder and stopped at the end), in
one run, on the same data, so the figures compare tools and settings on this machine; they do not
predict Azure throughput (on 2 vCPUs Azurite itself is the bottleneck: see shared notes on copy-in).

Data sets: one 1 GiB file and 5,000 files of 20 KiB (random bytes). For each tool, data set and run a
fresh container, so nothing is skipped; each measurement runs in its own Python process and times only
the upload call (not interpreter start or imports). "re-copy" repeats our copy into the container it
just filled: nothing changed, so nothing is sent (the 20x goal).

    python benchmarks/copy_in_azure.py                 # 3 runs, markdown table on stdout
    python benchmarks/copy_in_azure.py --runs 1 --big-mib 256 --small 1000   # quicker
    python benchmarks/copy_in_azure.py --azcopy /path/to/azcopy --markdown docs/benchmarks-azure.md

Tools: ours = ``azml_jupyter.backends.blob_upload.ResumableUploader`` (what AzureBackend.copy_in uses);
azure-ai-ml = ``azure.ai.ml._artifacts._blob_storage_helper.BlobStorageClient.upload`` (what
``ml_client.data.create_or_update`` runs for a local path); adlfs = ``AzureBlobFileSystem.put_file``
with ``max_concurrency=8`` (its fastest single-file setting per the notes) and ``put(recursive=True)``;
azcopy = ``azcopy copy --from-to=LocalBlob`` from npm ``@azure-tools/azcopy-linux`` (install it in a
throwaway folder: ``npm install @azure-tools/azcopy-linux``; the binary is not executable after
install, this script copies it and sets the bit). adlfs and azcopy are skipped when absent.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20


# ---- one measurement (runs in a child process) ---------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(tool: str, source: str, container: str, account_url: str, key: str) -> dict:
    from azure.storage.blob import BlobServiceClient

    account = "devstoreaccount1"
    BlobServiceClient(account_url, credential={"account_name": account, "account_key": key}).create_container(
        container
    ) if tool != "ours-recopy" else None
    src = Path(source)
    if tool in ("ours", "ours-recopy"):
        sys.path.insert(0, str(REPO))
        from azml_jupyter.backends.blob_upload import ResumableUploader, make_blob_service

        service = make_blob_service(account_url, {"account_name": account, "account_key": key})
        uploader = ResumableUploader(service.get_container_client(container))
        start, cpu = time.perf_counter(), _cpu()
        result = uploader.upload(uploader.plan(src, "data/bench/1"))
        extra = {"bytes_uploaded": result.bytes_uploaded, "files_skipped": result.files_skipped}
    elif tool == "azure-ai-ml":
        from azure.ai.ml._artifacts._blob_storage_helper import BlobStorageClient

        client = BlobStorageClient(credential=key, account_url=account_url, container_name=container)
        start, cpu = time.perf_counter(), _cpu()
        client.upload(str(src), name="bench", version="1", show_progress=False)
        extra = {}
    elif tool == "adlfs":
        from adlfs import AzureBlobFileSystem

        conn = f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={account_url};"
        fs = AzureBlobFileSystem(connection_string=conn)
        start, cpu = time.perf_counter(), _cpu()
        if src.is_file():
            fs.put_file(str(src), f"{container}/{src.name}", max_concurrency=8)
        else:
            fs.put(str(src), f"{container}/{src.name}", recursive=True)
        extra = {}
    else:
        raise SystemExit(f"unknown tool {tool}")
    return {"seconds": time.perf_counter() - start, "cpu": _cpu() - cpu, **extra}


def measure_python(tool: str, source: Path, container: str, azurite) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        tool,
        str(source),
        container,
        azurite.account_url,
        azurite.account_key,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_azcopy(azcopy: Path, source: Path, container: str, azurite, work: Path) -> dict:
    from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

    service = BlobServiceClient(azurite.account_url, credential=azurite.credential)
    service.create_container(container)
    sas = generate_container_sas(
        azurite.account_name,
        container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, create=True, list=True, add=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2),
    )
    env = {
        **os.environ,
        "AZCOPY_LOG_LOCATION": str(work / "azcopy-logs"),
        "AZCOPY_JOB_PLAN_LOCATION": str(work / "azcopy-plans"),
        "AZCOPY_DISABLE_SYSLOG": "true",
    }
    destination = f"{azurite.account_url}/{container}/{source.name}?{sas}"
    command = [
        str(azcopy),
        "copy",
        str(source),
        destination,
        "--from-to=LocalBlob",
        "--log-level=ERROR",
        "--output-level=quiet",
    ]
    if source.is_dir():
        command.append("--recursive")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"azcopy failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {"seconds": seconds, "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}


# ---- the run ---------------------------------------------------------------------------------------------


def make_data(root: Path, big_mib: int, small_count: int, small_kib: int) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)
    big = root / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(big_mib):
            fh.write(os.urandom(MiB))
    small = root / "small"
    small.mkdir()
    for i in range(small_count):
        sub = small / f"d{i // 500:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(small_kib * 1024))
    return big, small


def warm_up(azurite) -> None:
    """A few uploads before measuring, so the first tool does not pay for Azurite's start."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite.account_url, credential=azurite.credential)
    container = service.create_container("warm-up")
    for i in range(50):
        container.upload_blob(f"w{i}", os.urandom(64 * 1024))
    container.upload_blob("big", os.urandom(32 * MiB), max_concurrency=4)


def find_azcopy(explicit: str | None, work: Path) -> Path | None:
    candidates = [Path(explicit)] if explicit else []
    candidates += list(Path("/tmp/azcopy-bench").glob("node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy*"))
    if shutil.which("azcopy"):
        candidates.append(Path(shutil.which("azcopy")))
    for candidate in candidates:
        if candidate.is_file():
            runnable = work / "azcopy"
            shutil.copy2(candidate, runnable)
            runnable.chmod(0o755)  # the npm package ships it without the executable bit
            return runnable
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--small-kib", type=int, default=20)
    parser.add_argument("--azcopy", help="path of the azcopy binary (default: /tmp/azcopy-bench npm install)")
    parser.add_argument("--tools", default="ours,azure-ai-ml,adlfs,azcopy")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0

    sys.path.insert(0, str(REPO / "tests"))
    from azurite.fixture import _stop, start_azurite

    tools = args.tools.split(",")
    work = Path(tempfile.mkdtemp(prefix="azml-bench-"))
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        print(f"data: {args.big_mib} MiB file, {args.small} x {args.small_kib} KiB files in {work}", file=sys.stderr)
        big, small = make_data(work / "data", args.big_mib, args.small, args.small_kib)
        azcopy = find_azcopy(args.azcopy, work) if "azcopy" in tools else None
        have_adlfs = subprocess.run([sys.executable, "-c", "import adlfs"], capture_output=True).returncode == 0
        azurite, process = start_azurite(work / "azurite")
        try:
            warm_up(azurite)
            for run in range(args.runs):
                order = tools[run % len(tools) :] + tools[: run % len(tools)]  # nobody always goes first
                for dataset, source in (("1 GiB file", big), ("small files", small)):
                    for tool in order:
                        if (tool == "adlfs" and not have_adlfs) or (tool == "azcopy" and azcopy is None):
                            continue
                        container = f"b{uuid.uuid4().hex[:16]}"
                        if tool == "azcopy":
                            got = measure_azcopy(azcopy, source, container, azurite, work)
                        else:
                            got = measure_python(tool, source, container, azurite)
                        results.setdefault((dataset, tool), []).append(got)
                        print(f"run {run + 1} {dataset:11s} {tool:12s} {got['seconds']:7.2f} s", file=sys.stderr)
                        if tool == "ours":
                            again = measure_python("ours-recopy", source, container, azurite)
                            assert again["bytes_uploaded"] == 0, again
                            results.setdefault((dataset, "ours re-copy"), []).append(again)
                            print(
                                f"run {run + 1} {dataset:11s} re-copy      {again['seconds']:7.2f} s", file=sys.stderr
                            )
        finally:
            _stop(process)
        table = render(results, args, azcopy)
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def render(results: dict, args, azcopy: Path | None) -> str:
    def version(package: str) -> str:
        try:
            from importlib.metadata import version as v

            return v(package)
        except Exception:
            return "-"

    az_version = "-"
    if azcopy is not None:
        out = subprocess.run([str(azcopy), "--version"], capture_output=True, text=True).stdout.strip()
        az_version = out.split()[-1] if out else "-"
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} vCPU, Python {platform.python_version()}, "
        f"azure-storage-blob {version('azure-storage-blob')}, azure-ai-ml {version('azure-ai-ml')}, "
        f"adlfs {version('adlfs')}, azcopy {az_version}; Azurite {args.runs} run(s) each, median (min-max) "
        "seconds of the upload call, client CPU seconds.",
        "",
        "| data | tool | seconds | throughput | client CPU s | vs ours |",
        "|---|---|---|---|---|---|",
    ]
    for dataset in ("1 GiB file", "small files"):
        ours = statistics.median(r["seconds"] for r in results.get((dataset, "ours"), [{"seconds": float("nan")}]))
        for tool in ("ours", "ours re-copy", "azure-ai-ml", "adlfs", "azcopy"):
            runs = results.get((dataset, tool))
            if not runs:
                continue
            seconds = [r["seconds"] for r in runs]
            median = statistics.median(seconds)
            if dataset == "1 GiB file":
                rate = f"{args.big_mib * MiB / median / 1e6:.0f} MB/s"
            else:
                rate = f"{args.small / median:.0f} files/s"
            cpu = statistics.median(r["cpu"] for r in runs)
            label = (
                f"{dataset} ({args.big_mib} MiB)"
                if dataset == "1 GiB file"
                else (f"{args.small} x {args.small_kib} KiB")
            )
            lines.append(
                f"| {label} | {tool} | {median:.2f} ({min(seconds):.2f}-{max(seconds):.2f}) | {rate} | {cpu:.1f} | "
                f"{median / ours:.2f}x |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
