"""REST handlers under ``/azml/``. Each reads as: parse -> call the backend (in the worker pool) -> write.

THE CONTRACT every route follows (paths, bodies, statuses) is ``docs/rest-contract.md``; the OpenAPI
document of the same routes is ``openapi.json`` next to this file (a test keeps the two in step with
``ROUTES`` below), and ``docs/rest-api.md`` explains the decisions.

Errors are mapped in exactly one place (``AzmlHandler.write_error``): a domain error becomes its HTTP
status with ``{"error", "message", "details"}``; anything else is a 500 with a generic message (the
traceback goes to the server log, never to the browser).

Nothing here blocks the event loop: backend calls, disk work and JSON encoding of large pages run in
the extension's bounded worker pool (``AzmlJupyter.run``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.iostream import StreamClosedError

from ..backends.base import ComputeRequest
from ..errors import AzmlError, Forbidden, InvalidRequest, PayloadTooLarge
from ..models import Record, status_table
from ..spec.names import check_name
from . import submissions
from .paths import RootPaths
from .redaction import redact_uri

OPENAPI_FILE = Path(__file__).with_name("openapi.json")
AUTH_RESOURCE = "azml"

# Server-Sent Events: how often a running job's log is read, and how often an idle stream says it lives
LOG_POLL_SECONDS = 0.1
KEEPALIVE_SECONDS = 15.0
CATCH_UP_BYTES = 256 << 10  # a chunk this big means more is waiting: no pause before the next read
# Request bodies (docs/rest-api.md): a job file inline, a copy-in or compute request. Bigger is refused
# (413) before it is parsed or stored; bodies over PARSE_ON_LOOP_BYTES are parsed in the worker pool.
MAX_BODY_BYTES = 1 << 20
PARSE_ON_LOOP_BYTES = 64 << 10


class AzmlHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def azml(self):
        return self.settings["azml"]

    @property
    def paths(self) -> RootPaths:
        """The Jupyter root, with the contents manager's rule for hidden files."""
        manager = self.settings.get("contents_manager")
        root = self.settings.get("server_root_dir") or getattr(manager, "root_dir", None) or os.getcwd()
        return RootPaths(root, allow_hidden=bool(getattr(manager, "allow_hidden", False)))

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a backend method in the worker pool."""

        def invoke() -> Any:
            return getattr(self.azml.get_backend(), method)(*args, **kwargs)

        return await self.azml.run(invoke)

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.azml.run(function, *args, **kwargs)

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # authentication first: a stranger learns nothing of the limits
        if len(self.request.body or b"") > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"The request body is {len(self.request.body) // 1024} KiB; the limit is {MAX_BODY_BYTES // 1024} "
                "KiB. Put large job files next to the notebook and submit them by path.",
                details={"limit_bytes": MAX_BODY_BYTES},
            )

    async def json_body(self, allowed: set[str] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
        """The request body as a JSON object; unknown fields (typos) and missing ones are 400s. A large
        body is parsed in the worker pool, not on the event loop."""
        body: Any = {}
        if self.request.body:
            raw = self.request.body
            body = await self.run(_parse_json, raw) if len(raw) > PARSE_ON_LOOP_BYTES else _parse_json(raw)
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        if allowed is not None:
            unknown = sorted(set(body) - allowed)
            if unknown:
                raise InvalidRequest(f"Unknown field(s): {', '.join(unknown)}.", details={"fields": unknown})
        missing = [key for key in required if body.get(key) is None]
        if missing:
            raise InvalidRequest(f"Missing field(s): {', '.join(missing)}.", details={"fields": missing})
        return body

    def write_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(value if isinstance(value, (bytes, str)) else json.dumps(_plain(value)))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, AzmlError):
            self.set_status(exc.status)
            body = exc.to_dict()
        elif isinstance(exc, tornado.web.HTTPError):
            code = {400: "invalid_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
            body = {"error": code.get(status_code, "http_error"), "message": exc.log_message or self._reason,
                    "details": None}
        else:
            body = {
                "error": "internal_error",
                "message": "Unexpected server error; the Jupyter server log has the details.",
                "details": None,
            }
        self.clear_header("Etag")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, AzmlError) and value.status < 500:
            self.log.info("%s %s -> %s %s", self.request.method, redact_uri(self.request.uri), value.status,
                          value.message)
            return
        super().log_exception(typ, value, tb)

    def _request_summary(self) -> str:
        # tornado's summary in its own warning and "Uncaught exception" lines: without the token
        return f"{self.request.method} {redact_uri(self.request.uri)} ({self.request.remote_ip})"

    def created(self, location: str) -> None:
        self.set_header("Location", url_path_join(self.base_url, "azml", location))


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply to be a request of this API.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _int_field(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f"{key} must be a whole number >= 0.", details={"field": key})
    return value


def _str_field(body: dict[str, Any], key: str, choices: tuple[str, ...] | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string.", details={"field": key})
    if choices is not None and value not in choices:
        raise InvalidRequest(f"{key} must be one of {', '.join(choices)}.", details={"field": key})
    return value


# ---- workspace and computes ---------------------------------------------------------------------
class WorkspaceHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call("workspace"))


class StatusesHandler(AzmlHandler):
    """The job states in lifecycle order with their display category and colour (one source for the UI)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"statuses": status_table()})


