"""The decision pipeline: a labeled set of requests, each step, and the overrides."""

import os
from collections import defaultdict

import pytest
import yaml

from hybrid_core.config import parse_config
from hybrid_core.routing import Router, RouteRequest, Verdict, split_explicit

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = r"""
defaults: {backend: auto}
backend:
  ollama:
    type: ollama
    base_url: http://127.0.0.1:11434
    default_model: qwen
    context_window: 8192
    agent_models: {editor: qwen-editor, research: qwen-research}
  groq:
    type: openai
    base_url: https://api.groq.com/openai/v1
    default_model: gpt
    agent_models: {research: gpt-research}
privacy:
  local_only_patterns: ['ACME-[0-9]{6}']
routing:
  rules:
    - {words: [terraform], to: cloud, reason: infrastructure}
    - {regex: 'internal-api-\w+', to: local, reason: internal code}
    - {regex: '\bSELECT\b.*\bFROM\b', to: local, reason: SQL}
"""


def router(text: str = CONFIG) -> Router:
    return Router(parse_config(text, "/tmp/setup.yaml"))


def load_cases():
    with open(os.path.join(HERE, "routing_cases.yaml")) as f:
        return yaml.safe_load(f)


def case_request(case) -> RouteRequest:
    text = case["text"] * case.get("repeat", 1)
    if case.get("code_lines"):
        text += "\n```c\n" + "x++;\n" * case["code_lines"] + "```\n"
    return RouteRequest(text=text, command=case.get("command", "chat"), path=case.get("path"))


def test_labeled_requests_agree_with_the_router():
    cases = load_cases()
    assert len(cases) >= 60
    r = router()
    by_row = defaultdict(lambda: [0, 0])
    wrong = []
    for case in cases:
        decision = r.decide(case_request(case))
        ok = decision.side == case["expect"]
        by_row[case["row"]][0] += ok
        by_row[case["row"]][1] += 1
        if not ok:
            wrong.append(f"  {case['text'][:60]!r}: expected {case['expect']}, got {decision.side} ({decision.reason})")
    agreement = sum(ok for ok, _ in by_row.values()) / len(cases)
    report = "\n".join(f"  {row:22} {ok}/{n}" for row, (ok, n) in by_row.items())
    print(f"\nrouting agreement: {agreement:.1%} on {len(cases)} labeled requests\n{report}")
    if wrong:
        print("disagreements:\n" + "\n".join(wrong))
    assert agreement >= 0.9, "\n".join(wrong)


def test_every_task_table_row_is_covered():
    rows = {case["row"] for case in load_cases()}
    assert rows >= {"refactoring", "boilerplate", "tests", "simple fix", "architecture", "complex debugging",
                    "unfamiliar framework", "summarizing", "creative writing", "formatting", "explaining",
                    "classification", "security review", "design trade-offs", "privacy", "explicit", "size", "user rules"}


@pytest.mark.parametrize("text, expected", [
    ("@cloud why?", ("cloud", "why?")),
    ("  @LOCAL: rename it", ("local", "rename it")),
    ("@cloudy skies", (None, "@cloudy skies")),
    ("ask @cloud later", (None, "ask @cloud later")),
])
def test_explicit_prefix(text, expected):
    assert split_explicit(text) == expected


def test_each_step_names_itself():
    r = router()
    assert r.decide(RouteRequest("hi", path="/p/.env")).step == "privacy"
    assert r.decide(RouteRequest("@cloud hi")).step == "explicit"
    assert r.decide(RouteRequest("hi"), over_budget="daily budget spent").step == "budget"
    assert r.decide(RouteRequest("x" * 40000)).step == "size"
    assert r.decide(RouteRequest("terraform it")).step == "rules"  # the user's rule
    assert r.decide(RouteRequest("refactor this")).step == "classifier"
    assert r.decide(RouteRequest("hi"), verdict=Verdict("cloud", "judged hard")).step == "router"
    off = router(CONFIG.replace("routing:\n", "routing:\n  builtin_rules: false\n"))
    assert off.decide(RouteRequest("hi")).step == "default"
    assert r.decide(RouteRequest("race condition"), active="ollama").step == "fixed"


def test_roles_pick_the_model_of_the_chosen_backend():
    r = router()
    assert (r.decide(RouteRequest("hi")).model, r.decide(RouteRequest("hi", command="ask")).model) == ("qwen", "qwen-editor")
    research = r.decide(RouteRequest("survey the research literature on CRDTs for collaborative text editing"))
    assert (research.backend, research.role, research.model) == ("groq", "research", "gpt-research")
    long = r.decide(RouteRequest("y" * 40000))
    assert (long.backend, long.role, long.model) == ("groq", "research", "gpt-research")
    assert r.decide(RouteRequest("rename x", command="ask"), models={"ollama": "picked"}).model == "picked"


