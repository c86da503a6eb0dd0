"""setup.yaml, typed once.

    schema.py    every option's type, default and help text, as dataclasses (the sections)
    types.py     the kinds of value (seconds, true or false, ...): their help label and their check
    validate.py  load and check a file, build the typed Config; one-line errors naming file and key
    locality.py  what the file leaves unsaid: is a backend local, is a value a pasted key
    paths.py     where setup.yaml is, and how a path is shown

The code reads the typed sections (`config.routing.cooldown`), never `config.raw` with a default
of its own. `raw` keeps the file as read, keys we do not know included.
"""

from .locality import infer_local, looks_like_key
from .paths import default_config_path, display_path
from .schema import (
    BACKEND_TYPES,
    ROLES,
    SECTIONS,
    BackendConfig,
    BackendType,
    BudgetSection,
    Config,
    ContextSection,
    DefaultsSection,
    Preset,
    PrivacySection,
    RetrySection,
    RouteRule,
    RoutingSection,
    builtin_config,
)
from .validate import load_config, parse_config

__all__ = [
    "BACKEND_TYPES", "ROLES", "SECTIONS", "BackendConfig", "BackendType", "BudgetSection", "Config", "ContextSection",
    "DefaultsSection", "Preset", "PrivacySection", "RetrySection", "RouteRule", "RoutingSection", "builtin_config",
    "default_config_path", "display_path", "infer_local", "load_config", "looks_like_key", "parse_config",
]
