"""The exception hierarchy. Every message is one line a user can act on."""


class HybridError(Exception):
    """Base of every error the core raises on purpose."""


class ConfigError(HybridError):
    """setup.yaml or keys.yaml is unreadable or invalid; the message names file and key.

    Always one line: a key read from the file may hold a newline or other control character."""

    def __init__(self, message: str):
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


class DoesNotFit(HybridError):
    """A message with attachments is too big for the model's window: it is not sent (never cut)."""


class BackendError(HybridError):
    """A backend failed a request. `backend` is the configured name."""

    def __init__(self, backend: str, message: str):
        super().__init__(f"{backend}: {message}")
        self.backend = backend


class MissingKeyError(BackendError):
    """A cloud backend has no API key (the message names where to put one)."""


class ConnectError(BackendError):
    """Nothing answers at the base URL, or the connection could not be made in time."""


class AuthError(BackendError):
    """401/403: the key was refused."""


class ModelNotFoundError(BackendError):
    """404 for the model (or the endpoint)."""


class RateLimitError(BackendError):
    """429. `retry_after` is seconds, when the server said."""

    def __init__(self, backend: str, message: str, retry_after: float | None = None):
        super().__init__(backend, message)
        self.retry_after = retry_after


class ServerError(BackendError):
    """5xx, or any other unexpected HTTP status (`status`)."""

    def __init__(self, backend: str, message: str, status: int | None = None):
        super().__init__(backend, message)
        self.status = status


class ReadTimeoutError(BackendError):
    """The server accepted the request but sent nothing for read_timeout seconds."""


class StreamError(BackendError):
    """The server reported an error inside the stream, or sent something unreadable."""


class TooLongError(StreamError):
    """The answer passed max_answer_mb; the rest of the stream was not read."""
