"""What setup.yaml leaves unsaid about a backend: is it on this machine, and is a value a key?"""

from __future__ import annotations

import ipaddress
import re

# A loopback server that forwards to a cloud (a LiteLLM-style proxy) is not local: its port, its
# path or the models it serves give it away.
_PROXY_PORTS = (4000,)
_CLOUD_MODEL = re.compile(
    r"^(?:(?:openai|anthropic|azure|azure_ai|bedrock|vertex_ai|gemini|groq|openrouter|mistral|deepseek|together_ai|"
    r"cohere|xai|fireworks_ai|perplexity|replicate|huggingface)/|gpt-[345]|gpt-4o|chatgpt|o[134](?:-|$)|claude-|"
    r"gemini-|grok-)", re.IGNORECASE)
# A key pasted where a variable name belongs: a provider's key prefix, or a long run with lower case
# and digits (variable names are upper-case words). Such a value is never echoed back.
_KEY_PREFIX = re.compile(r"(sk|gsk|xai|hf|ghp|gho|github_pat|glpat|pplx|nvapi|csk|fw|r8|AIza)[-_]?[A-Za-z0-9]")


def infer_local(btype: str, parts, models: list[str]) -> tuple[bool, str]:
    """(local?, why) for a backend without `local:`; the why is shown by checkhealth and :HybridRoute."""
    if not _is_loopback(parts.hostname or ""):
        hint = "; set local: true if it runs on a machine of yours" if btype == "ollama" else ""
        return False, f"inferred: {parts.hostname} is not this machine{hint}"
    if parts.port in _PROXY_PORTS or "litellm" in (parts.path or "").lower():
        return False, "inferred: looks like a proxy to a cloud (LiteLLM's port or path); set local: true if not"
    cloudy = next((m for m in models if _CLOUD_MODEL.match(m)), None)
    if cloudy:
        return False, f"inferred: serves a cloud model ({cloudy}), so it is a proxy; set local: true if not"
    return True, "inferred: on this machine (loopback)"


def looks_like_key(value: str) -> bool:
    """True for an API key pasted where an environment variable's name belongs."""
    value = value.strip()
    if len(value) < 16 or any(c.isspace() for c in value):
        return False
    if _KEY_PREFIX.match(value) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return True
    return len(value) >= 20 and any(c.islower() for c in value) and sum(c.isdigit() for c in value) >= 3


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