class ComputesHandler(AzmlHandler):
    """The clusters, with an ETag: the panel polls them beside the jobs (a compute changed by the CLI or
    the sizing widget shows up), and an unchanged list costs a 304 with no body."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        def listing() -> tuple[bytes, str]:
            body = json.dumps(_plain({"computes": self.azml.get_backend().list_computes()})).encode()
            return body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'

        body, etag = await self.run(listing)
        self.set_header("Etag", etag)
        self.set_header("Cache-Control", "no-cache")
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.write_json(body)


class SizesHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"sizes": await self.call("list_sizes")})


class UsageHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"usage": await self.call("list_usage")})


class RecommendHandler(AzmlHandler):
    """Sizing advice for the panel: the ClusterSizer widget's ranking (``sizing.advice``)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from ..sizing.advice import advise, parse_query

        query = parse_query({key: self.get_query_arguments(key) for key in self.request.query_arguments})
        paths = self.paths

        def work():
            data = paths.resolve(query.data, field="data", must_exist=True) if query.data else None
            backend = self.azml.get_backend()
            return advise(backend, query.request, data_path=data, asset=query.asset, compute=query.compute)

        self.write_json(await self.run(work))


class ComputeHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def put(self, name: str) -> None:
        body = await self.json_body({"size", "min_nodes", "max_nodes", "idle_seconds", "tier"})
        request = ComputeRequest(
            name=check_name("compute", name),
            size=_str_field(body, "size"),
            min_nodes=_int_field(body, "min_nodes"),
            max_nodes=_int_field(body, "max_nodes"),
            idle_seconds=_int_field(body, "idle_seconds"),
            tier=_str_field(body, "tier", ("dedicated", "low_priority")),
        )
        operation = await self.call("create_or_update_compute", request)
        self.created(f"operations/{operation.id}")
        self.write_json(operation, status=202)


# ---- data ---------------------------------------------------------------------------------------
class DataHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"data": await self.call("list_data")})

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.json_body({"path", "name", "type", "version", "description"}, required=("path", "name"))
        name = check_name("data asset", body["name"])
        version = body.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if version is not None:
            check_name("data asset version", version)
        kind = _str_field(body, "type", ("uri_file", "uri_folder"))
        description = _str_field(body, "description")
        paths = self.paths

        def start():
            source = paths.resolve(body["path"], must_exist=True)
            if source.is_dir():
                paths.check_tree(source)
            return self.azml.get_backend().copy_in(
                source, name, type=kind, version=version, description=description
            )

        operation = await self.run(start)
        self.created(f"operations/{operation.id}")
        self.write_json(operation, status=202)


class OperationHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, operation_id: str) -> None:
        self.write_json(await self.call("get_operation", operation_id))

    @tornado.web.authenticated
    @authorized
    async def delete(self, operation_id: str) -> None:
        self.write_json(await self.call("cancel_operation", operation_id))


