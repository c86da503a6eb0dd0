"""A model server for the managed-server tests: `python serve_fake.py PORT [DELAY]` waits DELAY
seconds (a model loading), then serves the fake OpenAI API on 127.0.0.1:PORT until SIGTERM."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeservers import OpenAIServer  # noqa: E402


def main() -> None:
    port, delay = int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    print(f"loading the model ({delay} s), pid {os.getpid()}", flush=True)
    time.sleep(delay)
    server = OpenAIServer(port)
    server.reply = "served by the managed server"
    server.start()
    print(f"serving on 127.0.0.1:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deadline = time.monotonic() + 120  # stops by itself, whatever happens to the test
    while time.monotonic() < deadline:
        time.sleep(0.1)


if __name__ == "__main__":
    main()
