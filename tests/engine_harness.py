"""Run the engine without an editor and collect the events a UI would get."""

from __future__ import annotations

import threading
import time

from hybrid_core import Engine


class Sink:
    def __init__(self):
        self.events = []
        self.pushes = 0
        self.pushed_at: list[tuple[float, list[dict]]] = []  # (monotonic time, the batch) per push
        self.lock = threading.Lock()

    def __call__(self, batch):
        with self.lock:
            self.pushes += 1
            self.pushed_at.append((time.monotonic(), batch))
            self.events.extend(batch)

    def of(self, kind):
        with self.lock:
            return [e for e in self.events if e["type"] == kind]

    def wait(self, pred, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pred(self)
            if found:
                return found
            time.sleep(0.005)
        raise AssertionError(f"timed out; events: {self.events[-10:]}")


def engine_for(tmp_path, config_text, **kw):
    path = tmp_path / "setup.yaml"
    path.write_text(config_text)
    sink = Sink()
    eng = Engine(sink, config_path=str(path), data_dir=str(tmp_path / "data"), **kw)
    eng.start()
    sink.wait(lambda s: s.of("state"))
    return eng, sink, path
