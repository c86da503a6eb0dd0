"""Both halves of the Lua↔Python protocol name the same methods and events, each in one place."""

import ast
import json
import os
import re

from nvim_harness import ROOT
from test_docs_setup import run_lua

SHIM = os.path.join(ROOT, "rplugin", "python3", "hybrid", "__init__.py")


def rpc() -> dict:
    return json.loads(run_lua("""
      local rpc = require('hybrid.rpc')
      io.stdout:write(vim.json.encode({ methods = rpc.methods, events = rpc.events,
        handled = vim.tbl_keys(require('hybrid.bridge').handlers) }))"""))


def shim_exports() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(open(SHIM).read())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "rpc_export":
            names.add(node.args[0].value)
            assert not any(k.arg == "sync" and k.value.value for k in node.keywords), \
                f"{node.args[0].value} is synchronous: the editor would wait on the host"
    return names


def test_the_shim_exports_exactly_the_methods_rpc_lua_names():
    assert set(rpc()["methods"].values()) == shim_exports()


def test_every_event_has_one_handler_and_the_shim_sends_only_known_events():
    names = rpc()
    assert sorted(names["handled"]) == sorted(names["events"].values())
    sent_by_shim = set(re.findall(r'"type": "(\w+)"', open(SHIM).read()))
    assert sent_by_shim and sent_by_shim <= set(names["events"].values())


def test_no_lua_file_but_rpc_lua_spells_a_method_name():
    methods = set(rpc()["methods"].values())
    for folder, _, files in os.walk(os.path.join(ROOT, "lua")):
        for name in files:
            if name == "rpc.lua":
                continue
            # (Namespaces and vim.ui.select kinds share some of these names; they are not calls.)
            source = re.sub(r"nvim_create_namespace\('\w+'\)|kind = '\w+'", "", open(os.path.join(folder, name)).read())
            spelled = {m for m in methods if f"'{m}'" in source or f'"{m}"' in source}
            assert not spelled, f"{name} spells {spelled}: call through require('hybrid.rpc')"
