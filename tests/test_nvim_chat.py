"""The chat in a real embedded Neovim against loopback servers speaking both protocols."""

import importlib.util
import os
import time

import pytest

from fakeservers import free_port
from nvim_harness import plain

pytestmark = pytest.mark.nvim


def both(ollama, openai, default="ollama"):
    return (f"defaults: {{backend: {default}}}\n"
            "backend:\n"
            f"  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n"
            f"  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, local: false}}\n")


def test_host_starts_on_first_use_and_ollama_answers(editor, ollama):
    ollama.reply = "Use `git rebase -i`.\nThen squash."
    ed = editor(both(ollama, ollama))
    assert ed.lua("return require('hybrid.host').running()") is False
    ed.cmd("HybridChat how do I squash commits?")
    lines = ed.wait_answer()
    assert lines == ["## You", "how do I squash commits?", "", "## local · ollama · fake-model · fixed backend",
                     "Use `git rebase -i`.", "Then squash.", "", "## You", ""]
    assert ed.lua("return vim.bo[require('hybrid.chat').buf()].filetype") == "markdown"
    sent = ollama.chat_requests()[0]["json"]
    assert sent["model"] == "fake-model" and sent["messages"][-1] == {"role": "user", "content": "how do I squash commits?"}
    st = ed.status()
    assert st["backend"] == "ollama" and st["model"] == "fake-model" and st["mode"] == "fixed"
    assert st["busy"] is False and st["pending_edit"] is False
    assert st["last"]["tokens_in"] == 11 and st["last"]["tokens_out"] == 7 and st["last"]["ttft_ms"] >= 0


def test_openai_backend_with_key_from_env(editor, ollama, openai):
    openai.api_key = "sk-test-abc123"
    openai.reply = "cloud answer"
    ed = editor(both(ollama, openai, default="groq"), env={"GROQ_API_KEY": "sk-test-abc123"})
    ed.cmd("HybridChat hi")
    lines = ed.wait_answer()
    assert "## cloud · groq · fake-model · fixed backend" in lines and "cloud answer" in lines
    sent = openai.chat_requests()[0]
    assert sent["headers"]["authorization"] == "Bearer sk-test-abc123"
    assert sent["json"]["stream_options"] == {"include_usage": True}
    assert not any("sk-test" in m for m in ed.messages())


def test_missing_cloud_key_names_the_env_var(editor, ollama, openai):
    ed = editor(both(ollama, openai, default="groq"), env={"GROQ_API_KEY": ""})
    ed.cmd("HybridChat hi")
    lines = ed.wait_answer()
    err = [line for line in lines if line.startswith("> **error:**")]
    assert err and "GROQ_API_KEY" in err[0]
    assert any("GROQ_API_KEY" in m for m in ed.messages("error"))
    assert openai.chat_requests() == []


def pick(ed, name):
    """Make vim.ui.select choose `name`, as a user would in the picker."""
    ed.lua("""
        local name = ...
        vim.ui.select = function(items, opts, on_choice)
          _G.picker_labels = vim.tbl_map(opts.format_item, items)
          for _, item in ipairs(items) do
            if item.name == name then return on_choice(item) end
          end
          on_choice(nil)
        end""", name)


def test_ctrl_x_switches_backend_mid_conversation_with_history(editor, ollama, openai):
    ollama.reply = "local answer"
    openai.reply = "cloud answer"
    ed = editor(both(ollama, openai), env={"GROQ_API_KEY": "k"})
    ed.cmd("HybridChat first question")
    ed.wait_answer()
    pick(ed, "groq")
    ed.nvim.input("<C-x>")
    ed.wait(lambda: ed.status().get("backend") == "groq", what="backend switch")
    labels = ed.lua("return _G.picker_labels")
    assert any("ollama" in label and "local" in label for label in labels)
    assert any("groq" in label and "cloud" in label for label in labels)
    # Type the next prompt in the buffer and send it with <CR> in normal mode.
    ed.nvim.input("Gisecond question<Esc>")
    ed.nvim.input("<CR>")
    lines = ed.wait_answer(2)
    assert "## local · ollama · fake-model · fixed backend" in lines and "## cloud · groq · fake-model · fixed backend" in lines
    msgs = openai.chat_requests()[0]["json"]["messages"]
    assert [(m["role"], m["content"]) for m in msgs[1:]] == [
        ("user", "first question"), ("assistant", "local answer"), ("user", "second question")]
    # And back, from insert mode this time.
    pick(ed, "ollama")
    ed.nvim.input("i<C-x>")
    ed.wait(lambda: ed.status().get("backend") == "ollama", what="switch back")


