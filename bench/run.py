"""`make bench`: every benchmark, each printing its figures against a baseline from the same run."""

import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ask_apply  # noqa: E402
import cold  # noqa: E402
import cost  # noqa: E402
import highlight  # noqa: E402
import memory  # noqa: E402
import privacy  # noqa: E402
import route  # noqa: E402
import startup  # noqa: E402
import stream  # noqa: E402

BENCHMARKS = [stream, highlight, startup, cold, memory, ask_apply, route, privacy, cost]


def ms(value: float) -> str:
    if value >= 1:
        return f"{value:.1f} ms"
    if value >= 0.01:
        return f"{value * 1000:.0f} µs"
    return f"{value * 1000:.2f} µs" if value >= 0.001 else f"{value * 1e6:.0f} ns"


def main() -> None:
    results = []
    for bench in BENCHMARKS:
        found = bench.main()
        results.extend(found if isinstance(found, list) else [found])
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    with open(out, "w") as f:
        f.write(f"# Benchmark results\n\n{time.strftime('%Y-%m-%d %H:%M')} on {platform.platform()}, "
                f"{os.cpu_count()} cores, Python {platform.python_version()}\n\n")
        f.write("| benchmark | figure | spread | baseline (same run) | ratio | goal | met |\n"
                "|---|---|---|---|---|---|---|\n")
        for r in results:
            if "note" in r:
                continue
            figure = r.get("figure") or f"{r['stat']} {ms(r['value_ms'])}"
            spread = r.get("spread") or f"{ms(r['min_ms'])}–{ms(r['max_ms'])}"
            baseline = r.get("baseline_figure") or f"{r['baseline']} {ms(r['baseline_ms'])}"
            f.write(f"| {r['name']} | {figure} | {spread} | {baseline} | {r['ratio']:.1f}x | {r['goal']} | "
                    f"{'—' if r['goal'].startswith('(') else 'yes' if r['met'] else 'no'} |\n")
        notes = [r["note"] for r in results if "note" in r]
        if notes:
            f.write("\n" + "".join(f"- {note}\n" for note in notes))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
