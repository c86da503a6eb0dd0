"""The docs stay true: every command is documented and :helptags runs clean."""

import os
import re
import subprocess

from nvim_harness import ROOT, nvim_binary


def test_every_command_is_documented():
    plugin = open(os.path.join(ROOT, "plugin", "hybrid.lua")).read()
    commands = set(re.findall(r"command\('(Hybrid\w+)'", plugin))
    doc = open(os.path.join(ROOT, "doc", "hybrid.txt")).read()
    readme = open(os.path.join(ROOT, "README.md")).read()
    assert commands >= {"HybridChat", "HybridBackend", "HybridModel", "HybridCancel"}
    for name in commands:
        assert f"*:{name}*" in doc, f":{name} has no help tag"
        assert name in readme, f":{name} is not in the README"


def test_every_setup_option_is_documented():
    options = open(os.path.join(ROOT, "lua", "hybrid", "options.lua")).read()
    schema = re.search(r"local schema = \{(.*?)\n\}", options, re.S).group(1)
    doc = open(os.path.join(ROOT, "doc", "hybrid.txt")).read()
    for name in re.findall(r"^\s+(\w+) = \{", schema, re.M):
        assert f"*hybrid-opt-{name}" in doc, f"setup option {name} is not documented"


def test_helptags_runs_clean(tmp_path):
    doc = tmp_path / "doc"
    doc.mkdir()
    (doc / "hybrid.txt").write_text(open(os.path.join(ROOT, "doc", "hybrid.txt")).read())
    out = subprocess.run([nvim_binary(), "--headless", "-u", "NONE", "-i", "NONE", "-n",
                          "-c", f"helptags {doc}", "-c", "qa!"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "E154" not in out.stderr and out.stderr.strip() == "", out.stderr
    tags = [line.split("\t")[0] for line in (doc / "tags").read_text().splitlines()]
    assert len(tags) == len(set(tags)) and "hybrid.status()" in tags
