"""Where a request goes, and why: the decision pipeline, as pure code (no I/O).

Steps, in order; the first that decides wins (README "Routing", :help hybrid-routing):
  0. attachments one that could not be read -> refused (it names it)
  1. privacy   sensitive path or text -> local, sticky for the chat; refused with no local backend
  2. explicit  a message starting with @local or @cloud
  -  fixed     not in auto mode: the chosen backend
  3. budget    over budget -> local
  4. size      the prompt does not fit the local context window -> cloud (research role)
  5. rules     the user's routing.rules, then what the user taught it (corrections.py)
  6. classifier the trained task classifier (classifier/): the task's kind decides the side; in its
               uncertain band the router model decides when one is configured, else routing.lean
  7. default   local (routing.builtin_rules: false turns the classifier off)
A backend in its failure cooldown is skipped for the other side (never for sensitive text).
Last, a message with attachments must fit the chosen backend's context window: else auto mode
takes it to the other side, and anything else is refused naming the attachment and the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from . import classifier
from .attachments import Attachment, biggest
from .config.schema import SIDES
from .privacy import Finding, PrivacyRules
from .route_rules import BUILTIN_RULES, LARGE_CODE_LINES, Rule, applies, user_rules
from .tokens import estimate_tokens

__all__ = ["SIDES", "BUILTIN_RULES", "Decision", "Router", "RouteRequest", "Rule", "Verdict", "split_explicit",
           "user_rules"]
UNCERTAIN = (0.2, 0.65)  # the cloud probability where the classifier is not sure
ASSUMED_LOCAL_CONTEXT = 8192  # tokens, when the local backend has no context_window
OUTPUT_RESERVE = 1024         # tokens kept free for the answer
RULE_TEXT_LIMIT = 4000        # the request's own words beyond this are not read by the rules
MANY_FILES = 3


_FILE = re.compile(
    r"(?<![\w/.-])(?:[\w.-]+/)*[\w-]+\.(?:py|lua|js|mjs|ts|tsx|jsx|go|rs|c|h|cc|cpp|hpp|java|kt|rb|php|cs|swift|scala|sh|"
    r"sql|ya?ml|toml|json|vim|html|css|scss|vue|svelte|ex|exs|erl|hs|ml|zig|dart|jl|tf|proto|gradle|xml)(?![\w])")
_EXPLICIT = re.compile(r"\s*@(local|cloud)\b[ \t]*[:,]?\s*", re.IGNORECASE)


def split_explicit(text: str) -> tuple[str | None, str]:
    """('local'|'cloud'|None, the text without the prefix)."""
    m = _EXPLICIT.match(text or "")
    if not m:
        return None, text
    return m.group(1).lower(), text[m.end():]


@dataclass
class RouteRequest:
    text: str                      # what the user wrote; may start with @local / @cloud
    command: str = "chat"          # chat | ask
    selection: str = ""            # :HybridAsk's selected code
    context: str = ""              # everything else that goes along (history, surrounding code)
    path: str | None = None        # the buffer the text comes from
    prompt_chars: int | None = None  # the whole prompt as it would be sent, when known
    sticky: Finding | None = None  # the chat already carried sensitive text
    attachments: tuple[Attachment, ...] = ()  # #file:, #buffer, ... (attachments.py), read
    message_chars: int | None = None  # the system prompt and the new message with its attachments


@dataclass
class Verdict:
    """The router model's classification."""
    side: str
    reason: str


@dataclass
class Decision:
    backend: str | None            # None when refused
    side: str | None               # local | cloud (the backend's kind)
    role: str
    reason: str                    # short, for the answer header
    step: str                      # privacy | explicit | fixed | budget | size | rules | router | default
    model: str | None = None
    text: str = ""                 # the request without its @local/@cloud prefix
    sensitive: str | None = None   # the privacy rule that matched
    refused: str | None = None     # why nothing can be sent
    notice: str | None = None      # something the user should hear about (@cloud ignored, detour)
    fallback: str | None = None    # backend to try when this one fails before its first token
    router_model: str | None = None  # set when the router model may still decide
    attached: str | None = None    # the biggest attachment: what a prompt too big for the window names
    finding: Finding | None = field(default=None, repr=False)

    def as_table(self) -> dict:
        return {"backend": self.backend, "side": self.side, "model": self.model, "role": self.role,
                "reason": self.reason, "step": self.step, "sensitive": self.sensitive, "refused": self.refused,
                "notice": self.notice, "fallback": self.fallback}