# ---- jobs ---------------------------------------------------------------------------------------
class JobsHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        limit_text = self.get_query_argument("limit", "50")
        try:
            limit = int(limit_text)
        except ValueError:
            raise InvalidRequest(f"limit must be a whole number, not {limit_text!r}.") from None
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000.", details={"field": "limit"})
        query = {
            "status": self.get_query_arguments("status") or None,
            "experiment": self.get_query_argument("experiment", None) or None,
            "parent": self.get_query_argument("parent", None) or None,
            "limit": limit,
            "cursor": self.get_query_argument("cursor", None) or None,
        }

        def page() -> tuple[bytes, str]:
            body = json.dumps(self.azml.get_backend().list_jobs(**query).to_dict()).encode()
            return body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'

        body, etag = await self.run(page)
        self.set_header("Etag", etag)
        self.set_header("Cache-Control", "no-cache")  # browsers revalidate; the panel sends If-None-Match
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.write_json(body)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.json_body()
        kind, name = submissions.parse_request(body)
        paths = self.paths

        def submit():
            job = submissions.build_job(kind, body, paths)
            return self.azml.get_backend().submit(job, name=name)

        record = await self.run(submit)
        self.created(f"jobs/{record.name}")
        self.write_json(record, status=201)


class JobHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.write_json(await self.call("get_job", name))


class CancelHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        await self.json_body(set())
        self.write_json(await self.call("cancel_job", name), status=202)


