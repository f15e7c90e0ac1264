"""Hard / semi-hard negatives mined from the statement index: rules, refresh schedule, registry, training."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from storage.errors import UUEError
from uue.training.hard_negatives import HardNegatives, SemiHardNegatives
from uue.training.mining import mine_hard_negatives
from uue.training.negatives import SAMPLERS, create_sampler

D = 24


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def geometry() -> tuple[np.ndarray, list[set[int]], np.ndarray]:
    """600 pool vectors in 12 clusters; 40 queries near a cluster, positives 1-3 of its 5th-25th nearest."""
    rng = np.random.default_rng(3)
    centres = unit(rng.standard_normal((12, D)))
    labels = np.arange(600) % 12
    pool = unit(centres[labels] + 0.15 * rng.standard_normal((600, D)))
    queries, positives = [], []
    for i in range(40):
        q = unit(centres[i % 12] + 0.1 * rng.standard_normal(D))
        near = np.argsort(-(pool @ q))[5:25]
        queries.append(q)
        positives.append(set(rng.choice(near, int(rng.integers(1, 4)), replace=False).tolist()))
    return np.stack(queries), positives, pool


def brute_ranks(q: np.ndarray, pos: set[int], pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-positive pool rows best first, and their scores."""
    scores = pool @ q
    order = [i for i in np.argsort(-scores, kind="stable") if i not in pos]
    return np.array(order), scores


def min_positive(q: np.ndarray, pos: set[int], pool: np.ndarray) -> float:
    return float(min(pool[sorted(pos)] @ q))


def test_top_equals_brute_force_and_never_positives(geometry) -> None:
    queries, positives, pool = geometry
    ids, stats = mine_hard_negatives(queries, positives, pool, num_negatives=5, range_max=30)
    assert ids.shape == (40, 5) and ids.dtype == np.int64
    for q, pos, row in zip(queries, positives, ids):
        assert not set(row.tolist()) & pos
        order, _ = brute_ranks(q, pos, pool)
        assert row.tolist() == order[:5].tolist()
    assert stats["queries"] == 40 and stats["negatives"] == 200 and stats["missing"] == 0
    assert stats["positives"] == sum(len(p) for p in positives) and stats["mean_negative_score"] is not None


@pytest.mark.parametrize("strategy", ["top", "random"])
def test_range_min_and_range_max(geometry, strategy: str) -> None:
    queries, positives, pool = geometry
    ids, stats = mine_hard_negatives(queries, positives, pool, num_negatives=4, range_min=6, range_max=20,
                                     sampling_strategy=strategy, rng=np.random.default_rng(1))
    for q, pos, row in zip(queries, positives, ids):
        order, scores = brute_ranks(q, pos, pool)
        ranks = [int(np.flatnonzero(order == i)[0]) for i in row]
        assert all(6 <= r < 20 for r in ranks), ranks
        assert list(scores[row]) == sorted(scores[row], reverse=True)  # best first
        if strategy == "top":
            assert ranks == [6, 7, 8, 9]
    assert stats["skipped_range_min"] == 40 * 6
    again, _ = mine_hard_negatives(queries, positives, pool, num_negatives=4, range_min=6, range_max=20,
                                   sampling_strategy=strategy, rng=np.random.default_rng(1))
    assert np.array_equal(ids, again)  # deterministic given rng


def twin_setup(geometry) -> tuple[np.ndarray, list[set[int]], np.ndarray, int]:
    """Add a pool statement nearly identical to query 0's positive, the query being close to both."""
    queries, positives, pool = geometry
    p = min(positives[0])
    twin = unit(pool[p] + 0.02 * np.random.default_rng(9).standard_normal(D))
    pool2 = np.vstack([pool, twin[None]])
    q0 = unit(pool[p] + 0.05 * np.random.default_rng(8).standard_normal(D))
    return np.vstack([q0[None], queries[1:]]), [{p}, *positives[1:]], pool2, len(pool)


def test_near_duplicate_of_positive_is_skipped_as_false_negative(geometry) -> None:
    queries, positives, pool, twin = twin_setup(geometry)
    ids, _ = mine_hard_negatives(queries, positives, pool, num_negatives=3, range_max=30)
    assert ids[0, 0] == twin  # without a filter the twin is the hardest negative
    for kw in ({"absolute_margin": 0.05}, {"relative_margin": 0.05}):
        ids, stats = mine_hard_negatives(queries, positives, pool, num_negatives=3, range_max=30, **kw)
        assert twin not in ids[0] and stats["skipped_false_negative"] >= 1
        for q, pos, row in zip(queries, positives, ids):
            low = min_positive(q, pos, pool)
            scores = pool[row[row >= 0]] @ q
            bound = low - 0.05 if "absolute_margin" in kw else low - abs(low) * 0.05
            assert np.all(scores <= bound + 1e-6)


