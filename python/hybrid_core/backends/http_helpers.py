"""HTTP details every backend shares: TLS contexts, URLs fit for a message, the server's own
words from an error body, Retry-After, and reading a finished stream to its end."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import json
import ssl
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..redact import clipped

MAX_ERROR_BODY = 64 * 1024
DRAIN_SECONDS = 1.0


def safe_url(url: str) -> str:
    """A URL fit for a message: no user-info, no query string (keys hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@functools.cache
def verified_tls() -> ssl.SSLContext:
    """One verifying TLS context for every https backend: reading the CA bundle takes ~25 ms."""
    return httpx.create_ssl_context(trust_env=False)


def tls_for(base_url: str) -> ssl.SSLContext:
    """An http:// backend (a local server, usually) needs no CA bundle, so the first request
    does not wait for one; its context trusts nothing, so a redirect to https fails closed."""
    if base_url.lower().startswith("https:"):
        return verified_tls()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_text(body: bytes | str, secret: str | None = None) -> str:
    """The server's own words from an error body, in any of the usual shapes. They are cut
    short, and `secret` (the key sent) is masked before the cut, so no part of it is left at the edge."""
    if isinstance(body, bytes):
        body = body[:MAX_ERROR_BODY].decode("utf-8", errors="replace")
    text = body[:MAX_ERROR_BODY].strip()
    try:
        data = json.loads(text)
    except ValueError:
        if text.lstrip().startswith("<"):
            return "an HTML page instead of an API answer"
        return clipped(" ".join(text.split()), 200, secret)
    return message_of(data, secret) or clipped(" ".join(text.split()), 200, secret)


def message_of(data, secret: str | None = None) -> str:
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            return clipped(str(err.get("message") or err.get("msg") or err.get("code") or json.dumps(err)), 300, secret)
        if isinstance(err, list) and err:
            return message_of({"error": err[0]}, secret)
        if err:
            return clipped(str(err), 300, secret)
    return ""


async def drain(items: AsyncIterator) -> None:
    """Read what is left after the server's last message (usually just the end of the chunked
    body), so that the connection goes back to the pool instead of being closed: the next
    request then skips the TCP and TLS handshakes. A body the server keeps open is not
    waited on for long, and whatever goes wrong here only costs the reuse."""
    async def rest():
        async for _ in items:
            pass

    with contextlib.suppress(Exception):
        await asyncio.wait_for(rest(), DRAIN_SECONDS)