def test_backend_and_model_commands(editor, ollama, openai):
    ed = editor(both(ollama, openai), env={"GROQ_API_KEY": "k"})
    ed.cmd("HybridBackend groq")
    ed.wait(lambda: ed.status().get("backend") == "groq", what=":HybridBackend")
    completions = ed.nvim.call("getcompletion", "HybridBackend ", "cmdline")
    assert set(completions) >= {"ollama", "groq", "auto"}
    pick(ed, "other-model")
    ed.cmd("HybridModel")
    ed.wait(lambda: ed.status().get("model") == "other-model", what="model picked from the server's list")
    assert any(r["path"] == "/v1/models" for r in openai.requests)
    ed.cmd("HybridChat hi")
    ed.wait_answer()
    assert openai.chat_requests()[0]["json"]["model"] == "other-model"
    ed.cmd("HybridBackend nope")
    ed.wait(lambda: ed.messages("error"), what="unknown backend message")
    assert "no backend named 'nope'; configured: ollama, groq (or auto)" in ed.messages("error")[0]


def test_cancel_keeps_partial_text_and_closes_the_stream(editor, ollama):
    ollama.mode = "hang"
    ollama.reply = "partial words"
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat write a long essay")
    ed.wait(lambda: "partial words" in ed.chat_lines(), what="the partial answer")
    t0 = time.monotonic()
    ed.cmd("HybridCancel")
    lines = ed.wait_answer()
    assert lines[-6:] == ["partial words", "", "_[cancelled]_", "", "## You", ""]
    ed.wait(lambda: ollama.disconnects, timeout=2, what="the server to see the connection closed")
    assert ollama.disconnects[0] - t0 < 0.5


def test_ctrl_c_in_chat_cancels(editor, ollama):
    ollama.mode = "hang"
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat hi")
    ed.wait(lambda: ollama.stream_started.is_set(), what="stream start")
    ed.nvim.input("<C-c>")
    lines = ed.wait_answer()
    assert "_[cancelled]_" in lines


def test_incomplete_stream_is_marked(editor, ollama):
    ollama.mode = "cut"
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat hi")
    lines = ed.wait_answer()
    assert ollama.reply in lines
    assert any(line.startswith("_[incomplete:") for line in lines)
    assert any("incomplete" in m for m in ed.messages("warn"))


def test_nothing_listening_error_in_chat_and_notify(editor):
    port = free_port()
    ed = editor(f"backend:\n  ollama: {{type: ollama, base_url: 'http://127.0.0.1:{port}', default_model: m}}\n")
    watch = ed.watch_messages(80, 24)
    ed.cmd("HybridChat hi")
    lines = ed.wait_answer()
    expected = f"ollama: nothing answers at http://127.0.0.1:{port} — is 'ollama serve' running? — :HybridRetry tries again"
    assert f"> **error:** {expected}" in lines
    # The chat on screen holds the whole message; the notice fits one screen line (no hit-enter).
    [notice] = ed.messages("error")
    columns = ed.lua("return vim.o.columns")
    assert ("(hybrid) " + expected).startswith(notice.rstrip("…")) and len(notice) < columns
    time.sleep(0.3)  # (the screen shows it)
    assert watch.prompts == []
    assert f"nothing answers at http://127.0.0.1:{port}" in notice or len(expected) > columns


def test_bad_config_gives_one_clear_message_and_no_traceback(editor, ollama):
    ed = editor("backend:\n  groq: {type: 42, base_url: 'http://x', default_model: m}\n")
    ed.cmd("HybridChat")
    ed.wait(lambda: ed.messages("error"), what="config error")
    errors = ed.messages("error")
    assert len(errors) == 1
    assert "setup.yaml: backend.groq.type: must be 'ollama' or 'openai', got 42" in errors[0]
    assert errors[0].startswith("(hybrid) ")
    assert "Traceback" not in ed.nvim.command_output("messages")


