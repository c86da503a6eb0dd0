"""Costs in a real Neovim: :HybridStats after requests to both sides, statusline, budgets."""

import pytest

from configs import two_sides

pytestmark = pytest.mark.nvim

KEY = {"GROQ_API_KEY": "test-key"}


def auto(ollama, openai, extra=""):
    return two_sides(ollama.url, openai.url, extra, cloud_model="gpt-4o-mini")


def test_stats_after_requests_to_both_sides(editor, ollama, openai):
    ollama.usage = (200_000, 50_000)   # on gpt-4o-mini that would be $0.06
    openai.models, openai.usage = ["gpt-4o-mini"], (100_000, 20_000)  # $0.027
    ed = editor(auto(ollama, openai), env=KEY)
    ed.cmd("HybridChat rename x to y")
    ed.wait_answer()
    ed.cmd("HybridChat why is this test flaky?")
    ed.wait_answer(2)
    assert ed.status()["last"]["cost_usd"] == pytest.approx(0.027)
    ed.cmd("HybridStats")
    ed.wait(lambda: ed.nvim.current.buffer.name == "hybrid://stats", what=":HybridStats")
    text = ed.nvim.current.buffer[:]
    assert text[0] == "# hybrid.nvim usage"
    assert "Spent today $0.03; this month $0.03." in text
    today = text[text.index("## Today"):text.index("## This month")]
    assert today[2].split("|")[1:-1] == [" backend ", " model       ", " side  ", " requests ", " tokens in ",
                                         " tokens out ", " cost  ", " median TTFT ", " tokens/s "]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in today[4:6]}
    assert rows["groq"][:6] == ["gpt-4o-mini", "cloud", "1", "100k", "20k", "$0.03"]
    assert rows["ollama"][:6] == ["fake-model", "local", "1", "200k", "50k", "$0.00"]
    assert "Saved $0.06 (69%): what the 1 local answer would have cost on groq." in today
    chart = text[text.index("## Last 14 days"):text.index("## Today")]
    tokens = chart[chart.index("Tokens a day (█ local, ▒ cloud):") + 2:][:14]
    spend = chart[chart.index("Cloud spend a day (local answers cost nothing):") + 2:][:14]
    # Today is the last row: 250k local tokens, then 120k cloud, on a 40-cell scale; the days before are empty.
    assert tokens[-1].endswith("│" + "█" * 27 + "▒" * 13 + " 370k")
    assert spend[-1].endswith("│" + "▒" * 40 + " $0.03")
    assert all(row.endswith("│") for row in tokens[:-1] + spend[:-1])
    marks = ed.lua("""local marks = vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_get_namespaces().hybrid_stats, 0, -1,
        { details = true })
      return vim.tbl_map(function(m) return m[4].hl_group end, marks)""")
    assert sorted(marks) == ["HybridChartCloud", "HybridChartCloud", "HybridChartLocal"]
    stats = ed.lua("return require('hybrid').stats()")
    assert len(stats["days"]) == 14 and stats["days"][-1]["local_tokens"] == 250_000
    assert stats["periods"]["month"]["saved_usd"] == pytest.approx(0.06)
    assert stats["periods"]["all"]["cost_usd"] == pytest.approx(0.027)
    ed.nvim.input("q")
    ed.wait(lambda: ed.nvim.current.buffer.name != "hybrid://stats", what="q closes")
    # In the last window, q takes the stats away too (close alone failed with E444).
    ed.cmd("HybridStats")
    ed.wait(lambda: ed.nvim.current.buffer.name == "hybrid://stats", what=":HybridStats")
    ed.cmd("only")
    ed.nvim.input("q")
    ed.wait(lambda: ed.nvim.current.buffer.name != "hybrid://stats", what="q in the last window")
    assert "E444" not in ed.lua("return vim.v.errmsg")


def test_statusline_shows_mode_model_and_spend_without_a_round_trip(editor, ollama, openai):
    openai.models, openai.usage = ["gpt-4o-mini"], (100_000, 20_000)
    ed = editor(auto(ollama, openai, "budget: {daily_usd: 2}\n"), env=KEY)
    assert ed.lua("return require('hybrid').statusline()") == ""  # the host is not even started
    ed.cmd("HybridChat why is this flaky?")
    ed.wait_answer()
    ed.wait(lambda: ed.lua("return require('hybrid').statusline()") == "auto:ollama fake-model $0.03/$2.00",
            what="the statusline")
    ed.cmd("set statusline=%!v:lua.require'hybrid'.statusline()")
    ed.cmd("redrawstatus")


