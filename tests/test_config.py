"""setup.yaml and keys.yaml: the seed format loads, every mistake gets one clear line."""

import os
import textwrap

import pytest

from hybrid_core.config import load_config, parse_config
from hybrid_core.errors import ConfigError, MissingKeyError
from hybrid_core.keys import KeyResolver

SEED = textwrap.dedent("""\
    defaults:
      backend: ollama          # Default to local
    backend:
      ollama:
        type: ollama
        base_url: http://localhost:11434
        default_model: qwen2.5-coder:7b
        agent_models:
          router: llama3.1:8b
          query: qwen2.5-coder:7b
          editor: qwen2.5-coder:7b
          research: llama3.1:8b
      groq:
        type: openai
        base_url: https://api.groq.com/openai/v1
        default_model: gpt-oss-120b-128k
        agent_models:
          router: llama-3.1-8b-instant
          query: gpt-oss-120b-128k
          editor: deepseek-r1-distill-qwen-32b
          research: gpt-oss-120b-128k
    profiles:
      fast: {backend: groq}
    models:
      some: thing
    """)


def write(tmp_path, text, name="setup.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def error_of(text, tmp_path) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_seed_format_loads_unchanged_and_keeps_unknown_keys(tmp_path):
    cfg = load_config(write(tmp_path, SEED))
    assert cfg.default_backend == "ollama"
    assert list(cfg.backends) == ["ollama", "groq"]
    ollama, groq = cfg.backends["ollama"], cfg.backends["groq"]
    assert ollama.local and not groq.local
    assert groq.base_url == "https://api.groq.com/openai/v1"
    assert groq.model_for("editor") == "deepseek-r1-distill-qwen-32b"
    assert groq.api_key_env == "GROQ_API_KEY"
    assert cfg.raw["profiles"] == {"fast": {"backend": "groq"}}
    assert cfg.raw["models"] == {"some": "thing"}


def test_role_without_model_uses_default_and_loopback_openai_is_local(tmp_path):
    cfg = parse_config(textwrap.dedent("""\
        backend:
          lms: {type: openai, base_url: "http://127.0.0.1:1234/v1", default_model: m}
          cloud: {type: openai, base_url: "https://openrouter.ai/api/v1", default_model: c, local: true}
        """), str(tmp_path / "setup.yaml"))
    assert cfg.backends["lms"].local
    assert cfg.backends["lms"].model_for("research") == "m"
    assert cfg.backends["cloud"].local  # explicit setting wins
    assert cfg.default_backend == "lms"  # first backend when defaults.backend is absent


@pytest.mark.parametrize("text, expected", [
    ("backend:\n  groq: {type: 42, base_url: 'http://x', default_model: m}\n",
     "setup.yaml: backend.groq.type: must be 'ollama' or 'openai', got 42"),
    ("backend:\n  groq: {type: openai, default_model: m}\n",
     "setup.yaml: backend.groq.base_url: missing"),
    ("backend:\n  groq: {type: openai, base_url: 42, default_model: m}\n",
     "setup.yaml: backend.groq.base_url: expected a URL, got 42"),
    ("backend:\n  groq: {type: openai, base_url: 'ftp://x', default_model: m}\n",
     "setup.yaml: backend.groq.base_url: expected an http:// or https:// URL, got 'ftp://x'"),
    ("defaults: {backend: nope}\nbackend:\n  ollama: {type: ollama, base_url: 'http://localhost:11434', default_model: m}\n",
     "setup.yaml: defaults.backend: 'nope' is not a backend here; use one of: ollama (or auto)"),
    ("backend:\n  ollama: {type: ollama, base_url: 'http://localhost:11434'}\n",
     "setup.yaml: backend.ollama.default_model: missing"),
    ("backend:\n  o: {type: ollama, base_url: 'http://h', default_model: m, read_timeout: -1}\n",
     "setup.yaml: backend.o.read_timeout: expected a positive number of seconds, got -1"),
    ("backend:\n  o: {type: ollama, base_url: 'http://h', default_model: m, local: maybe}\n",
     "setup.yaml: backend.o.local: expected true or false, got 'maybe'"),
    ("backend:\n  o: {type: ollama, base_url: 'http://h', default_model: m, keep_alive: soon}\n",
     "setup.yaml: backend.o.keep_alive: expected a duration like 30m, 2h or 90s, or seconds (-1 keeps it loaded), "
     "got 'soon'"),
    ("backend:\n  g: {type: openai, base_url: 'http://h/v1', default_model: m, keep_alive: 5m}\n",
     "setup.yaml: backend.g.keep_alive: is Ollama's setting (type: ollama)"),
    ("backend:\n  o: {type: ollama, base_url: 'http://h', default_model: m, warm_up: 'no'}\n",
     "setup.yaml: backend.o.warm_up: expected true or false, got 'no'"),
    ("backend:\n  g: {type: openai, base_url: 'http://h/v1', default_model: m, autostart: true}\n",
     "setup.yaml: backend.g.autostart: starts 'ollama serve', so it needs type: ollama"),
    ("backend:\n  g: {type: openai, base_url: 'http://h/v1', default_model: m, command: llama-server}\n",
     "setup.yaml: backend.g.command: expected the server's command line as a list"),
    ("backend: [1, 2]\n", "setup.yaml: backend: expected a mapping"),
    ("- just\n- a list\n", "setup.yaml: expected a mapping at the top"),
    ("defaults: {backend: x}\n", "setup.yaml: backend: no backends defined"),
    ("backend:\n  ollama: {type: ollama\n", "setup.yaml: line 3, column 1: invalid YAML"),
])
def test_every_bad_value_names_file_and_key(tmp_path, text, expected):
    assert expected in error_of(text, tmp_path)


@pytest.mark.parametrize("value, kept", [("30m", "30m"), (-1, -1), (3600, 3600), ("'-1'", "-1"), ("1.5h", "1.5h")])
def test_keep_alive_takes_ollama_durations_and_seconds(tmp_path, value, kept):
    text = f"backend:\n  o: {{type: ollama, base_url: 'http://h', default_model: m, keep_alive: {value}}}\n"
    cfg = parse_config(text, str(tmp_path / "setup.yaml")).backends["o"]
    assert cfg.keep_alive == kept and cfg.warm_up is True


TWO = ("backend:\n  ollama: {type: ollama, base_url: 'http://localhost:11434', default_model: m}\n"
       "  groq: {type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: g}\n")


@pytest.mark.parametrize("routing, expected", [
    ("routing: {cloud: grok}", "setup.yaml: routing.cloud: 'grok' is not a backend here; use one of: ollama, groq"),
    ("routing: {local: groq}", "setup.yaml: routing.local: 'groq' is a cloud backend; name a local one, or set "
                               "backend.groq.local: true if it runs on this machine"),
    ("routing: {rules: [{regex: '(unclosed', to: cloud}]}",
     "setup.yaml: routing.rules[0].regex[0]: not a valid regex (missing ), unterminated subpattern at position 0)"),
    ("routing: {rules: [{words: [x], to: elsewhere}]}",
     "setup.yaml: routing.rules[0].to: must be local or cloud, got 'elsewhere'"),
    ("routing: {rules: [{to: cloud}]}", "setup.yaml: routing.rules[0]: needs words: [...] or regex: '...'"),
    ("routing: {rules: [{match: x, to: cloud}]}", "setup.yaml: routing.rules[0].match: unknown key; a rule has words, regex"),
    ("routing: {rules: [{words: [x, 42], to: cloud}]}", "setup.yaml: routing.rules[0].words[1]: expected text, got 42"),
    ("routing: {rules: {words: x}}", "setup.yaml: routing.rules: expected a list of rules"),
    ("routing: {rules: [{words: x, to: cloud, role: boss}]}",
     "setup.yaml: routing.rules[0].role: must be query, editor or research"),
    ("routing: {cooldown: 0}", "setup.yaml: routing.cooldown: expected a positive number of seconds, got 0"),
    ("routing: {router_timeout: soon}", "setup.yaml: routing.router_timeout: expected a positive number of seconds, got 'soon'"),
    ("privacy: {local_only_patterns: ['[a-']}", "setup.yaml: privacy.local_only_patterns[0]: not a valid regex"),
])
def test_bad_routing_names_the_key(tmp_path, routing, expected):
    assert expected in error_of(TWO + routing + "\n", tmp_path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="setup.yaml: file not found"):
        load_config(str(tmp_path / "setup.yaml"))
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigError, match="dir.yaml: cannot read"):
        load_config(str(tmp_path / "dir.yaml"))
    bad = tmp_path / "binary.yaml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="binary.yaml"):
        load_config(str(bad))


