"""setup.yaml's schema: every option's type, default and help text, written once, here.

Each section of the file is a dataclass; each option is a field made with `option()`. validate.py
checks a file against these and builds them; the code reads the typed sections (`config.retry.
max_wait`), never the raw dict; `scripts/gen_config_help.py` writes the option tables of
`:help hybrid-config` from them, and tests/test_docs.py fails when the two differ.

A new backend type is one entry in BACKEND_TYPES (plus its module and registry entry in backends/).
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields

from .types import (
    Amount,
    Custom,
    Flag,
    OneOf,
    Positive,
    Text,
    TextList,
    Type,
    WholeNumber,
    alternatives,
)


@dataclass(frozen=True)
class BackendType:
    protocol: str                   # what it speaks, for the help
    options: tuple[str, ...] = ()   # backend.NAME options that only this type takes


BACKEND_TYPES = {
    "ollama": BackendType("native /api/chat, NDJSON stream", ("autostart", "keep_alive")),
    "openai": BackendType("POST {base_url}/chat/completions, SSE"),
}
ROLES = ("router", "query", "editor", "research")
SIDES = ("local", "cloud")


@dataclass(frozen=True)
class Option:
    type: Type
    doc: str                      # the help text: a sentence or two, wrapped by the generator
    shown: str | None = None      # the default as the help says it, when not the value itself
    required: bool = False        # absent or null is checked (an error), not defaulted
    null_ok: bool = True          # False: an explicit null is checked, only absence defaults


def option(default, type_: Type, doc: str, *, shown: str | None = None, required: bool = False,
           null_ok: bool = True):
    """A setup.yaml option: its type, default and help text, in one place."""
    meta = {"option": Option(type_, doc, shown, required, null_ok)}
    if required:
        return field(metadata=meta)
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def options(section) -> list[tuple[str, Option]]:
    """(name, Option) for each option of a section class, in file order."""
    return [(f.name, f.metadata["option"]) for f in fields(section) if "option" in f.metadata]


def default_of(section, name: str):
    f = next(f for f in fields(section) if f.name == name)
    return f.default_factory() if f.default_factory is not MISSING else f.default


# -- the sections -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DefaultsSection:
    """Where chats start, and limits for every backend that sets none of its own."""

    backend: str | None = option(None, Text(label="a backend name, or `auto`"),
                                 "The backend chats start on, or `auto` to route each request (|hybrid-routing|).",
                                 shown="the first backend")
    connect_timeout: float = option(2.0, Positive(), "Seconds to connect, for every backend: short, so a "
                                                     "server that is down is reported at once.")
    read_timeout: float = option(120.0, Positive(), "Seconds to wait for data, for every backend: long, because a "
                                                    "local model may take a while to load. It also ends a stream "
                                                    "that sends bytes but no whole message for that long.")
    max_answer_mb: float = option(20.0, Positive("MB"), "The most text one answer may have, in MB (millions of "
                                                        "characters). Past it the rest is not read, and the answer "
                                                        "ends with one line saying so; a runaway server cannot fill "
                                                        "the memory.")


def _type_doc() -> str:
    return "What the server speaks: " + alternatives(f"`{name}` ({kind.protocol})" for name, kind in BACKEND_TYPES.items()) + "."


@dataclass
class BackendConfig:
    """One server, named NAME (letters, digits, `_`, `.`, `-`)."""

    name: str
    type: str = option(None, Custom(alternatives(f"`{t}`" for t in BACKEND_TYPES)), _type_doc(), required=True)
    base_url: str = option(None, Custom("URL"), "The server's URL. For `openai` it includes the version path, "
                                                "e.g. https://openrouter.ai/api/v1.", required=True)
    default_model: str = option(None, Text(required=True), "The model used when a role names none.", required=True)
    agent_models: dict[str, str] = option({}, Custom("ROLE: model"), "A model per role: `query` (chat), `editor` "
                                          "(|:HybridAsk|), `research` (long prompts), `router` (|hybrid-routing|).")
    local: bool = option(False, Flag(), "Whether the server runs on this machine, so sensitive text may go to it "
                                        "(|hybrid-routing-local|).",
                         shown="inferred (true for a loopback base_url that does not look like a proxy to a cloud)")
    api_key_env: str = option("", Custom("variable name"), "The environment variable holding the key (its name, "
                                                           "never the key: a value shaped like a key is refused "
                                                           "without being shown).",
                              shown="NAME in upper case + `_API_KEY`")
    api_key_cmd: str | None = option(None, Text(), "A shell command that prints the key (|hybrid-config-keys|).")
    context_window: int | None = option(None, Positive("tokens", whole=True),
                                        "Tokens the model takes in. The history is fitted into it (|hybrid-context|), "
                                        "and for the local backend it decides when a prompt is too long and goes to "
                                        "the cloud. Not set: Ollama's /api/show tells; else 8192 is assumed for "
                                        "routing.")
    pricing: dict = option({}, Custom("MODEL: {input, output, cached_input}"),
                           "USD per million tokens per model (|hybrid-pricing|).")
    connect_timeout: float = option(DefaultsSection.connect_timeout, Positive(),
                                    "As defaults.connect_timeout, for this backend.", shown="defaults.connect_timeout")
    read_timeout: float = option(DefaultsSection.read_timeout, Positive(),
                                 "As defaults.read_timeout, for this backend.", shown="defaults.read_timeout")
    max_answer_mb: float = option(DefaultsSection.max_answer_mb, Positive("MB"),
                                  "As defaults.max_answer_mb, for this backend.", shown="defaults.max_answer_mb")
    autostart: bool = option(False, Flag(), "true: run `ollama serve` when nothing answers at base_url "
                                            "(|hybrid-servers|).", null_ok=False)
    command: list[str] | None = option(None, Custom("list"), "The command line of a local server the plugin "
                                                             "starts itself (|hybrid-servers|), e.g. "
                                                             "`[llama-server, -m, /models/q.gguf, --port, '8080']`.")
    keep_alive: str | float | None = option(None, Custom("duration or seconds"),
                                            "How long the model stays in memory after a request, sent with each "
                                            "request and the warm-up: a duration (`30m`, `2h`, `90s`) or seconds; "
                                            "`-1` keeps it loaded.", shown="Ollama's own (5 minutes)")
    warm_up: bool = option(True, Flag(), "Load the local model when the chat opens or a model is picked, so the "
                                         "first answer does not wait for it (|hybrid-warm-up|).", null_ok=False)
    local_why: str = "declared"  # how `local` was decided: "declared" (local: in setup.yaml) or the inference
    profiles: tuple[str, ...] = option((), Custom("PROFILE: {agent_models: ...}"),
                                       "GPTCode's profiles, read as presets named `NAME.PROFILE` with the "
                                       "profile's `query` model (|hybrid-presets|).")

    def model_for(self, role: str) -> str:
        return self.agent_models.get(role) or self.default_model

    @property
    def kind(self) -> str:
        return "local" if self.local else "cloud"


@dataclass
class Preset:
    """A named backend, model and system prompt (|hybrid-presets|)."""

    name: str
    backend: str = option(None, Text(required=True, label="a backend name, or `auto`"),
                          "The backend; `auto` routes each request (and then takes no model).", required=True)
    model: str | None = option(None, Text(), "The model.", shown="the backend's own")
    system: str | None = option(None, Text(), "The system prompt.", shown="the plugin's prompt")
    description: str | None = option(None, Text(), "Shown in the picker (|:HybridPreset|).")


@dataclass(frozen=True, kw_only=True)
class RouteRule:
    """One of your routing rules: checked in order, before the built-in ones."""

    words: tuple[str, ...] = option((), TextList("text or a list of text", one_ok=True),
                                    "Whole words, any case.")
    regex: tuple[str, ...] = option((), TextList("a regex or a list of them", regex=True, one_ok=True),
                                    "Python regexes, any case. A rule needs words, regex or both.")
    to: str = option(None, OneOf(SIDES), "Where a matching request goes.", required=True)
    reason: str | None = option(None, Text(), "Shown in the answer's header.", shown="the rule's words")
    role: str | None = option(None, OneOf(("query", "editor", "research")), "The model role for a chat message.",
                              shown="the command's own")
    command: str | None = option(None, OneOf(("chat", "ask")), "Only for chat, or only for |:HybridAsk|.",
                                 shown="both")


@dataclass(frozen=True)
class RoutingSection:
    """How `auto` mode picks a backend (|hybrid-routing|)."""

    local: str | None = option(None, Custom("a local backend's name"), "The local side.",
                               shown="the first local backend")
    cloud: str | None = option(None, Custom("a backend name"), "The cloud side.", shown="the first cloud backend")
    router_timeout: float = option(1.5, Positive(), "Seconds the router model may take to decide.")
    cooldown: float = option(30.0, Positive(), "Seconds a backend that failed is skipped "
                                               "(|hybrid-routing-fallback|).")
    builtin_rules: bool = option(True, Flag(), "false: no task classifier; only your rules, then local.")
    lean: str = option("local", OneOf(SIDES, verb="expected"), "Where a request goes when the classifier is unsure.")
    rules: tuple[RouteRule, ...] = option((), Custom("a list of rules"), "Your own rules (|hybrid-routing-config|).")


@dataclass(frozen=True)
class PrivacySection:
    """What never leaves the machine, beyond the built-in rules (|hybrid-privacy|)."""

    local_only_paths: tuple[str, ...] = option((), TextList("a list of globs"), "Files whose text stays local.")
    local_only_patterns: tuple[str, ...] = option((), TextList("a list of regexes", regex=True),
                                                  "Text that stays local.")


@dataclass(frozen=True)
class BudgetSection:
    """Spending limits (|hybrid-budget|)."""

    daily_usd: float | None = option(None, Amount(), "The most to spend in a day.", shown="no limit")
    monthly_usd: float | None = option(None, Amount(), "The most to spend in a month.", shown="no limit")
    on_limit: str = option("ask", OneOf(("ask", "refuse")), "Past a limit, a request bound for the cloud asks "
                                                            "first, or is refused.")


@dataclass(frozen=True)
class RetrySection:
    """Sending a failed request again (|hybrid-retry|)."""

    attempts: int = option(3, WholeNumber(1, 10, "no retry"), "Tries in all for one request, first included; "
                                                              "1 turns retries off.")
    max_wait: float = option(20.0, Positive(), "Longest wait before a retry, in seconds; a longer Retry-After is "
                                               "not waited for.")


@dataclass(frozen=True)
class ContextSection:
    """Fitting the history into the model's window (|hybrid-context|)."""

    summarize: bool = option(False, Flag(strict=False), "true: the turns that no longer fit are summarized by the "
                                                        "local model into one note that goes along instead.")


@dataclass(frozen=True)
class Section:
    key: str      # as setup.yaml writes it; NAME and [N] stand for any backend, preset or rule
    type: type


# The file's sections in the order the help lists them.
SECTIONS = (
    Section("defaults", DefaultsSection), Section("backend.NAME", BackendConfig), Section("presets.NAME", Preset),
    Section("routing", RoutingSection), Section("routing.rules[N]", RouteRule), Section("privacy", PrivacySection),
    Section("budget", BudgetSection), Section("retry", RetrySection), Section("context", ContextSection),
)


@dataclass
class Config:
    path: str
    default_backend: str
    backends: dict[str, BackendConfig]
    raw: dict = field(default_factory=dict)  # the file as read: keys we do not know are kept here
    presets: dict[str, Preset] = field(default_factory=dict)
    builtin: bool = False  # True when no file existed and the built-in default is in use
    defaults: DefaultsSection = field(default_factory=DefaultsSection)
    routing: RoutingSection = field(default_factory=RoutingSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    budget: BudgetSection = field(default_factory=BudgetSection)
    retry: RetrySection = field(default_factory=RetrySection)
    context: ContextSection = field(default_factory=ContextSection)

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