def test_privacy_beats_explicit_cloud_and_fixed_cloud_with_a_notice():
    r = router()
    d = r.decide(RouteRequest("@cloud token ghp_Xq7Lm2Pz9Rt4Wv8Ny3Bc6Df1Gh5Jk0Ms2Qa7"))
    assert (d.backend, d.step, d.text) == ("ollama", "privacy", "token ghp_Xq7Lm2Pz9Rt4Wv8Ny3Bc6Df1Gh5Jk0Ms2Qa7")
    assert d.notice == "@cloud ignored: a GitHub token in the text, so it goes to ollama (local)"
    d = r.decide(RouteRequest("look", path="/x/server.pem"), active="groq")
    assert d.backend == "ollama" and d.notice == "server.pem is local-only (*.pem): sent to ollama (local), not groq"
    assert d.fallback is None


def test_sensitive_without_a_local_backend_is_refused():
    r = router("backend:\n  groq: {type: openai, base_url: 'https://api.groq.com/openai/v1', default_model: g}\n")
    d = r.decide(RouteRequest("key AKIAZ3MHQ7RXWP4LK2NB"), active="groq")
    assert d.backend is None
    assert d.refused == ("not sent: an AWS access key in the text and no local backend is configured "
                         "(add one with type: ollama or local: true)")


def test_a_backend_in_cooldown_is_skipped_but_not_for_sensitive_text():
    r = router()
    d = r.decide(RouteRequest("hi"), down={"ollama": 20})
    assert d.backend == "groq" and d.reason.endswith("; ollama is down (retry in 20 s)")
    d = r.decide(RouteRequest("why is this flaky?"), down={"groq": 5})
    assert d.backend == "ollama" and "groq is down" in d.reason
    assert r.decide(RouteRequest("hi", path="/p/id_rsa"), down={"ollama": 20}).backend == "ollama"


def test_fallback_is_offered_only_in_auto_mode_without_an_explicit_choice():
    r = router()
    assert r.decide(RouteRequest("hi")).fallback == "groq"
    assert r.decide(RouteRequest("why is it flaky")).fallback == "ollama"
    assert r.decide(RouteRequest("@cloud hi")).fallback is None
    assert r.decide(RouteRequest("hi"), active="ollama").fallback is None


def test_user_rules_can_replace_the_builtin_ones():
    text = CONFIG.replace("routing:\n", "routing:\n  builtin_rules: false\n")
    assert router(text).decide(RouteRequest("why is this flaky?")).side == "local"
    assert router(text).decide(RouteRequest("write terraform")).side == "cloud"


def test_user_rule_options():
    r = router(CONFIG + "    - {words: [ansible playbook], to: cloud, command: ask, role: research}\n")
    assert r.decide(RouteRequest("fix this ansible   playbook", command="ask")).side == "cloud"
    assert r.decide(RouteRequest("fix this ansible playbook", command="ask")).role == "editor"  # edits keep the editor
    assert r.decide(RouteRequest("what is an ansible playbook")).side == "local"  # chat: not this rule


def test_words_match_whole_words_only():
    r = router()
    assert not r.decide(RouteRequest("print the information")).reason.startswith("formatting")
    assert r.decide(RouteRequest("please format it")).reason.startswith("formatting")


def test_rules_read_the_request_not_the_code_that_goes_along():
    r = router()
    text = "rename x to count\n```python\n# TODO: fix race condition and security hole\nx = 1\n```"
    assert r.decide(RouteRequest(text)).reason.startswith("refactoring")


def test_router_model_is_offered_before_the_builtin_rules_only():
    with_router = CONFIG.replace("agent_models: {editor: qwen-editor, research: qwen-research}",
                                 "agent_models: {router: tiny, editor: qwen-editor}")
    r = router(with_router)
    assert r.decide(RouteRequest("rename x")).router_model is None  # the classifier is sure
    assert r.decide(RouteRequest("explain these 15 files and where caching should go")).router_model == "tiny"
    assert r.decide(RouteRequest("terraform it")).router_model is None  # a user rule decided
    assert r.decide(RouteRequest("hi", path="/p/.env")).router_model is None
    assert r.decide(RouteRequest("rename x"), verdict=Verdict("cloud", "tiny judged it hard")).backend == "groq"


def test_code_is_counted_and_left_out_even_when_a_fence_is_not_closed():
    r = router()
    text = "rename it\n```python\n" + "race condition\n" * 200  # an unclosed paste
    d = r.decide(RouteRequest(text))
    assert d.reason.startswith("refactoring")
    assert r.decide(RouteRequest("explain\n```python\n" + "x = 1\n" * 200)).reason.startswith("explaining a lot of code")
