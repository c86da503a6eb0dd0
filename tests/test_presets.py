"""Presets: a named backend, model and system prompt from setup.yaml's presets: (or a GPTCode
profile), applied through the engine to what the server receives, and through a real Neovim."""

import os

import pytest

from hybrid_core.config import parse_config
from hybrid_core.errors import ConfigError


def config_with_presets(local_url, cloud_url):
    return (f"backend:\n"
            f"  ollama: {{type: ollama, base_url: '{local_url}', default_model: fake-model}}\n"
            f"  groq:\n"
            f"    type: openai\n    base_url: '{cloud_url}/v1'\n    default_model: fake-model\n    local: false\n"
            f"    profiles:\n      quality: {{agent_models: {{query: big-model, editor: big-model}}}}\n"
            f"presets:\n"
            f"  review: {{backend: ollama, model: other-model, system: 'You review code. Be blunt.'}}\n"
            f"  deep: {{backend: groq, description: thorough answers from the cloud}}\n")


def test_presets_and_gptcode_profiles_are_read(tmp_path):
    cfg = parse_config(config_with_presets("http://127.0.0.1:1", "http://127.0.0.1:2"), str(tmp_path / "setup.yaml"))
    assert set(cfg.presets) == {"review", "deep", "groq.quality"}
    review = cfg.presets["review"]
    assert (review.backend, review.model, review.system) == ("ollama", "other-model", "You review code. Be blunt.")
    assert (cfg.presets["groq.quality"].backend, cfg.presets["groq.quality"].model) == ("groq", "big-model")


@pytest.mark.parametrize("presets, expected", [
    ("{x: {backend: nowhere}}", "presets.x.backend: 'nowhere' is not a backend here; use one of: ollama (or auto)"),
    ("{x: {model: m}}", "presets.x.backend: missing"),
    ("{x: {backend: ollama, temperature: 1}}", "presets.x.temperature: unknown key; a preset has backend, model, system"),
    ("{x: {backend: auto, model: m}}", "presets.x.model: auto picks the backend per request"),
    ("[a, b]", "presets: expected a mapping"),
])
def test_a_bad_preset_names_its_key(tmp_path, presets, expected):
    text = f"backend:\n  ollama: {{type: ollama, base_url: 'http://127.0.0.1:1', default_model: m}}\npresets: {presets}\n"
    with pytest.raises(ConfigError) as e:
        parse_config(text, str(tmp_path / "setup.yaml"))
    assert expected in str(e.value) and "\n" not in str(e.value)


@pytest.mark.in_memory
def test_a_preset_sets_backend_model_and_system_prompt_until_the_backend_is_changed(ollama, openai, start_engine):
    eng, sink, _ = start_engine(config_with_presets(ollama.url, openai.url))
    eng.set_preset("review")
    sink.wait(lambda s: any(e["state"].get("preset") == "review" for e in s.of("state")))
    eng.chat_send("1", "look at this")
    sink.wait(lambda s: s.of("turn_end"))
    sent = ollama.chat_requests()[-1]["json"]
    assert sent["model"] == "other-model"
    assert sent["messages"][0] == {"role": "system", "content": "You review code. Be blunt."}

    eng.set_backend("ollama")  # picked by hand: the preset, and its prompt, end
    sink.wait(lambda s: s.of("state")[-1]["state"].get("preset") is None)
    eng.chat_send("2", "and now")
    sink.wait(lambda s: len(s.of("turn_end")) == 2)
    assert ollama.chat_requests()[-1]["json"]["messages"][0]["content"] != "You review code. Be blunt."

    eng.set_preset("nope")
    notice = sink.wait(lambda s: [e for e in s.of("notify") if "no preset named 'nope'" in e["message"]])[0]
    assert "(configured: review, deep, groq.quality); add it under presets: in" in notice["message"]


@pytest.mark.in_memory
def test_a_gptcode_profile_uses_its_query_model(ollama, openai, start_engine):
    openai.api_key = "sk-test-profile"
    eng, sink, _ = start_engine(config_with_presets(ollama.url, openai.url))
    try:
        os.environ["GROQ_API_KEY"] = "sk-test-profile"
        eng.set_preset("groq.quality")
        sink.wait(lambda s: any(e["state"].get("preset") == "groq.quality" for e in s.of("state")))
        eng.chat_send("1", "hello")
        sink.wait(lambda s: s.of("turn_end"))
        assert openai.chat_requests()[-1]["json"]["model"] == "big-model"
    finally:
        os.environ.pop("GROQ_API_KEY", None)


@pytest.mark.nvim
def test_preset_picker_command_and_slash_preset_in_the_chat(editor, ollama, openai):
    ed = editor(config_with_presets(ollama.url, openai.url))
    ed.lua("vim.ui.select = function(items, opts, cb) _G.picked = vim.tbl_map(opts.format_item, items); "
           "cb(items[1]) end")
    ed.cmd("HybridPreset")
    ed.wait(lambda: ed.lua("return _G.picked"), what="the preset picker")
    picked = ed.lua("return _G.picked")
    assert len(picked) == 3 and "review" in picked[0] and "ollama · other-model" in picked[0]
    assert "You review code. Be blunt." in picked[0] and "thorough answers from the cloud" in picked[1]
    ed.wait(lambda: ed.lua("return (require('hybrid.state').current or {}).preset") == "review", what="preset review")
    assert ed.status()["model"] == "other-model"
    assert ed.lua("return vim.fn.getcompletion('HybridPreset ', 'cmdline')") == ["review", "deep", "groq.quality"]

    ed.cmd("HybridChat")
    ed.lua("vim.api.nvim_buf_set_lines(0, -1, -1, false, { '/preset deep' })")
    ed.lua("require('hybrid.chat').send_prompt()")
    ed.wait(lambda: ed.lua("return (require('hybrid.state').current or {}).preset") == "deep", what="preset deep")
    assert "/preset deep" not in ed.chat_lines() and not ollama.chat_requests()
    assert ed.status()["backend"] == "groq"
