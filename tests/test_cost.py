"""Costs, the ledger, budgets, context fitting and prompt caching, in the engine over real HTTP."""

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from configs import two_sides
from hybrid_core.config import parse_config
from hybrid_core.context import fit, ollama_num_ctx
from hybrid_core.ledger import Ledger, Row
from hybrid_core.pricing import cost_usd, rates_for
from hybrid_core.stats import usage_stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def backends(text):
    return parse_config(text, "/tmp/setup.yaml").backends


def config(ollama_url, openai_url, cloud_model="gpt-4o-mini", extra=""):
    return two_sides(ollama_url, openai_url, extra, cloud_model=cloud_model)


def wait_end(sink, n=1):
    return sink.wait(lambda s: len(s.of("turn_end")) >= n and s.of("turn_end"))[n - 1]


# -- prices ------------------------------------------------------------------------------

def test_price_lookup_prefers_setup_yaml_then_the_table_by_longest_name():
    b = backends("backend:\n"
                 "  or: {type: openai, base_url: 'https://openrouter.ai/api/v1', default_model: m,"
                 " pricing: {my-model: {input: 1, output: 2}}}\n")["or"]
    assert rates_for(b, "my-model").input == 1 and rates_for(b, "my-model").cached_input == 1
    assert rates_for(b, "openai/gpt-4o-mini").input == 0.15  # not gpt-4o's 2.50
    assert rates_for(b, "claude-sonnet-4-20250514").output == 15.0
    assert rates_for(b, "gpt-oss-120b-128k").input == 0.15
    assert rates_for(b, "some-new-model") is None


def test_cost_arithmetic_with_cached_tokens():
    rates = rates_for(backends("backend:\n  o: {type: openai, base_url: 'https://x/v1', default_model: gpt-4o}\n")["o"],
                      "gpt-4o")
    # 1,000 prompt tokens of which 200 cached, 500 out: 800 x 2.50 + 200 x 1.25 + 500 x 10.00 per million.
    assert cost_usd(1000, 200, 500, rates) == pytest.approx(0.00725)


@pytest.mark.in_memory
def test_recorded_openai_usage_is_priced_with_cached_tokens(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "k")
    openai.models = ["gpt-4o"]
    openai.usage, openai.cached_tokens = (1000, 500), 200
    eng, sink, _ = start_engine(config(ollama.url, openai.url, "gpt-4o").replace("backend: auto", "backend: groq"))
    eng.chat_send("1", "hi")
    end = wait_end(sink)
    assert end["last"]["cost_usd"] == pytest.approx(0.00725)
    eng.ledger.flush()
    row = sqlite3.connect(eng.ledger.path).execute(
        "SELECT backend, model, kind, role, reason, status, prompt_tokens, cached_tokens, completion_tokens,"
        " estimated, cost_usd FROM requests").fetchone()
    assert row == ("groq", "gpt-4o", "cloud", "query", "fixed backend", "complete", 1000, 200, 500, 0,
                   pytest.approx(0.00725))


@pytest.mark.in_memory
def test_openrouter_cost_is_used_as_given(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "k")
    openai.models, openai.cost = ["anthropic/claude-sonnet-4.5"], 0.0123
    eng, sink, _ = start_engine(config(ollama.url, openai.url, "anthropic/claude-sonnet-4.5")
                                .replace("backend: auto", "backend: groq"))
    eng.chat_send("1", "hi")
    assert wait_end(sink)["last"]["cost_usd"] == 0.0123


@pytest.mark.in_memory
def test_local_answers_cost_nothing_and_count_as_savings(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "k")
    ollama.usage = (200_000, 50_000)
    eng, sink, _ = start_engine(config(ollama.url, openai.url))
    eng.chat_send("1", "hello")
    assert wait_end(sink)["last"]["cost_usd"] == 0
    stats = eng.stats()
    today = stats["periods"]["today"]
    # gpt-4o-mini: 200k x 0.15 + 50k x 0.60 per million = $0.06 saved, 100% of what all-cloud costs.
    assert today["saved_usd"] == pytest.approx(0.06) and today["saved_pct"] == 100
    assert today["rows"][0]["would_cost_usd"] == pytest.approx(0.06)


@pytest.mark.in_memory
def test_tokens_are_estimated_when_the_server_sends_no_usage(openai, start_engine):
    openai.send_usage = False
    openai.reply = "x" * 350
    eng, sink, _ = start_engine(f"backend:\n  llama: {{type: openai, base_url: '{openai.url}/v1',"
                                " default_model: fake-model}\n")
    eng.chat_send("1", "hi")
    last = wait_end(sink)["last"]
    assert last["estimated"] is True and last["tokens_out"] == 101 and last["tokens_in"] > 0


