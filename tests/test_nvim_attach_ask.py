"""The picker key puts attachments in the chat message; :HybridAsk instructions take them too,
with the same privacy; a code block of an answer applies through the :HybridAsk review."""

import pytest

from configs import two_sides

pytestmark = pytest.mark.nvim

KEY = {"GROQ_API_KEY": "test-key"}
CODE = ["import os", "", "def f(x):", "    return x+1", "", "print(f(1))"]


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "demo.py").write_text("\n".join(CODE) + "\n")
    (root / "names.txt").write_text("use snake_case\nprefer plus_one\n")
    (root / ".env").write_text("TOKEN_NAME=deploy\n")
    return root


def answer_with(ed, picks, inputs=()):
    """vim.ui.select picks the items `picks` names in turn; vim.ui.input answers `inputs` in turn."""
    ed.lua("""
        _G.picks, _G.inputs = ...
        vim.ui.select = function(items, opts, on_choice)
          local want = table.remove(_G.picks, 1)
          for _, item in ipairs(items) do
            if item == want then return on_choice(item) end
          end
          on_choice(nil)
        end
        vim.ui.input = function(opts, on_confirm) on_confirm(table.remove(_G.inputs, 1)) end""", list(picks), list(inputs))


def test_the_picker_key_writes_attachments_into_the_message(editor, ollama, project):
    ed = editor(two_sides(ollama.url, ollama.url))
    ed.cmd(f"cd {project}")
    ed.cmd("edit names.txt")
    ed.cmd("edit demo.py")
    ed.cmd("HybridChat")
    ed.nvim.input("Giwhat about these<Esc>")
    answer_with(ed, ["file:"], ["names.txt"])
    ed.nvim.input("<C-a>")
    answer_with(ed, ["buffer:", "names.txt"])
    ed.nvim.input("<C-a>")
    answer_with(ed, ["diagnostics"])
    ed.nvim.input("a<C-a><Esc>")  # (and from insert mode)
    assert ed.chat_lines()[-1] == "what about these #file:names.txt #buffer:names.txt #diagnostics"
    ed.nvim.input("<CR>")
    ed.wait_answer()
    content = ollama.chat_requests()[0]["json"]["messages"][-1]["content"]
    assert '<attachment name="#file:names.txt" path="names.txt">' in content
    assert '<attachment name="#buffer:names.txt" path="names.txt"' in content
    assert '<attachment name="#diagnostics" path="demo.py">\n(no diagnostics in demo.py)' in content


def review(ed):
    return ed.lua("""
        local ns = vim.api.nvim_get_namespaces().hybrid_ask
        local out = {}
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns or 0, 0, -1, { details = true })) do
          for _, vl in ipairs(m[4].virt_lines or {}) do table.insert(out, vl[1][1]) end
        end
        return out""")


def test_hybrid_ask_takes_attachments_in_its_instruction_with_their_privacy(editor, ollama, openai, project):
    ollama.reply = "```python\ndef f(x):\n    return plus_one(x)\n```"
    ed = editor(two_sides(ollama.url, openai.url), env=KEY)
    ed.cmd(f"cd {project}")
    ed.cmd("edit demo.py")
    ed.cmd("3,4HybridAsk @cloud follow #file:names.txt and #file:.env")
    ed.wait(lambda: review(ed) and "ga accept" in review(ed)[0], what="the review")
    assert review(ed)[0].startswith("hybrid · ollama · fake-model · #file:.env is local-only (.env*) — ")
    prompt = ollama.chat_requests()[0]["json"]["messages"][-1]["content"]
    assert "Attached for reference (do not repeat them):" in prompt
    assert '<attachment name="#file:names.txt" path="names.txt">\n```\nuse snake_case\nprefer plus_one\n```' in prompt
    assert "TOKEN_NAME=deploy" in prompt
    assert openai.requests == []
    assert ed.messages("warn") == ["(hybrid) @cloud ignored: #file:.env is local-only (.env*), so it goes to ollama "
                                   "(local)"]
