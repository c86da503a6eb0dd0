"""The docs stay true: every command is documented and :helptags runs clean."""

import importlib.util
import os
import re
import subprocess
import time

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


def test_helptags_runs_clean(tmp_path):
    doc = tmp_path / "doc"
    doc.mkdir()
    (doc / "hybrid.txt").write_text(open(os.path.join(ROOT, "doc", "hybrid.txt")).read())
    out = subprocess.run([nvim_binary(), "--headless", "-u", "NONE", "-i", "NONE", "-n",
                          "-c", f"helptags {doc}", "-c", "qa!"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "E154" not in out.stderr and out.stderr.strip() == "", out.stderr
    tags = [line.split("\t")[0] for line in (doc / "tags").read_text().splitlines()]
    assert len(tags) == len(set(tags)) and "hybrid.status()" in tags


def read(*parts) -> str:
    return open(os.path.join(ROOT, *parts)).read()


def test_every_highlight_group_is_linked_and_documented():
    links = dict(re.findall(r"(Hybrid\w+) = '([@\w.]+)'", read("lua", "hybrid", "highlights.lua")))
    events = set(re.findall(r"fire\('(Hybrid\w+)'", read("lua", "hybrid", "events.lua")))
    used = set()
    for folder, _, names in os.walk(os.path.join(ROOT, "lua", "hybrid")):
        for name in set(names) - {"events.lua", "highlights.lua"}:
            used |= set(re.findall(r"'(Hybrid[A-Z]\w*)'", read(folder, name))) - events
    doc = read("doc", "hybrid.txt")
    assert links and used <= set(links), f"highlight groups used but not linked: {used - set(links)}"
    for group, target in links.items():
        assert f"*hl-{group}*" in doc and target in doc, f"highlight {group} is not documented"


def test_every_event_plug_map_and_lua_function_is_documented():
    doc = read("doc", "hybrid.txt")
    events = set(re.findall(r"fire\('(Hybrid\w+)'", read("lua", "hybrid", "events.lua")))
    assert events == {"HybridRequestStart", "HybridRequestDone", "HybridBackendChanged", "HybridEditApplied"}
    for event in events:
        assert f"*{event}*" in doc, f"event {event} has no help tag"
    plugs = set(re.findall(r"plug\('\w', '([\w-]+)'", read("plugin", "hybrid.lua")))
    assert len(plugs) >= 10
    for name in plugs:
        assert f"<Plug>(hybrid-{name})" in doc, f"<Plug>(hybrid-{name}) is not documented"
    for name in re.findall(r"^function M\.([a-z]\w*)\(", read("lua", "hybrid", "init.lua"), re.M):
        assert f"*hybrid.{name}()*" in doc, f"require('hybrid').{name}() is not documented"


def _config_help():
    """scripts/gen_config_help.py, which writes the setup.yaml tables of :help hybrid from the schema."""
    spec = importlib.util.spec_from_file_location("gen_config_help", os.path.join(ROOT, "scripts", "gen_config_help.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_setup_yaml_tables_are_the_schemas():
    # The generator runs in memory: a schema change without `make helpdoc`, or a hand edit of the
    # generated tables, fails here.
    doc = read("doc", "hybrid.txt")
    assert _config_help().render(doc) == doc, "doc/hybrid.txt's setup.yaml tables differ from the schema: make helpdoc"


def test_every_setup_yaml_key_is_documented():
    from hybrid_core.config.schema import BACKEND_TYPES, SECTIONS, options

    doc = read("doc", "hybrid.txt")
    words = " ".join(doc.split())  # the text as read, whatever its line breaks
    for section in SECTIONS:
        for name, opt in options(section.type):
            key = f"{section.key}.{name}"
            assert re.search(rf"^{re.escape(key)}(\s|$)", doc, re.M), f"setup.yaml key {key} is not documented"
            assert " ".join(opt.doc.split()) in words, f"{key}: its help text is not in the doc"
        top = section.key.split(".")[0]
        assert f"*hybrid-config-{top}*" in doc, f"setup.yaml section {top}: has no help tag"
    for name, kind in BACKEND_TYPES.items():
        assert f"`{name}` ({kind.protocol})" in words, f"backend type {name} is not documented"
    for key in ("profiles", "autostart", "command"):
        assert f"backend.NAME.{key}" in doc


def make(tmp_path, *args):
    """`make` in tmp_path as a user runs it (not as a sub-make of `make test`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def test_help_hybrid_opens_at_the_top_of_the_help_file(tmp_path):
    # `make helptags` (run by `make install`) writes doc/tags, then `:help hybrid` lands on
    # the file's first lines, not at some hybrid.* tag further down.
    for name in ("Makefile",):
        (tmp_path / name).write_text(read(name))
    (tmp_path / "doc").mkdir()
    (tmp_path / "doc" / "hybrid.txt").write_text(read("doc", "hybrid.txt"))
    made = make(tmp_path, "-s", "helptags", f"NVIM={nvim_binary()}")
    assert made.returncode == 0 and (tmp_path / "doc" / "tags").exists(), made.stdout + made.stderr
    out = subprocess.run([nvim_binary(), "--headless", "-u", "NONE", "-i", "NONE", "-n",
                          "--cmd", f"set rtp^={tmp_path}", "-c", "help hybrid",
                          "-c", "call writefile([expand('%:t') .. ':' .. line('.')], 'where.txt')", "-c", "qa!"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=30)
    name, line = (tmp_path / "where.txt").read_text().strip().split(":")
    assert name == "hybrid.txt" and int(line) <= 5, (name, line, out.stderr)


def test_make_helptags_without_nvim_says_what_to_do(tmp_path):
    (tmp_path / "Makefile").write_text(read("Makefile"))
    made = make(tmp_path, "-s", "helptags", "NVIM=no-such-nvim")
    assert made.returncode == 0 and ":helptags ALL" in made.stdout


def test_readme_install_steps_are_complete():
    readme = read("README.md")
    commands = set(re.findall(r"command\('(Hybrid\w+)'", read("plugin", "hybrid.lua")))
    for text in (readme, read("doc", "hybrid.txt")):
        lazy_cmd = re.search(r"cmd = \{(.*?)\}", text, re.S).group(1)
        assert set(re.findall(r"'(Hybrid\w+)'", lazy_cmd)) == commands, "lazy.nvim's cmd list misses commands"
    manual = readme[readme.index("Without a plugin manager"):readme.index("Nothing else:")]
    assert ":helptags" in manual
    for stale in ("and later chats", "coming next"):
        assert stale not in readme, f"stale README line: {stale!r}"


def test_the_first_make_test_says_why_it_is_slow(tmp_path):
    # The test packages' install (llama-cpp-python builds for minutes) is announced, not silent.
    (tmp_path / "Makefile").write_text(read("Makefile"))
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".runtime").write_text("")
    os.utime(venv / ".runtime", (time.time() + 5, time.time() + 5))  # newer than the Makefile
    made = make(tmp_path, f"VENV={venv}", "PIP=true", f"{venv}/.dev")
    assert made.returncode == 0, made.stderr
    first = made.stdout.splitlines()[0]
    assert first.startswith("make: installing the test packages") and "llama-cpp-python" in first
    assert "several minutes" in first
