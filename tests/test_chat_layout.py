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
    {"user": "look at\n#buffer and #diff", "who": WHO, "pieces": ["seen"], "status": "complete", "attachments": [
        {"name": "#buffer", "display": "a.py", "lines": 3, "tokens": 1234, "text": "x\ny\nz", "local_only": "r"},
        {"name": "#diff", "display": "a.py", "note": "no changes against HEAD"},
        {"name": "#file:b.py", "display": "b.py", "lines": 1, "tokens": 9, "text": "b", "first": 4}]},
    {"user": "#file:nope", "who": {"reason": "unread"}, "pieces": [], "status": "refused", "message": "not sent",
     "attachments": [{"name": "#file:nope", "display": "nope", "error": "#file:nope: no such file (/p/nope)"}]},
    {"retry": True, "who": WHO, "pieces": ["again"], "status": "complete"},
]

LIVE_AND_SAVED = """
  local turns = vim.json.decode(...)
  local layout, prompt = require('hybrid.chat.layout'), require('hybrid.chat.prompt')
  local stream, attached = require('hybrid.chat.stream'), require('hybrid.chat.attached')
  local c = { id = 'test', buf = vim.api.nvim_create_buf(false, true) }
  vim.api.nvim_buf_set_lines(c.buf, 0, -1, false, { layout.PROMPT, '' })
  local saved = { turns = {} }
  for _, t in ipairs(turns) do
    local row = not t.retry and prompt.ensure(c.buf) or nil
    if t.retry then prompt.drop_empty(c.buf) else prompt.set(c.buf, row, t.user) end
    if row then attached.begin(c, row, t.user, {}, t.attachments ~= nil) end
    stream.begin(c)
    if t.attachments then attached.show(c, t.attachments) end
    stream.header(c, t.who)
    for _, piece in ipairs(t.pieces) do stream.text(c, piece) end
    stream.finish(c, t.status, t.message)
    table.insert(saved.turns, { user = t.user, retry = t.retry, who = t.who, answer = table.concat(t.pieces),
      status = t.status, message = t.message, attachments = t.attachments })
  end
  return { vim.api.nvim_buf_get_lines(c.buf, 0, -1, false), layout.saved(saved) }
"""


def test_a_reopened_chat_is_laid_out_line_for_line_like_the_live_one():
    code = f"io.stdout:write(vim.json.encode((function(...) {LIVE_AND_SAVED} end)({json.dumps(json.dumps(TURNS))})))"
    live, saved = json.loads(run_lua(code))
    assert live == saved
    at = live.index("#buffer and #diff")
    assert live[at + 1:at + 5] == ["> #buffer · a.py · 3 lines · ~1.2k tokens · local-only",
                                   "> #diff · a.py · no changes against HEAD", "> #file:b.py · 1 line · ~9 tokens", ""]
    assert "> #file:nope · not read: no such file (/p/nope)" in live
    assert "## local · ollama · m · fixed backend" in live and "_[cancelled]_" in live and "_[what]_" in live
    assert max(len(line.encode()) for line in live) <= 1000
