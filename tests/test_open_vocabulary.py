"""Open-vocabulary statements: the user adapter is undone for statements the model never trained on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from support.tiny_models import tiny_bert
from support.topic_users import config, make_users, words
from uue.model.config import ConfigError, ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.model.inference import UniversalUserEmbeddingEvaluator
from uue.model.open_vocabulary import TRAINED_STATEMENTS_FILE, OpenVocabulary, query_map
from uue.search.builds import build_indexes
from uue.search.queries import Searcher
from uue.training.store_run import train_from_store
from uue.workspace import Workspace


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_query_map_undoes_the_adapter_exactly_without_a_projection() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.2, (16, 16))
    pooled, statements = rng.normal(size=(5, 16)), rng.normal(size=(3, 16))
    adapted = pooled @ (np.eye(16) + w).T  # A p for each user
    m = query_map(w)
    np.testing.assert_allclose(adapted @ (statements @ m.T).T, pooled @ statements.T, rtol=1e-4, atol=1e-4)


def test_query_map_with_an_invertible_projection_is_exact_too() -> None:
    rng = np.random.default_rng(1)
    w, p = rng.normal(0, 0.2, (8, 8)), rng.normal(size=(8, 8))
    pooled, statements = rng.normal(size=(4, 8)), rng.normal(size=(2, 8))
    users = pooled @ (p @ (np.eye(8) + w)).T  # P A p
    np.testing.assert_allclose(users @ (statements @ query_map(w, p).T).T, (pooled @ p.T) @ statements.T,
                               rtol=1e-3, atol=1e-3)


def test_apply_maps_only_statements_the_model_did_not_train_on() -> None:
    rng = np.random.default_rng(2)
    vectors = _unit(rng.normal(size=(3, 8))).astype(np.float32)
    m = query_map(rng.normal(0, 0.3, (8, 8)))
    vocab = OpenVocabulary(frozenset({"seen one", "seen two"}), m)
    out = vocab.apply(["seen one", " new one ", "seen two"], vectors)
    np.testing.assert_array_equal(out[[0, 2]], vectors[[0, 2]])
    np.testing.assert_allclose(out[1], _unit(vectors[1] @ m.T), rtol=1e-5)
    assert list(vocab.novel(["seen one", "new"])) == [False, True]
    # mix 1 = every statement as if trained; no record of trained statements = nothing to map
    np.testing.assert_array_equal(OpenVocabulary(frozenset({"seen one"}), m, mix=1.0).apply(["x"], vectors[:1]),
                                  vectors[:1])
    np.testing.assert_array_equal(OpenVocabulary(None, None).apply(["x"], vectors[:1]), vectors[:1])
    half = OpenVocabulary(frozenset(), m, mix=0.5).apply(["x"], vectors[:1])[0]
    np.testing.assert_allclose(half, _unit(0.5 * vectors[0] + 0.5 * _unit(vectors[0] @ m.T)), rtol=1e-5)


def test_the_mix_is_a_checked_config_field() -> None:
    assert ModelConfig().open_vocabulary_mix == 0.0
    with pytest.raises(ConfigError, match="open_vocabulary_mix"):
        ModelConfig(open_vocabulary_mix=1.5)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


def test_an_untrained_model_maps_nothing(bert_dir: Path) -> None:
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), attention_heads=4))
    assert not OpenVocabulary.from_model(model).active


def test_saved_model_keeps_its_trained_statements_and_map(bert_dir: Path, tmp_path: Path) -> None:
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), attention_heads=4))
    with torch.no_grad():
        model.user_adapter.linear.weight.normal_(0, 0.1)
    model.trained_statements = frozenset({"likes s1x", "is into s2y"})
    model.save_pretrained(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / TRAINED_STATEMENTS_FILE).read_text())
    assert saved == {"statements": ["is into s2y", "likes s1x"]}
    loaded = UniversalUserEmbeddingModel.from_pretrained(tmp_path / "m")
    assert loaded.trained_statements == model.trained_statements
    light = OpenVocabulary.from_pretrained(tmp_path / "m")  # without building the transformer
    np.testing.assert_allclose(light.query_map, OpenVocabulary.from_model(model).query_map, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="sha256 differs"):
        OpenVocabulary.from_pretrained(tmp_path / "m", checksum="0" * 64)
    # the Python API scores statements as the index does
    evaluator = UniversalUserEmbeddingEvaluator(tmp_path / "m")
    raw = loaded.encode_statements(["likes s1x", "talks about s7z"])
    np.testing.assert_allclose(evaluator.get_statement_embedding("likes s1x"), raw[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(evaluator.get_statement_embedding("talks about s7z"),
                               _unit(raw[1] @ light.query_map.T), rtol=1e-4, atol=1e-5)


def test_queries_score_new_statements_open_vocabulary(bert_dir: Path, tmp_path: Path) -> None:
    """A trained locked model: pool statements it trained on are served as stored, the held-out
    pool statement and free text through the query map, in audience and profile alike."""
    ws = Workspace.resolve(tmp_path / "home")
    users = tmp_path / "users.jsonl"
    people = make_users(3, "train", 0) + make_users(1, "dev", 1) + make_users(1, "test", 2)
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in people))
    with ws.open_store() as store:
        store.ingest_file(users)
        held = store.statements(held_out=True)[0][1]  # storage.records.is_held_out: never trained on
        cfg = config(bert_dir, training_mode="locked", embedding_dim=None, num_epochs=8, learning_rate=3e-2)
        path, _ = train_from_store(store, cfg, tmp_path / "run", show_progress=False)
        model = UniversalUserEmbeddingModel.from_pretrained(path)
        assert held not in model.trained_statements and "likes s1x" in model.trained_statements
        build_indexes(store, ws.indexes_dir, progress=False)
        searcher = Searcher(store)
        vocab = searcher.vocabulary()
        assert vocab.active
        texts = ["likes s1x", held, "a sentence nobody trained on"]
        raw = model.encode_statements(texts)
        served = searcher.statement_vectors(texts)
        np.testing.assert_allclose(served[0], raw[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(served[1:], _unit(raw[1:] @ vocab.query_map.T), rtol=1e-4, atol=1e-5)
        user = "test-1-0"
        _, user_vector = searcher.user_vector(user)
        scores = {h.statement: h.score for h in searcher.profile(user, k=100).top}
        assert scores[held] == pytest.approx(float(served[1] @ user_vector), abs=1e-5)
        assert scores["likes s1x"] == pytest.approx(float(raw[0] @ user_vector), abs=1e-5)
        top = searcher.audience(held, k=3)
        assert top[0].score == pytest.approx(max(float(served[1] @ searcher.user_vector(h.user_id)[1])
                                                 for h in top), abs=1e-5)


def test_the_evaluation_scores_statements_as_served(bert_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The report must not unwrap an open-vocabulary embedder down to the raw model (it once did)."""
    import uue.evaluation.report as report
    from uue.data.schema import UserChunk, UserData
    from uue.model.open_vocabulary import OpenVocabularyEmbedder

    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), attention_heads=4))
    with torch.no_grad():
        model.user_adapter.linear.weight.normal_(0, 0.1)
    model.trained_statements = frozenset({"likes s1x"})
    model.save_pretrained(tmp_path / "m")
    seen: dict[str, object] = {}

    def capture(embedder, *args, **kwargs):
        seen.setdefault("model", embedder)
        raise RuntimeError("captured")

    monkeypatch.setattr(report, "run_evaluation", capture)
    users = [UserData("u1", [UserChunk("t1w0 t1w1")], statements=["likes s1x"])]
    texts = ["likes s1x", "talks about s7z"]
    raw = model.encode_statements(texts)
    expected = OpenVocabulary.from_model(model).apply(texts, raw)
    assert not np.allclose(expected[1], raw[1])
    for given in (OpenVocabularyEmbedder(model), UniversalUserEmbeddingEvaluator(tmp_path / "m")):
        seen.clear()
        with pytest.raises(RuntimeError, match="captured"):
            report.create_evaluation_report(given, users, texts, baselines=())
        np.testing.assert_allclose(seen["model"].encode_statements(texts), expected, rtol=1e-4, atol=1e-5)
