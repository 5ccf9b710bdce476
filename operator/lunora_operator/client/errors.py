"""The errors the client raises, with Lunora's codes and texts."""

from __future__ import annotations


class LunoraError(Exception):
    """An error carrying one of Lunora's codes (`BAD_REQUEST`, `INTERNAL`, `CONFLICT`, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class ContainerBridgeError(LunoraError):
    """A Lunora function answered the bridge with an error envelope (`{"error": {code, message}}`)."""


class LifecycleNotExposed(TypeError):
    """The instance's backend does not serve a lifecycle or egress method (Lunora: a stub without it)."""

    def __init__(self, binding: str, method: str) -> None:
        super().__init__(
            f'ctx.containers: the "{binding}" container DO does not expose {method}() — '
            "is the local-mode router (or @lunora/container/do) up to date?"
        )
        self.binding = binding
        self.method = method
