"""What every backend shares: the contract, the request/event types, HTTP plumbing, error mapping.

The contract. A backend type is one subclass of `Backend` in its own module, registered by its
setup.yaml `type:` name in `backends/__init__.py` (BACKEND_CLASSES). It must implement:

- `stream_events(req)`: an async generator of the wire format's events, as the server sent them:
  `Delta(text)` for each piece of the answer; `Usage(...)` once the server says what the request
  used (any field may be None: the ledger then estimates it; `cost_usd` only when the server says
  what it charged); `Finish(reason)` when the server says the answer is complete. Finish reasons
  are the server's own words, normalised to OpenAI's: "stop" (done), "length" (cut at the output
  limit: the engine says so, and :HybridAsk refuses to apply it); any other is passed on. No
  Finish at all means the stream was cut: the answer counts as incomplete.
- `list_models()`: [{"name": ..., ...}] for the :HybridModel picker; a reachability probe too.

It may override `context_length(model)`, `warm(model)`, `loaded_models()` (None: cannot say),
`auth_headers()`, `start_hint()`, `not_found(...)`, and the prompt hooks `request_options(...)` and
`cache_marked(...)`. Class attributes say what the engine may expect of the type:
`autostart_command` (what `autostart: true` runs), `preloads` (warm() loads a model, so opening
the chat warms it), `cuts_long_prompts` (the server truncates a prompt past its window without an
error: the engine checks the prompt tokens it reports), `reports_loaded_models` (:HybridStats asks).

Errors. Every failure a user can act on is raised as a `BackendError` subclass (errors.py) with a
one-line message naming the backend. Before the first Delta, ConnectError, RateLimitError
(`retry_after`) and a 5xx ServerError are retried (retry.py) and may fall back to the other side;
after text has arrived nothing is retried. Use `http_errors()`, `status_error()` and `chunks()` so
transport failures, error bodies and stalled streams read the same for every type.

`stream_chat()` wraps `stream_events()`: it repairs text split inside a surrogate pair and stops an
answer past max_answer_mb. Construction takes an optional httpx transport (tests inject a mock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from ..config import BackendConfig
from ..errors import (
    AuthError,
    BackendError,
    ConnectError,
    ModelNotFoundError,
    RateLimitError,
    ReadTimeoutError,
    ServerError,
    StreamError,
    TooLongError,
)
from ..redact import clipped
from ..streams import BodyDecoder, StreamFormatError, TextRepair
from .http_helpers import MAX_ERROR_BODY, drain, error_text, message_of, retry_after_seconds, safe_url, tls_for
from .transport import Transport

__all__ = ["MAX_ERROR_BODY", "Backend", "ChatRequest", "Delta", "Event", "Finish", "Usage", "answer_text", "drain",
           "error_text", "joined", "message_of", "retry_after_seconds", "safe_url", "tls_for"]

MAX_JSON_BODY = 16 * 1024 * 1024  # a model list, /api/show: a few hundred KB at most
TURN_SECONDS = 0.004  # a stream being decoded gives the loop a turn at least this often
BATCH_ITEMS = 16  # decoded items handed on at once (an item costs ~50-100 µs to handle)


@dataclass
class ChatRequest:
    model: str
    messages: list[dict]
    options: dict = field(default_factory=dict)


@dataclass
class Delta:
    text: str


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None


@dataclass
class Finish:
    """The server said the answer is complete (done / [DONE] / finish_reason)."""

    reason: str


Event = Delta | Usage | Finish


def joined(events: Iterable[Event]) -> Iterator[Event]:
    """`events` with each run of Deltas joined into one: a network read's tokens go on as one piece
    of text, not one trip through the engine each. Text read before a failure goes on first."""
    text: list[str] = []
    try:
        for event in events:
            if isinstance(event, Delta):
                text.append(event.text)
                continue
            if text:
                yield Delta("".join(text))
                text = []
            yield event
    except Exception:
        if text:
            yield Delta("".join(text))
        raise
    if text:
        yield Delta("".join(text))


async def answer_text(backend, req: ChatRequest, enough=None) -> str:
    """The whole text of a (short) answer; stops reading, and closes the stream, once
    `enough(text so far)` is true."""
    said = ""
    async with contextlib.aclosing(backend.stream_chat(req)) as events:
        async for event in events:
            if isinstance(event, Delta):
                said += event.text
                if enough is not None and enough(said):
                    break
    return said


class Backend:
    """One configured backend. Subclasses speak the wire format."""

    autostart_command: tuple[str, ...] | None = None  # what `autostart: true` runs when nothing answers
    preloads = False  # warm() loads the model ahead of the first request
    cuts_long_prompts = False  # the server silently truncates a prompt longer than its window
    reports_loaded_models = False  # loaded_models() can say what the server holds in memory

    def __init__(self, cfg: BackendConfig, api_key: str | None = None, key_source: str = "", *,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.cfg = cfg
        self.name = cfg.name
        self.api_key = api_key
        self.key_source = key_source
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=cfg.connect_timeout, read=cfg.read_timeout, write=30.0, pool=cfg.connect_timeout),
            # Only the encodings BodyDecoder reads a piece at a time (httpx would add br/zstd if installed).
            headers={"Accept-Encoding": "gzip, deflate", **self.auth_headers()},
            # A local backend never follows a redirect: it could carry the request, secrets and all,
            # off this machine. Cloud APIs may redirect within their service (httpx drops the key
            # on a redirect to another host).
            follow_redirects=not cfg.local,
            trust_env=False,
            # httpx's own, then aiohttp's once the host has loaded it (transport.py)
            transport=transport if transport is not None else Transport(tls_for(cfg.base_url)),
        )

    def auth_headers(self) -> dict:
        return {}

    def request_options(self, prompt_tokens: int, window: int | None) -> dict:
        """Extra fields for the request body, sized for this prompt (Ollama's num_ctx)."""
        return {}

    def cache_marked(self, messages: list[dict], model: str) -> list[dict]:
        """`messages` with the stable prefix marked for the server's prompt cache, where it has one."""
        return messages

    async def aclose(self) -> None:
        await self.client.aclose()

    async def stream_chat(self, req: ChatRequest) -> AsyncIterator[Event]:
        """The answer's events. Its text is repaired (a surrogate pair split across two events is
        joined, a lone half becomes U+FFFD) and may not pass max_answer_mb: past it the stream
        stops with one line saying so."""
        repair = TextRepair()
        size, limit = 0, int(self.cfg.max_answer_mb * 1_000_000)
        async with contextlib.aclosing(self.stream_events(req)) as events:
            async for event in events:
                if isinstance(event, Delta):
                    size += len(event.text)
                    if size > limit:
                        raise TooLongError(self.name, f"the answer passed {self.cfg.max_answer_mb:g} MB, so the rest "
                                                      f"was not read (raise backend.{self.name}.max_answer_mb)")
                    event.text = repair.feed(event.text)
                    if not event.text:
                        continue
                elif rest := repair.close():
                    yield Delta(rest)
                yield event
        if rest := repair.close():
            yield Delta(rest)

    def stream_events(self, req: ChatRequest) -> AsyncIterator[Event]:
        """The wire format's events, as the server sent them (subclasses)."""
        raise NotImplementedError

    async def list_models(self) -> list[dict]:
        raise NotImplementedError

    async def context_length(self, model: str) -> int | None:
        """The model's context window as the server reports it; None when it cannot say."""
        return None

    async def warm(self, model: str) -> None:
        """Load `model` ahead of the first request, where the server has a way to (Ollama does)."""

    async def loaded_models(self) -> list[dict] | None:
        """The models the server holds in memory; None when it cannot say."""
        return None

    @contextlib.asynccontextmanager
    async def http_errors(self, url: str):
        """Turn transport failures into the one-line errors users see."""
        try:
            yield
        except StreamFormatError as e:
            raise StreamError(self.name, f"unreadable stream from {safe_url(url)}: {e.describe(self.clip)}") from None
        except httpx.ReadTimeout:
            raise self.read_timeout(url) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            raise self.connect_error(e, url) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            # Before any answer (a cut stream is caught where it is read): a server that crashed or
            # restarted, or a proxy that dropped the request. Retried like a refused connection.
            raise ConnectError(self.name, f"{safe_url(self.cfg.base_url)} closed the connection without "
                                          "answering") from None

    def clip(self, text: str, limit: int) -> str:
        """`text` cut to `limit` characters for a message, this backend's key masked before the cut."""
        return clipped(text, limit, self.api_key)

    async def read_body(self, resp: httpx.Response, limit: int = MAX_ERROR_BODY) -> bytes:
        """The start of a body, at most `limit` bytes once decoded (an error page, a JSON answer):
        a compressed body that inflates to gigabytes is not inflated past it."""
        body = BodyDecoder(resp.headers.get("content-encoding", ""))
        out = bytearray()
        async for raw in resp.aiter_raw():
            for piece in body.pieces(raw):
                out += piece[:limit - len(out)]
                if len(out) >= limit:
                    return bytes(out)
                await asyncio.sleep(0)
        return bytes(out)

    async def get_json(self, url: str, body: dict | None = None, model: str = ""):
        """GET `url` (POST `body` when given) and decode the JSON answer."""
        method = "POST" if body is not None else "GET"
        async with self.http_errors(url), self.client.stream(method, url, json=body) as resp:
            if resp.status_code >= 300:  # 3xx: only a local backend sees one (it does not follow)
                raise self.status_error(resp, await self.read_body(resp), model)
            content = await self.read_body(resp, MAX_JSON_BODY)
        try:
            return json.loads(content)
        except ValueError:
            raise StreamError(self.name, f"{safe_url(url)} did not answer with JSON: {self.said(content)}") from None

    # -- errors a user can act on -------------------------------------------------

    def connect_error(self, exc: Exception, url: str) -> BackendError:
        where = safe_url(self.cfg.base_url)
        if isinstance(exc, httpx.ConnectTimeout):
            return ConnectError(self.name, f"no answer from {where} within {self.cfg.connect_timeout:g} s (connect_timeout)")
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            if not self.cfg.base_url.lower().startswith("https:"):
                return ConnectError(self.name, f"{where} redirected to https — put the https:// address in "
                                               f"backend.{self.name}.base_url")
            return ConnectError(self.name, f"the TLS certificate of {where} is not trusted (not signed by a known "
                                           "authority, or for another name)")
        return ConnectError(self.name, f"nothing answers at {where} — {self.start_hint()}")

    def start_hint(self) -> str:
        if self.cfg.local:
            return "is the server running?"
        return "check base_url and your network"

    def read_timeout(self, url: str) -> BackendError:
        return ReadTimeoutError(
            self.name,
            f"no data from {safe_url(url)} for {self.cfg.read_timeout:g} s — the model may still be loading; "
            f"raise backend.{self.name}.read_timeout",
        )

    async def chunks(self, resp: httpx.Response, url: str, decoder):
        """The decoded items of a streamed body, in batches. A server that keeps sending bytes but
        no whole item for read_timeout seconds (one byte a second, say) is as stuck as a silent one.

        The loop gets a turn at least every TURN_SECONDS while the body is decoded and its items
        handled: a network read of 64 KB holds ~1,000 small events, and without a turn the
        editor's 16 ms flush (and a cancel) waited for all of them. Bodies are decoded READ_BYTES
        at a time: a compressed chunk that inflates to gigabytes never sits in memory whole."""
        body = BodyDecoder(resp.headers.get("content-encoding", ""))
        last_item = last_turn = time.monotonic()
        async for chunk in resp.aiter_raw():
            for piece in body.pieces(chunk):
                items = decoder.feed(piece)
                now = time.monotonic()
                if items:
                    last_item = now
                elif now - last_item > self.cfg.read_timeout:
                    raise ReadTimeoutError(self.name, f"{safe_url(url)} sent bytes but no whole message for "
                                                      f"{self.cfg.read_timeout:g} s; raise "
                                                      f"backend.{self.name}.read_timeout if the server is just slow")
                for at in range(0, max(len(items), 1), BATCH_ITEMS):
                    if time.monotonic() - last_turn >= TURN_SECONDS:
                        await asyncio.sleep(0)
                        last_turn = time.monotonic()
                    if items:
                        yield items[at:at + BATCH_ITEMS]

    def not_a_stream(self, resp: httpx.Response, url: str) -> BackendError | None:
        """A login page or a proxy's error page, sent with status 200."""
        if "html" in resp.headers.get("content-type", ""):
            return StreamError(self.name, f"{safe_url(url)} answered with an HTML page, not a stream — check base_url")
        return None

    def said(self, body: bytes | str) -> str:
        """The server's words for a message; some proxies echo the key they refused, so it is masked."""
        return error_text(body, self.api_key)

    def status_error(self, response: httpx.Response, body: bytes, model: str) -> BackendError:
        status = response.status_code
        said = self.said(body) or "no details"
        if 300 <= status < 400:
            target = response.headers.get("location", "")
            if target.lower().startswith("https:") and httpx.URL(target).host == response.request.url.host:
                return ConnectError(self.name, f"{safe_url(self.cfg.base_url)} redirected to https — put the https:// "
                                               f"address in backend.{self.name}.base_url")
            return ConnectError(self.name, f"{safe_url(self.cfg.base_url)} redirected the request to "
                                           f"{safe_url(target) or 'elsewhere'} ({status}); a local backend never follows "
                                           f"a redirect — set backend.{self.name}.base_url to where it should go")
        if status in (401, 403):
            if self.api_key:
                return AuthError(self.name, f"the server refused the API key ({status}: {said}) — check {self.key_source}")
            return AuthError(self.name, f"the server wants an API key ({status}: {said}) — set {self.cfg.api_key_env}")
        if status == 404:
            return self.not_found(model, said, str(response.request.url))
        if status == 429:
            wait = retry_after_seconds(response.headers)
            when = f"retry in {wait:.0f} s" if wait is not None else "wait a moment and retry"
            return RateLimitError(self.name, f"rate limited (429: {said}) — {when}", retry_after=wait)
        if status >= 500:
            return ServerError(self.name, f"server error {status}: {said}", status)
        return ServerError(self.name, f"request refused ({status}): {said}", status)

    def not_found(self, model: str, said: str, url: str) -> BackendError:
        return ModelNotFoundError(
            self.name,
            f"not found (404) for model '{model}' at {safe_url(url)}: {said} — pick a model with :HybridModel or check base_url",
        )