def test_failed_and_cancelled_requests_are_recorded(ollama, start_engine):
    ollama.mode = "hang"
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n"
                                "  dead: {type: ollama, base_url: 'http://127.0.0.1:9', default_model: m}\n")
    eng.chat_send("1", "hi")
    sink.wait(lambda s: s.of("delta"))
    eng.cancel()
    wait_end(sink)
    eng.set_backend("dead")
    time.sleep(0.2)
    eng.chat_send("1", "again")
    wait_end(sink, 2)
    eng.ledger.flush()
    rows = sqlite3.connect(eng.ledger.path).execute("SELECT backend, status FROM requests ORDER BY id").fetchall()
    assert rows == [("o", "cancelled"), ("dead", "error")]


# -- the ledger survives a crash ------------------------------------------------------------

WRITER = """
import sys, time
sys.path.insert(0, {python!r})
from hybrid_core.ledger import Ledger, Row
ledger = Ledger({path!r})
n = 0
while True:
    n += 1
    ledger.record(Row(backend="b", model="m", kind="cloud", role="query", reason="r", status="complete",
                      prompt_tokens=n, completion_tokens=1, cost_usd=0.001))
    if n % 50 == 0:
        ledger.flush()
        print(n, flush=True)
"""


def test_the_ledger_survives_a_kill_mid_write(tmp_path):
    path = str(tmp_path / "usage.sqlite3")
    ledger = Ledger(path)
    ledger.record(Row(backend="before", model="m", kind="local", role="query", reason="r", status="complete"))
    ledger.close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(python=os.path.join(ROOT, "python"), path=path)],
                            stdout=subprocess.PIPE, text=True)
    confirmed = 0
    try:
        for line in proc.stdout:
            confirmed = int(line)
            if confirmed >= 500:
                break
    finally:
        proc.kill()  # SIGKILL: no cleanup, most likely in the middle of a write
        proc.wait()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = conn.execute("SELECT backend, prompt_tokens FROM requests ORDER BY id").fetchall()
    assert rows[0] == ("before", 0)
    assert len(rows) - 1 >= confirmed
    assert [n for _, n in rows[1:]] == list(range(1, len(rows)))  # every row intact, in order
    # And it opens again with the spend restored.
    again = Ledger(path)
    again.ready.wait(5)
    assert again.spend()[0] == pytest.approx(0.001 * (len(rows) - 1))
    again.close()


def test_stats_group_by_period_backend_and_model(tmp_path):
    path = str(tmp_path / "usage.sqlite3")
    ledger = Ledger(path)
    old = time.time() - 400 * 86400
    ledger.record(Row(backend="groq", model="g", kind="cloud", role="query", reason="r", status="complete",
                      prompt_tokens=10, completion_tokens=5, cost_usd=1.0, ts=old, ttft_ms=100))
    for ttft in (100, 200, 300):
        ledger.record(Row(backend="groq", model="g", kind="cloud", role="query", reason="r", status="complete",
                          prompt_tokens=10, completion_tokens=5, cost_usd=0.5, ttft_ms=ttft, tokens_per_s=50))
    ledger.record(Row(backend="ollama", model="q", kind="local", role="query", reason="r", status="complete",
                      prompt_tokens=10, completion_tokens=5, cost_usd=0.0, cloud_cost_usd=0.25, ttft_ms=50))
    ledger.close()
    s = usage_stats(path)
    assert s["all"]["requests"] == 5 and s["today"]["requests"] == 4
    groq = next(r for r in s["today"]["rows"] if r["backend"] == "groq")
    assert (groq["requests"], groq["cost_usd"]) == (3, 1.5)
    assert groq["ttft_ms_median"] == pytest.approx(200, rel=0.05) and groq["tokens_per_s_median"] == pytest.approx(50, rel=0.05)
    assert s["today"]["saved_usd"] == 0.25 and s["today"]["saved_pct"] == pytest.approx(100 * 0.25 / 1.75)
    assert s["all"]["cost_usd"] == 2.5


