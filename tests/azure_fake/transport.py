"""Wire the real SDK to ``FakeAzureML``, and keep every other connection from leaving the machine.

Two hooks are needed, because azure-ai-ml sends HTTP through two kinds of clients:

1. ``FakeTransport``: an azure-core ``HttpTransport`` (a ``RequestsTransport`` whose session has
   only the fake's adapter mounted), passed as ``MLClient(..., transport=FakeTransport(fake))``.
   MLClient forwards ``transport=`` to all its generated service clients and to its small HTTP
   pipeline (discovery, log files read with SAS URLs), so every ARM, API-host and log request of
   the SDK goes through it. Its ``sleep`` records the delays the retry and LRO policies ask for
   (``transport.sleeps``) instead of waiting, so a ``Retry-After: 7`` costs nothing and can still
   be asserted.

2. ``storage_hook(fake)``: the azure-storage-blob clients the SDK builds *itself* (code snapshot
   uploads, local-file data assets, ``jobs.download``, datastore listings) never see
   ``transport=``; they each create a plain azure-core ``RequestsTransport`` over a
   ``requests.Session``. The hook patches ``requests.Session.get_adapter`` so that any session
   returns the fake's adapter for URLs whose host the fake serves
   (``{account}.blob.core.windows.net`` for its storage accounts, ARM, ``*.api.azureml.ms``); all
   other URLs keep their normal adapter. This works the same on azure-ai-ml 1.28.1 and 1.35.2 (both
   use the sync requests transport of azure-storage-blob), needs no knowledge of SDK internals,
   and also covers sessions created before the hook was installed. While the hook is on, the
   storage clients' retry back-off (15 s, 18 s, ... by default) is recorded in
   ``fake.storage_sleeps`` and skipped, as with ``FakeTransport``.

Every request says which hook it came through (``RecordedRequest.via``: ``"transport"`` or
``"requests-hook"``), so a test can prove that the SDK's own clients really used ``transport=``.

``block_network()`` makes every real connection attempt outside loopback fail at once with
``NetworkBlocked``. It is deliberately *not* an ``OSError``: urllib3, requests and azure-core's
retry policies only retry ``OSError``-derived and ``AzureError`` failures, so an escaped request
fails on the first try with a message naming the host, instead of 85 s of storage retries.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import requests
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from .service import FakeAzureML

# If a client sets no read timeout, a "hang" fault gives up after this many seconds and fails the
# request loudly instead of hanging the test run.
HANG_LIMIT_SECONDS = 30.0


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host that is neither loopback nor served by the fake."""


def _read_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    # an iterable of chunks (chunked upload)
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)


class FakeServiceAdapter(HTTPAdapter):
    """A requests adapter that answers from a ``FakeAzureML`` instead of opening a socket."""

    def __init__(self, service: FakeAzureML, *, via: str) -> None:
        super().__init__(max_retries=0)
        self.service = service
        self.via = via

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        host = urllib.parse.urlsplit(request.url).hostname or ""
        if not self.service.handles_host(host):
            raise NetworkBlocked(
                f"{request.method} {request.url}: host {host!r} is not served by the fake Azure ML service "
                "(a missing route or a wrong endpoint in the code under test)"
            )
        fake = self.service.handle(
            request.method or "GET", request.url, dict(request.headers), _read_body(request.body), via=self.via
        )
        if fake.hang:
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            limit = HANG_LIMIT_SECONDS if read_timeout is None else float(read_timeout)
            self.service.hang_release.wait(limit)
            if read_timeout is None:
                raise AssertionError(
                    f"{request.method} {request.url} hung (fake 'hang' fault) and the client set no read timeout"
                )
            raise requests.exceptions.ReadTimeout(
                f"fake: {request.method} {request.url} did not answer within the read timeout ({read_timeout}s)",
                request=request,
            )
        headers = HTTPHeaderDict()
        for k, v in fake.headers.items():
            headers.add(k, v)
        if request.method != "HEAD" and "Content-Length" not in fake.headers:
            headers["Content-Length"] = str(len(fake.body))
        raw = HTTPResponse(
            body=io.BytesIO(fake.body if request.method != "HEAD" else b""),
            headers=headers,
            status=fake.status,
            reason=requests.status_codes._codes.get(fake.status, ("",))[0].replace("_", " ").title(),
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            enforce_content_length=True,
        )
        return self.build_response(request, raw)


