"""`python -m hybrid_core.health CONFIG`: what :checkhealth hybrid reports, as JSON.

Checks the config, each backend's key (present or not, never the value), whether the
server answers and whether it lists the configured model.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from .backends import make_backend, safe_url
from .config import display_path, load_config
from .errors import HybridError
from .keys import KeyResolver, keys_file_readable_by_others
from .privacy import BUILTIN_PATHS, BUILTIN_PATTERNS
from .routing import Router


async def check_backend(cfg, keys: KeyResolver) -> dict:
    out = {"name": cfg.name, "kind": cfg.kind, "type": cfg.type, "url": safe_url(cfg.base_url), "model": cfg.default_model}
    try:
        key, where = keys.resolve(cfg)
    except HybridError as e:
        key, where, out["key_error"] = None, "", str(e)
    out["key"] = f"found in {where}" if key else None
    out["key_hint"] = cfg.api_key_env
    cfg.connect_timeout, cfg.read_timeout = min(cfg.connect_timeout, 2.0), 5.0
    backend = make_backend(cfg, key, where)
    try:
        models = [m["name"] for m in await backend.list_models()]
        out["reachable"] = True
        out["model_listed"] = cfg.default_model in models if models else None
    except HybridError as e:
        out["reachable"], out["error"] = False, str(e)
    finally:
        await backend.aclose()
    return out


async def check(path: str) -> dict:
    report = {"config": display_path(path)}
    try:
        config = load_config(path)
    except HybridError as e:
        report["config_error"] = str(e)
        return report
    report["keys_file_open"] = keys_file_readable_by_others(config.keys_path)
    report["routing"] = routing_summary(config)
    keys = KeyResolver(config.keys_path)
    report["backends"] = await asyncio.gather(*(check_backend(b, keys) for b in config.backends.values()))
    return report


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
        "budget": config.raw.get("budget") if isinstance(config.raw.get("budget"), dict) else {},
    }


def main() -> None:
    print(json.dumps(asyncio.run(check(os.path.expanduser(sys.argv[1])))))


if __name__ == "__main__":
    main()