def test_max_and_min_score(geometry) -> None:
    queries, positives, pool, twin = twin_setup(geometry)
    twin_score = float(pool[twin] @ queries[0])
    ids, stats = mine_hard_negatives(queries, positives, pool, num_negatives=3, range_max=30,
                                     max_score=twin_score - 1e-3)
    assert twin not in ids[0] and stats["skipped_max_score"] >= 1
    assert np.all(np.einsum("nkd,nd->nk", pool[ids], queries)[ids >= 0] <= twin_score - 1e-3 + 1e-6)
    floor = 0.3
    ids, stats = mine_hard_negatives(queries, positives, pool, num_negatives=3, range_max=30, min_score=floor)
    scores = np.einsum("nkd,nd->nk", pool[np.maximum(ids, 0)], queries)
    assert np.all(scores[ids >= 0] >= floor - 1e-6)
    assert stats["missing"] == int((ids < 0).sum())  # too-dissimilar candidates leave -1 slots


def test_semi_hard_band(geometry) -> None:
    queries, positives, pool = geometry
    ids, stats = mine_hard_negatives(queries, positives, pool, num_negatives=3, range_max=550,
                                     semi_hard_margin=0.15)
    assert (ids >= 0).sum() > 40 and stats["skipped_band"] > 0
    for q, pos, row in zip(queries, positives, ids):
        low = min_positive(q, pos, pool)
        scores = pool[row[row >= 0]] @ q
        assert np.all(scores < low) and np.all(scores >= low - 0.15 - 1e-6)


def test_semi_hard_sampler_falls_back_to_hard_then_random(geometry) -> None:
    queries, positives, pool = geometry
    names = [f"s{i}" for i in range(len(pool))]
    sampler = SemiHardNegatives(names, semi_hard_margin=1e-4, range_max=12, absolute_margin=0.0)
    sampler.refresh(lambda texts: pool, 0, 0)
    out = sampler.sample(positives, 12, queries, np.random.default_rng(0))
    stats = sampler.stats()
    assert all(len(row) == 12 and len(set(row)) == 12 and not set(row) & pos for row, pos in zip(out, positives))
    assert stats["fallback_hard"] > 0 and stats["random_fill"] > 0 and stats["skipped_band"] > 0
    depth = 12 + max(len(p) for p in positives)  # range_max + most positives of a query
    for row, q, pos in zip(out, queries, positives):
        scores = pool @ q
        window = [int(i) for i in np.argsort(-scores)[:depth] if i not in pos]
        hard = [i for i in window if scores[i] <= min_positive(q, pos, pool)][:12]  # band ignored, margin kept
        n = len(hard)
        assert row[:n] == hard and not set(row[n:]) & set(window)  # then random, outside the window


def test_sampler_skips_false_negatives_and_fills_randomly(geometry) -> None:
    queries, positives, pool, twin = twin_setup(geometry)
    sampler = create_sampler("hard", [f"s{i}" for i in range(len(pool))], absolute_margin=0.05, range_max=10)
    assert isinstance(sampler, HardNegatives) and sampler.needs_user_vectors
    sampler.refresh(lambda texts: pool, 0, 0)
    out = sampler.sample(positives, 8, queries, np.random.default_rng(5))
    assert twin not in out[0]  # neither mined nor filled in
    assert all(len(row) == 8 and not set(row) & pos for row, pos in zip(out, positives))
    stats = sampler.stats()
    assert stats["random_fill"] > 0 and stats["skipped_false_negative"] > 0
    assert stats["mean_positive_score"] > stats["mean_negative_score"]
    again = create_sampler("hard", [f"s{i}" for i in range(len(pool))], absolute_margin=0.05, range_max=10)
    again.refresh(lambda texts: pool, 0, 0)
    assert again.sample(positives, 8, queries, np.random.default_rng(5)) == out


class CountingEncoder:
    def __init__(self, pool: np.ndarray) -> None:
        self.pool, self.calls = pool, 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return self.pool[:len(texts)]