def test_config_edit_applies_without_restart(editor, ollama, tmp_path):
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat one")
    ed.wait_answer()
    (tmp_path / "setup.yaml").write_text(
        f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: other-model}}\n")
    ed.wait(lambda: ed.status().get("model") == "other-model", what="config reload")
    ed.lua("require('hybrid.chat').open()")
    ed.nvim.input("Gitwo<Esc><CR>")
    ed.wait_answer(2)
    assert ollama.chat_requests()[-1]["json"]["model"] == "other-model"


def test_range_sends_selected_lines_as_context(editor, ollama):
    ed = editor(both(ollama, ollama))
    ed.nvim.current.buffer[:] = ["def add(a, b):", "    return a - b", "print(add(1, 2))"]
    ed.cmd("set filetype=python")
    ed.cmd("1,2HybridChat why is this wrong?")
    ed.wait_answer()
    content = ollama.chat_requests()[0]["json"]["messages"][-1]["content"]
    assert content.startswith("why is this wrong?")
    assert "```python\ndef add(a, b):\n    return a - b\n```" in content
    assert "print(add" not in content


def test_toggle_and_q_close(editor, ollama):
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat")
    assert ed.lua("return vim.api.nvim_get_current_buf() == require('hybrid.chat').buf()")
    wins = len(ed.nvim.windows)
    ed.nvim.input("q")
    ed.wait(lambda: len(ed.nvim.windows) == wins - 1, what="q to close")
    ed.cmd("HybridChat")
    ed.cmd("HybridChat")
    assert len(ed.nvim.windows) == wins - 1


def test_checkhealth_reports_backends_and_never_the_key(editor, ollama, openai):
    openai.api_key = "sk-health-secret"
    ed = editor(both(ollama, openai), env={"GROQ_API_KEY": "sk-health-secret"})
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert "- ✅ OK Neovim 0." in text
    assert "Python 3" in text and "pynvim 0.6" in text and "httpx 0.28" in text and "PyYAML 6" in text and "msgpack 1." in text
    if importlib.util.find_spec("httpx_aiohttp"):
        assert "- ✅ OK answers stream through aiohttp 3." in text
    else:
        assert "- ⚠️ WARNING httpx-aiohttp is not installed" in text and "make install" in text
    assert "- ✅ OK valid" in text
    assert "data_dir is writable" in text and "0 saved chats" in text
    assert f"ollama (local, ollama) at {ollama.url} answers" in text
    assert "groq: API key found in GROQ_API_KEY" in text
    assert "sk-health-secret" not in text


@pytest.mark.parametrize("layout, check", [
    ("float", "return vim.api.nvim_win_get_config(0).relative == 'editor'"),
    ("vsplit", "return vim.fn.winwidth(0) < vim.o.columns and vim.fn.winheight(0) > vim.o.lines - 5"),
    ("tab", "return #vim.api.nvim_list_tabpages() == 2"),
    ("split", "return vim.fn.winwidth(0) == vim.o.columns and vim.fn.winheight(0) < vim.o.lines - 5"),
])
def test_chat_layouts(editor, ollama, layout, check):
    ed = editor(both(ollama, ollama))
    ed.setup(f"{{ chat = {{ layout = '{layout}' }} }}")
    ed.cmd("HybridChat hi")
    assert ollama.reply in ed.wait_answer()
    assert ed.lua("return vim.api.nvim_get_current_buf() == require('hybrid.chat').buf()")
    assert ed.lua(check) is True


def test_bad_setup_option_is_reported_and_defaults_kept(editor, ollama):
    ed = editor(both(ollama, ollama))
    ed.setup("{ chat = { layout = 'sideways' } }")
    assert ed.messages("error") == ["(hybrid) setup(): chat.layout must be split, vsplit, float or tab, got \"sideways\""]
    ed.cmd("HybridChat hi")
    assert ollama.reply in ed.wait_answer()  # the earlier options stay in force


def test_wiping_the_chat_while_streaming_cancels_and_recovers(editor, ollama):
    ollama.mode = "hang"
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat hi")
    ed.wait(lambda: ollama.stream_started.is_set(), what="stream start")
    ed.cmd("bwipeout! hybrid://chat")
    ed.wait(lambda: ollama.disconnects, what="the stream to be closed")
    ollama.mode = "normal"
    ed.wait(lambda: not ed.status()["busy"], what="not busy")
    ed.cmd("HybridChat again")
    assert ollama.reply in ed.wait_answer()
    assert not ed.messages("error")


