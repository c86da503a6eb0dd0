"""`python -m hybrid_core.health CONFIG [DATA_DIR]`: what :checkhealth hybrid reports, as JSON.

Checks the config, each backend's key (present or not, never the value), whether the
server answers, whether it lists the configured model, what Ollama holds in memory, and
for a server the plugin starts itself, its program and log; with DATA_DIR, that it is
writable and the ledger readable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import sqlite3
import sys

from .backends import safe_url
from .backends.pool import BackendPool, command_for, warms_up
from .config import builtin_config, display_path, load_config
from .datadir import problem as data_dir_problem
from .errors import HybridError
from .keys import KeyResolver, keys_file_readable_by_others
from .pricing import rates_for
from .privacy import BUILTIN_PATHS, BUILTIN_PATTERNS
from .redact import Redactor
from .routing import Router
from .servers import log_path_for


def server_report(cfg, data_dir: str | None) -> dict | None:
    """For a backend whose server the plugin starts: the command, whether its program is found, the log."""
    command = command_for(cfg)
    if command is None:
        return None
    return {"command": " ".join(command), "program": command[0], "found": shutil.which(command[0]) is not None,
            "key": "command" if cfg.command else "autostart",
            "log": display_path(log_path_for(cfg, data_dir)) if data_dir else None}


async def check_backend(cfg, pool: BackendPool, data_dir: str | None = None) -> dict:
    out = {"name": cfg.name, "kind": cfg.kind, "local_why": cfg.local_why,
           "type": cfg.type, "url": safe_url(cfg.base_url), "model": cfg.default_model,
           "server": server_report(cfg, data_dir), "keep_alive": cfg.keep_alive,
           "warm_up": warms_up(cfg)}
    try:
        key, where = pool.keys.resolve(cfg)  # a missing key is reported, not an error here
    except HybridError as e:
        key, where, out["key_error"] = None, "", str(e)
    out["key"] = f"found in {where}" if key else None
    out["key_hint"] = cfg.api_key_env
    cfg.connect_timeout, cfg.read_timeout = min(cfg.connect_timeout, 2.0), 5.0
    out["unpriced"] = unpriced_models(cfg)
    backend = pool.client_with(cfg, key, where)  # (the pool masks the key from here on)
    try:
        models = [m["name"] for m in await backend.list_models()]
        out["reachable"] = True
        out["model_listed"] = cfg.default_model in models if models else None
        out["loaded"] = await loaded_names(backend)
    except HybridError as e:
        out["reachable"], out["error"] = False, str(e)
    return out


def unpriced_models(cfg) -> list[str] | None:
    """The cloud backend's configured models with no known price (their cost is not counted)."""
    if cfg.local:
        return None
    return sorted(m for m in {cfg.default_model, *cfg.agent_models.values()} if rates_for(cfg, m) is None) or None


async def loaded_names(backend) -> list[str] | None:
    """The models the server holds in memory; None when it cannot say (not Ollama, or an old one)."""
    try:
        loaded = await backend.loaded_models()
    except HybridError:
        return None
    return None if loaded is None else [m["name"] for m in loaded]


async def check(path: str, data_dir: str | None = None) -> dict:
    report = {"config": display_path(path)}
    if not os.path.exists(path):
        # A supported set-up: the engine uses the built-in default, so that is what to check.
        config = builtin_config(path)
        report["builtin"] = True
    else:
        try:
            config = load_config(path)
        except HybridError as e:
            report["config_error"] = str(e)
            return report
    report["keys_file_open"] = keys_file_readable_by_others(config.keys_path)
    report["routing"] = routing_summary(config)
    pool = BackendPool(KeyResolver(config.keys_path), Redactor())
    try:
        backends = await asyncio.gather(*(check_backend(b, pool, data_dir) for b in config.backends.values()))
    finally:
        await pool.aclose_clients()
    report["backends"] = masked(backends, pool.secrets)  # a server may echo the key in its error
    return report


def masked(value, redact: Redactor):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [masked(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: masked(v, redact) for k, v in value.items()}
    return value


def routing_summary(config) -> dict:
    router = Router(config)
    local = config.backends.get(router.local) if router.local else None
    return {
        "auto": config.default_backend == "auto", "local": router.local, "cloud": router.cloud,
        "user_rules": len(router.user_rules), "builtin_rules": bool(router.builtin_rules),
        "router_model": local.agent_models.get("router") if local else None, "router_timeout": router.router_timeout,
        "cooldown": router.cooldown,
        "private_paths": len(router.privacy.paths) - len(BUILTIN_PATHS),
        "private_patterns": len(router.privacy.patterns) - len(BUILTIN_PATTERNS),
        "budget": {k: v for k, v in dataclasses.asdict(config.budget).items() if v is not None},
    }


def check_data_dir(data_dir: str) -> dict:
    """Writable, the ledger readable (and how many requests it holds), saved chats."""
    out: dict = {"path": data_dir}
    problem = data_dir_problem(data_dir)  # the same line the host says once at start
    out["writable"] = problem is None
    if problem:
        out["error"] = problem
    ledger = os.path.join(data_dir, "usage.sqlite3")
    out["ledger"] = display_path(ledger)
    if os.path.exists(ledger):
        try:
            db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=2)
            try:
                out["ledger_rows"] = db.execute("SELECT count(*) FROM requests").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error as e:
            out["ledger_error"] = f"{display_path(ledger)} cannot be read: {e}"
    chats = os.path.join(data_dir, "chats")
    out["chats"] = len([n for n in os.listdir(chats) if n.endswith(".jsonl")]) if os.path.isdir(chats) else 0
    out["log"] = display_path(os.path.join(data_dir, "hybrid.log"))
    return out


def main() -> None:
    data_dir = os.path.expanduser(sys.argv[2]) if len(sys.argv) > 2 else None
    report = asyncio.run(check(os.path.expanduser(sys.argv[1]), data_dir))
    if data_dir:
        report["data"] = check_data_dir(data_dir)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
