"""Code extraction and fitting for :HybridAsk."""

import pytest

from hybrid_core.edits import EditRequest, edit_messages, extract_code, fit_replacement


@pytest.mark.parametrize("reply, expected", [
    ("x = 1\ny = 2", "x = 1\ny = 2"),
    ("```python\nx = 1\n```", "x = 1"),
    ("Sure! Here is the code:\n\n```py\nx = 1\n```\n\nThis sets x.", "x = 1"),
    ("Install it first:\n```bash\npip install foo\n```\nThen:\n```python\nimport foo\n```", "import foo"),
    ("```\nplain fence\n```", "plain fence"),
    ("~~~python\ntilde\n~~~", "tilde"),
    ("```python\nunclosed at the end", "unclosed at the end"),
    ("````markdown\n```python\ninner\n```\n````", "```python\ninner\n```"),
    ("```python\n\n```\n```python\nsecond\n```", "second"),
    ("\n\nplain with blank edges\n\n", "plain with blank edges"),
    ("```js\nconsole.log(1)\n```", "console.log(1)"),  # no block fits: the first one
])
def test_extract_code(reply, expected):
    assert extract_code(reply, "python") == expected


def test_crlf_reply():
    assert extract_code("```python\r\nx = 1\r\n```\r\n", "python") == "x = 1"


def test_indentation_restored_when_the_model_drops_it():
    original = "    if x:\n        return 1"
    assert fit_replacement("if x:\n    return 2\n", original, "line") == ["    if x:", "        return 2"]
    # kept when the model kept it
    assert fit_replacement("    if y:\n        pass", original, "line") == ["    if y:", "        pass"]
    # a tab-indented file gets tabs back
    assert fit_replacement("a\nb", "\ta\n\tb", "line") == ["\ta", "\tb"]


def test_char_selection_is_not_reindented_and_keeps_no_trailing_newline():
    assert fit_replacement("total\n", "sum", "char") == ["total"]
    assert fit_replacement("a\nb", "x\ny", "block") == ["a", "b"]


def test_prompt_carries_context_and_asks_for_code_only():
    msgs = edit_messages(EditRequest(instruction="rename x to y", text="x = 1", filetype="python",
                                     filename="a.py", before="import os", after="print(x)"))
    assert msgs[0]["role"] == "system" and "only" in msgs[0]["content"]
    user = msgs[1]["content"]
    assert "rename x to y" in user and "a.py (python)" in user
    assert user.index("import os") < user.index("x = 1") < user.index("print(x)")


def test_a_buffer_without_a_filetype_takes_the_first_block_tagged_or_not():
    # A model's chatter after its code opened an untagged block that swallowed prose and a second
    # fence; with no filetype to match, that block was preferred and the prose landed in the file.
    reply = ("```python\ntotal = total * 2\n```\n\n4. If you want to re-run it:\n```\nYou can repeat this\n"
             "```python\ndef custom():\n```")
    assert extract_code(reply, "") == "total = total * 2"
