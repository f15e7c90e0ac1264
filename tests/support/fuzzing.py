"""Hypothesis strategies for untrusted input: users.jsonl lines and index sidecars.

Values are drawn from the edges the attack of issue 13 found (calendar-edge timestamps
with offsets, lone surrogates, huge integers, NaN / Infinity, deep nesting, duplicate
keys) mixed with ordinary ones, then sometimes cut or spliced as text.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates included
timestamps = st.one_of(
    st.sampled_from(["2024-05-01T12:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                     "2024-02-30", "20240501", "2024-05-01T12:00:00.123456+05:30", "yesterday", ""]),
    st.datetimes().map(lambda d: d.isoformat()), any_text)
numbers = st.one_of(st.integers(), st.integers(min_value=-10**420, max_value=10**420),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([2**63 - 1, 2**63, -(2**63)]))
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
flat = st.dictionaries(any_text, scalars, max_size=3)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(any_text, inner, max_size=3)), max_leaves=8)


def _maybe(strategy):
    return st.one_of(st.just(None), strategy, values)


chunks = st.fixed_dictionaries({"text": st.one_of(any_text, st.just("a post"), values)},
                               optional={"platform": _maybe(any_text), "timestamp": _maybe(timestamps),
                                         "metadata": _maybe(flat), "extra": values})
users = st.fixed_dictionaries(
    {"user_id": st.one_of(any_text, st.just("u1"), st.just("cafe\u0301"), values),
     "chunks": st.one_of(st.lists(chunks, max_size=3), values)},
    optional={"statements": _maybe(st.lists(any_text, max_size=3)), "negative_statements": _maybe(st.lists(any_text)),
              "traits": _maybe(st.dictionaries(any_text, numbers, max_size=2)), "metadata": _maybe(flat),
              "split": _maybe(st.sampled_from(["train", "dev", "test", "validation"]))})


def _dumps(obj) -> str:
    return json.dumps(obj)  # NaN / Infinity as such, lone surrogates as \\udxxx escapes: what careless writers emit


@st.composite
def _edited(draw, base):
    text = draw(base)
    if not text:
        return text
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 8)))
    return text[:start] + draw(st.sampled_from(["", '"', "{", "]", ",", "\\ud800", "NaN", "1e999", ':"x"'])) + text[end:]


def user_lines():
    """One line of a users.jsonl file (without the newline)."""
    structured = users.map(_dumps)
    deep = st.integers(1, 5000).map(lambda n: '{"user_id": "u", "chunks": ' + "[" * n + "]" * n + "}")
    duplicated = st.just('{"user_id": "a", "user_id": "b", "chunks": [{"text": "x"}]}')
    return st.one_of(structured, _edited(structured), deep, duplicated, any_text.map(lambda t: t.replace("\n", " ")))


VALID_SIDECAR = {"backend": "faiss", "factory": "Flat", "dim": 4, "metric": "ip", "layout": "idmap2", "count": 3}


def sidecars():
    """Bytes of an index sidecar: valid, with fields replaced by any JSON value, cut, or deep."""
    fields = st.dictionaries(st.sampled_from(sorted({*VALID_SIDECAR, "size", "removed_marked", "checksum"})), values,
                             max_size=3)
    replaced = fields.map(lambda f: json.dumps({**VALID_SIDECAR, **f}).encode("utf-8", "surrogatepass"))
    deep = st.integers(1, 100_000).map(lambda n: ('{"dim": ' + "[" * n + "]" * n + "}").encode())
    return st.one_of(replaced, _edited(replaced.map(lambda b: b.decode("utf-8", "surrogatepass")))
                     .map(lambda t: t.encode("utf-8", "surrogatepass")), deep, st.binary(max_size=64))
