"""Refusals of reconciliation and clearing are logged (with who asked and why) as well as
answered: a use case decorated with `logged_refusal` logs the domain error it raises."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from publicpay.domain.errors import DomainError

log = logging.getLogger("publicpay.services.reconciliation")
P = ParamSpec("P")
R = TypeVar("R")


def logged_refusal(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(use_case: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(use_case)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return use_case(*args, **kwargs)
            except DomainError as exc:
                log.warning("%s refused (%s): %s", what, kwargs.get("actor", "?"), exc.detail)
                raise

        return run

    return decorate
