"""Where setup.yaml is, and how a path is shown to the user (~ for the home directory)."""

from __future__ import annotations

import os


def default_config_path() -> str:
    return os.environ.get("HYBRID_CONFIG") or os.path.expanduser("~/.config/hybrid/setup.yaml")


def display_path(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "/") and path.startswith(home + os.sep):
        return "~" + path[len(home):]
    return path
