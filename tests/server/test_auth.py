"""Every route of the route table answers 403 without a (valid) token, for every method it serves."""

from __future__ import annotations

import re

import pytest
from jupyter_server.utils import url_path_join

from azml_jupyter.server.handlers import ROUTES

METHODS = ("get", "post", "put", "delete")


def route_calls() -> list[tuple[str, str]]:
    calls = []
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "some_name", pattern)
        for method in METHODS:
            if method in vars(handler) or any(method in vars(base) for base in handler.__mro__[1:2]):
                calls.append((method.upper(), path))
    return calls


def test_the_route_list_covers_every_handler_method():
    calls = route_calls()
    assert len({path for _, path in calls}) == len(ROUTES)
    assert ("PUT", "computes/some_name") in calls and ("DELETE", "operations/some_name") in calls
    assert len(calls) >= 17


@pytest.mark.parametrize("method, path", route_calls())
@pytest.mark.parametrize("authorization", [None, "token not-the-token"])
async def test_every_route_refuses_requests_without_a_valid_token(
    http_server_client, jp_base_url, jp_serverapp, method, path, authorization
):
    headers = {"Authorization": authorization} if authorization else {}
    response = await http_server_client.fetch(
        url_path_join(jp_base_url, "azml", path),
        method=method,
        headers=headers,
        body=b"{}" if method in ("POST", "PUT") else None,
        allow_nonstandard_methods=True,
        raise_error=False,
    )
    assert response.code == 403, (method, path, response.code, response.body)
    assert b"some_name" not in (response.body or b""), "no backend call was made"