class OutputsHandler(AzmlHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.write_json({"outputs": await self.call("list_outputs", name)})


class DownloadHandler(AzmlHandler):
    """Outputs into a folder under the root, laid out like ``az ml job download``. The backend writes
    into a fresh hidden staging folder beside the destination; the files then move into place through
    ``RootPaths.place_tree`` (never through a link), or not at all."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = await self.json_body({"path", "output"}, required=("path",))
        output = _str_field(body, "output")
        paths = self.paths

        def download() -> list[str]:
            backend = self.azml.get_backend()
            backend.get_job(name)  # 404 before anything touches the disk
            destination = paths.resolve(body["path"])
            if destination.exists() and not destination.is_dir():
                raise InvalidRequest(f"path {body['path']!r} is a file, not a folder.", code="path_conflict")
            if getattr(backend, "kind", None) == "local":  # never write into the workspace's own files
                home = Path(os.path.realpath(backend.workspace().home))
                if destination == home or home in destination.parents:
                    raise Forbidden(
                        f"path {body['path']!r} is inside the local workspace's own folder.",
                        code="workspace_folder",
                    )
            anchor = destination
            while not anchor.exists():  # the nearest existing folder: same filesystem, so files just move
                anchor = anchor.parent
            if not anchor.is_dir():
                raise InvalidRequest(
                    f"path {body['path']!r} goes through {paths.relative(anchor)!r}, which is a file.",
                    code="path_conflict",
                )
            staging = Path(tempfile.mkdtemp(prefix=".azml-download-", dir=anchor))
            try:
                backend.download(name, staging, output=output)
                placed = paths.place_tree(staging, destination)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return [paths.relative(p) for p in placed]

        self.write_json({"files": await self.run(download)})


class LogsHandler(AzmlHandler):
    """``text/event-stream`` of a job's log (``docs/rest-api.md``): ``log`` events whose ``id`` is the
    byte offset after them, ``status`` events on changes, and a final ``end``. Resumes from
    ``Last-Event-ID`` (or ``?offset=``), so a reconnecting client gets no line twice and none missing."""

    _closed = False

    def on_connection_close(self) -> None:
        self._closed = True

    def compute_etag(self) -> None:  # a stream has no cacheable body
        return None

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        offset = self._start_offset()
        chunk = await self.call("read_logs", name, offset)  # 404 / 400 as JSON, before the stream starts
        # Per client address: with token authentication jupyter_server names each request's user anew.
        with self.azml.log_streams.hold(self.request.remote_ip or "?"):  # 429 as JSON, before the stream starts
            await self._stream(name, chunk)

    async def _stream(self, name: str, chunk: Any) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # nginx and friends: do not buffer the stream
        status = None
        last_write = time.monotonic()
        read_seconds = 0.0
        try:
            while not self._closed:
                parts = []
                if chunk.status != status:
                    status = chunk.status
                    parts.append(_event("status", json.dumps({"status": status})))
                if chunk.text:
                    parts.append(_event("log", chunk.text, event_id=str(chunk.next_offset)))
                if chunk.complete:
                    parts.append(_event("end", json.dumps({"status": chunk.status})))
                if not parts and time.monotonic() - last_write >= KEEPALIVE_SECONDS:
                    parts.append(": keep-alive\n\n")
                if parts:
                    self.write("".join(parts))
                    await self.flush()
                    last_write = time.monotonic()
                if chunk.complete:
                    break
                # Catching up on a long log: read on at once. Following a running job: wait, and ask a
                # backend whose reads are slow (a remote service) no more often than it answers.
                if chunk.next_offset - chunk.offset < CATCH_UP_BYTES:
                    await asyncio.sleep(max(LOG_POLL_SECONDS, read_seconds))
                if self._closed:
                    break
                started = time.monotonic()
                try:
                    chunk = await self.call("read_logs", name, chunk.next_offset)
                except AzmlError as exc:  # the stream has started: report in-band, then stop
                    self.write(_event("error", json.dumps(exc.to_dict())))
                    break
                read_seconds = time.monotonic() - started
        except StreamClosedError:
            return
        if not self._closed:
            self.finish(set_content_type="text/event-stream; charset=utf-8")

    def _start_offset(self) -> int:
        text = self.request.headers.get("Last-Event-ID") or self.get_query_argument("offset", None) or "0"
        if not re.fullmatch(r"[0-9]{1,18}", text):  # ASCII digits ("²".isdigit() is true) of a 64-bit offset
            raise InvalidRequest(f"Last-Event-ID / offset must be a byte offset (a whole number), not {text[:40]!r}.")
        return int(text)


def _event(kind: str, text: str, event_id: str | None = None) -> str:
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head + _data_lines(text) + "\n"


def _data_lines(text: str) -> str:
    """One ``data:`` line per log line; a client joins them with newlines (the SSE rule)."""
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    return "".join(f"data: {line}\n" for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


# ---- the OpenAPI document -----------------------------------------------------------------------
class OpenAPIHandler(AzmlHandler):
    _document: dict[str, Any] | None = None

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        if OpenAPIHandler._document is None:
            OpenAPIHandler._document = await self.run(lambda: json.loads(OPENAPI_FILE.read_text(encoding="utf-8")))
        document = dict(OpenAPIHandler._document)
        document["servers"] = [{"url": self.base_url.rstrip("/") or "/"}]
        self.write_json(document)


ROUTES: list[tuple[str, type[AzmlHandler]]] = [
    ("workspace", WorkspaceHandler),
    ("statuses", StatusesHandler),
    ("computes", ComputesHandler),
    ("computes/sizes", SizesHandler),
    ("computes/usage", UsageHandler),
    ("computes/recommend", RecommendHandler),
    (r"computes/(?P<name>[^/]+)", ComputeHandler),
    ("data", DataHandler),
    (r"operations/(?P<operation_id>[^/]+)", OperationHandler),
    ("jobs", JobsHandler),
    (r"jobs/(?P<name>[^/]+)", JobHandler),
    (r"jobs/(?P<name>[^/]+)/cancel", CancelHandler),
    (r"jobs/(?P<name>[^/]+)/logs", LogsHandler),
    (r"jobs/(?P<name>[^/]+)/outputs", OutputsHandler),
    (r"jobs/(?P<name>[^/]+)/download", DownloadHandler),
    ("openapi.json", OpenAPIHandler),
]


def route_table(base_url: str = "/") -> list[tuple[str, type[AzmlHandler]]]:
    """Every route of the extension, in one list (ExtensionApp prefixes the server's base_url)."""
    return [(url_path_join("/azml", path), handler) for path, handler in ROUTES]