def test_a_damaged_prompt_header_sends_only_what_was_written(editor, ollama):
    ollama.reply = "the first answer"
    ed = editor(both(ollama, ollama))
    ed.cmd("HybridChat first question")
    ed.wait_answer()
    # <C-u> on the empty line under '## You' joins what is typed next onto the header.
    ed.nvim.input("Gi<C-u>what about y?<Esc>")
    ed.wait(lambda: ed.chat_lines()[-1] == "## Youwhat about y?", what="the damaged header")
    ed.nvim.input("<CR>")
    lines = ed.wait_answer(2)
    sent = ollama.chat_requests()[-1]["json"]["messages"]
    assert [m["content"] for m in sent[1:]] == ["first question", "the first answer", "what about y?"]
    assert lines[lines.index("the first answer"):][:5] == ["the first answer", "", "## You", "what about y?", ""]
    # No '## You' at all after the last answer: nothing is sent, and it says what is wrong.
    ed.lua("local b = require('hybrid.chat').buf(); vim.api.nvim_buf_set_lines(b, -3, -1, false, { 'orphan text' })")
    ed.nvim.input("<CR>")
    ed.wait(lambda: ed.messages("warn"), what="the warning")
    assert ed.messages("warn") == ["(hybrid) no '## You' line after the last answer; write your message under the new one"]
    assert ed.chat_lines()[-4:] == ["orphan text", "", "## You", ""]
    assert len(ollama.chat_requests()) == 2


def test_checkhealth_without_setup_yaml_reports_the_default_backend_and_no_error(tmp_path):
    # No setup.yaml is a supported set-up (Ollama on its default port): no ERROR, just what is used.
    from fakeservers import OllamaServer
    from nvim_harness import Editor

    try:
        server = OllamaServer(11434).start()  # the default backend's own port, when it is free here
        server.models = ["qwen2.5-coder:7b"]
    except OSError:
        server = None
    ed = Editor(tmp_path, str(tmp_path / "no-such-setup.yaml"))
    try:
        ed.cmd("checkhealth hybrid")
        text = "\n".join(ed.nvim.current.buffer[:])
        assert "ERROR" not in text, text
        assert ("no file, so the built-in default is used: ollama (ollama) at http://localhost:11434 "
                "with qwen2.5-coder:7b") in text
        if server is not None:
            assert "OK ollama (local, ollama) at http://localhost:11434 answers" in text
        else:  # something else holds the port: whether it answers, it is said, as a warning at worst
            assert "localhost:11434" in text.split("hybrid.nvim: backends", 1)[1]
    finally:
        ed.close()
        if server is not None:
            server.stop()


def test_hybrid_model_completes_the_models_and_cancel_says_when_nothing_runs(editor, ollama):
    ollama.models = ["fake-model", "other-model", "listed-only:7b"]
    ed = editor(f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model, "
                "agent_models: {editor: other-model}}\n")
    ed.cmd("HybridCancel")
    assert ed.messages("info") == ["(hybrid) nothing to cancel: no answer or edit is streaming"]
    ed.cmd("HybridChat")
    ed.wait(lambda: ed.status().get("backend"), what="the host")
    # The configured models at once; the server's list is asked in the background for the next <Tab>.
    assert ed.lua("return vim.fn.getcompletion('HybridModel ', 'cmdline')")[:2] == ["fake-model", "other-model"]
    ed.wait(lambda: "listed-only:7b" in ed.lua("return vim.fn.getcompletion('HybridModel ', 'cmdline')"),
            what="the server's models")
    assert ed.lua("return vim.fn.getcompletion('HybridModel li', 'cmdline')") == ["listed-only:7b"]


