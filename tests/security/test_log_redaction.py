"""Credentials in a request's query string never reach the server log (issue 13, item 9)."""

from __future__ import annotations

import logging

import pytest

from azml_jupyter.server.redaction import REDACTED, redact_uri

SECRET = "0123456789abcdefSECRET"


@pytest.mark.parametrize(
    "uri",
    [
        f"/azml/jobs/j/logs?token={SECRET}",
        f"/azml/jobs/j/logs?offset=5&token={SECRET}",
        f"/azml/jobs/j/logs?TOKEN={SECRET}&offset=5",
        f"/azml/data?access_token={SECRET}",
        f"/x?sig={SECRET}&se=2026-01-01",
        f"/x?code={SECRET}&state={SECRET}",
        f"/x?_xsrf={SECRET}",
        f"/x?api_key={SECRET}",
        f"/x?password={SECRET}",
        f"/x?token={SECRET}&token={SECRET}",
        f"/x?token=%30{SECRET}",
    ],
)
def test_credential_parameters_are_redacted(uri):
    cleaned = redact_uri(uri)
    assert SECRET not in cleaned and REDACTED in cleaned


def test_other_parameters_stay():
    assert redact_uri("/azml/jobs?status=Running&cursor=20") == "/azml/jobs?status=Running&cursor=20"
    assert redact_uri("/azml/jobs") == "/azml/jobs"
    assert redact_uri("/azml/jobs/j/logs?offset=10&token=x") == "/azml/jobs/j/logs?offset=10&token=[redacted]"


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def server_log(jp_serverapp):
    records = _Records()
    loggers = [jp_serverapp.log, logging.getLogger("tornado.access"), logging.getLogger("tornado.general")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(records)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(records)
        logger.setLevel(level)


async def test_a_refused_request_with_a_token_in_the_query_is_logged_without_it(jp_fetch, jp_serverapp, server_log):
    token = jp_serverapp.identity_provider.token  # the real token, as the EventSource fallback sends it
    assert token
    response = await jp_fetch("azml", "jobs", "no_such_job", params={"token": token}, raise_error=False)
    assert response.code == 404
    response = await jp_fetch(
        "azml",
        "jobs",
        "no_such_job",
        "logs",
        params={"offset": "x", "token": token, "sig": SECRET},
        raise_error=False,
    )
    assert response.code == 400
    ours = [line for line in server_log.lines if "no_such_job" in line and "->" in line]
    assert len(ours) == 2, server_log.lines  # the handlers' own lines for the two refusals
    leaked = [line for line in server_log.lines if token in line or SECRET in line]
    assert not leaked, leaked
