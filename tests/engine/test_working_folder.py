"""The job's working folder as Azure ML prepares it (issue 15, item 1): ./outputs and ./logs exist
before the command starts, so `open("outputs/x.txt", "w")` works without a makedirs; what the job writes
there becomes its default ("artifacts") output."""

from __future__ import annotations

import json


def test_outputs_and_logs_exist_before_the_command_starts(jobs, workspace, tmp_path):
    record = jobs.submit(
        """\
        command: >-
          python -c "import os; print('ready', os.path.isdir('outputs'), os.path.isdir('logs'));
          open('outputs/message.txt', 'w').write('written'); open('logs/extra.log', 'w').write('log')"
        environment: azureml:AzureML-sklearn-1.5@latest
        """
    )
    done = jobs.wait(record.name)
    assert done.status.value == "Completed", (done.error, jobs.log(record.name))
    assert "ready True True" in jobs.log(record.name)
    artifacts = workspace.output_locations(record.name)["default"]
    assert (artifacts / "outputs" / "message.txt").read_text() == "written"
    assert (artifacts / "logs" / "extra.log").read_text() == "log"


def test_a_job_that_writes_nothing_there_still_completes(jobs):
    record = jobs.submit(
        """\
        command: python -c "print(42)"
        environment: azureml:AzureML-sklearn-1.5@latest
        """
    )
    done = jobs.wait(record.name)
    assert done.status.value == "Completed" and "42" in jobs.log(record.name)
    assert json.dumps(done.to_dict())  # a plain record