def test_the_last_14_days_have_a_row_each_with_local_and_cloud_apart(tmp_path):
    path = str(tmp_path / "usage.sqlite3")
    ledger = Ledger(path)
    now = time.time()
    for days_ago, kind, tokens, cost in ((0, "local", (100, 20), 0.0), (0, "cloud", (50, 10), 0.02),
                                         (3, "cloud", (5, 5), 0.01), (20, "cloud", (999, 999), 9.0)):
        ledger.record(Row(backend=kind, model="m", kind=kind, role="query", reason="r", status="complete",
                          prompt_tokens=tokens[0], completion_tokens=tokens[1], cost_usd=cost,
                          ts=now - days_ago * 86400))
    ledger.close()
    days = usage_stats(path)["days"]
    assert len(days) == 14 and days[-1]["day"] == time.strftime("%Y-%m-%d")
    assert days[-1] == {"day": days[-1]["day"], "local_tokens": 120, "cloud_tokens": 60, "cloud_usd": 0.02,
                        "local_requests": 1, "cloud_requests": 1}
    three_ago = time.strftime("%Y-%m-%d", time.localtime(now - 3 * 86400))
    assert [d["cloud_tokens"] for d in days if d["day"] == three_ago] == [10]
    assert sum(d["cloud_usd"] for d in days) == pytest.approx(0.03)  # 20 days ago is not in the chart
    assert len({d["day"] for d in days}) == 14


# -- budgets --------------------------------------------------------------------------------

@pytest.mark.in_memory
def test_budget_warns_at_80_percent_then_auto_stays_local(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "k")
    openai.usage, openai.models = (100_000, 20_000), ["gpt-4o-mini"]  # $0.027 a request
    eng, sink, _ = start_engine(config(ollama.url, openai.url, extra="budget: {daily_usd: 0.06}\n"))
    for n in (1, 2):
        eng.chat_send("1", "why is this test flaky?")
        wait_end(sink, n)
    warns = [e["message"] for e in sink.of("notify") if e["level"] == "warn"]
    assert warns == ["daily budget at 90%: $0.05 of $0.06"]
    eng.chat_send("1", "why is this test flaky?")
    wait_end(sink, 3)
    assert [e["message"] for e in sink.of("notify") if e["level"] == "warn"][-1] == (
        "daily budget reached: $0.08 of $0.06; auto mode now stays local (budget.daily_usd)")
    eng.chat_send("1", "why is this test flaky?")
    wait_end(sink, 4)
    start = sink.of("turn_start")[-1]
    assert (start["backend"], start["reason"]) == ("ollama", "daily budget spent ($0.08 of $0.06)")
    assert len(openai.chat_requests()) == 3


@pytest.mark.in_memory
def test_over_budget_fixed_cloud_asks_or_refuses(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "k")
    openai.usage, openai.models = (100_000, 20_000), ["gpt-4o-mini"]
    text = config(ollama.url, openai.url, extra="budget: {daily_usd: 0.01}\n").replace("backend: auto", "backend: groq")
    eng, sink, path = start_engine(text)
    eng.chat_send("1", "hi")
    wait_end(sink)
    eng.chat_send("1", "again")
    ask = sink.wait(lambda s: s.of("confirm"))[0]
    assert ask["message"] == "daily budget spent ($0.03 of $0.01). Send this to groq (gpt-4o-mini) anyway?"
    eng.confirm_reply(ask["id"], False)
    end = wait_end(sink, 2)
    assert end["status"] == "error" and end["message"] == "not sent to groq: daily budget spent ($0.03 of $0.01)"
    eng.chat_send("1", "please")
    eng.confirm_reply(sink.wait(lambda s: len(s.of("confirm")) == 2 and s.of("confirm"))[1]["id"], True)
    assert wait_end(sink, 3)["status"] == "complete"
    assert len(openai.chat_requests()) == 2
    path.write_text(text.replace("daily_usd: 0.01}", "daily_usd: 0.01, on_limit: refuse}"))
    time.sleep(1.2)
    eng.chat_send("1", "once more")
    end = wait_end(sink, 4)
    assert end["message"] == "not sent to groq: daily budget spent ($0.05 of $0.01) (budget.on_limit: refuse)"


# -- context --------------------------------------------------------------------------------

def test_fit_keeps_the_system_prompt_and_newest_turns():
    msgs = [{"role": "system", "content": "s"}]
    for i in range(10):
        msgs += [{"role": "user", "content": f"q{i} " + "x" * 700}, {"role": "assistant", "content": f"a{i} " + "y" * 700}]
    msgs.append({"role": "user", "content": "newest"})
    fitted = fit(msgs, 2048)
    assert fitted.messages[0]["content"] == "s" and fitted.messages[-1]["content"] == "newest"
    assert fitted.messages[1]["role"] == "user"  # whole turns only
    assert fitted.tokens <= 2048 - 512 and len(fitted.dropped) % 2 == 0 and fitted.dropped[0]["content"].startswith("q0")
    assert fit(msgs, None).messages == msgs