def groq_backend(tmp_path, extra=""):
    text = f"backend:\n  groq: {{type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: m{extra}}}\n"
    cfg = parse_config(text, str(tmp_path / "setup.yaml"))
    return cfg.backends["groq"]


def test_keys_file_then_env_then_cmd(tmp_path, monkeypatch):
    resolver = KeyResolver(str(tmp_path / "keys.yaml"))
    backend = groq_backend(tmp_path, ", api_key_cmd: 'echo from-cmd'")
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    assert resolver.resolve(backend) == ("from-cmd", "backend.groq.api_key_cmd")
    monkeypatch.setenv("GROQ_API_KEY", "from-env")
    assert resolver.resolve(backend) == ("from-env", "GROQ_API_KEY")
    write(tmp_path, "groq: from-file\n", "keys.yaml")
    key, where = resolver.resolve(backend)
    assert key == "from-file" and where.endswith("keys.yaml")


def test_missing_key_names_the_env_var_never_a_value(tmp_path, monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    monkeypatch.setenv("OTHER_API_KEY", "sk-secret-value")
    with pytest.raises(MissingKeyError) as e:
        KeyResolver(str(tmp_path / "keys.yaml")).require(groq_backend(tmp_path))
    assert "GROQ_API_KEY" in str(e.value) and "keys.yaml" in str(e.value)
    assert "sk-secret" not in str(e.value)


def test_bad_keys_file_does_not_echo_the_value(tmp_path, monkeypatch):
    write(tmp_path, "groq: 123456789\n", "keys.yaml")
    with pytest.raises(ConfigError) as e:
        KeyResolver(str(tmp_path / "keys.yaml")).resolve(groq_backend(tmp_path))
    assert "keys.yaml: groq: expected the key as text" in str(e.value)
    assert "123456789" not in str(e.value)


def test_failing_key_cmd_is_reported_without_output(tmp_path, monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    backend = groq_backend(tmp_path, ", api_key_cmd: 'echo sk-leak; exit 3'")
    with pytest.raises(MissingKeyError) as e:
        KeyResolver(str(tmp_path / "keys.yaml")).require(backend)
    assert "api_key_cmd exited with status 3" in str(e.value)
    assert "sk-leak" not in str(e.value)


def test_env_hybrid_config_is_the_default_path(monkeypatch, tmp_path):
    from hybrid_core.config import default_config_path
    monkeypatch.setenv("HYBRID_CONFIG", str(tmp_path / "x.yaml"))
    assert default_config_path() == str(tmp_path / "x.yaml")
    monkeypatch.delenv("HYBRID_CONFIG")
    assert default_config_path() == os.path.expanduser("~/.config/hybrid/setup.yaml")


def test_max_answer_mb_defaults_to_20_and_is_set_per_backend_or_in_defaults(tmp_path):
    text = ("defaults: {max_answer_mb: 5}\nbackend:\n"
            "  a: {type: ollama, base_url: 'http://h', default_model: m}\n"
            "  b: {type: ollama, base_url: 'http://h', default_model: m, max_answer_mb: 0.5}\n")
    cfg = parse_config(text, str(tmp_path / "setup.yaml"))
    assert (cfg.backends["a"].max_answer_mb, cfg.backends["b"].max_answer_mb) == (5, 0.5)
    plain = parse_config("backend:\n  a: {type: ollama, base_url: 'http://h', default_model: m}\n", "setup.yaml")
    assert plain.backends["a"].max_answer_mb == 20


@pytest.mark.parametrize("text, expected", [
    ("defaults: {max_answer_mb: 0}\nbackend:\n  o: {type: ollama, base_url: 'http://h', default_model: m}\n",
     "setup.yaml: defaults.max_answer_mb: expected a positive number of MB, got 0"),
    ("backend:\n  o: {type: ollama, base_url: 'http://h', default_model: m, max_answer_mb: lots}\n",
     "setup.yaml: backend.o.max_answer_mb: expected a positive number of MB, got 'lots'"),
])
def test_a_bad_max_answer_mb_names_its_key(tmp_path, text, expected):
    assert expected in error_of(text, tmp_path)


@pytest.mark.parametrize("value", [
    "sk-proj-Qm8vT2xLp9RzK4wN7cYb1HdF6gJ3",  # not a variable name at all
    "gsk_8fJ2kLmN4pQ7rS1tV3wX5yZ9aB2cD4eF6g",  # a Groq key is shaped like a variable name
    "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "a8f3c91e7b2d4f6a9c0e1b3d5f7a9c1e",  # hex, lower case with digits
])
def test_a_key_in_api_key_env_is_named_by_its_shape_never_echoed(tmp_path, value):
    text = ("backend:\n  groq: {type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: m, "
            f"api_key_env: '{value}'}}\n")
    said = error_of(text, tmp_path)
    assert "backend.groq.api_key_env: got a value that looks like a key, not a variable name" in said
    assert "(e.g. GROQ_API_KEY)" in said
    assert not any(value[i:i + 8] in said for i in range(len(value) - 7))


@pytest.mark.parametrize("name", ["GROQ_API_KEY", "MY_COMPANY_LLM_PROXY_TOKEN_2", "openai_key", "OPENROUTER_API_KEY_2024"])
def test_variable_names_are_still_taken(tmp_path, name):
    text = f"backend:\n  g: {{type: openai, base_url: 'https://h/v1', default_model: m, api_key_env: {name}}}\n"
    assert parse_config(text, str(tmp_path / "setup.yaml")).backends["g"].api_key_env == name


# -- the schema: each default written once, and what the code reads -----------------------------

def test_the_defaults_in_effect_are_the_ones_users_had(tmp_path):
    # Before the schema, config.py checked retry.max_wait, routing.router_timeout and routing.cooldown
    # with a default of 1.0 it then threw away; what users got was retry.py's and routing.py's.
    from hybrid_core.accounting import Accountant
    from hybrid_core.retry import RetryPolicy, policy_from
    from hybrid_core.routing import Router

    cfg = parse_config(TWO, str(tmp_path / "setup.yaml"))
    assert policy_from(cfg.retry) == RetryPolicy(attempts=3, max_wait=20.0)
    router = Router(cfg)
    assert (router.router_timeout, router.cooldown, router.lean, router.local, router.cloud) == (1.5, 30.0, "local",
                                                                                              "ollama", "groq")
    assert router.builtin_rules and router.classify and router.user_rules == ()
    accountant = Accountant.__new__(Accountant)
    accountant.config = cfg
    assert accountant.limits() == {"daily": None, "monthly": None, "on_limit": "ask"}
    assert cfg.context.summarize is False and cfg.privacy.local_only_paths == ()
    assert cfg.defaults.connect_timeout == cfg.backends["ollama"].connect_timeout == 2.0


def _sample(opt, default):
    """A valid value for an option, other than its default: (as written, as the section keeps it)."""
    from hybrid_core.config.types import Amount, Flag, OneOf, Positive, Text, TextList, WholeNumber
    t = opt.type
    if isinstance(t, Positive):
        return (7, 7) if t.whole else (7, 7.0)
    if isinstance(t, (Amount, WholeNumber)):
        return 2, 2
    if isinstance(t, Flag):
        return (not default), (not default)
    if isinstance(t, OneOf):
        value = next(v for v in t.values if v != default)
        return value, value
    if isinstance(t, TextList):
        return ["a+"], ("a+",)
    if isinstance(t, Text):
        return "o", "o"  # a backend's name here, where one is wanted
    return None  # Custom: checked by validate.py's own code, covered by the tests above


def _configure(section: str, name: str, value) -> tuple[dict, callable]:
    """A setup.yaml with option `name` of `section` set, and how to read it back from the Config."""
    data = {"backend": {"o": {"type": "ollama", "base_url": "http://127.0.0.1:11434", "default_model": "m"}}}
    if section == "backend.NAME":
        data["backend"]["o"][name] = value
        return data, lambda cfg: getattr(cfg.backends["o"], name)
    if section == "presets.NAME":
        data["presets"] = {"p": {"backend": "o", name: value}}
        return data, lambda cfg: getattr(cfg.presets["p"], name)
    if section == "routing.rules[N]":
        data["routing"] = {"rules": [{"words": ["w"], "to": "cloud", name: value}]}
        return data, lambda cfg: getattr(cfg.routing.rules[0], name)
    data[section] = {name: value}
    return data, lambda cfg: getattr(getattr(cfg, section), name)


def test_every_schema_option_is_read_by_the_validator_under_its_name(tmp_path):
    import yaml

    from hybrid_core.config.schema import SECTIONS, default_of, options

    checked = 0
    for section in SECTIONS:
        for name, opt in options(section.type):
            sample = _sample(opt, default_of(section.type, name) if not opt.required else None)
            if sample is None or (section.key == "routing.rules[N]" and name in ("to", "words")):
                continue
            written, kept = sample
            data, read = _configure(section.key, name, written)
            cfg = parse_config(yaml.safe_dump(data), str(tmp_path / "setup.yaml"))
            assert read(cfg) == kept, f"{section.key}.{name}: wrote {written!r}, the config holds {read(cfg)!r}"
            checked += 1
    assert checked >= 33, checked


def test_a_backend_type_is_one_schema_entry(tmp_path, monkeypatch):
    # The validator takes its backend types from the schema, and says them all in its message.
    from hybrid_core.config.schema import BACKEND_TYPES, BackendType

    monkeypatch.setitem(BACKEND_TYPES, "anthropic", BackendType("POST {base_url}/messages, SSE"))
    text = "backend:\n  claude: {type: anthropic, base_url: 'https://api.anthropic.com/v1', default_model: c}\n"
    assert parse_config(text, str(tmp_path / "setup.yaml")).backends["claude"].type == "anthropic"
    assert "backend.x.type: must be 'ollama', 'openai' or 'anthropic', got 'other'" in error_of(
        "backend:\n  x: {type: other, base_url: 'http://h', default_model: m}\n", tmp_path)
    assert "keep_alive: is Ollama's setting" in error_of(
        "backend:\n  claude: {type: anthropic, base_url: 'https://h/v1', default_model: c, keep_alive: 5m}\n", tmp_path)