def test_the_busy_mark_leaves_every_statusline_when_the_answer_ends(editor, ollama):
    ollama.reply, ollama.chunk_size, ollama.delay = "word " * 40, 5, 0.05  # about 0.4 s of streaming
    ed = editor(both(ollama, ollama))
    ed.watch_messages(80, 24)
    ed.cmd("set laststatus=2 statusline=%!v:lua.require'hybrid'.statusline()")
    ed.cmd("split")  # two code windows above the chat
    other = ed.lua("return vim.api.nvim_get_current_win()")
    statusline_of = f"""
      local win = {other}
      local row = vim.fn.win_screenpos(win)[1] + vim.api.nvim_win_get_height(win)
      local cells = {{}}
      for col = 1, vim.o.columns do cells[col] = vim.fn.screenstring(row, col) end
      return vim.trim(table.concat(cells))"""
    ed.cmd("HybridChat hello")
    ed.wait(lambda: ollama.stream_started.is_set(), what="the stream")
    ed.cmd("redrawstatus!")
    ed.wait(lambda: ed.lua(statusline_of).endswith("…"), what="the busy mark")
    ed.wait_answer()
    ed.wait(lambda: ed.lua(statusline_of) == "ollama fake-model $0.00", timeout=3, what="the mark to go")


def test_a_preset_or_a_retry_on_a_named_backend_says_so_in_the_header(editor, ollama, openai):
    ed = editor(both(ollama, openai, default="auto") + "presets:\n  review: {backend: ollama}\n",
                env={"GROQ_API_KEY": "test-key"})
    ed.cmd("HybridPreset review")
    ed.cmd("HybridChat first")
    ed.wait_answer(1)
    ed.cmd("HybridBackend auto")
    ed.cmd("HybridChat rename a to b")
    ed.wait_answer(2)
    ed.cmd("HybridRetry groq")
    ed.wait(lambda: ed.chat_lines()[-2:] == ["## You", ""] and len(openai.chat_requests()) == 1
            and not ed.status()["busy"], what="the retry")
    headers = [line for line in ed.chat_lines() if line.startswith("## ") and line != "## You"]
    assert [plain(h) for h in headers] == ["## local · ollama · fake-model · preset review",
                                          "## local · ollama · fake-model · refactoring",
                       "## cloud · groq · fake-model · retry on groq"]


def own_colours(ed):
    """Give the chat's groups colours of their own, as a user's colorscheme may: the screen then
    names them (by default they link to the @markup groups)."""
    ed.lua("""for i, g in ipairs({ 'Heading', 'Quote', 'List', 'Strong', 'Italic', 'Code', 'CodeBlock', 'Fence',
      'LinkText', 'LinkUrl' }) do vim.api.nvim_set_hl(0, 'HybridChat' .. g, { fg = i * 1000 }) end""")


def on_screen(screen, text, after=""):
    """The groups `text` is drawn with, or None while it is not on screen yet."""
    try:
        return screen.groups_at(text, after)
    except AssertionError:
        return None


ANSWER_MD = ("## Plan\nSome **bold**, *soft* and `code` here, snake_case_name stays plain.\n"
             "- a list item with [the docs](https://example.org)\n> a quote\n"
             "```lua\nlocal x = 1\n```\n```python\nimport os\n```\nThe end.")


