"""setup.yaml: load, validate against the schema, and describe every mistake in one line.

The seed (GPTCode) format loads unchanged; keys we do not know are kept in `Config.raw`.
Messages name the file and the key path: `setup.yaml: backend.groq.type: must be ...`.
Every option is read through `take()`, so its default and its check are the schema's.
"""

from __future__ import annotations

import re
from dataclasses import MISSING
from urllib.parse import urlsplit

import yaml

from ..errors import ConfigError
from .locality import infer_local, looks_like_key
from .paths import display_path
from .schema import (
    BACKEND_TYPES,
    SIDES,
    BackendConfig,
    BudgetSection,
    Config,
    ContextSection,
    DefaultsSection,
    Preset,
    PrivacySection,
    RetrySection,
    RouteRule,
    RoutingSection,
    default_of,
    options,
)
from .types import Text, alternatives, show

_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def load_config(path: str) -> Config:
    """Read and validate `path`. Raises ConfigError with a one-line message."""
    shown = display_path(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"{shown}: file not found (create it, or point HYBRID_CONFIG at yours)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{shown}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return parse_config(text, path)


def parse_config(text: str, path: str) -> Config:
    return _Validator(display_path(path)).config(_load_yaml(text, display_path(path)), path)


def _load_yaml(text: str, shown: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ConfigError(f"{shown}: {where}invalid YAML ({problem})") from None
    except RecursionError:
        raise ConfigError(f"{shown}: invalid YAML (nested too deeply)") from None


def _backend_env(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


class _Validator:
    def __init__(self, shown: str):
        self.shown = shown

    def fail(self, key: str, what: str):
        raise ConfigError(f"{self.shown}: {key}: {what}")

    def mapping(self, value, key: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"expected a mapping of keys to values, got {show(value)}")
        return value

    def take(self, section, name: str, raw: dict, prefix: str, default=MISSING):
        """Option `name` of `section` as `raw` has it, checked by its schema type; its default when
        not given. A name the schema does not have is a KeyError: the validator reads only the schema's."""
        opt = dict(options(section))[name]
        value = raw.get(name)
        if value is None and not opt.required and (name not in raw or opt.null_ok):
            return default_of(section, name) if default is MISSING else default
        return opt.type.check(value, f"{prefix}.{name}", self.fail)

    def config(self, data, path: str) -> Config:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{self.shown}: expected a mapping at the top (defaults:, backend:), got {show(data)}")
        defaults = self.mapping(data.get("defaults"), "defaults")
        backends_raw = self.mapping(data.get("backend"), "backend")
        if not backends_raw:
            self.fail("backend", "no backends defined; add one, e.g. "
                      "backend: {ollama: {type: ollama, base_url: http://localhost:11434, default_model: qwen2.5-coder:7b}}")
        timeouts = {k: self.take(DefaultsSection, k, defaults, "defaults")
                    for k in ("connect_timeout", "read_timeout", "max_answer_mb")}
        backends: dict[str, BackendConfig] = {}
        for name, raw in backends_raw.items():
            if not isinstance(name, str) or not _NAME.fullmatch(name) or name == "auto":
                self.fail(f"backend.{name}", "a backend name uses letters, digits, '_', '.', '-' (and is not 'auto')")
            backends[name] = self.backend(name, raw, timeouts)
        default_backend = self.take(DefaultsSection, "backend", defaults, "defaults") or next(iter(backends))
        if default_backend != "auto" and default_backend not in backends:
            names = ", ".join(backends)
            self.fail("defaults.backend", f"{default_backend!r} is not a backend here; use one of: {names} (or auto)")
        sections = self.sections(data, backends)
        presets = self.presets(data.get("presets"), backends)  # first, and they win over a profile's name
        presets.update({k: v for k, v in self.profiles(backends_raw, backends).items() if k not in presets})
        return Config(path=path, default_backend=default_backend, backends=backends, raw=data, presets=presets,
                      defaults=DefaultsSection(backend=default_backend, **timeouts), **sections)

    def presets(self, raw, backends: dict) -> dict[str, Preset]:
        out = {}
        known = [name for name, _ in options(Preset)]
        for name, item in self.mapping(raw, "presets").items():
            key = f"presets.{name}"
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                self.fail(key, "a preset name uses letters, digits, '_', '.', '-'")
            item = self.mapping(item, key)
            unknown = set(item) - set(known)
            if unknown:
                self.fail(f"{key}.{sorted(unknown)[0]}", f"unknown key; a preset has {', '.join(known)}")
            backend = self.take(Preset, "backend", item, key)
            if backend != "auto" and backend not in backends:
                self.fail(f"{key}.backend", f"{backend!r} is not a backend here; use one of: {', '.join(backends)} (or auto)")
            if backend == "auto" and item.get("model") is not None:
                self.fail(f"{key}.model", "auto picks the backend per request; name a backend to fix the model")
            out[name] = Preset(name, backend, *(self.take(Preset, k, item, key) for k in ("model", "system", "description")))
        return out

    def profiles(self, backends_raw: dict, backends: dict) -> dict[str, Preset]:
        """GPTCode's backend.<name>.profiles.<profile>.agent_models, read as presets '<name>.<profile>'."""
        out = {}
        for name, raw in backends_raw.items():
            profiles = self.mapping(raw.get("profiles"), f"backend.{name}.profiles")
            for profile, item in profiles.items():
                key = f"backend.{name}.profiles.{profile}"
                models = self.mapping(self.mapping(item, key).get("agent_models"), f"{key}.agent_models")
                model = Text().check(models.get("query"), f"{key}.agent_models.query", self.fail)
                out[f"{name}.{profile}"] = Preset(f"{name}.{profile}", name, model or backends[name].default_model,
                                                  description=f"GPTCode profile {profile} of {name}")
            backends[name].profiles = tuple(profiles)
        return out

    def backend(self, name: str, raw, timeouts: dict) -> BackendConfig:
        key = f"backend.{name}"
        raw = self.mapping(raw, key)

        def take(option: str, **kw):
            return self.take(BackendConfig, option, raw, key, **kw)

        btype = take("type")
        types = tuple(BACKEND_TYPES)  # a tuple: an unhashable value is simply not one of them
        if btype not in types:
            choices = alternatives(repr(t) for t in types)
            if btype is None:
                self.fail(f"{key}.type", f"missing; must be {choices}")
            self.fail(f"{key}.type", f"must be {choices}, got {show(btype)}")
        only = BACKEND_TYPES[btype].options
        base_url = take("base_url")
        if base_url is None:
            self.fail(f"{key}.base_url", "missing; e.g. http://localhost:11434 for Ollama or https://openrouter.ai/api/v1")
        if not isinstance(base_url, str):
            self.fail(f"{key}.base_url", f"expected a URL, got {show(base_url)}")
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(f"{key}.base_url", f"expected an http:// or https:// URL, got {show(base_url)}")
        model = take("default_model")
        agent_models = {}
        for role, m in self.mapping(take("agent_models"), f"{key}.agent_models").items():
            agent_models[str(role)] = Text(required=True).check(m, f"{key}.agent_models.{role}", self.fail)
        local_why = "declared"
        if raw.get("local") is None:
            local, local_why = infer_local(btype, parts, [model, *agent_models.values()])
        else:
            local = take("local")
        env = self.api_key_env(take("api_key_env", default=None), f"{key}.api_key_env", name)
        cmd = take("api_key_cmd")
        window = take("context_window")
        pricing = self.pricing(take("pricing"), f"{key}.pricing")
        autostart = take("autostart")
        if autostart and "autostart" not in only:
            self.fail(f"{key}.autostart", "starts 'ollama serve', so it needs type: ollama; "
                                          "for another server give its command: [program, args...]")
        command = take("command")
        if command is not None and (not isinstance(command, list) or not command
                                    or not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in command)):
            self.fail(f"{key}.command", f"expected the server's command line as a list, e.g. [llama-server, -m, model.gguf], "
                                        f"got {show(command)}")
        warm_up = take("warm_up")
        return BackendConfig(
            name=name, type=btype, base_url=base_url.strip().rstrip("/"), default_model=model,
            agent_models=agent_models, local=local, local_why=local_why,
            api_key_env=env or _backend_env(name), api_key_cmd=cmd, context_window=window, pricing=pricing,
            connect_timeout=take("connect_timeout", default=timeouts["connect_timeout"]),
            read_timeout=take("read_timeout", default=timeouts["read_timeout"]),
            max_answer_mb=take("max_answer_mb", default=timeouts["max_answer_mb"]),
            autostart=autostart, command=[str(a) for a in command] if command else None,
            keep_alive=self.keep_alive(take("keep_alive"), f"{key}.keep_alive", "keep_alive" in only), warm_up=warm_up,
        )

    def api_key_env(self, value, key: str, name: str) -> str | None:
        """The name of the variable that holds the key. A key pasted here is never echoed back (the
        error goes to the log and checkhealth too): only its shape is named."""
        if isinstance(value, str) and looks_like_key(value):
            self.fail(key, f"got a value that looks like a key, not a variable name; put the key in keys.yaml "
                           f"or the environment and its variable's name here (e.g. {_backend_env(name)})")
        env = Text().check(value, key, self.fail)
        if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
            self.fail(key, f"expected an environment variable name, got {show(env)}")
        return env

    def keep_alive(self, value, key: str, allowed: bool) -> str | float | None:
        """Ollama's keep_alive: a duration ("30m", "2h", "90s") or seconds; negative keeps the model loaded."""
        if value is None:
            return None
        if not allowed:
            self.fail(key, "is Ollama's setting (type: ollama); other servers keep their model loaded themselves")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?(ms|s|m|h)?", value.strip()):
            return value.strip()
        self.fail(key, f"expected a duration like 30m, 2h or 90s, or seconds (-1 keeps it loaded), got {show(value)}")

    def pricing(self, raw, key: str) -> dict:
        table = self.mapping(raw, key)
        for model, rates in table.items():
            rates = self.mapping(rates, f"{key}.{model}")
            for rate, value in rates.items():
                if rate not in ("input", "output", "cached_input"):
                    self.fail(f"{key}.{model}.{rate}", "unknown rate; use input, output or cached_input (USD per million tokens)")
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    self.fail(f"{key}.{model}.{rate}", f"expected USD per million tokens, got {show(value)}")
        return table

    def sections(self, data: dict, backends: dict) -> dict:
        """The sections past defaults: and backend:, typed (in the order they are checked)."""
        routing = self.routing(self.mapping(data.get("routing"), "routing"), backends)
        out = {"routing": routing}
        for name, section in (("privacy", PrivacySection), ("budget", BudgetSection), ("retry", RetrySection),
                              ("context", ContextSection)):
            raw = self.mapping(data.get(name), name)
            out[name] = section(**{k: self.take(section, k, raw, name) for k, _ in options(section)})
        return out

    def routing(self, raw: dict, backends: dict) -> RoutingSection:
        for side in SIDES:
            name = raw.get(side)
            if name is not None and (not isinstance(name, str) or name not in backends):
                self.fail(f"routing.{side}", f"{show(name)} is not a backend here; use one of: {', '.join(backends)}")
        local = raw.get("local")
        if local is not None and not backends[local].local:
            self.fail("routing.local", f"{local!r} is a cloud backend; name a local one, or set "
                      f"backend.{local}.local: true if it runs on this machine")
        checked = {k: self.take(RoutingSection, k, raw, "routing")
                   for k in ("local", "cloud", "router_timeout", "cooldown", "builtin_rules", "lean")}
        rules = raw.get("rules")
        if rules is None:
            return RoutingSection(**checked)
        if not isinstance(rules, list):
            self.fail("routing.rules", "expected a list of rules, e.g. [{words: [terraform], to: cloud}]")
        return RoutingSection(**checked, rules=tuple(self.rule(self.mapping(rule, f"routing.rules[{i}]"), f"routing.rules[{i}]")
                                                     for i, rule in enumerate(rules)))

    def rule(self, rule: dict, key: str) -> RouteRule:
        known = [name for name, _ in options(RouteRule)]
        for k in rule:
            if k not in known:
                self.fail(f"{key}.{k}", f"unknown key; a rule has {', '.join(known)}")
        to = self.take(RouteRule, "to", rule, key)
        if not rule.get("words") and not rule.get("regex"):
            self.fail(key, "needs words: [...] or regex: '...' to match the request")
        rest = ("words", "regex", "reason", "role", "command")
        return RouteRule(to=to, **{k: self.take(RouteRule, k, rule, key) for k in rest})
