"""Whole histories: streaming pooling, bounded blocks, the chunk-vector cache, time order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import uue.model.dual_encoder as dual_encoder
from support.tiny_models import tiny_bert
from uue.data.schema import UserChunk, history_texts
from uue.model.chunk_cache import ChunkCacheError, ChunkVectorCache
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.model.pooling import AttentionPooling, MeanPooling, StreamingPool

WORDS = [f"w{i}" for i in range(40)]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> UniversalUserEmbeddingModel:
    path = tiny_bert(tmp_path_factory.mktemp("bert"), WORDS)
    m = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(path), attention_heads=4))
    with torch.no_grad():  # a non-trivial attention pooling (the untrained one is the mean)
        m.chunk_pooling.query.normal_(0, 1.0)
    return m.eval()


def histories(n_users: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[" ".join(rng.choice(WORDS, 4)) for _ in range(int(rng.integers(1, 30)))] for _ in range(n_users)]


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_streaming_pool_equals_one_pass(pooling: str) -> None:
    torch.manual_seed(0)
    module = AttentionPooling(16, 4, dropout=0.0) if pooling == "attention" else MeanPooling()
    if pooling == "attention":
        torch.nn.init.normal_(module.query)
    chunks = torch.randn(1, 101, 16)
    expected = module(chunks, torch.ones(1, 101, dtype=torch.bool))[0]
    stream = StreamingPool(module)
    for start in range(0, 101, 7):
        stream.add(chunks[0, start:start + 7])
    torch.testing.assert_close(stream.result(), expected, rtol=1e-5, atol=1e-6)


def test_blocks_and_long_histories_give_the_same_vectors(model, monkeypatch) -> None:
    users = histories(12)
    users[3] = users[3] * 7  # a long history: streamed once CHUNK_BLOCK is small
    reference = model.encode_users(users)
    monkeypatch.setattr(dual_encoder, "CHUNK_BLOCK", 16)
    monkeypatch.setattr(dual_encoder, "POOL_BLOCK", 20)
    np.testing.assert_allclose(model.encode_users(users), reference, rtol=1e-4, atol=1e-5)


def test_the_whole_history_counts_unless_capped(model) -> None:
    user = histories(1, seed=3)[0] + ["w1 w2 w3 w4"] * 5
    whole = model.encode_users([user])[0]
    assert not np.allclose(whole, model.encode_users([user[-5:]])[0])  # not only the latest chunks
    capped = UniversalUserEmbeddingModel(model.config, model.encoder)
    capped.load_state_dict(model.state_dict())
    capped.config = ModelConfig(**{**model.config.to_dict(), "num_chunks_per_user": 5})
    np.testing.assert_allclose(capped.eval().encode_users([user])[0], model.encode_users([user[-5:]])[0], atol=1e-6)


def test_chunk_cache_embeds_each_chunk_once(model, tmp_path: Path, monkeypatch) -> None:
    users = histories(8, seed=1)
    plain = model.encode_users(users)
    cache = ChunkVectorCache.for_encoder(tmp_path, model.encoder_fingerprint(), model.encoder.hidden_size)
    np.testing.assert_allclose(model.encode_users(users, cache=cache), plain, rtol=1e-5, atol=1e-6)
    distinct = len({t for h in users for t in h})
    assert len(cache) == distinct
    calls: list[int] = []
    original = model.encoder.encode_ids
    monkeypatch.setattr(model.encoder, "encode_ids", lambda ids: calls.append(len(ids)) or original(ids))
    again = ChunkVectorCache.for_encoder(tmp_path, model.encoder_fingerprint(), model.encoder.hidden_size)
    np.testing.assert_allclose(model.encode_users(users, cache=again), plain, rtol=1e-5, atol=1e-6)
    assert calls == []  # everything came from the cache file
    users[0] = users[0] + ["w5 w6 w7 w8 w9"]  # one new post
    model.encode_users(users, cache=again)
    assert sum(calls) == 1 and len(again) == distinct + 1
    with pytest.raises(ChunkCacheError, match="delete it"):
        ChunkVectorCache.for_encoder(tmp_path, model.encoder_fingerprint(), 8)


def test_chunk_vectors_with_repeats_and_some_cached_are_the_plain_vectors(model, tmp_path: Path) -> None:
    texts = ["a b c", "d e", "a b c", "f g h i", "d e", "j"]
    plain = torch.stack([model.chunk_vectors([t])[0] for t in texts])
    cache = ChunkVectorCache.for_encoder(tmp_path, model.encoder_fingerprint(), model.encoder.hidden_size)
    model.chunk_vectors(["d e", "j"], cache=cache)  # two of the four distinct texts cached beforehand
    torch.testing.assert_close(model.chunk_vectors(texts, cache=cache), plain, rtol=1e-5, atol=1e-6)
    assert len(cache) == 4


def test_fingerprint_follows_the_encoder_weights(model) -> None:
    other = UniversalUserEmbeddingModel(model.config, model.encoder)
    assert other.encoder_fingerprint() == model.encoder_fingerprint()  # same backbone, other user tower
    with torch.no_grad():
        other.chunk_pooling.query.zero_()
    assert other.encoder_fingerprint() == model.encoder_fingerprint()


def test_history_is_time_ordered_when_every_chunk_has_a_timestamp() -> None:
    chunks = [UserChunk("b", timestamp="2024-02-01T00:00:00Z"), UserChunk("a", timestamp="2023-01-01T00:00:00Z")]
    assert history_texts(chunks) == ["a", "b"]
    assert history_texts([UserChunk("b"), UserChunk("a", timestamp="2023-01-01T00:00:00Z")]) == ["b", "a"]
    assert history_texts([{"text": "y", "timestamp": "2025-01-01T00:00:00Z"},
                          {"text": "x", "timestamp": "2024-01-01T00:00:00Z"}]) == ["x", "y"]


def test_cached_embedder_shares_the_encoders_cache(model, tmp_path: Path) -> None:
    from uue.model.chunk_cache import CachedEmbedder

    users = histories(5, seed=4)
    embedder = CachedEmbedder(model, tmp_path)
    np.testing.assert_allclose(embedder.encode_users(users), model.encode_users(users), rtol=1e-5, atol=1e-6)
    assert len(embedder.cache) == len({t for h in users for t in h}) and embedder.embedding_dim == 32
    np.testing.assert_allclose(embedder.encode_statements(["w1 w2"]), model.encode_statements(["w1 w2"]))
    again = CachedEmbedder(model, tmp_path)  # the same encoder: the same cache file
    assert again.cache.path == embedder.cache.path
