"""User-facing errors: one line that names the field and what is allowed."""


class SpecError(ValueError):
    """A bad spec, flag or data file. ``str(err)`` is the one line shown to the user."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class WatchError(RuntimeError):
    """Misuse of the monitor (no gradients, no parameters, watched twice, ...)."""
