"""The HTTP transport under every backend's httpx client: aiohttp's C parser (the httpx-aiohttp
package) once it is loaded, httpx's own before that or when it is not installed.

Why: httpx's own transport (httpcore + h11) hands a streamed body over one HTTP chunk at a time,
and a server streams one chunk per token; aiohttp hands over every byte it has read. For the
bench's 2,000-chunk burst the host's backend took ~80 ms of CPU on httpx's own, ~27 ms on aiohttp.

Importing aiohttp takes 100-300 ms, which the first answer must not wait for (nor share the GIL
with): the engine calls `load()` in a worker thread once the host is idle after its start, and
each client's `Transport` sends its requests through aiohttp from then on. A response already
streaming finishes where it started. Both transports raise the same httpx errors (`_mapped`), so
base.py reads failures the same way whatever carried the request.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from types import ModuleType

import httpx

log = logging.getLogger("hybrid")

_fast: ModuleType | None = None  # httpx_aiohttp, once loaded
_why_not = "not loaded yet"  # why requests go through httpx's own transport


def load() -> bool:
    """Import aiohttp's transport (blocking: call it from a worker thread). False when the
    httpx-aiohttp package is not installed; requests then stay on httpx's own transport."""
    global _fast, _why_not
    if _fast is None:
        try:
            import httpx_aiohttp
        except ImportError:
            _why_not = "httpx-aiohttp is not installed"
            log.info("HTTP: httpx's own transport: %s", _why_not)
            return False
        except Exception as e:  # a broken install: streaming still works, more slowly
            _why_not = f"httpx-aiohttp could not be loaded: {type(e).__name__}: {e}"
            log.warning("HTTP: httpx's own transport: %s", _why_not)
            return False
        _fast = httpx_aiohttp
        log.info("HTTP: aiohttp's transport is loaded")
    return True


def in_use() -> str:
    """Which transport new requests take, for :checkhealth."""
    return "aiohttp (httpx-aiohttp)" if _fast is not None else f"httpx's own ({_why_not})"


class Transport(httpx.AsyncBaseTransport):
    """httpx's own transport until aiohttp's is loaded, then aiohttp's, with the same TLS context
    and the same errors."""

    def __init__(self, tls: ssl.SSLContext):
        self._tls = tls
        self._own = httpx.AsyncHTTPTransport(verify=tls, trust_env=False)  # as httpx.AsyncClient makes it
        self._aiohttp: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _fast is None:
            return await self._own.handle_async_request(request)
        if self._aiohttp is None:
            self._aiohttp = _fast.AiohttpTransport(verify=self._tls, trust_env=False)
        with _mapped():
            response = await self._aiohttp.handle_async_request(request)
        response.stream = _MappedStream(response.stream)
        return response

    async def aclose(self) -> None:
        await self._own.aclose()
        if self._aiohttp is not None:
            with contextlib.suppress(Exception):
                await self._aiohttp.aclose()


class _MappedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream):
        self._stream = stream

    async def __aiter__(self):
        with _mapped():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _mapped():
            await self._stream.aclose()


@contextlib.contextmanager
def _mapped():
    """aiohttp's failures as the httpx errors httpx's own transport raises for the same thing
    (httpx-aiohttp maps a refused connection to ConnectTimeout, a dropped one to ConnectTimeout,
    and leaves a malformed response unmapped)."""
    import aiohttp

    try:
        yield
    except (httpx.TransportError, aiohttp.ClientError) as e:
        cause = e.__cause__ if isinstance(e, httpx.TransportError) else e
        if not isinstance(cause, aiohttp.ClientError):
            raise
        text = str(cause) or type(cause).__name__
        if isinstance(cause, aiohttp.ConnectionTimeoutError):
            raise httpx.ConnectTimeout(text) from cause
        if isinstance(cause, aiohttp.ServerTimeoutError):  # no byte for read_timeout
            raise httpx.ReadTimeout(text) from cause
        if isinstance(cause, aiohttp.ClientConnectorError):  # refused, unknown host, TLS refused
            raise httpx.ConnectError(text) from cause
        if isinstance(cause, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)):
            raise httpx.ReadError(text) from cause
        raise httpx.RemoteProtocolError(text) from cause
