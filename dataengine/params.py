"""Typed parameters from YAML mappings, checked at the boundary.

Every recipe block (the source, each stage, the sink, an embedder, a `resources:` block) is
a dataclass; `build_params` fills one from a mapping and refuses an unknown key, a wrong
type or a missing key with one message that names the place, the key and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import reprlib
import types
import typing
from typing import Any


class RecipeError(ValueError):
    """A recipe, flag or path that cannot run. The message names where and what to change."""


def build_params(cls: type, values: dict[str, Any], context: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = dict(values)
    for key, value in values.items():
        if key not in fields:
            valid = ", ".join(fields) or "(none: this takes no parameters)"
            raise RecipeError(
                f"{context}: unknown key {key!r}{did_you_mean(key, fields)}; valid keys: {valid}"
            )
        check_type(value, hints[key], f"{context}: {key}")
        if typing.get_origin(hints[key]) is tuple:
            values[key] = tuple(value)  # YAML has lists only
    missing = [name for name, f in fields.items() if name not in values and _is_required(f)]
    if missing:
        raise RecipeError(f"{context}: missing key {missing[0]!r} ({type_name(hints[missing[0]])})")
    return cls(**values)


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def check_type(value: Any, tp: Any, context: str) -> None:
    if not _matches(value, tp):
        raise RecipeError(
            f"{context}: expected {type_name(tp)}, got {short_repr(value)} ({type(value).__name__})"
        )


def _matches(value: Any, tp: Any) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list) and all(_matches(v, args[0]) for v in value)
    if origin is tuple:  # a fixed-length YAML list, e.g. a band [lo, hi]
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(args)
            and all(_matches(v, a) for v, a in zip(value, args, strict=True))
        )
    if origin is dict:
        return isinstance(value, dict) and all(
            _matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items()
        )
    return isinstance(value, origin or tp)


def short_repr(value: Any) -> str:
    """A value for an error message, at most a line long whatever its size."""
    return _SHORT.repr(value)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = _SHORT.maxtuple = 4
_SHORT.maxlevel = 2


def type_name(tp: Any) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        dict: "a mapping",
        list: "a list",
    }
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        return f"a list of {len(args)} ({', '.join(map(type_name, args))})"
    return names.get(tp) or str(tp).replace("typing.", "")


def did_you_mean(word: Any, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
