"""Where everything of a local workspace lives on disk. One place, so nobody builds paths by hand.

<home>/workspace.db                     SQLite store (jobs, computes, data assets, operations)
<home>/engine.lock, engine.pid          the scheduler daemon's single-instance lock and pid
<home>/engine.log                       the daemon's own log
<home>/datastores/<datastore>/<path>    what azureml://datastores/<datastore>/paths/<path> means here
<home>/objects/<sha>                    content-addressed file store behind data assets
<home>/jobs/<name>/snapshot             the code folder as it was at submission
<home>/jobs/<name>/wd                   the job's working directory (a copy of the snapshot)
<home>/jobs/<name>/exit_code            written by the job's wrapper shell when the command ends
<home>/jobs/<name>/not_started          written by a wrapper shell whose daemon died before it said "go"
artifacts of a job (its "default" output: outputs/, logs/, user_logs/std_log.txt) live where Azure ML
keeps them: datastores/workspaceartifactstore/ExperimentRun/dcid.<name>
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATASTORE = "workspaceblobstore"
ARTIFACT_DATASTORE = "workspaceartifactstore"
DATASTORES = (DEFAULT_DATASTORE, ARTIFACT_DATASTORE, "workspacefilestore", "workspaceworkingdirectory")


def default_home() -> Path:
    """``$AZML_JUPYTER_HOME``, else ``<jupyter data dir>/azml_jupyter/workspace``."""
    configured = os.environ.get("AZML_JUPYTER_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "azml_jupyter" / "workspace"


@dataclass(frozen=True)
class Layout:
    home: Path

    @property
    def database(self) -> Path:
        return self.home / "workspace.db"

    @property
    def engine_lock(self) -> Path:
        return self.home / "engine.lock"

    @property
    def engine_pid(self) -> Path:
        return self.home / "engine.pid"

    @property
    def engine_log(self) -> Path:
        return self.home / "engine.log"

    @property
    def objects(self) -> Path:
        return self.home / "objects"

    @property
    def staging(self) -> Path:
        """Partial copies (resumable) before they become objects."""
        return self.home / "staging"

    def datastore(self, name: str) -> Path:
        return self.home / "datastores" / name

    def job_dir(self, name: str) -> Path:
        return self.home / "jobs" / name

    def snapshot(self, name: str) -> Path:
        return self.job_dir(name) / "snapshot"

    def working_dir(self, name: str) -> Path:
        return self.job_dir(name) / "wd"

    def exit_code_file(self, name: str) -> Path:
        return self.job_dir(name) / "exit_code"

    def not_started_file(self, name: str) -> Path:
        return self.job_dir(name) / "not_started"

    def artifacts(self, name: str) -> Path:
        return self.datastore(ARTIFACT_DATASTORE) / "ExperimentRun" / f"dcid.{name}"

    def std_log(self, name: str) -> Path:
        return self.artifacts(name) / "user_logs" / "std_log.txt"

    def create(self) -> None:
        for folder in (self.home, self.objects, self.staging, self.home / "jobs"):
            folder.mkdir(parents=True, exist_ok=True)
        for store in DATASTORES:
            self.datastore(store).mkdir(parents=True, exist_ok=True)