@pytest.mark.parametrize("every, schedule, expected", [
    (3, [(s, 0) for s in range(8)], 3),  # steps 0, 3, 6
    ("epoch", [(s, s // 4) for s in range(10)], 3),  # epochs 0, 1, 2
])
def test_refresh_schedule(geometry, caplog, every, schedule, expected) -> None:
    queries, positives, pool = geometry
    encode = CountingEncoder(pool)
    sampler = create_sampler("hard", [f"s{i}" for i in range(len(pool))], refresh_every=every)
    with pytest.raises(UUEError, match="refresh"):
        sampler.sample(positives[:2], 2, queries[:2], np.random.default_rng(0))
    refreshed_at = []
    with caplog.at_level(logging.INFO, logger="uue.training.hard_negatives"):
        for step, epoch in schedule:
            before = encode.calls
            sampler.refresh(encode, step, epoch)
            if encode.calls > before:
                refreshed_at.append(step)
                assert sampler.stats()["queries"] == 0  # a new window starts with fresh statistics
            sampler.sample(positives[:4], 2, queries[:4], np.random.default_rng(step))
    assert encode.calls == expected == sampler.refreshes
    assert refreshed_at == ([0, 3, 6] if every == 3 else [0, 4, 8])
    assert sum("mean positive score" in r.message for r in caplog.records) == expected - 1
    assert sampler.stats()["queries"] == 4 * (len(schedule) - refreshed_at[-1])


def test_registry_and_option_errors() -> None:
    pool = ["a", "b", "c"]
    assert SAMPLERS["hard"] is HardNegatives and SAMPLERS["semi-hard"] is SemiHardNegatives
    assert isinstance(create_sampler("semi-hard", pool, semi_hard_margin=0.2), SemiHardNegatives)
    with pytest.raises(UUEError, match="unknown option.*nprobe.*known: .*range_max"):
        create_sampler("hard", pool, nprobe=4)
    with pytest.raises(UUEError, match="semi_hard_margin"):
        create_sampler("hard", pool, semi_hard_margin=0.1)  # only semi-hard has a band
    with pytest.raises(UUEError, match="num_negative_samples"):
        create_sampler("hard", pool, num_negatives=3)
    for bad in ({"refresh_every": 0}, {"refresh_every": "step"}, {"sampling_strategy": "best"},
                {"range_min": 5, "range_max": 5}, {"max_score": "high"}, {"search_params": 3}):
        with pytest.raises(UUEError):
            create_sampler("hard", pool, **bad)
    with pytest.raises(UUEError, match="cannot mine 5 negatives"):
        mine_hard_negatives(np.eye(3, dtype=np.float32), [set()] * 3, np.eye(3, dtype=np.float32),
                            num_negatives=5, range_max=4)
    with pytest.raises(UUEError, match="out of range"):
        mine_hard_negatives(np.eye(3, dtype=np.float32), [{7}, set(), set()], np.eye(3, dtype=np.float32),
                            num_negatives=1)


def test_small_pool_returns_what_exists() -> None:
    pool = unit(np.random.default_rng(0).standard_normal((4, D)))
    sampler = create_sampler("hard", ["a", "b", "c", "d"], relative_margin=None)
    sampler.refresh(lambda texts: pool, 0, 0)
    out = sampler.sample([{0}, {1, 2}], 5, pool[:2], np.random.default_rng(0))
    assert sorted(out[0]) == [1, 2, 3] and sorted(out[1]) == [0, 3]


def test_matches_sentence_transformers(geometry) -> None:
    """Same output as ``sentence_transformers.util.mine_hard_negatives`` on the same vectors."""
    import torch
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as st_mine

    queries, positives, pool = geometry
    vectors = {**{f"q{i}": v for i, v in enumerate(queries)}, **{f"s{j}": v for j, v in enumerate(pool)}}

    class Fixed:  # the parts of a SentenceTransformer that mine_hard_negatives uses
        device = torch.device("cpu")

        def encode_query(self, texts: list[str], **_: object) -> np.ndarray:
            return np.stack([vectors[t] for t in texts])

        encode_document = encode_query

        def similarity(self, a, b):
            return torch.as_tensor(a) @ torch.as_tensor(b).T

        def similarity_pairwise(self, a, b):
            return (torch.as_tensor(a) * torch.as_tensor(b)).sum(-1)

    pairs = [(f"q{i}", f"s{j}") for i, pos in enumerate(positives) for j in sorted(pos)]
    data = Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [p for _, p in pairs]})
    for params in (dict(range_min=2, range_max=40, relative_margin=0.05, num_negatives=4),
                   dict(absolute_margin=0.02, max_score=0.9, num_negatives=3)):  # range_max derived
        theirs = st_mine(data, Fixed(), corpus=[f"s{j}" for j in range(len(pool))], verbose=False, **params)
        got: dict[str, set[int]] = {}
        for row in theirs:
            got.setdefault(row["anchor"], set()).add(int(row["negative"][1:]))
        ours, _ = mine_hard_negatives(queries, positives, pool, **params)
        assert (ours >= 0).sum() > 40
        for i, row in enumerate(ours):
            assert set(row[row >= 0].tolist()) == got.get(f"q{i}", set()), params


def test_training_with_hard_negatives(tmp_path: Path) -> None:
    """One epoch of a tiny random BERT with ``negatives="hard"``: the trainer builds the sampler over its pool."""
    from support.tiny_models import tiny_bert
    from support.topic_users import config, make_users, words
    from uue.training.trainer import UniversalUserEmbeddingTrainer

    bert = tiny_bert(tmp_path / "bert", words())
    train, dev = make_users(3, "train", 0), make_users(1, "dev", 1)
    cfg = config(bert, num_epochs=1, batch_size=8, negatives="hard", user_loss_weight=0.0,
                 extra={"sampler_options": {"refresh_every": 2, "range_max": 8}})
    trainer = UniversalUserEmbeddingTrainer(cfg, train, dev, [], show_progress=False)
    sampler = trainer.sampler
    assert isinstance(sampler, HardNegatives) and sampler.pool == trainer.pool
    metrics = trainer.train()
    stats = sampler.stats()
    assert metrics["steps"] == 3 and sampler.refreshes == 2  # steps 0 and 2
    assert stats["queries"] == 8 and stats["mean_positive_score"] is not None
    assert stats["negatives"] + stats["random_fill"] == 8 * cfg.num_negative_samples
