"""Strict JSON in and out: only what the store, the hashing and every JSON parser can hold.

``loads`` is the one parser of untrusted JSON text (input lines, sidecars, config files).
It refuses, with a ``StrictJSONError`` that says what and how to fix it:

- ``NaN`` / ``Infinity`` (not JSON; SQLite's JSON functions reject a stored one, so one
  bad value would break every metadata filter of the workspace);
- numbers the store cannot hold: integers outside 64 bits, floats that overflow to ±inf
  (checked on the digit string, before Python converts it: no int-size limit error);
- a key repeated inside one object (``json`` would silently keep the last);
- lone UTF-16 surrogates (``"\\ud800"``): valid JSON text, but not encodable as UTF-8,
  so neither hashing nor SQLite can take them;
- NUL characters (``"\\u0000"``): PostgreSQL text cannot hold them, and a store must
  move between backends;
- nesting deeper than the recursion limit.

``dumps`` is the one serialiser of stored metadata (the engine's JSON columns and the
bulk chunk path): ``allow_nan=False``, so a non-finite float from the Python API is an
error at write time, never a poisoned row.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from storage.errors import UUEError

INT_MAX = 2**63 - 1  # SQLite INTEGER, PostgreSQL BIGINT, FAISS ids
_INT_DIGITS = len(str(INT_MAX))
# a \udxxx escape, or a raw surrogate in a str handed in from Python (decoded bytes never hold one)
_MAYBE_SURROGATE = re.compile("\\\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class StrictJSONError(UUEError, ValueError):
    """JSON text that is not valid, or holds a value the store cannot keep."""


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _INT_DIGITS or abs(value := int(text)) > INT_MAX:
        shown = text if len(text) <= 24 else f"{text[:12]}…({digits} digits)"
        raise StrictJSONError(f"integer {shown} does not fit in 64 bits (at most {INT_MAX}); "
                              "write it as a string, or as a float if it is a measurement")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 24 else f"{text[:24]}…"
        raise StrictJSONError(f"number {shown} is too large for a 64-bit float; write it as a string")
    return value


def _constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not valid JSON (JSON has no NaN or infinity); use null or a finite number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise StrictJSONError(f"key {key!r} appears more than once in one object; keep only one")
            seen.add(key)
    return obj


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _first_string(obj: Any, bad) -> str | None:
    """The path of the first string (or key) for which ``bad(string)`` holds, else None."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if bad(item):
                return path or "the value"
        elif isinstance(item, dict):
            for key, value in item.items():
                stack.append((f"{path}.{key}" if path else str(key), key))
                stack.append((f"{path}.{key}" if path else str(key), value))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", value) for i, value in enumerate(item))
    return None


# built once: json.loads with hooks builds a new decoder per call (a third of the parse time of a line)
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant)


def loads(text: str | bytes) -> Any:
    """Parse JSON text strictly (see the module docstring); ``StrictJSONError`` on anything else."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StrictJSONError(f"not valid UTF-8 (byte {exc.start})") from None
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise StrictJSONError("invalid JSON: nested too deeply") from None
    if _MAYBE_SURROGATE.search(text):  # the only way a lone surrogate gets into decoded JSON
        where = _first_string(obj, lambda item: not _encodable(item))
        if where is not None:
            raise StrictJSONError(f"{where!s} holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its "
                                  "pair): not valid Unicode text; fix the program that wrote the file")
    if "\\u0000" in text:  # the only way a NUL gets into decoded JSON (a raw one is a JSON error)
        where = _first_string(obj, lambda item: "\x00" in item)
        if where is not None:
            raise StrictJSONError(f"{where!s} holds a NUL character (\\u0000), which PostgreSQL cannot store; "
                                  "remove it")
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that refuses NaN and infinities (``StrictJSONError``)."""
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError as exc:
        raise StrictJSONError(f"{exc}: metadata values must be finite numbers, strings, booleans or null") from None
