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
- nesting deeper than 256 levels (the same limit in any process, at any stack depth).

Well-formed text takes a fast path: ``orjson`` parses it, and the result is kept only
when cheap checks on the text and the result prove the strict parser would return the
same value (no number of 19+ digits, no ``\\u0000`` or escaped ``:``, no key dropped as a
repeat, nesting under 255 levels). Anything else is parsed again by the strict parser, which
raises the exact error; so both paths accept the same texts with the same values.

``dumps`` is the one serialiser of stored metadata (the engine's JSON columns and the
bulk chunk path): ``allow_nan=False``, so a non-finite float from the Python API is an
error at write time, never a poisoned row.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

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


DECLINED = object()  # fast_loads: "ask the strict parser"
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))  # every digit -> "0", anything else -> " "
_TOO_MANY_DIGITS = b"0" * _INT_DIGITS  # a digit run this long may be an integer outside 64 bits


def fast_loads(data: bytes) -> Any:
    """``loads(data)`` when the fast path can vouch for the result, else ``DECLINED`` (then call
    ``loads``, which parses strictly and raises the exact error). Never raises."""
    try:
        obj = orjson.loads(data)  # refuses NaN, infinities, lone surrogates, control characters, bad UTF-8
    except orjson.JSONDecodeError:
        return DECLINED
    if _TOO_MANY_DIGITS in data.translate(_DIGITS):
        return DECLINED  # maybe an integer outside 64 bits (orjson would keep it, or make it a float)
    if b"\\u" in data and (b"\\u0000" in data or b"\\u003a" in data or b"\\u003A" in data):
        return DECLINED  # maybe a NUL; or an escaped colon, which would blind the count below
    # A key repeated in one object is dropped by orjson: then the text holds more colons than
    # the parsed value, written back out, does (every colon of the text is a key's or a string's).
    try:
        written = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254 levels): the strict parser decides
        return DECLINED
    return obj if data.count(b":") == written.count(b":") else DECLINED


def loads(text: str | bytes) -> Any:
    """Parse JSON text strictly (see the module docstring); ``StrictJSONError`` on anything else."""
    if isinstance(text, str):
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only the strict parser says where
            data = b""
    else:
        data = bytes(text)
    obj = fast_loads(data) if data else DECLINED
    if obj is not DECLINED:
        return obj
    return _strict_loads(text)


MAX_DEPTH = 256  # nesting levels (orjson writes 254: what the fast path accepts, this accepts)
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _too_deep_at(text: str) -> int | None:
    """Where the nesting first goes deeper than ``MAX_DEPTH`` (brackets in strings do not count), or None."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for match in _TOKENS.finditer(text):
        bracket = match.group()[0]
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif bracket in "]}":
            depth -= 1
    return None


def _strict_loads(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StrictJSONError(f"not valid UTF-8 (byte {exc.start})") from None
    deep_at = _too_deep_at(text)
    if deep_at is not None:  # a fault before that point is reported as such (by the full parse below)
        try:
            _DECODER.decode(text[:deep_at])
        except json.JSONDecodeError as exc:
            if exc.pos >= deep_at:
                raise StrictJSONError("invalid JSON: nested too deeply") from None
        except RecursionError:
            raise StrictJSONError("invalid JSON: nested too deeply") from None
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
