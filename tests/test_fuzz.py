"""Fuzzing (hypothesis): the stream decoders under random splits and random bytes, and the
config loaders under random and malformed files. Bad input is a clear message, never a crash."""

import json
import os
import stat

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_core.config import parse_config
from hybrid_core.errors import ConfigError
from hybrid_core.health import routing_summary
from hybrid_core.keys import read_keys_file
from hybrid_core.routing import Router, RouteRequest
from hybrid_core.streams import NDJSONDecoder, SSEDecoder, StreamFormatError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_all(decoder, chunks):
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["message", "done", "x"]), texts, max_size=3), min_size=1, max_size=8),
       st.lists(st.integers(min_value=0), max_size=20))
def test_ndjson_same_objects_however_the_bytes_are_split(objects, cuts):
    data = b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)
    assert feed_all(NDJSONDecoder(), split_at(data, cuts)) == objects


@FUZZ
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30),
                min_size=1, max_size=8),
       st.sampled_from([b"\n", b"\r\n", b"\r"]), st.lists(st.integers(min_value=0), max_size=20))
def test_sse_same_events_however_the_bytes_are_split(datas, newline, cuts):
    data = b"".join(b"data: " + d.encode() + newline + newline for d in datas)
    events = feed_all(SSEDecoder(), split_at(data, cuts))
    assert [e.data for e in events] == datas


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=10))
def test_random_bytes_decode_or_raise_the_format_error_only(data, cuts):
    for decoder in (NDJSONDecoder(), SSEDecoder()):
        try:
            items = feed_all(decoder, split_at(data, cuts))
        except StreamFormatError:
            continue
        assert all(isinstance(i, dict) for i in items) or all(hasattr(i, "data") for i in items)


# -- config ---------------------------------------------------------------------------------

KEYS = ["defaults", "backend", "type", "base_url", "default_model", "agent_models", "local", "api_key_env",
        "api_key_cmd", "context_window", "pricing", "routing", "rules", "words", "regex", "to", "privacy",
        "local_only_paths", "local_only_patterns", "budget", "daily_usd", "on_limit", "retry", "attempts",
        "max_wait", "context", "summarize", "ollama", "groq", "cloud", "connect_timeout", "read_timeout",
        "cooldown", "router_timeout", "query", "input", "output", "profiles"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), texts,
                    st.sampled_from(["ollama", "openai", "http://127.0.0.1:1", "auto", "local", "cloud", "(", "*"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), texts, st.integers()), inner, max_size=5)),
    max_leaves=25)
maybe = lambda good: st.one_of(*[good] * 6, values)  # noqa: E731 (mostly right, sometimes anything)
backend_entry = st.fixed_dictionaries(
    {"type": maybe(st.sampled_from(["ollama", "openai"])),
     "base_url": maybe(st.sampled_from(["http://127.0.0.1:11434", "https://api.groq.com/openai/v1"])),
     "default_model": maybe(st.sampled_from(["qwen2.5-coder:7b", "gpt-4o"]))},
    optional={k: values for k in ("local", "agent_models", "context_window", "pricing", "api_key_env", "read_timeout")})
rule = st.fixed_dictionaries({"to": maybe(st.sampled_from(["local", "cloud"]))},
                             optional={"words": maybe(st.lists(texts, max_size=3)), "regex": maybe(st.sampled_from(
                                 ["terraform", "(", "\\bk8s\\b", "a{2,}"])), "reason": texts, "role": values})
plausible = st.fixed_dictionaries(
    {"backend": st.dictionaries(st.sampled_from(["ollama", "groq", "local2", "x y"]), maybe(backend_entry),
                                min_size=1, max_size=3)},
    optional={"defaults": st.fixed_dictionaries({}, optional={"backend": maybe(st.sampled_from(["auto", "ollama", "groq"])),
                                                              "read_timeout": values}),
              "routing": st.fixed_dictionaries({}, optional={"local": values, "cloud": values, "cooldown": values,
                                                             "rules": maybe(st.lists(maybe(rule), max_size=3))}),
              "privacy": st.fixed_dictionaries({}, optional={"local_only_paths": maybe(st.lists(texts, max_size=3)),
                                                             "local_only_patterns": maybe(st.lists(texts, max_size=3))}),
              "budget": st.dictionaries(st.sampled_from(["daily_usd", "monthly_usd", "on_limit"]), values, max_size=3),
              "retry": st.dictionaries(st.sampled_from(["attempts", "max_wait"]), values, max_size=2),
              "context": values, "profiles": values})


def check_one_line(e: ConfigError):
    message = str(e)
    assert message.startswith("/tmp/setup.yaml: ") and "\n" not in message and "Traceback" not in message


@FUZZ
@given(st.one_of(values, plausible))
def test_any_yaml_structure_loads_or_says_what_is_wrong(data):
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    try:
        config = parse_config(text, "/tmp/setup.yaml")
    except ConfigError as e:
        check_one_line(e)
        return
    # What loads is usable: routing works on it.
    routing_summary(config)
    Router(config).decide(RouteRequest(text="why does this test fail intermittently?", command="chat"))


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_setup_yaml_load_or_say_what_is_wrong(data):
    try:
        parse_config(data.decode("utf-8", "replace"), "/tmp/setup.yaml")
    except ConfigError as e:
        check_one_line(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=200), values.map(lambda v: yaml.safe_dump(v).encode())))
def test_any_keys_yaml_reads_or_says_what_is_wrong(tmp_path, data):
    path = tmp_path / "keys.yaml"
    path.write_bytes(data)
    try:
        keys = read_keys_file(str(path))
    except ConfigError as e:
        message = str(e)
        assert message.startswith(str(path)) and "\n" not in message
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items())


def test_a_keys_file_others_can_read_is_reported(tmp_path):
    from hybrid_core.keys import keys_file_readable_by_others
    path = tmp_path / "keys.yaml"
    path.write_text("groq: sk-1\n")
    os.chmod(path, 0o600)
    assert not keys_file_readable_by_others(str(path))
    os.chmod(path, 0o644)
    assert keys_file_readable_by_others(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
