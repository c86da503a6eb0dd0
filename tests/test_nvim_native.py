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


PLUGS = ["chat", "new-chat", "ask", "accept", "reject", "backend", "model", "preset", "chats", "retry", "cancel", "stats",
         "apply"]


def global_maps(ed, prefix):
    return ed.lua("""local out = {}
    for _, mode in ipairs({ 'n', 'x' }) do
      for _, m in ipairs(vim.api.nvim_get_keymap(mode)) do
        if m.lhs:find(..., 1, true) == 1 or (m.desc or ''):find('^hybrid') and m.lhs:sub(1, 6) ~= '<Plug>' then
          table.insert(out, mode .. ' ' .. m.lhs .. ' -> ' .. (m.rhs or ''))
        end
      end
    end
    return out""", prefix)


def test_plug_maps_exist_and_no_key_is_mapped_unless_asked(editor, ollama):
    ed = editor(both(ollama, ollama))
    plugs = ed.lua("local out = {} for _, m in ipairs(vim.api.nvim_get_keymap('n')) do "
                   "if m.lhs:match('^<Plug>%(hybrid') then out[#out + 1] = m.lhs end end return out")
    assert sorted(plugs) == sorted(f"<Plug>(hybrid-{name})" for name in PLUGS)
    assert ed.lua("return vim.fn.maparg('<Plug>(hybrid-ask)', 'x') ~= ''")
    assert global_maps(ed, " h") == []  # <leader> is a space... or a backslash: neither is mapped
    assert global_maps(ed, "\\h") == []

    ed.setup("{ keymaps = true }")
    leader = global_maps(ed, "\\h")
    assert "n \\hc -> <Plug>(hybrid-chat)" in leader and "x \\ha -> <Plug>(hybrid-ask)" in leader
    assert "n \\hb -> <Plug>(hybrid-backend)" in leader and len(leader) == 12


def test_plug_chat_opens_the_chat_and_plug_ask_rewrites_the_line(editor, ollama):
    ollama.reply = "```\nREWRITTEN\n```"
    ed = editor(both(ollama, ollama))
    ed.nvim.current.buffer[:] = ["keep", "change me"]
    ed.nvim.current.window.cursor = (2, 0)
    ed.lua(RECORD_EVENTS)
    ed.lua("vim.ui.input = function(opts, cb) _G.asked = opts.prompt; cb('shout') end")
    ed.nvim.feedkeys(ed.nvim.replace_termcodes("<Plug>(hybrid-ask)", True, True, True), "m", False)
    ed.wait(lambda: events(ed, "HybridRequestDone"), what="the review")
    assert ed.lua("return _G.asked") == "(hybrid) rewrite: "
    ed.nvim.feedkeys(ed.nvim.replace_termcodes("<Plug>(hybrid-accept)", True, True, True), "m", False)
    ed.wait(lambda: ed.nvim.current.buffer[:] == ["keep", "REWRITTEN"], what="the rewritten line")
    ed.nvim.feedkeys(ed.nvim.replace_termcodes("<Plug>(hybrid-chat)", True, True, True), "m", False)
    ed.wait(lambda: ed.lua("return vim.bo.filetype") == "markdown", what="the chat window")


def test_chat_keys_are_configurable_and_can_be_turned_off(editor, ollama):
    ed = editor(both(ollama, ollama))
    ed.setup("{ chat = { keys = { send = '<C-s>', close = false } } }")
    ed.cmd("HybridChat")
    maps = ed.lua("local out = {} for _, m in ipairs(vim.api.nvim_buf_get_keymap(0, 'n')) do out[m.lhs] = m.desc end return out")
    assert maps.get("<C-S>") == "hybrid: send the prompt" and "q" not in maps and "<CR>" not in maps
    assert maps.get("<C-X>") == "hybrid: pick the backend"
    ed.setup("{ chat = { keys = { sned = 'x' } } }")
    assert ("(hybrid) setup(): unknown key chat.keys.sned (send, backend, cancel, close, attach, complete, preview "
            "or apply)") in ed.messages("error")


def test_works_from_a_read_only_plugin_directory(editor, ollama, tmp_path):
    """As after `make install` by a plugin manager: nothing is written there at run time."""
    import os
    import shutil
    import stat

    from nvim_harness import ROOT

    plugin = tmp_path / "ro-plugin"
    for part in ("lua", "plugin", "python", "rplugin", "doc"):
        shutil.copytree(os.path.join(ROOT, part), plugin / part)
    before = sorted(str(p.relative_to(plugin)) for p in plugin.rglob("*"))
    for path in [plugin, *plugin.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        ed = editor(both(ollama, ollama), env={"HYBRID_TEST_ROOT": str(plugin)})
        ed.cmd("HybridChat hello")
        lines = ed.wait_answer()
        assert ollama.reply.split("\n")[0] in lines
        assert ed.lua("return require('hybrid.options').root") == str(plugin)
        after = sorted(str(p.relative_to(plugin)) for p in plugin.rglob("*"))
        assert after == before
    finally:
        for path in [plugin, *plugin.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_model_pickers_show_size_quantization_and_price(editor, ollama, openai):
    openai.models = ["gpt-4o", "mystery-model"]
    ed = editor(both(ollama, openai), env={"GROQ_API_KEY": "k"})
    ed.lua("""vim.ui.select = function(items, opts, cb)
      table.insert(_G.pickers, { prompt = opts.prompt, labels = vim.tbl_map(opts.format_item, items) }) end
      _G.pickers = {}""")
    ed.cmd("HybridModel")
    ed.wait(lambda: ed.lua("return #_G.pickers") == 1, what="the ollama model picker")
    local = ed.lua("return _G.pickers[1]")
    assert local["prompt"] == "hybrid model (ollama, local)"
    assert any("fake-model" in label and "7.6B" in label and "Q4_K_M" in label and "free" in label
               for label in local["labels"])
    ed.cmd("HybridBackend groq")
    ed.wait(lambda: ed.status()["backend"] == "groq", what="groq")
    ed.cmd("HybridModel")
    ed.wait(lambda: ed.lua("return #_G.pickers") == 2, what="the groq model picker")
    cloud = ed.lua("return _G.pickers[2]")
    assert cloud["prompt"] == "hybrid model (groq, cloud)"
    assert any("gpt-4o" in label and "$2.5/$10 per M" in label for label in cloud["labels"]), cloud["labels"]
    assert any(label.strip() == "mystery-model" for label in cloud["labels"])  # no price known: none shown
