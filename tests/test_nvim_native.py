"""What makes the plugin feel native: User events with their data, <Plug> maps and opt-in
keymaps, highlight links, pickers' items, presets. A real Neovim against loopback servers."""

import pytest

from test_nvim_chat import both

pytestmark = pytest.mark.nvim

RECORD_EVENTS = """
_G.events = {}
for _, name in ipairs({ 'HybridRequestStart', 'HybridRequestDone', 'HybridBackendChanged', 'HybridEditApplied' }) do
  vim.api.nvim_create_autocmd('User', { pattern = name, callback = function(args)
    table.insert(_G.events, { name = args.match, data = args.data })
  end })
end
"""


def events(ed, name=None):
    return [e for e in ed.lua("return _G.events") if name is None or e["name"] == name]


def test_request_events_carry_backend_model_tokens_cost_and_duration(editor, ollama, openai):
    openai.api_key = "sk-test-events"
    ed = editor(both(ollama, openai), env={"GROQ_API_KEY": "sk-test-events"})
    ed.lua(RECORD_EVENTS)
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    start, = events(ed, "HybridRequestStart")
    assert start["data"]["kind"] == "chat" and start["data"]["backend"] == "ollama"
    assert start["data"]["model"] == "fake-model" and start["data"]["side"] == "local"
    ed.wait(lambda: events(ed, "HybridRequestDone"), what="HybridRequestDone")
    done = events(ed, "HybridRequestDone")[0]["data"]
    assert done["status"] == "complete" and done["backend"] == "ollama" and done["model"] == "fake-model"
    assert (done["tokens_in"], done["tokens_out"]) == (11, 7)
    assert done["cost_usd"] == 0 and done["duration_ms"] >= 0 and done["id"] == start["data"]["id"]

    ed.cmd("HybridBackend groq")
    ed.wait(lambda: events(ed, "HybridBackendChanged"), what="HybridBackendChanged")
    changed = events(ed, "HybridBackendChanged")[0]["data"]
    assert changed["backend"] == "groq" and changed["previous"]["backend"] == "ollama"
    ed.cmd("HybridChat and now the cloud")
    ed.wait_answer(2)
    ed.wait(lambda: len(events(ed, "HybridRequestDone")) == 2, what="the second HybridRequestDone")
    cloud = events(ed, "HybridRequestDone")[1]["data"]
    assert cloud["backend"] == "groq" and cloud["status"] == "complete" and cloud["tokens_out"] == 7


def test_a_failed_request_ends_with_its_status_and_message(editor, ollama):
    ollama.mode, ollama.status = "status", 400
    ed = editor(both(ollama, ollama))
    ed.lua(RECORD_EVENTS)
    ed.cmd("HybridChat hello")
    ed.wait(lambda: events(ed, "HybridRequestDone"), what="HybridRequestDone")
    done = events(ed, "HybridRequestDone")[0]["data"]
    assert done["status"] == "error" and "400" in done["message"] and done["backend"] == "ollama"


def test_edit_applied_says_where(editor, ollama):
    ollama.reply = "```\nNEW\n```"
    ed = editor(both(ollama, ollama))
    ed.lua(RECORD_EVENTS)
    ed.nvim.current.buffer[:] = ["a", "old", "c"]
    ed.cmd("2HybridAsk! shout")
    ed.wait(lambda: events(ed, "HybridEditApplied"), what="HybridEditApplied")
    data = events(ed, "HybridEditApplied")[0]["data"]
    assert ed.nvim.current.buffer[:] == ["a", "NEW", "c"]
    assert (data["line1"], data["line2"], data["backend"]) == (2, 2, "ollama")
    assert data["buf"] == ed.nvim.current.buffer.number
