"""REST handlers under ``/azml/``. Each reads as: parse -> call the backend (in the worker pool) -> write.

THE CONTRACT every route follows (paths, bodies, statuses) is ``docs/rest-contract.md``.

Errors are mapped in exactly one place (``AzmlHandler.write_error``): a domain error becomes its HTTP
status with ``{"error", "message", "details"}``; anything else is a 500 with a generic message (the
traceback goes to the server log, never to the browser).
"""

from __future__ import annotations

import json
from typing import Any, Callable

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import AzmlError, InvalidRequest
from ..models import Record, status_table


class AzmlHandler(APIHandler):
    @property
    def azml(self):
        return self.settings["azml"]

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a backend method in the worker pool."""

        def invoke() -> Any:
            return getattr(self.azml.get_backend(), method)(*args, **kwargs)

        return await self.azml.run(invoke)

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.azml.run(function, *args, **kwargs)

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError as exc:
            raise InvalidRequest(f"The request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return body

    def write_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(_plain(value)))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, AzmlError):
            self.set_status(exc.status)
            body = exc.to_dict()
        elif isinstance(exc, tornado.web.HTTPError):
            body = {"error": "http_error", "message": exc.log_message or self._reason, "details": None}
        else:
            body = {
                "error": "internal_error",
                "message": "Unexpected server error; the Jupyter server log has the details.",
                "details": None,
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, AzmlError) and value.status < 500:
            self.log.info("%s %s -> %s %s", self.request.method, self.request.uri, value.status, value.message)
            return
        super().log_exception(typ, value, tb)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class WorkspaceHandler(AzmlHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await self.call("workspace"))


class StatusesHandler(AzmlHandler):
    """The job states in lifecycle order with their display category and colour (one source for the UI)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json({"statuses": status_table()})


ROUTES: list[tuple[str, type[AzmlHandler]]] = [
    ("workspace", WorkspaceHandler),
    ("statuses", StatusesHandler),
]


def route_table(base_url: str = "/") -> list[tuple[str, type[AzmlHandler]]]:
    """Every route of the extension, in one list (ExtensionApp prefixes the server's base_url)."""
    return [(url_path_join("/azml", path), handler) for path, handler in ROUTES]