def test_num_ctx_moves_in_steps_within_the_window():
    assert ollama_num_ctx(100, 32768) == 4096
    assert ollama_num_ctx(5000, 32768) == 8192
    assert ollama_num_ctx(5000, 6000) == 6000
    assert ollama_num_ctx(100, None) == 4096


@pytest.mark.in_memory
def test_long_history_is_fitted_for_ollama_with_num_ctx(ollama, start_engine):
    ollama.context_length = 2048
    ollama.reply = "y" * 1500
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n")
    for n in range(1, 5):
        eng.chat_send("1", f"question {n} " + "x" * 1500)
        wait_end(sink, n)
    body = ollama.chat_requests()[-1]["json"]
    assert body["options"] == {"num_ctx": 2048}
    sent = sum(len(m["content"]) for m in body["messages"])
    assert sent / 3.5 <= 2048 - 512 and body["messages"][-1]["content"].startswith("question 4")
    assert body["messages"][0]["role"] == "system"
    infos = [e["message"] for e in sink.of("notify") if e["level"] == "info"]
    assert any(m.endswith("oldest messages left out to fit fake-model's 2,048-token context window") for m in infos)
    assert ollama.chat_requests()[0]["json"]["options"] == {"num_ctx": 2048}


@pytest.mark.in_memory
def test_dropped_turns_are_summarized_by_the_local_model(ollama, start_engine):
    ollama.context_length = 2048
    ollama.reply = "y" * 1500
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n"
                                "context: {summarize: true}\n")
    for n in range(1, 4):
        eng.chat_send("1", f"question {n} " + "x" * 1500)
        wait_end(sink, n)
    last = ollama.chat_requests()[-1]["json"]["messages"]
    assert last[1]["content"].startswith("Summary of the earlier conversation, left out to save space: yyy")
    summary_request = ollama.chat_requests()[-2]["json"]["messages"]
    assert summary_request[0]["content"].startswith("Summarize this conversation")


@pytest.mark.in_memory
def test_ollama_reading_far_less_than_was_sent_is_reported(ollama, start_engine):
    ollama.usage = (100, 5)
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: ollama, base_url: '{ollama.url}', default_model: fake-model}}\n")
    eng.chat_send("1", "x" * 20000)
    wait_end(sink)
    warn = sink.wait(lambda s: [e for e in s.of("notify") if e["level"] == "warn"])[0]["message"]
    assert warn.startswith("o: the model read 100 prompt tokens of about 5,")
    assert warn.endswith("sent, so it probably cut the prompt; set backend.o.context_window")


# -- prompt caching -------------------------------------------------------------------------

@pytest.mark.in_memory
@pytest.mark.parametrize("model, marked", [("anthropic/claude-sonnet-4.5", True), ("gpt-4o", False)])
def test_cache_control_marks_the_prefix_for_anthropic_models_only(openai, monkeypatch, model, marked, start_engine):
    monkeypatch.setenv("OR_API_KEY", "k")
    openai.models = [model]
    eng, sink, _ = start_engine(f"backend:\n  or: {{type: openai, base_url: '{openai.url}/v1',"
                                f" default_model: '{model}', local: false}}\n")
    eng.chat_send("1", "first")
    wait_end(sink)
    eng.chat_send("1", "second")
    wait_end(sink, 2)
    msgs = openai.chat_requests()[-1]["json"]["messages"]
    if marked:
        assert msgs[0]["content"][0]["cache_control"] == {"type": "ephemeral"}
        assert msgs[-2]["content"][0] == {"type": "text", "text": openai.reply, "cache_control": {"type": "ephemeral"}}
        assert msgs[-1]["content"] == "second"
    else:
        assert all(isinstance(m["content"], str) for m in msgs)


def test_rows_without_rollups_are_rolled_up_when_the_ledger_opens(tmp_path):
    path = str(tmp_path / "usage.sqlite3")
    Ledger(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO requests (ts, day, month, backend, model, kind, status, prompt_tokens, completion_tokens,"
                     " cost_usd, estimated) VALUES (?, date('now', 'localtime'), strftime('%Y-%m', 'now', 'localtime'),"
                     " 'groq', 'g', 'cloud', 'complete', 10, 5, 0.5, 0)", (time.time(),))
        conn.execute("DELETE FROM daily")
    conn.close()
    again = Ledger(path)
    again.ready.wait(5)
    again.close()
    assert usage_stats(path)["today"]["cost_usd"] == 0.5
