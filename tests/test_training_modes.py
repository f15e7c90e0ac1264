"""Training modes: locked (the default), partial and full; selection against the untrained start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import uue.training.trainer as trainer_module
from support.tiny_models import tiny_bert
from support.topic_users import STATEMENTS, TOPICS, config, make_users, words
from uue.model.config import ConfigError, ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.training.selection import in_dev_slice
from uue.training.steps import backbone_layer_count
from uue.training.trainer import UniversalUserEmbeddingTrainer


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


@pytest.fixture(scope="module")
def data():
    pool = [s for k in range(TOPICS) for s in STATEMENTS[k]]
    return make_users(12, "train", 0), make_users(3, "dev", 1), pool


def encoder_state(model: UniversalUserEmbeddingModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}


def test_locked_mode_trains_the_user_side_only_and_beats_its_start(bert_dir, data, tmp_path) -> None:
    train, dev, pool = data
    defaults = UniversalUserEmbeddingTrainer(config(bert_dir, training_mode="locked", num_epochs=None,
                                                    learning_rate=None), train, dev, pool, show_progress=False)
    assert defaults.config.num_epochs == 10 and defaults.config.learning_rate == 1e-3  # the mode's defaults
    # the tiny random backbone's chunk vectors are nearly parallel: a larger step than the default
    cfg = config(bert_dir, training_mode="locked", num_epochs=10, learning_rate=1e-2, anchor_weight=0.0,
                 user_loss_weight=0.5)
    trainer = UniversalUserEmbeddingTrainer(cfg, train, dev, pool, output_dir=tmp_path / "run", show_progress=False)
    before_encoder = encoder_state(trainer.model)
    before_statements = trainer.model.encode_statements(pool)
    metrics = trainer.train()
    start = trainer.history["epochs"][0]
    assert start["epoch"] == 0 and metrics["improved"] and metrics["best_epoch"] > 0
    assert metrics["dev_selection"] > start["dev_selection"] + 0.04, trainer.history["epochs"]
    for key, value in encoder_state(trainer.model).items():  # a locked backbone
        torch.testing.assert_close(value, before_encoder[key], msg=key)
    np.testing.assert_allclose(trainer.model.encode_statements(pool), before_statements, atol=1e-6)
    assert float(trainer.model.user_adapter.linear.weight.detach().abs().sum()) > 0  # the user side learned
    saved = UniversalUserEmbeddingModel.from_pretrained(tmp_path / "run", device=trainer.device)
    assert saved.config.training_mode == "locked" and saved.config.learning_rate == 1e-2
    np.testing.assert_allclose(saved.encode_users([u.texts for u in dev]),
                               trainer.model.encode_users([u.texts for u in dev]), atol=1e-5)
    assert len(list((tmp_path / "run").glob("checkpoint-epoch-*"))) == 2


def test_locked_mode_needs_the_backbone_width(bert_dir) -> None:
    with pytest.raises(ConfigError, match="embedding_dim.*must equal the width"):
        UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), embedding_dim=16))


def test_partial_mode_trains_the_top_layers_and_anchors_statements(bert_dir, data) -> None:
    train, dev, pool = data
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir, training_mode="partial", partial_layers=1, num_epochs=1),
                                            train[::2], dev, pool, show_progress=False)
    model = trainer.model
    assert backbone_layer_count(model) == 2
    trainable = {n for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable and all(".layer.1." in n for n in trainable)
    lower = {k: v.clone() for k, v in model.encoder.state_dict().items() if ".layer.0." in k}
    trainer.train()
    for key, value in lower.items():
        torch.testing.assert_close(model.encoder.state_dict()[key], value, msg=key)
    assert trainer.steps.anchor is not None and trainer.steps.anchor.shape == (len(trainer.pool), 32)


def test_without_dev_users_a_slice_of_training_users_selects(bert_dir, data) -> None:
    train, _, pool = data
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir, training_mode="locked", num_epochs=1), train, [], pool,
                                            show_progress=False)
    dev_ids = {u.user_id for u in train if in_dev_slice(u.user_id)}
    assert trainer.dev_users and len(trainer.dev_users) == len(dev_ids) and trainer.dev_from_train
    assert len(trainer.step_users) == len(train) - len(dev_ids)
    assert trainer.train()["dev_from_train"]


def test_a_run_that_only_gets_worse_keeps_the_start_and_says_so(bert_dir, data, monkeypatch, caplog) -> None:
    train, dev, pool = data
    scores = iter([0.9, 0.5, 0.4])
    monkeypatch.setattr(trainer_module, "dev_metrics", lambda *a, **k: {"dev_selection": next(scores)})
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir, training_mode="locked", num_epochs=2), train, dev, pool,
                                            show_progress=False)
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    metrics = trainer.train()
    assert metrics["best_epoch"] == 0 and metrics["improved"] is False
    assert "did not improve on the untrained starting point" in caplog.text
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, start[key], msg=key)


def test_locked_resume_is_exact(bert_dir, data, tmp_path) -> None:
    train, dev, pool = data
    cfg = config(bert_dir, training_mode="locked", num_epochs=3, save_total_limit=3)
    full = UniversalUserEmbeddingTrainer(cfg, train, dev, pool, output_dir=tmp_path / "a", show_progress=False)
    full.train()
    resumed = UniversalUserEmbeddingTrainer(cfg, train, dev, pool, output_dir=tmp_path / "b", show_progress=False)
    resumed.train(resume_from=tmp_path / "a" / "checkpoint-epoch-2")
    assert full.history["step_loss"] == pytest.approx(resumed.history["step_loss"], rel=1e-5)
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6) for k in a)


def test_locked_training_fills_the_given_cache_file(bert_dir, data, tmp_path) -> None:
    from uue.model.chunk_cache import ChunkVectorCache

    train, dev, pool = data
    cache = ChunkVectorCache(tmp_path / "chunks.sqlite", 32)
    assert len(cache) == 0  # empty, hence falsy: it must still be the cache training writes to
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir, training_mode="locked", num_epochs=1), train, dev, pool,
                                            show_progress=False, chunk_cache=cache)
    assert trainer.chunk_cache is cache
    assert len(ChunkVectorCache(tmp_path / "chunks.sqlite", 32)) == len({t for u in train for t in u.texts})


def test_a_model_saved_before_training_modes_loads_as_full(bert_dir, tmp_path) -> None:
    import json

    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), embedding_dim=16,
                                                                training_mode="full"))
    model.save_pretrained(tmp_path / "old")
    config_file = tmp_path / "old" / "config.json"
    saved = json.loads(config_file.read_text())
    for field in ("training_mode", "user_loss_weight", "partial_layers", "anchor_weight", "save_total_limit"):
        saved.pop(field)
    config_file.write_text(json.dumps(saved))
    loaded = UniversalUserEmbeddingModel.from_pretrained(tmp_path / "old", device="cpu")
    assert loaded.config.training_mode == "full" and loaded.embedding_dim == 16


def test_partial_mode_needs_layers_it_can_find(bert_dir, monkeypatch) -> None:
    import uue.training.steps as steps

    monkeypatch.setattr(steps, "backbone_layer_count", lambda model: 0)
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), training_mode="partial"))
    with pytest.raises(ConfigError, match="cannot find the layers"):
        steps.freeze_for_mode(model, "partial", 2)
