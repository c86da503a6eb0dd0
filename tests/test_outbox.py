"""The outbox batches events for the editor; what a user or a caller waits on goes out at once."""

import asyncio
import json
import statistics
from itertools import pairwise

from hybrid_core.outbox import FLUSH_INTERVAL, Outbox


def pushes_after(events, interval=10.0, settle=0.1):
    """Put `events` (event, stream) on an outbox that just flushed, and return what reached the
    sink within `settle` seconds. The interval is long, so anything batched is still waiting."""
    async def run():
        pushed = []
        box = Outbox(asyncio.get_running_loop(), pushed.append, interval=interval)
        box.put({"type": "state", "state": {}})
        await asyncio.sleep(0.01)  # the first event after a quiet spell goes at once
        pushed.clear()
        for event, stream in events:
            box.put(event, stream)
        await asyncio.sleep(settle)
        return [e["type"] for batch in pushed for e in batch]
    return asyncio.run(run())


def test_a_reply_goes_out_at_once_not_on_the_next_tick():
    # require('hybrid').route() waits on this reply: a tick per call made a loop of calls crawl.
    assert pushes_after([({"type": "reply", "id": 1, "result": {}}, None)]) == ["reply"]


def test_state_waits_for_the_next_tick_under_a_burst():
    assert pushes_after([({"type": "state", "state": {}}, None)]) == []


def test_an_answers_first_text_and_its_end_go_at_once():
    sent = pushes_after([({"type": "delta", "chat": "1", "text": "a"}, "s1"),
                         ({"type": "delta", "chat": "1", "text": "b"}, "s1"),
                         ({"type": "turn_end", "chat": "1"}, "s1")])
    assert sent == ["delta", "turn_end"]  # the two pieces joined, the end with them


def test_a_burst_is_pushed_on_the_beat_not_once_per_network_read(openai, start_engine):
    # 20,000 small events as fast as the server writes them: the host reads 64 KB at a time and
    # used to decode a whole read (~1,300 events) before the flush timer got a turn, so the text
    # went out in lumps 25-55 ms apart. Now decoding yields to the loop and pushes keep the beat.
    def event(text):
        return b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}).encode() + b"\n\n"

    words = 20_000
    openai.raw_stream = [*(event(f"w{i} ") for i in range(words)),
                         b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n',
                         b"data: [DONE]\n\n"]
    eng, sink, _ = start_engine(f"backend:\n  o: {{type: openai, base_url: '{openai.url}/v1', default_model: fake-model, "
                                "local: true}\n")
    eng.chat_send("c1", "go")
    ends = sink.wait(lambda s: s.of("turn_end"), timeout=60)
    assert ends[0]["status"] == "complete"
    assert "".join(e["text"] for e in sink.of("delta")) == "".join(f"w{i} " for i in range(words))
    times = [t for t, batch in sink.pushed_at if any(e["type"] == "delta" for e in batch)]
    gaps = [b - a for a, b in pairwise(times)]
    # Generous: the beat is 16 ms (here ~20 ms apart); a lump per network read was 40-150 ms apart.
    assert len(gaps) > 5 and statistics.median(gaps) < 3 * FLUSH_INTERVAL, [round(g * 1000) for g in gaps]