class Router:
    """Decides for one config; build a new one when the config changes."""

    def __init__(self, config):
        self.config = config
        routing, backends = config.routing, config.backends
        # Not named in routing.local / routing.cloud: the first backend of that side, in file order.
        self.local = routing.local or next((n for n, b in backends.items() if b.local), None)
        self.cloud = routing.cloud or next((n for n, b in backends.items() if not b.local), None)
        self.router_timeout = routing.router_timeout
        self.cooldown = routing.cooldown
        self.user_rules = tuple(user_rules(routing.rules))
        self.builtin_rules = BUILTIN_RULES if routing.builtin_rules else ()
        self.classify = routing.builtin_rules
        self.lean = routing.lean
        self.corrections = None  # the user's corrections (corrections.py), set by the engine
        self.privacy = PrivacyRules.from_config(config)

    # -- the pipeline ---------------------------------------------------------------

    def decide(self, req: RouteRequest, *, active: str = "auto", down: dict | None = None,
               over_budget: str | None = None, verdict: Verdict | None = None,
               models: dict | None = None, local_window: int | None = None,
               windows: dict | None = None) -> Decision:
        """`windows`: the context windows servers reported, by backend name (for attachments)."""
        windows = windows or {}
        local_window = local_window or (windows.get(self.local) if self.local else None)
        decision = self._decide(req, active, down or {}, over_budget, verdict, models, local_window)
        if req.attachments:
            decision = replace(decision, attached=biggest(req.attachments).name)
        return self._fit(decision, req, windows, models)

    def _decide(self, req: RouteRequest, active, down, over_budget, verdict, models, local_window) -> Decision:
        explicit, text = split_explicit(req.text)
        role = "editor" if req.command == "ask" else "query"
        base = {"role": role, "text": text}
        broken = next((a for a in req.attachments if a.error), None)
        if broken:
            return Decision(None, None, reason=f"{broken.name} could not be read", step="attachments", **base,
                            refused=f"not sent: {broken.error}")

        # Every attachment is checked (its line in the chat says local-only), sticky or not.
        attached = [self._check_attachment(a) for a in req.attachments]
        finding = (req.sticky or self.privacy.check_path(req.path) or self.privacy.check_text(text)
                   or next(filter(None, attached), None)
                   or self.privacy.check_text(req.selection) or self.privacy.check_text(req.context))
        if finding:
            return self._finish(self._private(finding, explicit, active, base), models)

        if explicit:
            name = self.local if explicit == "local" else self.cloud
            if name is None:
                return self._finish(Decision(None, None, reason=f"@{explicit}", step="explicit", **base,
                                             refused=f"@{explicit}: no {explicit} backend in setup.yaml "
                                                     f"(add one, or name it in routing.{explicit})"), models)
            return self._finish(Decision(name, None, reason=f"@{explicit}", step="explicit", **base), models)

        if active != "auto":
            return self._finish(Decision(active, None, reason="fixed backend", step="fixed", **base), models)

        decision = self._auto(req, text, role, over_budget, verdict, local_window)
        return self._finish(self._place(decision, down), models)

    def _check_attachment(self, a: Attachment) -> Finding | None:
        found = self.privacy.check_attachment(a.name, a.path, a.paths, a.text)
        a.local_only = found.rule if found else None
        return found

    def _fit(self, d: Decision, req: RouteRequest, windows: dict, models: dict | None) -> Decision:
        """A message is never cut: one that cannot fit the chosen backend's window goes to the
        other side in auto mode (privacy permitting), or is refused naming its biggest attachment."""
        if d.backend is None or req.message_chars is None:
            return d
        need = estimate_tokens(req.message_chars)
        window = self._window(d.backend, windows)
        if window is None or need <= _room(window):
            return d
        other = d.fallback
        if other is not None and (self._window(other, windows) is None or need <= _room(self._window(other, windows))):
            return self.retarget(d, other, f"~{_k(need)} tokens > {d.backend} context {_k(window)}", models)
        if not req.attachments:  # the typed message alone is too big
            return replace(d, backend=None, reason="the message does not fit", step="size", fallback=None,
                           router_model=None, refused=f"not sent: the message (~{_k(need)} tokens) does not fit "
                                                      f"{d.backend}'s {window:,}-token context window")
        big = biggest(req.attachments)
        hint = ("it is local-only, so only a local model may read it" if d.step == "privacy" else
                ":HybridBackend auto lets a bigger model take it" if d.step == "fixed" and other is None and self.cloud
                else "attach less, e.g. a #selection")
        return replace(d, backend=None, reason=f"{big.name} does not fit", step="size", fallback=None, router_model=None,
                       refused=f"not sent: {big.name} (~{_k(big.tokens)} tokens) does not fit {d.backend}'s "
                               f"{window:,}-token context window ({hint})")

    def _window(self, name: str, windows: dict) -> int | None:
        return self.config.backends[name].context_window or windows.get(name)

    def _private(self, finding: Finding, explicit: str | None, active: str, base: dict) -> Decision:
        rule = finding.rule
        if self.local is None:
            return Decision(None, None, reason=rule, step="privacy", sensitive=rule, finding=finding, **base,
                            refused=f"not sent: {rule} and no local backend is configured "
                                    "(add one with type: ollama or local: true)")
        notice = None
        if explicit == "cloud":
            notice = f"@cloud ignored: {rule}, so it goes to {self.local} (local)"
        elif active not in ("auto", self.local) and not self.config.backends[active].local:
            notice = f"{rule}: sent to {self.local} (local), not {active}"
        return Decision(self.local, "local", reason=rule, step="privacy", sensitive=rule, notice=notice,
                        finding=finding, **base)

    def _auto(self, req: RouteRequest, text: str, role: str, over_budget, verdict, local_window) -> Decision:
        def to(side, reason, step, role=role):
            return Decision(None, side, role=role, reason=reason, step=step, text=text)

        if over_budget:
            return to("local", over_budget, "budget")

        window = self._local_window(local_window)
        chars = req.prompt_chars if req.prompt_chars is not None else len(text) + len(req.selection) + len(req.context)
        tokens = estimate_tokens(chars)
        if window and tokens > _room(window):
            return to("cloud", f"~{_k(tokens)} tokens > local context {_k(window)}", "size",
                      "research" if req.command == "chat" else role)

        words, code_lines = _split_code(text)
        code_lines += req.selection.count("\n") + (1 if req.selection else 0)
        for rule in self.user_rules:
            if applies(rule, words, req.command, code_lines):
                return to(rule.to, rule.reason, "rules", _role(rule, req.command, role))
        if verdict is not None:
            return to(verdict.side, verdict.reason, "router")
        learned = self.corrections.match(text) if self.corrections is not None else None
        if learned:
            side, times = learned
            return to(side, f"you sent similar requests to the {side} {times} time{'s' if times > 1 else ''}",
                      "learned")
        if not self.classify:
            return to("local", "routine edit" if req.command == "ask" else "routine question", "default")
        files = len(set(_FILE.findall(words)))
        if files >= MANY_FILES:
            return to("cloud", f"multi-file change ({files} files)", "rules")
        return self._classified(text, words, req, code_lines, to, role)

    def _classified(self, text: str, words: str, req: RouteRequest, code_lines: int, to, role) -> Decision:
        """The task's kind decides. In the uncertain band the router model decides when one is
        configured; else the seeds' task table breaks the tie; else routing.lean."""
        pred = classifier.shared().predict(text)
        low, high = UNCERTAIN
        uncertain = low <= pred.cloud <= high
        side = "cloud" if pred.cloud > 0.5 else "local"
        if uncertain:
            rule = self._tie_break(words, req, code_lines)
            if rule is not None:
                decision = to(rule.to, f"{rule.reason} (classifier unsure: {pred.cloud:.2f})", "classifier",
                              _role(rule, req.command, role))
                decision.router_model = self._router_model()
                return decision
            side = self.lean
        name, p = pred.best_on(side)
        if side == "local" and name == "explanation" and code_lines > LARGE_CODE_LINES:
            return to("cloud", f"explaining a lot of code ({code_lines} lines)", "classifier")
        research = name == "research" and req.command == "chat"
        decision = to(side, f"{name} ({p:.2f})" + ("; unsure, routing.lean" if uncertain else ""), "classifier",
                      "research" if research else role)
        if uncertain:  # the router model may decide what we cannot
            decision.router_model = self._router_model()
        return decision

    def _tie_break(self, words: str, req: RouteRequest, code_lines: int) -> Rule | None:
        """The first built-in task rule that matches (cloud ones first, as the seeds' table reads)."""
        for to_side in ("cloud", "local"):
            for rule in self.builtin_rules:
                if rule.to == to_side and applies(rule, words, req.command, code_lines):
                    return rule
        return None

    def _router_model(self) -> str | None:
        return self.config.backends[self.local].agent_models.get("router") if self.local is not None else None

    def _place(self, d: Decision, down: dict) -> Decision:
        """Turn a side into a backend: a missing or cooling-down side hands over to the other."""
        want, other = (self.local, self.cloud) if d.side == "local" else (self.cloud, self.local)
        if want is None:
            if other is None:  # cannot happen with a valid config, which has a backend
                return replace(d, refused="no backend configured")
            return replace(d, backend=other, reason=f"{d.reason}; no {d.side} backend configured", router_model=None)
        if want in down and other is not None and other not in down:
            # No notice: the failure was announced once, and the header says why.
            return replace(d, backend=other, reason=f"{d.reason}; {want} is down (retry in {down[want]:.0f} s)",
                           router_model=None)
        return replace(d, backend=want, fallback=other)

    def retarget(self, d: Decision, name: str, why: str | None, models: dict | None, role: str | None = None) -> Decision:
        """The same request sent to backend `name` instead (a fallback, or another role)."""
        moved = replace(d, backend=name, role=role or d.role, fallback=None, router_model=None,
                        reason=f"{d.reason}; {why}" if why else d.reason)
        return self._finish(moved, models)

    def _finish(self, d: Decision, models: dict | None) -> Decision:
        if d.backend is None:
            return d
        cfg = self.config.backends[d.backend]
        model = (models or {}).get(d.backend) or cfg.model_for(d.role)
        fallback = d.fallback if d.step not in ("privacy", "explicit", "fixed") else None
        return replace(d, side=cfg.kind, model=model, fallback=fallback)

    def _local_window(self, learned: int | None) -> int | None:
        if self.local is None or self.cloud is None:
            return None
        return self.config.backends[self.local].context_window or learned or ASSUMED_LOCAL_CONTEXT


