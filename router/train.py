"""Train the task classifier from router/corpus/*.jsonl (make router). Dev-only: scikit-learn.

Writes python/hybrid_core/classifier/model.bin and model.json, and prints held-out figures:
each phrasing family (writer:style), and each writer, is held out whole in turn.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import sys

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from hybrid_core.classifier.features import BUCKETS, hashed, words_and_code  # noqa: E402
from hybrid_core.classifier.model import ROUTES, write_model  # noqa: E402

C = 8.0  # inverse regularization, chosen on held-out families (see --sweep)


def load(pattern: str):
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def matrix(rows):
    data, indices, indptr = [], [], [0]
    for row in rows:
        words, code = words_and_code(row["text"])
        feats = hashed(words, code)
        indices += list(feats)
        data += list(feats.values())
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(rows), BUCKETS), dtype=np.float32)


def fit(rows, c=C):
    model = LogisticRegression(C=c, max_iter=3000)
    model.fit(matrix(rows), [r["label"] for r in rows])
    return model


def side(label):
    return ROUTES[label]


def held_out(rows, key, c=C):
    """Train without each group, test on it; returns per-row (truth, predicted) labels."""
    groups = sorted({key(r) for r in rows})
    pairs = []
    for g in groups:
        train = [r for r in rows if key(r) != g]
        test = [r for r in rows if key(r) == g]
        model = fit(train, c)
        pred = model.predict(matrix(test))
        pairs += [(r["label"], p, g) for r, p in zip(test, pred, strict=True)]
    return pairs


def figures(pairs):
    sides = [(side(t), side(p)) for t, p, _ in pairs]
    hard = [b for a, b in sides if a == "cloud"]
    routine = [b for a, b in sides if a == "local"]
    return {"route": sum(a == b for a, b in sides) / len(sides), "hard_to_cloud": hard.count("cloud") / len(hard),
            "routine_local": routine.count("local") / len(routine), "rows": len(pairs)}


def report(name, pairs):
    sides = [(side(t), side(p)) for t, p, _ in pairs]
    overall = sum(a == b for a, b in sides) / len(sides)
    hard = [b for a, b in sides if a == "cloud"]
    routine = [b for a, b in sides if a == "local"]
    exact = sum(t == p for t, p, _ in pairs) / len(pairs)
    print(f"{name}: route {overall:.1%} · hard to cloud {hard.count('cloud') / len(hard):.1%} · "
          f"routine local {routine.count('local') / len(routine):.1%} · exact class {exact:.1%} ({len(pairs)} rows)")
    per = collections.defaultdict(list)
    for (a, b), (_, _, g) in zip(sides, pairs, strict=True):
        per[g].append(a == b)
    return overall, {g: sum(v) / len(v) for g, v in per.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(ROOT, "router", "corpus", "*.jsonl"))
    ap.add_argument("--sweep", action="store_true", help="try several C values on held-out families")
    ap.add_argument("--no-eval", action="store_true")
    args = ap.parse_args()
    rows = load(args.corpus)
    unknown = {r["label"] for r in rows} - set(ROUTES)
    if unknown:
        sys.exit(f"labels not in the route table: {sorted(unknown)}")
    print(f"{len(rows)} rows, {len({r['family'] for r in rows})} families")
    if args.sweep:
        for c in (1, 2, 4, 8, 16, 32):
            report(f"C={c} held-out family", held_out(rows, lambda r: r["family"], c))
        return
    heldout = None
    if not args.no_eval:
        # Each writer's rows (all their phrasing families) held out whole: the model never saw
        # that person's phrasing. Per-family figures are read from the same predictions.
        pairs = held_out(rows, lambda r: r["family"].split(":")[0])
        report("held-out writer", pairs)
        fam = collections.defaultdict(list)
        for (t, p, _), r in zip(pairs, sorted(rows, key=lambda r: r["family"].split(":")[0]), strict=True):
            fam[r["family"]].append(side(t) == side(p))
        for g, v in sorted(fam.items(), key=lambda kv: sum(kv[1]) / len(kv[1])):
            print(f"    {g:26} {sum(v) / len(v):.1%}")
        heldout = {"by": "writer", **figures(pairs),
                   "worst_family": min(((sum(v) / len(v)), g) for g, v in fam.items())}
    model = fit(rows)
    path = write_model(list(model.classes_), model.coef_, model.intercept_, heldout)
    print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
