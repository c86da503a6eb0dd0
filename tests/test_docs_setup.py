"""The setup() options are typed once: options.lua's schema is checked, and :help is made from it."""

import json
import os
import subprocess

from nvim_harness import ROOT, nvim_binary

GENERATOR = os.path.join("scripts", "gen_help_setup.lua")


def run_lua(code: str) -> str:
    """Run Lua in a bare headless Neovim with the plugin on the runtimepath; what it printed."""
    out = subprocess.run([nvim_binary(), "--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd", f"set rtp^={ROOT}",
                          "-c", f"lua {code}", "-c", "qa!"], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert out.returncode == 0 and "Error" not in out.stderr, out.stderr
    return out.stdout


def schema() -> list[dict]:
    return json.loads(run_lua("io.stdout:write(vim.json.encode(require('hybrid.options').schema))"))


def test_the_setup_help_is_what_the_schema_says():
    made = subprocess.run([nvim_binary(), "-l", GENERATOR, "--stdout"], capture_output=True, text=True, timeout=30,
                          cwd=ROOT)
    assert made.returncode == 0, made.stderr
    doc = open(os.path.join(ROOT, "doc", "hybrid.txt")).read()
    assert made.stdout == doc, f"doc/hybrid.txt and the setup() schema disagree: run `nvim -l {GENERATOR}`"


def test_every_option_has_a_type_a_default_and_one_line_saying_what_it_does():
    doc = open(os.path.join(ROOT, "doc", "hybrid.txt")).read()
    options = schema()
    assert [o["name"] for o in options] == ["config", "data_dir", "python", "chat.layout", "chat.size",
                                            "chat.highlight", "chat.keys", "keymaps", "ask"]
    for o in options:
        assert o["type"] in ("string", "boolean", "number", "keys"), o
        assert "default" in o or "default_doc" in o or o["type"] == "keys", f"{o['name']} has no default"
        assert o["desc"] and "\n" not in o["desc"] and len(o["desc"]) <= 70, f"{o['name']}: not one line"
        assert f"*hybrid-opt-{o.get('tag', o['name'])}*" in doc
        for key in o.get("keys", []):
            name, default, desc = key
            assert default and desc, key


def test_one_checker_says_what_is_wrong_with_an_option_in_one_format():
    said = run_lua("""
      local said = {}
      vim.notify = function(msg) table.insert(said, msg) end
      local options = require('hybrid.options')
      local ok = options.set(vim.deepcopy(options.defaults))
      for _, bad in ipairs({
        { chat = { layout = 'sideways' } }, { chat = { size = 0 } }, { keymaps = 'yes' }, { chat = 'split' },
        { chat = { keys = { sned = 'x' } } }, { chat = { keys = { send = '' } } }, { ask = { accept = false } },
        { colour = true },
      }) do
        if options.set(bad) then table.insert(said, 'accepted: ' .. vim.inspect(bad)) end
      end
      -- The options in force stay those of the last good setup().
      table.insert(said, tostring(ok) .. ' ' .. options.values.chat.layout .. ' ' .. options.values.ask.accept)
      io.stdout:write(table.concat(said, '\\n'))
    """).splitlines()
    assert said == [
        '(hybrid) setup(): chat.layout must be split, vsplit, float or tab, got "sideways"',
        "(hybrid) setup(): chat.size must be a positive number, got 0",
        '(hybrid) setup(): keymaps must be a boolean, got "yes"',
        '(hybrid) setup(): chat must be a table, got "split"',
        "(hybrid) setup(): unknown key chat.keys.sned (send, backend, cancel, close, attach, complete, preview or apply)",
        '(hybrid) setup(): chat.keys.send must be a key sequence such as "<CR>", or false, got ""',
        '(hybrid) setup(): ask.accept must be a key sequence such as "ga", got false',
        "(hybrid) setup(): unknown key colour (config, data_dir, python, chat, keymaps or ask)",
        "true split ga",
    ]