def test_chat_is_markdown_for_users_renderers_and_highlights_the_answer(editor, ollama):
    # render-markdown.nvim and markview.nvim attach from a FileType markdown autocommand: the chat
    # must fire it. And the answer reads as markdown on screen: its heading, emphasis, code, links,
    # and a closed fence in its language (Neovim ships the lua parser, not python's).
    # (in pieces over ~0.4 s: the lua block closes while the answer streams, and gets its language
    # once the chat is quiet)
    ollama.reply, ollama.chunk_size, ollama.delay = ANSWER_MD, 8, 0.01
    ed = editor(f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n")
    ed.lua("""
      _G.renderer_saw = {}
      vim.api.nvim_create_autocmd('FileType', { pattern = 'markdown', callback = function(ev)
        table.insert(_G.renderer_saw, ev.buf)
      end })""")
    own_colours(ed)
    screen = ed.screen(100, 80)  # (the chat gets a third: all of the answer)
    ed.cmd("HybridChat show me")
    ed.wait_answer()
    assert ed.lua("return require('hybrid.chat').buf()") in ed.lua("return _G.renderer_saw")
    assert ed.lua("return vim.bo[require('hybrid.chat').buf()].syntax") == "OFF"  # no regex pass per redraw

    def drawn(text, after=""):
        ed.wait(lambda: on_screen(screen, text, after) is not None, what=f"{text!r} on screen")
        return screen.groups_at(text, after)

    keyword = ed.lua("return vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID('@keyword.lua')), 'name')")
    ed.wait(lambda: keyword in drawn("local x"), timeout=5, what="the lua block in its language")
    assert "HybridChatHeading" in drawn("Plan")
    assert "HybridChatHeading" in drawn("You")
    assert "HybridChatStrong" in drawn("bold")
    assert "HybridChatItalic" in drawn("soft")
    assert "HybridChatCode" in drawn("code", "and ")
    assert not drawn("case", "snake_").intersection({"HybridChatItalic", "HybridChatStrong"})
    assert "HybridChatList" in drawn("- a list")
    assert "HybridChatLinkText" in drawn("the docs")
    assert "HybridChatLinkUrl" in drawn("https://")
    assert "HybridChatQuote" in drawn("a quote")
    assert "HybridChatCodeBlock" in drawn("import os")  # no python parser: plain code
    assert not drawn("The end").intersection({"HybridChatCodeBlock", "HybridChatCode"})  # the fences closed


def test_a_fence_still_streaming_reads_as_code_and_the_text_after_it_does_not(editor, ollama):
    ollama.reply, ollama.chunk_size, ollama.delay = "Intro\n```lua\nlocal streaming = true\n" + "x = 1\n" * 40, 8, 0.02
    ed = editor(f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n")
    own_colours(ed)
    screen = ed.screen(100, 80)  # (the chat gets a third: all of the answer)
    ed.cmd("HybridChat show me")
    ed.wait(lambda: "local streaming" in "".join(screen.lines()), what="the open fence on screen")
    assert "HybridChatCodeBlock" in screen.groups_at("local streaming")
    assert screen.groups_at("local streaming") == {"HybridChatCodeBlock"}  # parsed once it closes, not per flush
    lines = ed.wait_answer(timeout=20)
    assert "```" not in lines[-4:]  # (the fence never closed)
    ed.cmd("HybridChat next")
    ed.wait_answer(2, timeout=20)
    # The unclosed fence of the first answer does not run on into the next turn's header.
    ed.wait(lambda: "HybridChatHeading" in (on_screen(screen, "You", "## ") or ()), timeout=5,
            what="the next prompt as a heading")


def test_a_chat_someone_starts_treesitter_on_is_left_to_it_and_highlight_false_keeps_regex(editor, ollama):
    ollama.reply = ANSWER_MD
    config = f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n"
    ed = editor(config)
    ed.lua("""vim.api.nvim_create_autocmd('FileType', { pattern = 'markdown', callback = function(ev)
        vim.treesitter.start(ev.buf, 'markdown') end })""")
    own_colours(ed)
    screen = ed.screen(100, 80)  # (the chat gets a third: all of the answer)
    ed.cmd("HybridChat show me")
    ed.wait_answer()
    groups = ed.wait(lambda: on_screen(screen, "Plan"), what="the heading drawn")
    assert groups and not any(g.startswith("HybridChat") for g in groups), groups
    assert ed.lua("return vim.treesitter.highlighter.active[require('hybrid.chat').buf()] ~= nil")

    ed2 = editor(config)
    ed2.setup("{ chat = { highlight = false } }")
    ed2.cmd("HybridChat show me")
    lines = ed2.wait_answer()
    row = lines.index("## Plan") + 1
    ed2.cmd("redraw")
    assert ed2.lua(f"return vim.fn.synIDattr(vim.fn.synID({row}, 4, 1), 'name')").startswith("markdownH2")


def test_the_host_runs_below_the_editor_in_cpu_priority(editor, ollama):
    # Under a burst the host's parsing competes with the editor's redraws for two cores: the
    # editor comes first (bench/stream.py's RPC p99).
    ed = editor(f"backend:\n  ollama: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n")
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    editor_pid = ed.lua("return vim.fn.getpid()")
    hosts = ed.lua("return vim.api.nvim_get_proc_children(...)", editor_pid)
    assert len(hosts) == 1
    editor_nice = os.getpriority(os.PRIO_PROCESS, editor_pid)
    assert os.getpriority(os.PRIO_PROCESS, hosts[0]) == min(editor_nice + 10, 19)