def _split_code(text: str) -> tuple[str, int]:
    """The request's own words (fenced code left out, the first RULE_TEXT_LIMIT characters)
    and how many lines of code it carries. Plain `find`/`count`: a 100 KB paste costs little."""
    words, code_lines, at = [], 0, 0
    kept = 0
    while True:
        start = text.find("```", at)
        end = text.find("```", start + 3) if start >= 0 else -1
        stop = start if start >= 0 else len(text)
        if kept < RULE_TEXT_LIMIT:
            words.append(text[at:min(stop, at + RULE_TEXT_LIMIT - kept)])
            kept += len(words[-1])
        if start < 0:
            break
        block_end = end if end >= 0 else len(text)
        code_lines += max(text.count("\n", start, block_end) - 1, 0)
        if end < 0:
            break
        at = end + 3
    return " ".join(words), code_lines


def _role(rule: Rule, command: str, role: str) -> str:
    # An edit always needs the editor model; research is for questions.
    return rule.role if rule.role and command == "chat" else role


def _room(window: int) -> int:
    """What a prompt may take of a window: the rest is kept for the answer."""
    return window - min(OUTPUT_RESERVE, window // 4)


def _k(tokens: int) -> str:
    return f"{tokens / 1000:.1f}k" if tokens < 10000 else f"{tokens // 1000}k"
