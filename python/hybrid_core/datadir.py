"""data_dir: the one folder the plugin writes (saved chats, the usage ledger, logs).

Checked once as the host starts: a data_dir that is a file, or that cannot be written, is
said in one line, and chatting goes on without saving rather than failing every command.
"""

from __future__ import annotations

import os

from .config import display_path


def problem(data_dir: str | None) -> str | None:
    """None when chats and usage can be saved under `data_dir`; else the one line that says why not.
    Blocking (it creates the folders and writes a probe file): call it off the loop."""
    if not data_dir:
        return None
    shown = display_path(data_dir)
    for folder in (data_dir, os.path.join(data_dir, "chats")):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            probe = os.path.join(folder, f".hybrid-probe-{os.getpid()}")
            with open(probe, "w") as f:
                f.write("ok")
            os.remove(probe)
        except (FileExistsError, NotADirectoryError):
            what = "is a file (or inside one)" if folder == data_dir else f"has a file at {display_path(folder)}"
            return (f"data_dir {shown} {what}, not a folder: chats and usage are not saved "
                    "(point setup{ data_dir = ... } at a folder)")
        except OSError as e:
            return f"data_dir {shown} cannot be written ({e.strerror or e}): chats and usage are not saved"
    return None
