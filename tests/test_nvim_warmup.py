"""Model warm-up and loaded models in a real Neovim: opening the chat loads the local model on
Ollama (POST /api/generate with no prompt), and :HybridStats and the model picker show what
Ollama's /api/ps lists."""

import pytest

from configs import two_sides
from fakeservers import free_port

pytestmark = pytest.mark.nvim


def ollama_only(url, extra=""):
    return f"backend:\n  ollama: {{type: ollama, base_url: '{url}', default_model: fake-model{extra}}}\n"


def warmups(server):
    return [r for r in server.requests if r["path"] == "/api/generate"]


def stats_text(ed):
    ed.cmd("HybridStats")
    ed.wait(lambda: ed.nvim.current.buffer.name == "hybrid://stats", what=":HybridStats")
    return ed.nvim.current.buffer[:]


def test_opening_the_chat_loads_the_model_once_and_asks_nothing(editor, ollama):
    ed = editor(ollama_only(ollama.url, ", keep_alive: 30m"))
    ed.cmd("HybridChat")
    ed.wait(lambda: warmups(ollama), what="the warm-up request")
    # No prompt and no messages: nothing of the user's goes with it.
    assert warmups(ollama)[0]["json"] == {"model": "fake-model", "stream": False, "keep_alive": "30m"}
    ed.cmd("HybridChat")  # closes the chat
    ed.cmd("HybridChat")  # and opens it again: loaded a moment ago, so not asked again
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    assert len(warmups(ollama)) == 1
    assert ollama.chat_requests()[0]["json"]["keep_alive"] == "30m"
    assert not ed.messages("error") and not ed.messages("warn")


def test_picking_a_model_loads_it(editor, ollama):
    ed = editor(ollama_only(ollama.url))
    ed.cmd("HybridModel other-model")
    ed.wait(lambda: warmups(ollama), what="the warm-up request")
    assert warmups(ollama)[0]["json"] == {"model": "other-model", "stream": False}


def test_no_warm_up_when_turned_off_or_when_the_chat_goes_to_the_cloud(editor, ollama, openai):
    ed = editor(two_sides(ollama.url, openai.url).replace("default_model: fake-model}", "default_model: fake-model, "
                                                                                         "warm_up: false}", 1),
                env={"GROQ_API_KEY": "k"})
    ed.cmd("HybridChat")
    ed.cmd("HybridBackend groq")
    ed.wait(lambda: ed.status().get("backend") == "groq", what="groq")
    ed.cmd("HybridChat")
    ed.cmd("HybridChat")
    ed.lua("require('hybrid').stats()")  # a round trip: what was queued before has run
    assert not warmups(ollama) and not openai.requests


def test_stats_and_the_picker_show_the_loaded_models(editor, ollama):
    ollama.size_vram = 1_500_000_000  # a quarter of the 6 GB model in GPU memory
    ed = editor(ollama_only(ollama.url, ", keep_alive: 30m"))
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    text = stats_text(ed)
    loaded = text[text.index("## Loaded models"):]
    assert loaded[2] in ("- ollama: fake-model · 6.0 GB · 25% GPU · unloads in 30 min",
                         "- ollama: fake-model · 6.0 GB · 25% GPU · unloads in 29 min")
    assert not any("other-model" in line for line in loaded)

    ed.lua("""_G.pickers = {}
      vim.ui.select = function(items, opts, cb) table.insert(_G.pickers, vim.tbl_map(opts.format_item, items)) end""")
    ed.cmd("HybridModel")
    ed.wait(lambda: ed.lua("return #_G.pickers") == 1, what="the model picker")
    labels = {label.lstrip("● ").split()[0]: label for label in ed.lua("return _G.pickers[1]")}
    assert labels["fake-model"].endswith("(7.6B, Q4_K_M, free, loaded)")
    assert "loaded" not in labels["other-model"]


def test_an_ollama_that_is_down_is_named_in_stats_and_warm_up_stays_quiet(editor, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    ed = editor(ollama_only(url))
    ed.cmd("HybridChat")
    log = tmp_path / "data" / "hybrid.log"
    ed.wait(lambda: log.exists() and "no warm-up of fake-model" in log.read_text(), what="the warm-up to fail")
    text = stats_text(ed)
    line = text[text.index("## Loaded models") + 2]
    assert line.startswith(f"- ollama: cannot tell: ollama: nothing answers at {url}")
    assert not ed.messages("error") and not ed.messages("warn")


def test_checkhealth_shows_warm_up_and_the_models_in_memory(editor, ollama):
    ed = editor(ollama_only(ollama.url, ", keep_alive: -1"))
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert "ollama: in memory: no model yet" in text
    assert "ollama: the model is loaded when the chat opens, and kept loaded (backend.ollama.warm_up)" in text
    ed.cmd("bwipeout!")
    ed.cmd("HybridChat")
    ed.wait(lambda: warmups(ollama), what="the warm-up request")
    ed.wait(lambda: ollama.loaded, what="the model to load")
    ed.cmd("checkhealth hybrid")
    assert "ollama: in memory: fake-model" in "\n".join(ed.nvim.current.buffer[:])


def test_an_ollama_without_api_ps_still_passes_checkhealth(editor, ollama):
    ollama.has_ps = False  # Ollama before 0.1.38
    ed = editor(ollama_only(ollama.url))
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert f"OK ollama (local, ollama) at {ollama.url} answers" in text
    assert "in memory" not in text


def test_a_loaded_model_shows_the_details_the_server_gave(editor, ollama):
    ed = editor(ollama_only(ollama.url))
    lines = ed.lua("""return require('hybrid.stats').render({ loaded = {
        { backend = 'ollama', models = {
          { name = 'a', gpu_pct = 100, expires_in_s = 90 },               -- no size
          { name = 'b', size = 800e6, expires_in_s = 2e9 },               -- keep_alive -1
          { name = 'c' } } },
        { backend = 'other', models = {} } } })""")
    loaded = lines[lines.index("## Loaded models") + 2:]
    assert loaded[:4] == ["- ollama: a · GPU · unloads in 2 min", "- ollama: b · 800 MB · kept loaded", "- ollama: c",
                          "- other: none (a model loads on its first request, or when the chat opens)"]
