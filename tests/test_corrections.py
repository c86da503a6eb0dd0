"""The router learns from its user: a correction moves a paraphrase of the same request and not
an unrelated one; it is kept in data_dir across restarts; privacy is never learned away."""

import pytest

from configs import two_sides
from hybrid_core.corrections import Corrections
from hybrid_core.routing import RouteRequest
from test_routing import router

ASKED = "rename the fields in this serializer to snake_case"
PARAPHRASE = "can you rename these serializer fields to snake case"
UNRELATED = "write a docstring for the parse_header function"


def test_a_correction_moves_a_paraphrase_and_not_an_unrelated_request(tmp_path):
    r = router()
    assert r.decide(RouteRequest(PARAPHRASE)).side == "local"  # the classifier's own call
    r.corrections = Corrections(str(tmp_path / "corrections.jsonl"))
    r.corrections.record(ASKED, "cloud", "@cloud")
    moved = r.decide(RouteRequest(PARAPHRASE))
    assert (moved.side, moved.step) == ("cloud", "learned")
    assert moved.reason == "you sent similar requests to the cloud 1 time"
    assert r.decide(RouteRequest(UNRELATED)).side == "local"


def test_corrections_survive_a_restart_and_can_be_forgotten(tmp_path):
    path = str(tmp_path / "corrections.jsonl")
    first = Corrections(path)
    for _ in range(3):
        first.record(ASKED, "cloud", "@cloud")
    again = Corrections(path)
    again.load()
    assert again.match(PARAPHRASE) == ("cloud", 3)
    assert again.forget() == 3
    assert again.match(PARAPHRASE) is None
    reloaded = Corrections(path)
    reloaded.load()
    assert reloaded.listing() == []


def test_privacy_is_never_learned_away(tmp_path):
    r = router()
    r.corrections = Corrections(None)
    for _ in range(5):
        r.corrections.record("what does DB_PASSWORD=Summer2024! do in this env file", "cloud", "@cloud")
    d = r.decide(RouteRequest("what does DB_PASSWORD=Winter2025! do in this env file"))
    assert (d.side, d.step) == ("local", "privacy")


@pytest.mark.in_memory
def test_at_cloud_in_a_chat_teaches_the_router(tmp_path, ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    eng, sink, _ = start_engine(two_sides(ollama.url, openai.url))
    assert eng.route(PARAPHRASE)["side"] == "local"
    eng.chat_send("c", "@cloud " + ASKED)
    sink.wait(lambda s: s.of("turn_end"))
    assert len(openai.chat_requests()) == 1
    sink.wait(lambda s: eng.route(PARAPHRASE)["side"] == "cloud", timeout=5)
    d = eng.route(PARAPHRASE)
    assert d["step"] == "learned" and "similar requests to the cloud" in d["reason"]
    assert (tmp_path / "data" / "corrections.jsonl").exists()


@pytest.mark.in_memory
def test_switching_side_right_after_an_answer_teaches_the_router(ollama, openai, monkeypatch, start_engine):
    # Auto routing answered locally; the user switched to the cloud backend: that overrules it.
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    eng, sink, _ = start_engine(two_sides(ollama.url, openai.url))
    eng.chat_send("c", ASKED)
    sink.wait(lambda s: s.of("turn_end"))
    assert len(ollama.chat_requests()) == 1
    eng.set_backend("groq")
    sink.wait(lambda s: eng.corrections.listing(), timeout=5)
    [item] = eng.corrections.listing()
    assert (item["text"], item["side"], item["how"]) == (ASKED, "cloud", "switched to groq after the answer")
    eng.set_backend("auto")
    sink.wait(lambda s: eng.active == "auto", timeout=5)
    d = eng.route(PARAPHRASE)
    assert (d["side"], d["step"]) == ("cloud", "learned")
    assert eng.route(UNRELATED)["side"] == "local"
    # A second switch is not a second correction, and a switch back to auto is none.
    eng.set_backend("groq")
    eng.set_backend("ollama")
    sink.wait(lambda s: s.of("state") and eng.active == "ollama", timeout=5)
    assert len(eng.corrections.listing()) == 1


@pytest.mark.in_memory
def test_a_switch_after_a_failed_or_sensitive_answer_is_not_a_correction(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    eng, sink, _ = start_engine(two_sides(ollama.url, openai.url, "retry: {attempts: 1}\n"))
    eng.chat_send("c", "what does DB_PASSWORD=Summer2024! do in this env file")
    sink.wait(lambda s: len(s.of("turn_end")) == 1)
    eng.set_backend("groq")
    eng.set_backend("auto")
    sink.wait(lambda s: eng.active == "auto", timeout=5)
    ollama.mode = "status"  # the local answer fails: switching away is no verdict on routing
    eng.chat_send("d", ASKED)
    sink.wait(lambda s: len(s.of("turn_end")) == 2)
    eng.set_backend("groq")
    sink.wait(lambda s: eng.active == "groq", timeout=5)
    assert eng.corrections.listing() == []


@pytest.mark.in_memory
def test_a_retry_on_the_other_side_teaches_only_after_an_answer_that_came(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    eng, sink, _ = start_engine(two_sides(ollama.url, openai.url, "retry: {attempts: 1}\n"))
    openai.mode = "status"  # @cloud with the cloud down fails; retrying locally says the server was down
    eng.chat_send("c", "@cloud " + ASKED)
    sink.wait(lambda s: len(s.of("turn_end")) == 1)
    eng.retry("c", "ollama")
    sink.wait(lambda s: len(s.of("turn_end")) == 2)
    assert len(ollama.chat_requests()) == 1
    openai.mode = "normal"
    eng.chat_send("d", ASKED)  # this one is answered locally; a retry on the cloud overrules it
    sink.wait(lambda s: len(s.of("turn_end")) == 3)
    eng.retry("d", "groq")
    sink.wait(lambda s: len(s.of("turn_end")) == 4)
    sink.wait(lambda s: len(eng.corrections.listing()) == 2, timeout=5)
    assert [(i["side"], i["how"]) for i in eng.corrections.listing()] == [("cloud", "@cloud"), ("cloud", ":HybridRetry groq")]
