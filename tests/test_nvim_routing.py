"""Routing in a real Neovim against loopback servers: headers, fallback, cooldown, privacy, dry run."""

import re
import time

import pytest

from configs import two_sides
from nvim_harness import plain

pytestmark = pytest.mark.nvim

KEY = {"GROQ_API_KEY": "test-key"}


def auto(ollama_url, openai_url, extra=""):
    return two_sides(ollama_url, openai_url, extra)


def answer_headers(lines):
    return [plain(line) for line in lines if line.startswith("## ") and line != "## You"]


def test_routed_answers_say_where_they_went_and_why(editor, ollama, openai):
    ollama.reply, openai.reply = "local answer", "cloud answer"
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat rename foo to bar in this snippet")
    ed.wait_answer()
    ed.cmd("HybridChat why does this test fail intermittently on CI?")
    lines = ed.wait_answer(2)
    assert answer_headers(lines) == ["## local · ollama · fake-model · refactoring",
                                     "## cloud · groq · fake-model · complex debugging"]
    assert "local answer" in lines and "cloud answer" in lines
    assert len(ollama.chat_requests()) == 1 and len(openai.chat_requests()) == 1
    status = ed.status()
    assert status["mode"] == "auto"
    assert (status["last"]["backend"], plain(status["last"]["reason"])) == ("groq", "complex debugging")


def test_local_down_falls_back_to_cloud_then_cooldown_then_probe(editor, ollama, openai):
    ollama.mode, ollama.status = "status", 500
    openai.reply = "cloud answer"
    ed = editor(auto(ollama.url, openai.url, "routing: {cooldown: 1}\n"), env=KEY)
    ed.cmd("HybridChat hello there")
    lines = ed.wait_answer()
    assert answer_headers(lines) == ["## cloud · groq · fake-model · general question; ollama failed"]
    assert "cloud answer" in lines
    # The header says why; the retries and the failure were in its status line, not in messages.
    assert ed.messages() == []
    # A 500 is tried three times in all (retry.attempts), then the other side answers.
    assert len(ollama.chat_requests()) == 3
    # While it cools down, ollama is not tried at all: no wait.
    ed.cmd("HybridChat and again")
    lines = ed.wait_answer(2)
    second = answer_headers(lines)[1]
    assert second.startswith("## cloud · groq · fake-model · ") and "; ollama is down (retry in" in second
    assert len(ollama.chat_requests()) == 3 and ed.messages() == []
    # After the cooldown it is probed again, and answers.
    ollama.mode = "normal"
    time.sleep(1.1)
    ed.cmd("HybridChat third time")
    lines = ed.wait_answer(3)
    assert answer_headers(lines)[2].startswith("## local · ollama · fake-model · ")
    assert len(ollama.chat_requests()) == 4


@pytest.mark.parametrize("status, headers, said", [
    (503, {}, "server error 503"),
    (429, {"Retry-After": "7"}, "rate limited"),
])
def test_cloud_failing_falls_back_to_local(editor, ollama, openai, status, headers, said, tmp_path):
    openai.mode, openai.status, openai.headers = "status", status, headers
    ollama.reply = "local answer"
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat what are the trade-offs between gRPC and REST here?")
    lines = ed.wait_answer()
    assert answer_headers(lines) == ["## local · ollama · fake-model · design trade-offs; groq failed"]
    assert "local answer" in lines
    log = (tmp_path / "data" / "hybrid.log").read_text()  # what failed is in the log, and was in the status line
    assert said in log and "answering with ollama (local) instead" in log
    assert ed.messages() == []


def test_both_sides_down_shows_both_failures(editor, ollama, openai):
    ollama.mode = openai.mode = "status"
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat hello")
    lines = ed.wait_answer()
    assert any(line.startswith("> **error:** groq: server error 500") for line in lines)
    assert "ollama failed" in answer_headers(lines)[0]
    assert ed.messages("error")[0].startswith("(hybrid) groq: server error 500")


def test_sensitive_text_never_falls_back_to_the_cloud(editor, ollama, openai):
    ollama.mode = "status"
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat deploy with AKIAZ3MHQ7RXWP4LK2NB please")
    lines = ed.wait_answer()
    error = next(line for line in lines if line.startswith("> **error:**"))
    assert error == ("> **error:** ollama: server error 500: no details — not sent to the cloud: an AWS access key in the text"
                     " — :HybridRetry tries again")
    assert openai.requests == []


