"""Why an instance cannot serve, as the answer the caller gets."""

from __future__ import annotations

from lunora_operator.local import texts
from lunora_operator.local.texts import Answer


class Unavailable(Exception):
    """No instance serves this request; `answer` is what the caller gets and `detail` says why in
    the router's words (a response header and the log carry it; it never holds a secret value)."""

    def __init__(self, answer: Answer, detail: str = "") -> None:
        super().__init__(answer.text)
        self.answer = answer
        self.detail = detail or answer.text


def no_instance(detail: str) -> Unavailable:
    return Unavailable(texts.NO_INSTANCE, detail)


def start_failed(message: str, detail: str = "") -> Unavailable:
    return Unavailable(Answer(texts.START_FAILED_STATUS, texts.START_FAILED_PREFIX + message), detail)


def exited(code: int) -> Unavailable:
    return start_failed(texts.EXITED_WITH_CODE.format(code=code))


def proxy_failed(message: str) -> Unavailable:
    return Unavailable(Answer(texts.PROXY_FAILED_STATUS, texts.PROXY_FAILED_PREFIX + message))


class Conflict(Exception):
    """A start asked for other options than the instance runs or starts with."""


class UnknownContainer(LookupError):
    """The app has no LunoraContainer of that name."""
