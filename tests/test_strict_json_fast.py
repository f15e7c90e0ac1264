"""The fast path of ``storage.strict_json`` (orjson + checks) agrees with the strict parser.

Whatever text it accepts, the strict parser accepts with the same value (same types, same
float bits); whatever the strict parser refuses, it declines, so the strict parser's
exact error is the one raised.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import strict_json
from storage.strict_json import DECLINED, StrictJSONError, fast_loads
from support import fuzzing

MANY = settings(max_examples=400, deadline=None)


def same(a, b) -> bool:
    """Equal values of equal types (``1 == 1.0 == True`` and ``0.0 == -0.0`` do not count)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a.hex() == b.hex()
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def strict(data: bytes):
    try:
        return strict_json._strict_loads(data)
    except StrictJSONError:
        return DECLINED


def agree(data: bytes) -> None:
    fast, slow = fast_loads(data), strict(data)
    if slow is DECLINED:
        assert fast is DECLINED, f"the fast path accepted what the strict parser refuses: {data[:80]!r}"
    elif fast is not DECLINED:
        assert same(fast, slow), f"{fast!r} != {slow!r}"


@MANY
@given(line=fuzzing.user_lines())
def test_fuzzed_user_lines_get_the_strict_parsers_answer(line):
    agree(line.encode("utf-8", "surrogatepass"))


json_numbers = st.one_of(
    st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True))


@MANY
@given(number=json_numbers)
def test_numbers_parse_to_the_same_bits(number):
    agree(f"[{number}]".encode())


@MANY
@given(value=fuzzing.values)
def test_any_value_written_by_json_dumps(value):
    agree(json.dumps(value).encode("utf-8", "surrogatepass"))
    agree(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}', '{"a:b": 1, "a:b": 2}', '{"a": "\\u003a", "a": 1}', '{"a": "\\u003A", "a": ":"}',
    '{"x": {"k": "v", "k": "v"}}', '["\\u0000"]', f"[{2**63}]", f"[{-(2**63)}]", f"[{2**64}]", "[1e400]",
    "[NaN]", '["\\ud800"]', "[" * 300 + "]" * 300, "[" * 2000 + "]" * 2000, "", "  ", "[1,]",
])
def test_what_the_strict_parser_must_judge_is_declined(text):
    assert fast_loads(text.encode()) is DECLINED


def test_an_ordinary_line_takes_the_fast_path():
    line = json.dumps({"user_id": "u1", "chunks": [{"text": "café: 12:00", "platform": "reddit",
                                                     "timestamp": "2024-05-01T12:00:00Z", "metadata": {"k": 1}}],
                       "traits": {"age": 49.0}, "metadata": {"country": "DE"}}).encode()
    value = fast_loads(line)
    assert value is not DECLINED and same(value, strict(line))
    # conservative: an escaped backslash before "u0000" is no NUL, but the strict parser judges it
    assert fast_loads(b'{"x": "\\\\u0000"}') is DECLINED and strict_json.loads(b'{"x": "\\\\u0000"}') == {"x": "\\u0000"}


def test_loads_keeps_the_strict_errors():
    with pytest.raises(StrictJSONError, match="appears more than once"):
        strict_json.loads('{"a": 1, "a": 2}')
    with pytest.raises(StrictJSONError, match="64 bits"):
        strict_json.loads(b"[9223372036854775808]")
    with pytest.raises(StrictJSONError, match="lone UTF-16 surrogate"):
        strict_json.loads('["\ud800"]')  # a raw surrogate in a str handed in from Python


def test_nesting_is_limited_the_same_way_at_any_stack_depth():
    """256 levels parse, 257 do not, whatever the caller's stack (the reader process of a
    pipelined ingest has a shallower one); the fast path leaves everything past 254 to it."""
    def nested(depth: int) -> bytes:
        return b"[" * depth + b"]" * depth

    def deep_call(frames: int, data: bytes):
        return deep_call(frames - 1, data) if frames else strict_json.loads(data)

    assert fast_loads(nested(254)) is not DECLINED and fast_loads(nested(255)) is DECLINED
    for frames in (0, 600):
        assert deep_call(frames, nested(strict_json.MAX_DEPTH)) is not None
        with pytest.raises(StrictJSONError, match="nested too deeply"):
            deep_call(frames, nested(strict_json.MAX_DEPTH + 1))
    with pytest.raises(StrictJSONError, match="Expecting value"):  # an earlier fault is named as such
        strict_json.loads("[1, x" + "[" * 300)
