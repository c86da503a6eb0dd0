"""`make bench`: every benchmark, each printing its figures against a baseline from the same run."""

import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ask_apply  # noqa: E402

BENCHMARKS = [ask_apply]


def main() -> None:
    results = [b.main() for b in BENCHMARKS]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    with open(out, "w") as f:
        f.write(f"# Benchmark results\n\n{time.strftime('%Y-%m-%d %H:%M')} on {platform.platform()}, "
                f"{os.cpu_count()} cores, Python {platform.python_version()}\n\n")
        f.write("| benchmark | median | spread | baseline | ratio | goal | met |\n|---|---|---|---|---|---|---|\n")
        for r in results:
            f.write(f"| {r['name']} | {r['median_ms']:.1f} ms | {r['min_ms']:.1f}–{r['max_ms']:.1f} ms | "
                    f"{r['raw_set_lines_ms']:.1f} ms | {r['ratio']:.1f}x | {r['goal']} | {'yes' if r['met'] else 'no'} |\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
