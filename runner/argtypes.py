"""argparse types shared by the commands: a bad value is one line naming the option."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

_N = TypeVar("_N", int, float)


def _positive_of(cast: Callable[[str], _N], noun: str) -> Callable[[str], _N]:
    """``cast`` of the text, refused unless above zero (nan too)."""

    def parse(text: str) -> _N:
        try:
            value = cast(text)
        except ValueError:
            value = cast("0")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive {noun}")
        return value

    return parse


positive = _positive_of(int, "whole number")
positive_number = _positive_of(float, "number")