def test_at_cloud_is_overruled_by_privacy_with_a_notice(editor, ollama, openai):
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat @cloud is this key still valid? ghp_" + "a1B2" * 9)
    lines = ed.wait_answer()
    assert answer_headers(lines) == ["## local · ollama · fake-model · a GitHub token in the text"]
    assert ed.messages("warn") == ["(hybrid) @cloud ignored: a GitHub token in the text, so it goes to ollama (local)"]
    assert openai.requests == []
    # The prefix is an instruction to the router, not part of the message.
    assert ollama.chat_requests()[0]["json"]["messages"][-1]["content"].startswith("is this key still valid?")


def test_explicit_cloud_and_local(editor, ollama, openai):
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat @cloud rename x to y")
    ed.wait_answer()
    ed.cmd("HybridChat @local is this safe against SQL injection?")
    lines = ed.wait_answer(2)
    assert answer_headers(lines) == ["## cloud · groq · fake-model · @cloud", "## local · ollama · fake-model · @local"]


def test_fixed_cloud_keeps_a_sensitive_file_local(editor, ollama, openai, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgres://me:pw@db/app\nDEBUG=1\n")
    ed = editor(auto(ollama.url, openai.url).replace("backend: auto", "backend: groq"), env=KEY)
    ed.cmd(f"edit {env_file}")
    ed.cmd("1,2HybridChat what does this configure?")
    lines = ed.wait_answer()
    assert answer_headers(lines) == ["## local · ollama · fake-model · .env is local-only (.env*)"]
    assert ed.messages("warn") == ["(hybrid) .env is local-only (.env*): sent to ollama (local), not groq"]
    ed.cmd("wincmd p")
    ed.cmd("1HybridAsk! make DEBUG 0")  # :HybridAsk from the .env buffer: local too
    ed.wait(lambda: len(ollama.chat_requests()) == 2 and not ed.status()["busy"], what="the edit")
    assert openai.requests == []


def test_ask_is_routed_and_the_review_says_why(editor, ollama, openai):
    ollama.reply = "def f():\n    return 1"
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.nvim.current.buffer[:] = ["def f():", "    return 1"]
    ed.cmd("set filetype=python")
    ed.cmd("1,2HybridAsk add a docstring")
    head = ed.wait(lambda: (r := ed.lua("""
        local ns = vim.api.nvim_get_namespaces().hybrid_ask
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
          if m[4].virt_lines then return m[4].virt_lines[1][1][1] end
        end""")) and "accept" in r and r, what="the review")
    assert plain(head) == "hybrid · ollama · fake-model · docs and comments — ga accept, gr reject"
    assert openai.requests == []


def test_dry_run_shows_the_decision_and_sends_nothing(editor, ollama, openai):
    extra = "routing:\n  rules:\n    - {words: [terraform], to: cloud, reason: infrastructure}\n"
    config = auto(ollama.url, openai.url, extra).replace(
        "default_model: fake-model}\n  groq", "default_model: fake-model, agent_models: {router: other-model}}\n  groq", 1)
    ed = editor(config, env=KEY)
    ed.cmd("HybridRoute why is this test flaky?")
    message = ed.wait(lambda: ed.messages("info"), what=":HybridRoute")[0]
    # The classifier's confidence moves with each retraining; the line's shape is what the user reads.
    shown = [re.sub(r"unsure: 0\.\d\d", "unsure: N", line) for line in message.splitlines()]
    assert shown == [
        "(hybrid) → groq (cloud) · fake-model · role query",
        "  why: complex debugging (classifier unsure: N) (step 6 task classifier)",
        "  the router model other-model is asked first (cloud side on a timeout)",
        "  if groq fails before answering: ollama",
        "  (dry run: nothing was sent)",
    ]
    route = ed.lua("return require('hybrid').route(...)", "write the terraform for a bucket")
    assert route == {"backend": "groq", "side": "cloud", "model": "fake-model", "role": "query", "reason": "infrastructure",
                     "step": "rules", "mode": "auto", "fallback": "ollama", "local_why": "declared"}
    private = ed.lua("return require('hybrid').route(...)", "@cloud explain", {"path": "/app/id_rsa", "role": "editor"})
    assert (private["backend"], private["step"], private["role"]) == ("ollama", "privacy", "editor")
    assert private["notice"] == "@cloud ignored: id_rsa is local-only (id_rsa*), so it goes to ollama (local)"
    research = ed.lua("return require('hybrid').route(...)", "hello", {"role": "research"})
    assert research["role"] == "research"
    time.sleep(0.2)
    assert ollama.requests == [] and openai.requests == []  # not even the router model was asked


def test_router_model_decides_within_its_time_budget(editor, ollama, openai):
    ollama.model_replies = {"other-model": "CLOUD"}
    openai.reply = "cloud answer"
    config = auto(ollama.url, openai.url, "routing: {router_timeout: 0.5}\n").replace(
        "default_model: fake-model}\n  groq", "default_model: fake-model, agent_models: {router: other-model}}\n  groq", 1)
    ed = editor(config, env=KEY)
    ed.cmd("HybridChat hello there")  # the classifier is unsure, so the router model is asked
    lines = ed.wait_answer()
    assert answer_headers(lines) == ["## cloud · groq · fake-model · other-model judged it hard"]
    assert ollama.chat_requests()[0]["json"]["model"] == "other-model"
    # A router slower than its budget is not waited for: the rules decide.
    ollama.model_waits = {"other-model": 3.0}
    t0 = time.monotonic()
    ed.cmd("HybridChat hello again")
    lines = ed.wait_answer(2)
    assert time.monotonic() - t0 < 2.5
    assert answer_headers(lines)[1].startswith("## local · ollama · fake-model · ")


def test_picker_lists_auto_first_and_status_shows_the_mode(editor, ollama, openai):
    ed = editor(auto(ollama.url, openai.url).replace("backend: auto", "backend: ollama"), env=KEY)
    ed.lua("""
        vim.ui.select = function(items, opts, on_choice)
          _G.picked = vim.tbl_map(function(i) return i.name end, items)
          on_choice(items[1])
        end""")
    ed.cmd("HybridBackend")
    ed.wait(lambda: ed.status()["mode"] == "auto", what="auto mode")
    assert ed.lua("return _G.picked") == ["auto", "ollama", "groq"]
    assert "(hybrid) backend: auto → ollama (local) · fake-model" in ed.messages("info")


def test_bad_routing_config_keeps_the_last_good_one(editor, ollama, openai, tmp_path):
    ed = editor(auto(ollama.url, openai.url), env=KEY)
    ed.cmd("HybridChat hello")
    ed.wait_answer()
    config = tmp_path / "setup.yaml"
    config.write_text(auto(ollama.url, openai.url, "routing:\n  rules:\n    - {regex: '(oops', to: cloud}\n"))
    error = ed.wait(lambda: ed.messages("error"), timeout=5, what="the config error")[0]
    assert error.startswith(f"(hybrid) {config}: routing.rules[0].regex[0]: not a valid regex (missing ),")
    assert error.endswith("(keeping the last good config)")
    ed.cmd("HybridChat why is this flaky?")
    lines = ed.wait_answer(2)
    assert answer_headers(lines)[1] == "## cloud · groq · fake-model · complex debugging"


def test_checkhealth_reports_routing(editor, ollama, openai):
    extra = ("routing:\n  rules:\n    - {words: [terraform], to: cloud}\n"
             "privacy:\n  local_only_patterns: ['ACME-[0-9]+']\n")
    ed = editor(auto(ollama.url, openai.url, extra), env=KEY)
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert "defaults.backend is auto: each request is routed" in text
    assert "- ✅ OK local side: ollama; cloud side: groq" in text
    assert "- ✅ OK rules: 1 of yours, then the built-in task rules; router model: none; fallback cooldown 30s" in text
    assert "plus 0 path(s) and 1 pattern(s) of yours" in text


def test_sensitive_text_with_no_local_backend_is_refused(editor, openai):
    ed = editor("backend:\n"
                f"  groq: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, local: false}}\n", env=KEY)
    ed.cmd("HybridChat why does AKIAZ3MHQ7RXWP4LK2NB not work?")
    lines = ed.wait_answer()
    assert answer_headers(lines) == ["## not sent · an AWS access key in the text"]
    refusal = ("not sent: an AWS access key in the text and no local backend is configured "
               "(add one with type: ollama or local: true)")
    assert f"> **error:** {refusal}" in lines
    assert ed.messages("error") == [f"(hybrid) {refusal}"]
    assert openai.requests == []
