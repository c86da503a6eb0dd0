"""API keys: keys.yaml beside setup.yaml, then the env var, then api_key_cmd.

Keys are only ever returned to the code that sends them; messages name where a key
comes from (the env var, the file), never the key.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading

import yaml

from .config import BackendConfig, display_path
from .errors import ConfigError, MissingKeyError


def read_keys_file(path: str) -> dict[str, str]:
    shown = display_path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{shown}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{shown}: {where}invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: expected 'backend-name: key' lines")
    keys = {}
    for name, key in data.items():
        if not isinstance(key, str):
            # Never echo the value: it may be a key that YAML read as a number.
            raise ConfigError(f"{shown}: {name}: expected the key as text (quote it)")
        keys[str(name)] = key.strip()
    return keys


def keys_file_readable_by_others(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


class KeyResolver:
    """Finds a backend's key; api_key_cmd output is cached per command for the session."""

    def __init__(self, keys_path: str):
        self.keys_path = keys_path
        self._cmd_cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, backend: BackendConfig) -> tuple[str | None, str]:
        """Returns (key or None, where it came from) — the second part is safe to show."""
        from_file = read_keys_file(self.keys_path).get(backend.name)
        if from_file:
            return from_file, display_path(self.keys_path)
        from_env = os.environ.get(backend.api_key_env, "").strip()
        if from_env:
            return from_env, backend.api_key_env
        if backend.api_key_cmd:
            return self._run_cmd(backend), f"backend.{backend.name}.api_key_cmd"
        return None, backend.api_key_env

    def require(self, backend: BackendConfig) -> tuple[str | None, str]:
        """Like resolve, but a cloud backend without a key is an error that says where to put one."""
        key, where = self.resolve(backend)
        if key is None and not backend.local:
            raise MissingKeyError(
                backend.name,
                f"no API key; set {backend.api_key_env}, add '{backend.name}: <key>' to "
                f"{display_path(self.keys_path)}, or set backend.{backend.name}.api_key_cmd",
            )
        return key, where

    def _run_cmd(self, backend: BackendConfig) -> str:
        cmd = backend.api_key_cmd
        with self._lock:
            if cmd in self._cmd_cache:
                return self._cmd_cache[cmd]
        where = f"backend.{backend.name}.api_key_cmd"
        try:
            done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise MissingKeyError(backend.name, f"{where} did not finish within 15 s") from None
        if done.returncode != 0:
            raise MissingKeyError(backend.name, f"{where} exited with status {done.returncode}")
        key = done.stdout.strip()
        if not key:
            raise MissingKeyError(backend.name, f"{where} printed nothing")
        with self._lock:
            self._cmd_cache[cmd] = key
        return key