class _FakeSession(requests.Session):
    """A session that never leaves the fake, whatever ``storage_hook`` does to ``requests.Session``."""

    def __init__(self, adapter: FakeServiceAdapter) -> None:
        super().__init__()
        self.trust_env = False  # no proxies/netrc from the environment
        self._fake_adapter = adapter
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def get_adapter(self, url: str) -> FakeServiceAdapter:  # type: ignore[override]
        return self._fake_adapter


class FakeTransport(RequestsTransport):
    """The ``transport=`` for ``MLClient``: every request is answered by ``service``.

    ``sleeps`` lists each delay azure-core asked for (retry back-off, ``Retry-After``, LRO
    polling); none is actually waited. Pass ``real_sleep=True`` to wait anyway.
    Keyword arguments such as ``read_timeout`` and ``connection_timeout`` are azure-core's.
    """

    def __init__(self, service: FakeAzureML, *, real_sleep: bool = False, **kwargs: Any) -> None:
        self.service = service
        self.real_sleep = real_sleep
        self.sleeps: list[float] = []
        super().__init__(
            session=_FakeSession(FakeServiceAdapter(service, via="transport")), session_owner=False, **kwargs
        )

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)
        if self.real_sleep:
            super().sleep(duration)


@contextlib.contextmanager
def storage_hook(service: FakeAzureML, *, skip_retry_sleeps: bool = True) -> Iterator[FakeServiceAdapter]:
    """Route every ``requests`` session's calls to the fake's hosts into ``service``.

    Covers the azure-storage-blob clients that azure-ai-ml builds without ``transport=``.
    """
    adapter = FakeServiceAdapter(service, via="requests-hook")
    original_get_adapter = requests.Session.get_adapter
    # HttpTransport.sleep (time.sleep) is what RequestsTransport and azure-storage-blob's
    # TransportWrapper inherit; FakeTransport has its own.
    original_sleep = HttpTransport.sleep

    def get_adapter(self: requests.Session, url: str) -> Any:
        host = urllib.parse.urlsplit(url).hostname or ""
        if service.handles_host(host):
            return adapter
        return original_get_adapter(self, url)

    def sleep(self: HttpTransport, duration: float) -> None:
        service.storage_sleeps.append(duration)

    requests.Session.get_adapter = get_adapter  # type: ignore[method-assign]
    if skip_retry_sleeps:
        HttpTransport.sleep = sleep  # type: ignore[method-assign]
    try:
        yield adapter
    finally:
        requests.Session.get_adapter = original_get_adapter  # type: ignore[method-assign]
        HttpTransport.sleep = original_sleep  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# Socket blocker
# ------------------------------------------------------------------------------------------------

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_loopback_host(host: Any) -> bool:
    if host is None or host == "":
        return True  # getaddrinfo(None, port): a local bind
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _address_allowed(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if isinstance(address, tuple) and address:
        return _is_loopback_host(address[0])
    return False


@contextlib.contextmanager
def block_network() -> Iterator[None]:
    """Fail fast on any connection or name lookup that is not loopback (or a unix socket)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    lock = threading.Lock()

    def connect(self: socket.socket, address: Any) -> Any:
        if not _address_allowed(self.family, address):
            raise NetworkBlocked(f"test tried to connect to {address!r}; only loopback is allowed")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _address_allowed(self.family, address):
            raise NetworkBlocked(f"test tried to connect to {address!r}; only loopback is allowed")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback_host(host):
            raise NetworkBlocked(f"test tried to resolve {host!r}; only loopback is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not _is_loopback_host(host):
            raise NetworkBlocked(f"test tried to resolve {host!r}; only loopback is allowed")
        return real_gethostbyname(host)

    with lock:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        socket.gethostbyname = gethostbyname  # type: ignore[assignment]
    try:
        yield
    finally:
        with lock:
            socket.socket.connect = real_connect  # type: ignore[method-assign]
            socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
            socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
            socket.gethostbyname = real_gethostbyname  # type: ignore[assignment]


__all__ = [
    "FakeServiceAdapter",
    "FakeTransport",
    "NetworkBlocked",
    "block_network",
    "storage_hook",
]
