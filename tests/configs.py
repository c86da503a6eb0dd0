"""setup.yaml texts the tests share."""


def two_sides(ollama_url: str, openai_url: str, extra: str = "", *, cloud_model: str = "fake-model") -> str:
    """Auto mode over a local Ollama and a cloud OpenAI-compatible server (both on loopback,
    so the cloud one says local: false), plus `extra` YAML."""
    return ("defaults: {backend: auto}\n"
            "backend:\n"
            f"  ollama: {{type: ollama, base_url: '{ollama_url}', default_model: fake-model}}\n"
            f"  groq: {{type: openai, base_url: '{openai_url}/v1', default_model: '{cloud_model}', local: false}}\n" + extra)
