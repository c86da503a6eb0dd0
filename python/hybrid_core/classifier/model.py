"""The task classifier: a linear model over hashed features, evaluated in pure Python.

model.bin holds, for every bucket the training text touched, its index (uint32) and one int8
weight per class; model.json names the classes and the scale. `router/train.py` writes both.
"""

from __future__ import annotations

import json
import math
import os
import sys
from array import array
from dataclasses import dataclass

from .features import hashed, words_and_code

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_BIN = os.path.join(HERE, "model.bin")
MODEL_JSON = os.path.join(HERE, "model.json")

# The seeds' task table (001, "Task-by-Task Guide") plus the kinds it leaves out: where each goes.
ROUTES = {
    "complex_debugging": "cloud", "performance": "cloud", "architecture": "cloud", "design_tradeoffs": "cloud",
    "security": "cloud", "unfamiliar": "cloud", "tricky_tests": "cloud", "data_migration": "cloud",
    "research": "cloud", "creative_writing": "cloud",
    "refactoring": "local", "boilerplate": "local", "tests": "local", "formatting": "local", "summarizing": "local",
    "explanation": "local", "classification": "local", "docs": "local", "simple_fix": "local",
    "general_question": "local",
}
NAMES = {
    "complex_debugging": "complex debugging", "performance": "performance investigation",
    "architecture": "multi-file architecture", "design_tradeoffs": "design trade-offs", "security": "security review",
    "unfamiliar": "unfamiliar framework", "tricky_tests": "tricky tests", "data_migration": "data migration",
    "research": "research", "creative_writing": "creative writing", "refactoring": "refactoring",
    "boilerplate": "boilerplate", "tests": "tests", "formatting": "formatting", "summarizing": "summarizing",
    "explanation": "explanation", "classification": "classification", "docs": "docs and comments",
    "simple_fix": "straightforward fix", "general_question": "general question",
}


@dataclass(frozen=True)
class Prediction:
    label: str          # the class, e.g. complex_debugging
    name: str           # for the user: "complex debugging"
    side: str           # local | cloud, from ROUTES
    confidence: float   # the class's probability
    cloud: float        # the summed probability of the cloud classes
    probs: tuple[tuple[str, float], ...] = ()  # every class, most likely first

    def best_on(self, side: str) -> tuple[str, float]:
        """The likeliest class that routes to `side`, as (its name, its probability)."""
        label, p = next((c, p) for c, p in self.probs if ROUTES[c] == side)
        return NAMES[label], p


def write_model(classes, coef, intercept, heldout: dict | None = None) -> str:
    """Quantize and store a trained model (called by router/train.py)."""
    scale = float(max(abs(coef).max(), abs(intercept).max())) / 127.0
    q = (coef / scale).round().clip(-127, 127).astype("int8")  # classes x buckets
    used = [b for b in range(q.shape[1]) if q[:, b].any()]
    index = array("I", used)
    weights = array("b", q[:, used].T.flatten().tolist())
    with open(MODEL_BIN, "wb") as f:
        f.write(index.tobytes())
        f.write(weights.tobytes())
    with open(MODEL_JSON, "w") as f:
        json.dump({"classes": list(classes), "scale": scale, "buckets": len(used),
                   "intercept": [float(x) for x in intercept], "heldout": heldout}, f, indent=1)
    return MODEL_BIN


class Classifier:
    """Loaded once, on first use (about 30 ms), then about a millisecond a request."""

    def __init__(self, bin_path: str = MODEL_BIN, json_path: str = MODEL_JSON):
        with open(json_path, encoding="utf-8") as f:
            meta = json.load(f)
        self.classes: list[str] = meta["classes"]
        self.scale: float = meta["scale"]
        self.intercept: list[float] = meta["intercept"]
        n, k = meta["buckets"], len(self.classes)
        with open(bin_path, "rb") as f:
            raw = f.read()
        index = array("I")
        index.frombytes(raw[:4 * n])
        weights = array("b")
        weights.frombytes(raw[4 * n:])
        if sys.byteorder != "little":
            index.byteswap()
        self.rows = {b: weights[i * k:(i + 1) * k] for i, b in enumerate(index)}

    def predict(self, text: str) -> Prediction:
        words, code_lines = words_and_code(text)
        k = len(self.classes)
        sums = [0.0] * k
        for bucket, value in hashed(words, code_lines).items():
            row = self.rows.get(bucket)
            if row is not None:
                for i in range(k):
                    sums[i] += row[i] * value
        scores = [s * self.scale + b for s, b in zip(sums, self.intercept, strict=True)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        probs = [e / total for e in exps]
        best = max(range(k), key=probs.__getitem__)
        label = self.classes[best]
        cloud = sum(p for c, p in zip(self.classes, probs, strict=True) if ROUTES[c] == "cloud")
        ranked = tuple(sorted(zip(self.classes, probs, strict=True), key=lambda cp: -cp[1]))
        return Prediction(label, NAMES[label], ROUTES[label], probs[best], cloud, ranked)


_shared: Classifier | None = None


def shared() -> Classifier:
    global _shared
    if _shared is None:
        _shared = Classifier()
    return _shared
