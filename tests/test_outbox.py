"""The outbox batches events for the editor; what a user or a caller waits on goes out at once."""

import asyncio

from hybrid_core.outbox import Outbox


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
