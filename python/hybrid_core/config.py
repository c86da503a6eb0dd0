"""setup.yaml: load, validate, and describe every mistake in one line.

The seed (GPTCode) format loads unchanged; keys we do not know are kept in `raw`.
Messages name the file and the key path: `setup.yaml: backend.groq.type: must be ...`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError

BACKEND_TYPES = ("ollama", "openai")
ROLES = ("router", "query", "editor", "research")
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_MAX_ANSWER_MB = 20.0  # an answer past this is a runaway server, not a reply: the rest is not read
# A key pasted where a variable name belongs: a provider's key prefix, or a long run with lower case
# and digits (variable names are upper-case words). Such a value is never echoed back.
_KEY_PREFIX = re.compile(r"(sk|gsk|xai|hf|ghp|gho|github_pat|glpat|pplx|nvapi|csk|fw|r8|AIza)[-_]?[A-Za-z0-9]")


def default_config_path() -> str:
    return os.environ.get("HYBRID_CONFIG") or os.path.expanduser("~/.config/hybrid/setup.yaml")


def display_path(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "/") and path.startswith(home + os.sep):
        return "~" + path[len(home):]
    return path


@dataclass
class BackendConfig:
    name: str
    type: str
    base_url: str
    default_model: str
    agent_models: dict[str, str] = field(default_factory=dict)
    local: bool = False
    api_key_env: str = ""
    api_key_cmd: str | None = None
    context_window: int | None = None
    pricing: dict = field(default_factory=dict)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_answer_mb: float = DEFAULT_MAX_ANSWER_MB  # the answer's text, in millions of characters
    autostart: bool = False  # type ollama: run `ollama serve` when nothing answers
    command: list[str] | None = None  # any server: started on first use, stopped on exit
    keep_alive: str | float | None = None  # type ollama: how long a model stays loaded after a request
    warm_up: bool = True  # load the model when the chat opens (type ollama, or a command: server)
    local_why: str = "declared"  # how `local` was decided: "declared" (local: in setup.yaml) or the inference

    def model_for(self, role: str) -> str:
        return self.agent_models.get(role) or self.default_model

    @property
    def kind(self) -> str:
        return "local" if self.local else "cloud"


@dataclass
class Preset:
    """A named backend, model and system prompt (setup.yaml's presets:, or a GPTCode profile)."""

    name: str
    backend: str  # a backend name, or auto
    model: str | None = None
    system: str | None = None
    description: str | None = None


@dataclass
class Config:
    path: str
    default_backend: str
    backends: dict[str, BackendConfig]
    raw: dict = field(default_factory=dict)
    presets: dict[str, Preset] = field(default_factory=dict)
    builtin: bool = False  # True when no file existed and the built-in default is in use

    @property
    def keys_path(self) -> str:
        return os.path.join(os.path.dirname(self.path), "keys.yaml")


def builtin_config(path: str) -> Config:
    """What a user without a setup.yaml gets: Ollama on its default port."""
    ollama = BackendConfig(
        name="ollama", type="ollama", base_url="http://localhost:11434",
        default_model="qwen2.5-coder:7b", local=True, api_key_env="OLLAMA_API_KEY",
    )
    return Config(path=path, default_backend="ollama", backends={"ollama": ollama}, builtin=True)


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


def _show(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# A loopback server that forwards to a cloud (a LiteLLM-style proxy) is not local: its port, its
# path or the models it serves give it away.
_PROXY_PORTS = (4000,)
_CLOUD_MODEL = re.compile(
    r"^(?:(?:openai|anthropic|azure|azure_ai|bedrock|vertex_ai|gemini|groq|openrouter|mistral|deepseek|together_ai|"
    r"cohere|xai|fireworks_ai|perplexity|replicate|huggingface)/|gpt-[345]|gpt-4o|chatgpt|o[134](?:-|$)|claude-|"
    r"gemini-|grok-)", re.IGNORECASE)


def infer_local(btype: str, parts, models: list[str]) -> tuple[bool, str]:
    """(local?, why) for a backend without `local:`; the why is shown by checkhealth and :HybridRoute."""
    if not _is_loopback(parts.hostname or ""):
        hint = "; set local: true if it runs on a machine of yours" if btype == "ollama" else ""
        return False, f"inferred: {parts.hostname} is not this machine{hint}"
    if parts.port in _PROXY_PORTS or "litellm" in (parts.path or "").lower():
        return False, "inferred: looks like a proxy to a cloud (LiteLLM's port or path); set local: true if not"
    cloudy = next((m for m in models if _CLOUD_MODEL.match(m)), None)
    if cloudy:
        return False, f"inferred: serves a cloud model ({cloudy}), so it is a proxy; set local: true if not"
    return True, "inferred: on this machine (loopback)"


def looks_like_key(value: str) -> bool:
    """True for an API key pasted where an environment variable's name belongs."""
    value = value.strip()
    if len(value) < 16 or any(c.isspace() for c in value):
        return False
    if _KEY_PREFIX.match(value) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return True
    return len(value) >= 20 and any(c.islower() for c in value) and sum(c.isdigit() for c in value) >= 3


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Validator:
    def __init__(self, shown: str):
        self.shown = shown

    def fail(self, key: str, what: str):
        raise ConfigError(f"{self.shown}: {key}: {what}")

    def mapping(self, value, key: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"expected a mapping of keys to values, got {_show(value)}")
        return value

    def string(self, value, key: str, *, required=False) -> str | None:
        if value is None:
            if required:
                self.fail(key, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(key, f"expected text, got {_show(value)}")
        if not isinstance(value, str):
            self.fail(key, f"expected text, got {_show(value)} (quote it if you mean text)")
        if required and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def texts(self, items: list, key: str, *, regex: bool = False) -> None:
        """Each item is non-empty text (and, with regex, compiles)."""
        for i, item in enumerate(items):
            self.string(item, f"{key}[{i}]", required=True)
            if regex:
                try:
                    re.compile(item)
                except re.error as e:
                    self.fail(f"{key}[{i}]", f"not a valid regex ({e})")

    def number(self, value, key: str, *, default: float, unit: str = "seconds") -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.fail(key, f"expected a positive number of {unit}, got {_show(value)}")
        return float(value)

    def config(self, data, path: str) -> Config:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{self.shown}: expected a mapping at the top (defaults:, backend:), got {_show(data)}")
        defaults = self.mapping(data.get("defaults"), "defaults")
        backends_raw = self.mapping(data.get("backend"), "backend")
        if not backends_raw:
            self.fail("backend", "no backends defined; add one, e.g. "
                      "backend: {ollama: {type: ollama, base_url: http://localhost:11434, default_model: qwen2.5-coder:7b}}")
        connect = self.number(defaults.get("connect_timeout"), "defaults.connect_timeout", default=DEFAULT_CONNECT_TIMEOUT)
        read = self.number(defaults.get("read_timeout"), "defaults.read_timeout", default=DEFAULT_READ_TIMEOUT)
        most = self.number(defaults.get("max_answer_mb"), "defaults.max_answer_mb", default=DEFAULT_MAX_ANSWER_MB,
                           unit="MB")
        backends: dict[str, BackendConfig] = {}
        for name, raw in backends_raw.items():
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name == "auto":
                self.fail(f"backend.{name}", "a backend name uses letters, digits, '_', '.', '-' (and is not 'auto')")
            backends[name] = self.backend(name, raw, connect, read, most)
        default_backend = self.string(defaults.get("backend"), "defaults.backend") or next(iter(backends))
        if default_backend != "auto" and default_backend not in backends:
            names = ", ".join(backends)
            self.fail("defaults.backend", f"{default_backend!r} is not a backend here; use one of: {names} (or auto)")
        self.sections(data, backends)
        presets = self.presets(data.get("presets"), backends)  # first, and they win over a profile's name
        presets.update({k: v for k, v in self.profiles(backends_raw, backends).items() if k not in presets})
        return Config(path=path, default_backend=default_backend, backends=backends, raw=data, presets=presets)

    def presets(self, raw, backends: dict) -> dict[str, Preset]:
        out = {}
        for name, item in self.mapping(raw, "presets").items():
            key = f"presets.{name}"
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                self.fail(key, "a preset name uses letters, digits, '_', '.', '-'")
            item = self.mapping(item, key)
            unknown = set(item) - {"backend", "model", "system", "description"}
            if unknown:
                self.fail(f"{key}.{sorted(unknown)[0]}", "unknown key; a preset has backend, model, system, description")
            backend = self.string(item.get("backend"), f"{key}.backend", required=True)
            if backend != "auto" and backend not in backends:
                self.fail(f"{key}.backend", f"{backend!r} is not a backend here; use one of: {', '.join(backends)} (or auto)")
            if backend == "auto" and item.get("model") is not None:
                self.fail(f"{key}.model", "auto picks the backend per request; name a backend to fix the model")
            out[name] = Preset(name, backend, self.string(item.get("model"), f"{key}.model"),
                               self.string(item.get("system"), f"{key}.system"),
                               self.string(item.get("description"), f"{key}.description"))
        return out

    def profiles(self, backends_raw: dict, backends: dict) -> dict[str, Preset]:
        """GPTCode's backend.<name>.profiles.<profile>.agent_models, read as presets '<name>.<profile>'."""
        out = {}
        for name, raw in backends_raw.items():
            for profile, item in self.mapping(raw.get("profiles"), f"backend.{name}.profiles").items():
                key = f"backend.{name}.profiles.{profile}"
                models = self.mapping(self.mapping(item, key).get("agent_models"), f"{key}.agent_models")
                model = self.string(models.get("query"), f"{key}.agent_models.query")
                out[f"{name}.{profile}"] = Preset(f"{name}.{profile}", name, model or backends[name].default_model,
                                                  description=f"GPTCode profile {profile} of {name}")
        return out

    def backend(self, name: str, raw, connect: float, read: float, most: float) -> BackendConfig:
        key = f"backend.{name}"
        raw = self.mapping(raw, key)
        btype = raw.get("type")
        if btype not in BACKEND_TYPES:
            if btype is None:
                self.fail(f"{key}.type", "missing; must be 'ollama' or 'openai'")
            self.fail(f"{key}.type", f"must be 'ollama' or 'openai', got {_show(btype)}")
        base_url = raw.get("base_url")
        if base_url is None:
            self.fail(f"{key}.base_url", "missing; e.g. http://localhost:11434 for Ollama or https://openrouter.ai/api/v1")
        if not isinstance(base_url, str):
            self.fail(f"{key}.base_url", f"expected a URL, got {_show(base_url)}")
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(f"{key}.base_url", f"expected an http:// or https:// URL, got {_show(base_url)}")
        model = self.string(raw.get("default_model"), f"{key}.default_model", required=True)
        agents = self.mapping(raw.get("agent_models"), f"{key}.agent_models")
        agent_models = {}
        for role, m in agents.items():
            agent_models[str(role)] = self.string(m, f"{key}.agent_models.{role}", required=True)
        local = raw.get("local")
        local_why = "declared"
        if local is None:
            local, local_why = infer_local(btype, parts, [model, *agent_models.values()])
        elif not isinstance(local, bool):
            self.fail(f"{key}.local", f"expected true or false, got {_show(local)}")
        env = self.api_key_env(raw.get("api_key_env"), f"{key}.api_key_env", name)
        cmd = self.string(raw.get("api_key_cmd"), f"{key}.api_key_cmd")
        window = raw.get("context_window")
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window <= 0):
            self.fail(f"{key}.context_window", f"expected a positive number of tokens, got {_show(window)}")
        pricing = self.pricing(raw.get("pricing"), f"{key}.pricing")
        autostart = raw.get("autostart", False)
        if not isinstance(autostart, bool):
            self.fail(f"{key}.autostart", f"expected true or false, got {_show(autostart)}")
        if autostart and btype != "ollama":
            self.fail(f"{key}.autostart", "starts 'ollama serve', so it needs type: ollama; "
                                          "for another server give its command: [program, args...]")
        command = raw.get("command")
        if command is not None and (not isinstance(command, list) or not command
                                    or not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in command)):
            self.fail(f"{key}.command", f"expected the server's command line as a list, e.g. [llama-server, -m, model.gguf], "
                                        f"got {_show(command)}")
        warm_up = raw.get("warm_up", True)
        if not isinstance(warm_up, bool):
            self.fail(f"{key}.warm_up", f"expected true or false, got {_show(warm_up)}")
        return BackendConfig(
            name=name, type=btype, base_url=base_url.strip().rstrip("/"), default_model=model,
            agent_models=agent_models, local=local, local_why=local_why,
            api_key_env=env or re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY",
            api_key_cmd=cmd, context_window=window, pricing=pricing,
            connect_timeout=self.number(raw.get("connect_timeout"), f"{key}.connect_timeout", default=connect),
            read_timeout=self.number(raw.get("read_timeout"), f"{key}.read_timeout", default=read),
            max_answer_mb=self.number(raw.get("max_answer_mb"), f"{key}.max_answer_mb", default=most, unit="MB"),
            autostart=autostart, command=[str(a) for a in command] if command else None,
            keep_alive=self.keep_alive(raw.get("keep_alive"), f"{key}.keep_alive", btype), warm_up=warm_up,
        )

    def api_key_env(self, value, key: str, name: str) -> str | None:
        """The name of the variable that holds the key. A key pasted here is never echoed back (the
        error goes to the log and checkhealth too): only its shape is named."""
        if isinstance(value, str) and looks_like_key(value):
            example = re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"
            self.fail(key, f"got a value that looks like a key, not a variable name; put the key in keys.yaml "
                           f"or the environment and its variable's name here (e.g. {example})")
        env = self.string(value, key)
        if env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
            self.fail(key, f"expected an environment variable name, got {_show(env)}")
        return env

    def keep_alive(self, value, key: str, btype: str) -> str | float | None:
        """Ollama's keep_alive: a duration ("30m", "2h", "90s") or seconds; negative keeps the model loaded."""
        if value is None:
            return None
        if btype != "ollama":
            self.fail(key, "is Ollama's setting (type: ollama); other servers keep their model loaded themselves")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?(ms|s|m|h)?", value.strip()):
            return value.strip()
        self.fail(key, f"expected a duration like 30m, 2h or 90s, or seconds (-1 keeps it loaded), got {_show(value)}")

    def pricing(self, raw, key: str) -> dict:
        table = self.mapping(raw, key)
        for model, rates in table.items():
            rates = self.mapping(rates, f"{key}.{model}")
            for rate, value in rates.items():
                if rate not in ("input", "output", "cached_input"):
                    self.fail(f"{key}.{model}.{rate}", "unknown rate; use input, output or cached_input (USD per million tokens)")
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    self.fail(f"{key}.{model}.{rate}", f"expected USD per million tokens, got {_show(value)}")
        return table

    def sections(self, data: dict, backends: dict) -> None:
        """The extension sections later features read; checked for shape now."""
        self.routing(self.mapping(data.get("routing"), "routing"), backends)
        privacy = self.mapping(data.get("privacy"), "privacy")
        for k in ("local_only_paths", "local_only_patterns"):
            items = privacy.get(k) or []
            if not isinstance(items, list):
                self.fail(f"privacy.{k}", f"expected a list, got {_show(items)}")
            self.texts(items, f"privacy.{k}", regex=k == "local_only_patterns")
        budget = self.mapping(data.get("budget"), "budget")
        for k in ("daily_usd", "monthly_usd"):
            v = budget.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
                self.fail(f"budget.{k}", f"expected an amount in USD, got {_show(v)}")
        if budget.get("on_limit") not in (None, "ask", "refuse"):
            self.fail("budget.on_limit", f"must be ask or refuse, got {_show(budget.get('on_limit'))}")
        retry = self.mapping(data.get("retry"), "retry")
        attempts = retry.get("attempts")
        if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10):
            self.fail("retry.attempts", f"expected a whole number from 1 (no retry) to 10, got {_show(attempts)}")
        self.number(retry.get("max_wait"), "retry.max_wait", default=1.0)
        context = self.mapping(data.get("context"), "context")
        if context.get("summarize") not in (None, True, False):
            self.fail("context.summarize", f"expected true or false, got {_show(context.get('summarize'))}")

    def routing(self, routing: dict, backends: dict) -> None:
        for side in ("local", "cloud"):
            name = routing.get(side)
            if name is not None and (not isinstance(name, str) or name not in backends):
                self.fail(f"routing.{side}", f"{_show(name)} is not a backend here; use one of: {', '.join(backends)}")
        local = routing.get("local")
        if local is not None and not backends[local].local:
            self.fail("routing.local", f"{local!r} is a cloud backend; name a local one, or set "
                      f"backend.{local}.local: true if it runs on this machine")
        for k in ("router_timeout", "cooldown"):
            self.number(routing.get(k), f"routing.{k}", default=1.0)
        builtin = routing.get("builtin_rules")
        if builtin is not None and not isinstance(builtin, bool):
            self.fail("routing.builtin_rules", f"expected true or false, got {_show(builtin)}")
        lean = routing.get("lean")
        if lean is not None and lean not in ("local", "cloud"):
            self.fail("routing.lean", f"expected local or cloud, got {_show(lean)}")
        rules = routing.get("rules")
        if rules is None:
            return
        if not isinstance(rules, list):
            self.fail("routing.rules", "expected a list of rules, e.g. [{words: [terraform], to: cloud}]")
        for i, rule in enumerate(rules):
            self.rule(self.mapping(rule, f"routing.rules[{i}]"), f"routing.rules[{i}]")

    def rule(self, rule: dict, key: str) -> None:
        known = ("words", "regex", "to", "reason", "role", "command")
        for k in rule:
            if k not in known:
                self.fail(f"{key}.{k}", f"unknown key; a rule has {', '.join(known)}")
        if rule.get("to") not in ("local", "cloud"):
            self.fail(f"{key}.to", f"must be local or cloud, got {_show(rule.get('to'))}")
        if not rule.get("words") and not rule.get("regex"):
            self.fail(key, "needs words: [...] or regex: '...' to match the request")
        for k in ("words", "regex"):
            items = rule.get(k) or []
            items = [items] if isinstance(items, str) else items
            if not isinstance(items, list):
                self.fail(f"{key}.{k}", f"expected text or a list of text, got {_show(items)}")
            self.texts(items, f"{key}.{k}", regex=k == "regex")
        self.string(rule.get("reason"), f"{key}.reason")
        if rule.get("role") is not None and rule.get("role") not in ("query", "editor", "research"):
            self.fail(f"{key}.role", f"must be query, editor or research, got {_show(rule.get('role'))}")
        if rule.get("command") is not None and rule.get("command") not in ("chat", "ask"):
            self.fail(f"{key}.command", f"must be chat or ask, got {_show(rule.get('command'))}")
