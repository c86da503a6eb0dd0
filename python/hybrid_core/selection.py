"""What the user chose: the active backend (`auto`: routing decides), a model per backend, the
preset; and from those, where a request for a role goes by default (`target`).

Choices apply in the order given, and a request waits for one given just before it: both go
through one lock (`in_order` for a choice, `settled` for a request).
"""

from __future__ import annotations

import asyncio
import contextlib

from .backends.pool import BackendPool
from .config import BackendConfig, Config, display_path
from .errors import HybridError
from .learning import Learning
from .live_config import LiveConfig
from .outbox import without_none
from .pricing import rates_for


class Selection:
    def __init__(self, live: LiveConfig, learning: Learning, pool: BackendPool):
        self.live = live
        self.learning = learning
        self.pool = pool
        self.active: str | None = None  # backend name, or 'auto'
        self.user_chose_backend = False
        self.preset: str | None = None  # the preset in effect, until the backend or model is changed
        self.system_prompt: str | None = None  # the preset's; None: conversation.SYSTEM_PROMPT
        self.model_override: dict[str, str] = {}
        self._lock = asyncio.Lock()

    # -- ordering ---------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def in_order(self):
        """For :HybridBackend / Model / Preset: two quick commands apply in the order given, each
        on the current config (one given as the host starts waits for it)."""
        async with self._lock:
            await self.live.current()
            yield

    async def settled(self) -> None:
        """For a request: the current config, and a choice given just before it applied first."""
        await self.live.current()
        async with self._lock:
            pass

    # -- where requests go ------------------------------------------------------------------

    def target(self, role: str = "query") -> tuple[BackendConfig, str]:
        """(backend config, model) requests go to by default: the fixed one, or auto's local side."""
        name = self.active
        if name == "auto":
            name = self.live.router.local or self.live.router.cloud
        backend = self.live.config.backends[name]
        return backend, self.model_override.get(name) or backend.model_for(role)

    def model_of(self, name: str, role: str) -> str:
        """The model backend `name` answers `role` with: the user's pick, else the config's."""
        return self.model_override.get(name) or self.live.config.backends[name].model_for(role)

    def model_shown(self, b: BackendConfig) -> str:
        return self.model_override.get(b.name) or b.default_model

    def follow(self, config: Config) -> None:
        """A new config: a choice it no longer allows falls back to its default."""
        if not self.user_chose_backend or (self.active != "auto" and self.active not in config.backends):
            self.active = config.default_backend
            self.user_chose_backend = False
        self.model_override = {k: v for k, v in self.model_override.items() if k in config.backends}

    # -- the user's choices -------------------------------------------------------------------

    def choice(self) -> dict:
        """What the user chose (backend, models, preset), for the editor to hand to a restarted host."""
        return without_none({"backend": self.active if self.user_chose_backend else None,
                             "models": dict(self.model_override) or None, "preset": self.preset})

    def restore(self, choice: dict | None) -> None:
        """Take up the choices the host before this one had (see choice), where the config still allows."""
        choice = choice if isinstance(choice, dict) else {}
        config = self.live.config
        models = choice.get("models") if isinstance(choice.get("models"), dict) else {}
        self.model_override.update({k: v for k, v in models.items() if k in config.backends and isinstance(v, str)})
        if choice.get("backend") == "auto" or choice.get("backend") in config.backends:
            self.active, self.user_chose_backend = choice["backend"], True
        preset = config.presets.get(choice.get("preset")) if isinstance(choice.get("preset"), str) else None
        if preset is not None:
            self.preset, self.system_prompt = preset.name, preset.system

    def use_backend(self, name: str) -> str:
        """:HybridBackend NAME; returns what to tell the user."""
        config = self.live.config
        if name != "auto" and name not in config.backends:
            raise HybridError(f"no backend named {name!r}; configured: {', '.join(config.backends)} (or auto)")
        self.active = name
        self.user_chose_backend = True
        self.learning.switched(name)
        self._leave_preset()
        backend, model = self.target()
        mode = "auto → " if name == "auto" else ""
        return f"backend: {mode}{backend.name} ({backend.kind}) · {model}"

    def use_model(self, model: str) -> str:
        """:HybridModel NAME, for the active backend."""
        backend, _ = self.target()
        self.model_override[backend.name] = model
        self._leave_preset()
        return f"model: {backend.name} · {model}"

    def use_preset(self, name: str) -> str:
        """:HybridPreset NAME: its backend, model and system prompt."""
        config = self.live.config
        preset = config.presets.get(name)
        if preset is None:
            names = ", ".join(config.presets) or "none yet"
            raise HybridError(f"no preset named {name!r} (configured: {names}); add it under presets: in "
                              f"{display_path(self.live.path)}")
        self.active = preset.backend
        self.user_chose_backend = True
        self.learning.switched(preset.backend, f"preset {preset.name}")
        if preset.model:
            self.model_override[preset.backend] = preset.model
        else:
            self.model_override.pop(preset.backend, None)
        self.preset, self.system_prompt = preset.name, preset.system
        if preset.backend == "auto":
            where = "auto"
        else:
            backend, model = self.target()
            where = f"{backend.name} ({backend.kind}) · {model}"
        return f"preset {preset.name}: {where}{' · its own system prompt' if preset.system else ''}"

    def _leave_preset(self) -> None:
        """A backend or model picked by hand ends the preset, its system prompt with it."""
        self.preset = self.system_prompt = None

    # -- the model picker ---------------------------------------------------------------------

    async def models(self, name: str | None) -> dict:
        """The server's models for :HybridModel's picker: loaded ones marked, each with its price."""
        config = await self.live.current()
        cfg = config.backends.get(name) if name else self.target()[0]
        if cfg is None:
            raise HybridError(f"no backend named {name!r}")
        backend = await self.pool.started(cfg)
        models = await backend.list_models()
        loaded = {m["name"] for m in (await self.pool.loaded(cfg)).get("models") or ()}
        for m in models:
            if m["name"] in loaded:
                m["loaded"] = True
            # What a million tokens in and out cost, for the picker; a local model is free.
            if cfg.local:
                m["price"] = "free"
            elif rates := rates_for(cfg, m["name"]):
                m["price"] = f"${rates.input:g}/${rates.output:g} per M"
        return {"backend": cfg.name, "kind": cfg.kind, "models": models}
