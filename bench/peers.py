"""The side-by-side mode: gp.nvim and codecompanion.nvim run the same scenario as hybrid.nvim,
when they are cloned beside this checkout (../gp.nvim, ../codecompanion.nvim with
../plenary.nvim). Each peer is a few lines of Lua: its setup() against the bench's server,
how to open a fresh chat, and how to send a message the way a user does.

These adapters follow the peers' documented setup; they run only where the peers are cloned
(never on a machine without network), so check them against the peers' versions there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loopback import ROOT


@dataclass
class Peer:
    name: str
    dirs: tuple[str, ...]  # checkouts beside this one that it needs on the runtimepath
    setup: str  # Lua; `...` is the server's URL
    user_header: str  # the line its chat starts a user message with (the big chat's lines go above it)
    open_chat: str = "vim.cmd('{cmd}'); return vim.api.nvim_get_current_buf()"
    send: str = ""  # Lua; `...` is the message


GP = Peer(
    name="gp.nvim", dirs=("gp.nvim",), user_header="💬:",
    setup="""
local url = ...
require('gp').setup({
  providers = { openai = { endpoint = url .. '/v1/chat/completions', secret = 'bench' } },
  agents = { { provider = 'openai', name = 'Bench', chat = true, command = false,
               model = { model = 'fake-model' }, system_prompt = '' } },
  default_chat_agent = 'Bench',
  chat_dir = vim.fn.tempname(), state_dir = vim.fn.tempname(),
})
""",
    open_chat="vim.cmd('GpChatNew'); return vim.api.nvim_get_current_buf()",
    send="vim.api.nvim_buf_set_lines(0, -1, -1, false, { ... }); vim.cmd('GpChatRespond')",
)

CODECOMPANION = Peer(
    name="codecompanion.nvim", dirs=("codecompanion.nvim", "plenary.nvim"), user_header="## Me",
    setup="""
local url = ...
local bench = function()
  return require('codecompanion.adapters').extend('openai_compatible', {
    env = { url = url, api_key = 'bench', chat_url = '/v1/chat/completions' },
    schema = { model = { default = 'fake-model' } },
  })
end
require('codecompanion').setup({
  adapters = { http = { bench = bench } },
  strategies = { chat = { adapter = 'bench' } },
})
""",
    open_chat="vim.cmd('CodeCompanionChat'); return vim.api.nvim_get_current_buf()",
    send="vim.api.nvim_buf_set_lines(0, -1, -1, false, { ... }); require('codecompanion').last_chat():submit()",
)

PEERS = (GP, CODECOMPANION)


def found() -> tuple[list[tuple[Peer, list[Path]]], list[str]]:
    """(the peers cloned beside this checkout with their directories, the names of those that are not)."""
    present, missing = [], []
    for peer in PEERS:
        dirs = [ROOT.parent / d for d in peer.dirs]
        if all((d / "lua").is_dir() for d in dirs):
            present.append((peer, dirs))
        else:
            missing.append(peer.name)
    return present, missing