def test_budget_asks_before_a_fixed_cloud_request_in_the_editor(editor, ollama, openai):
    openai.models, openai.usage = ["gpt-4o-mini"], (100_000, 20_000)
    ed = editor(auto(ollama, openai, "budget: {daily_usd: 0.02}\n").replace("backend: auto", "backend: groq"), env=KEY)
    ed.cmd("HybridChat first")
    ed.wait_answer()
    assert ed.messages("warn") == ["(hybrid) daily budget reached: $0.03 of $0.02; auto mode now stays local (budget.daily_usd)"]
    ed.lua("""
        vim.ui.select = function(items, opts, on_choice)
          _G.asked = opts.prompt
          on_choice('Do not send')
        end""")
    ed.cmd("HybridChat second")
    lines = ed.wait_answer(2)
    assert ed.lua("return _G.asked") == ("(hybrid) daily budget spent ($0.03 of $0.02). "
                                         "Send this to groq (gpt-4o-mini) anyway?")
    assert "> **error:** not sent to groq: daily budget spent ($0.03 of $0.02)" in lines
    assert len(openai.chat_requests()) == 1


def test_checkhealth_reports_the_ledger_and_budget(editor, ollama, openai):
    ed = editor(auto(ollama, openai, "budget: {daily_usd: 1.5, on_limit: refuse}\n"), env=KEY)
    ed.cmd("checkhealth hybrid")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert "budget: $1.5 a day, no limit a month; past it: refuse" in text
    assert "is created with the first request" in text


def test_stats_name_an_unpriced_model_once_and_count_only_local_answers(editor, ollama, openai):
    ollama.mode, ollama.has_ps = "status", False  # it fails every request; an Ollama before 0.1.38
    openai.reply = "cloud answer"  # fake-model: no price known
    ed = editor(auto(ollama, openai).replace("'gpt-4o-mini'", "fake-model"), env=KEY)
    ed.cmd("HybridChat hello")
    assert "cloud answer" in ed.wait_answer()
    assert ed.messages() == []  # the unknown price is said in :HybridStats and checkhealth, not at each answer
    ed.cmd("HybridStats")
    ed.wait(lambda: ed.nvim.current.buffer.name == "hybrid://stats", what=":HybridStats")
    text = ed.nvim.current.buffer[:]
    unpriced = [line for line in text if "No price known" in line]
    assert unpriced == ["No price known for fake-model on groq, so its cost is not counted: add it under "
                        "backend.groq.pricing (USD per million tokens)."]
    assert "Spent $0.00 on 2 requests." in text
    assert not [line for line in text if "no cloud price" in line or "Saved" in line]  # the local request failed
    assert "- ollama: cannot tell (this Ollama has no /api/ps; 0.1.38 and later list their loaded models)" in text
    assert not [line for line in text if "model ''" in line]
    one = ed.lua("""return require('hybrid.stats').render({ periods = { today = { requests = 1, cost_usd = 0,
        local_answers = 1, rows = { { backend = 'ollama', model = 'm', kind = 'local', requests = 1 } } } } })""")
    assert "Spent $0.00 on 1 request." in one and "1 local answer; no cloud price to compare with." in one
    ed.cmd("checkhealth hybrid")
    health = "\n".join(ed.nvim.current.buffer[:])
    assert "groq: no price known for fake-model, so its cost is counted only if the server reports it" in health
    assert "backend.groq.pricing" in health


def test_a_budget_under_a_cent_shows_as_set(editor, ollama, openai):
    openai.models, openai.usage = ["gpt-4o-mini"], (100_000, 20_000)  # $0.027
    ed = editor(auto(ollama, openai, "budget: {daily_usd: 0.001}\n").replace("backend: auto", "backend: groq"), env=KEY)
    ed.cmd("HybridChat first")
    ed.wait_answer()
    assert ed.messages("warn") == ["(hybrid) daily budget reached: $0.03 of $0.001; auto mode now stays local "
                                   "(budget.daily_usd)"]
    ed.wait(lambda: ed.lua("return require('hybrid').statusline()") == "groq gpt-4o-mini $0.03/$0.001",
            what="the statusline")
    ed.cmd("HybridStats")
    ed.wait(lambda: ed.nvim.current.buffer.name == "hybrid://stats", what=":HybridStats")
    assert "Spent today $0.03 of $0.001 (2700%); this month $0.03." in ed.nvim.current.buffer[:]
