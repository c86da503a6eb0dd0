"""hybrid.nvim's core: config, backends, streaming and the engine. Never imports pynvim."""

from .config import BackendConfig, Config, load_config, parse_config
from .engine import Engine
from .errors import (
    AuthError,
    BackendError,
    ConfigError,
    ConnectError,
    HybridError,
    MissingKeyError,
    ModelNotFoundError,
    RateLimitError,
    ReadTimeoutError,
    ServerError,
    StreamError,
)

__all__ = [
    "AuthError", "BackendConfig", "BackendError", "Config", "ConfigError", "ConnectError", "Engine",
    "HybridError", "MissingKeyError", "ModelNotFoundError", "RateLimitError", "ReadTimeoutError",
    "ServerError", "StreamError", "load_config", "parse_config",
]
