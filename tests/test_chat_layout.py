"""A chat reads the same live and reopened: the turns streamed into a real buffer (stream.lua) are
line for line what layout.lua makes of the same turns saved. Fast: a bare headless Neovim, no host."""

import json

from test_docs_setup import run_lua

# Each turn as saved: the user's message (none for a retry), who answered, the text in the
# pieces it streamed in, and how it ended.
WHO = {"kind": "local", "backend": "ollama", "model": "m", "reason": "fixed backend"}
TURNS = [
    {"user": "one", "who": WHO, "pieces": ["a whole ", "answer"], "status": "complete"},
    {"user": "two", "who": WHO, "pieces": [], "status": "error", "message": "HTTP 500"},
    {"user": "three", "who": WHO, "pieces": [], "status": "cancelled"},
    {"user": "four\nlines", "who": WHO, "pieces": ["some words\n"], "status": "incomplete", "message": "cut"},
    {"user": "five", "who": WHO, "pieces": ["more ", "words"], "status": "interrupted"},
    {"retry": True, "who": WHO, "pieces": ["again"], "status": "complete"},
    {"user": "six", "who": WHO, "pieces": [], "status": "complete"},
    {"user": "seven", "who": {"reason": "a secret"}, "pieces": [], "status": "refused", "message": "not sent"},
    {"user": "eight", "who": WHO, "pieces": ["x" * 1500, "é" * 700, "\ny"], "status": "odd", "message": "what"},
    {"user": "n" * 2500, "who": WHO, "pieces": ["ok"], "status": "complete"},
]

LIVE_AND_SAVED = """
  local turns = vim.json.decode(...)
  local layout, prompt = require('hybrid.chat.layout'), require('hybrid.chat.prompt')
  local stream = require('hybrid.chat.stream')
  local c = { id = 'test', buf = vim.api.nvim_create_buf(false, true) }
  vim.api.nvim_buf_set_lines(c.buf, 0, -1, false, { layout.PROMPT, '' })
  local saved = { turns = {} }
  for _, t in ipairs(turns) do
    if t.retry then prompt.drop_empty(c.buf) else prompt.set(c.buf, prompt.ensure(c.buf), t.user) end
    stream.begin(c)
    stream.header(c, t.who)
    for _, piece in ipairs(t.pieces) do stream.text(c, piece) end
    stream.finish(c, t.status, t.message)
    table.insert(saved.turns, { user = t.user, retry = t.retry, who = t.who, answer = table.concat(t.pieces),
      status = t.status, message = t.message })
  end
  return { vim.api.nvim_buf_get_lines(c.buf, 0, -1, false), layout.saved(saved) }
"""


def test_a_reopened_chat_is_laid_out_line_for_line_like_the_live_one():
    code = f"io.stdout:write(vim.json.encode((function(...) {LIVE_AND_SAVED} end)({json.dumps(json.dumps(TURNS))})))"
    live, saved = json.loads(run_lua(code))
    assert live == saved
    assert "## local · ollama · m · fixed backend" in live and "_[cancelled]_" in live and "_[what]_" in live
    assert max(len(line.encode()) for line in live) <= 1000
