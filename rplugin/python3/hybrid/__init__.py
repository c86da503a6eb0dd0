"""Thin pynvim remote plugin: decodes calls, hands them to hybrid_core, pushes events back.

No logic lives here. The Lua side starts this host itself (see lua/hybrid/host.lua), so
no :UpdateRemotePlugins is needed; it also loads under the standard python3 host.

This is the Python half of the protocol: one export per method of lua/hybrid/rpc.lua, every one
a notification (the editor never waits on the host). A call with an answer takes a reply id
first; the engine answers it with a `reply` event.
"""

import functools
import logging
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_CORE = os.path.join(_ROOT, "python")
if _CORE not in sys.path:
    sys.path.insert(0, _CORE)

import pynvim  # noqa: E402

from hybrid_core import Engine  # noqa: E402

log = logging.getLogger("hybrid")


def _safe(fn):
    """A failure here becomes one notice in the editor, never a traceback."""

    @functools.wraps(fn)
    def wrapper(self, *args):
        try:
            return fn(self, *args)
        except Exception as e:
            log.exception("call %s failed", fn.__name__)
            self._sink([{"type": "notify", "level": "error", "message": _internal(e)}])

    return wrapper


def _safe_reply(fn):
    """For a call with an answer (reply id first): a failure here is its answer, so the caller's
    callback runs (and a caller that waits stops waiting)."""

    @functools.wraps(fn)
    def wrapper(self, reply_id, *args):
        try:
            return fn(self, reply_id, *args)
        except Exception as e:
            log.exception("call %s failed", fn.__name__)
            self._sink([{"type": "reply", "id": reply_id, "error": _internal(e)}])

    return wrapper


def _internal(e: Exception) -> str:
    return f"internal error: {type(e).__name__}: {e}"


@pynvim.plugin
class HybridPlugin:
    def __init__(self, nvim):
        self.nvim = nvim
        self.engine = None

    def _sink(self, batch):
        # Called from the engine's thread: hop onto pynvim's loop, then one notification.
        self.nvim.async_call(self._push, batch)

    def _push(self, batch):
        self.nvim.exec_lua("require('hybrid.bridge').dispatch(...)", batch, async_=True)

    @pynvim.rpc_export("hybrid_start")
    @_safe
    def start(self, opts):
        if self.engine is None:
            self.engine = Engine(self._sink, config_path=opts.get("config"), data_dir=opts.get("data_dir"),
                                 restore=opts.get("restore"))
            self.engine.start()

    @pynvim.rpc_export("hybrid_chat")
    @_safe
    def chat(self, chat_id, text, opts=None):
        self.engine.chat_send(chat_id, text, opts)

    @pynvim.rpc_export("hybrid_retry")
    @_safe
    def retry(self, chat_id, backend=None):
        self.engine.retry(chat_id, backend)

    @pynvim.rpc_export("hybrid_chat_open")
    @_safe_reply
    def chat_open(self, reply_id, chat_id=None, exclude=None):
        self.engine.chat_open(reply_id, chat_id, exclude)

    @pynvim.rpc_export("hybrid_chats")
    @_safe_reply
    def chats(self, reply_id):
        self.engine.chats_list(reply_id)

    @pynvim.rpc_export("hybrid_chat_delete")
    @_safe_reply
    def chat_delete(self, reply_id, chat_id):
        self.engine.chat_delete(reply_id, chat_id)

    @pynvim.rpc_export("hybrid_ask")
    @_safe
    def ask(self, ask_id, payload):
        self.engine.ask(ask_id, payload)

    @pynvim.rpc_export("hybrid_cancel")
    @_safe
    def cancel(self, chat_id=None):
        self.engine.cancel(chat_id)

    @pynvim.rpc_export("hybrid_backend")
    @_safe
    def backend(self, name):
        self.engine.set_backend(name)

    @pynvim.rpc_export("hybrid_model")
    @_safe
    def model(self, name):
        self.engine.set_model(name)

    @pynvim.rpc_export("hybrid_preset")
    @_safe
    def preset(self, name):
        self.engine.set_preset(name)

    @pynvim.rpc_export("hybrid_warm")
    @_safe
    def warm(self):
        self.engine.warm()

    @pynvim.rpc_export("hybrid_models")
    @_safe_reply
    def models(self, reply_id, backend=None):
        self.engine.list_models(reply_id, backend)

    @pynvim.rpc_export("hybrid_route")
    @_safe_reply
    def route(self, reply_id, text, opts=None):
        self.engine.route_reply(reply_id, text, opts)

    @pynvim.rpc_export("hybrid_corrections")
    @_safe_reply
    def corrections(self, reply_id, forget=False):
        self.engine.corrections_reply(reply_id, bool(forget))

    @pynvim.rpc_export("hybrid_stats")
    @_safe_reply
    def stats(self, reply_id):
        self.engine.stats_reply(reply_id)

    @pynvim.rpc_export("hybrid_confirm")
    @_safe
    def confirm(self, confirm_id, yes):
        self.engine.confirm_reply(confirm_id, yes)

    @pynvim.shutdown_hook
    def shutdown(self):
        if self.engine is not None:
            self.engine.shutdown()
