"""The shipped task classifier: it loads, it is quick to ask, and it routes kinds of request the
keyword table could not. (Its held-out figure comes from `make router`, on whole writers.)"""

import pytest

from hybrid_core.classifier import ROUTES, Classifier
from hybrid_core.classifier.features import words_and_code


@pytest.fixture(scope="module")
def clf():
    return Classifier()


def test_every_class_has_a_route(clf):
    assert set(clf.classes) == set(ROUTES)


@pytest.mark.parametrize("text", [
    "checkout service: some shoppers in the EU get yesterday's basket back",  # symptom, no keyword
    "after we moved to the new JVM the 99th percentile went from 40ms to 400ms",
    "RabbitMQ or plain Redis streams for our order events, we're 6 devs",
    "my first week with Godot and I need the save system to work across scenes",
    "can a user replay this signed URL after it expires?",
])
def test_hard_requests_without_keywords_go_to_the_cloud(clf, text):
    assert clf.predict(text).cloud > 0.5, clf.predict(text)


@pytest.mark.parametrize("text", [
    "rename the heisenbug_counter variable to retry_count",
    "translate this string to French: 'memory corruption detected, please restart'",
    "add a docstring to parse_header",
    "convert this json to yaml",
    "what's the git command to undo my last commit",
])
def test_routine_requests_with_scary_words_stay_local(clf, text):
    assert clf.predict(text).cloud < 0.5, clf.predict(text)


def test_code_is_counted_not_read():
    words, lines = words_and_code("why?\n```python\nx = 1\ny = 2\n```\n")
    assert lines >= 2 and "x = 1" not in words
