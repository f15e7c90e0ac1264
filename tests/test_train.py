"""Training: it learns on a tiny synthetic set, resumes exactly, respects held-out statements; `uue train`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from cli import main
from storage.errors import UUEError
from support.tiny_models import tiny_bert
from support.topic_users import HELD_OUT, STATEMENTS, TOPICS, config, make_users, words
from uue.data.schema import UserChunk, UserData
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.training.trainer import UniversalUserEmbeddingTrainer


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


@pytest.fixture(scope="module")
def data() -> tuple[list[UserData], list[UserData], list[str]]:
    pool = [s for k in range(TOPICS) for s in STATEMENTS[k]]
    return make_users(12, "train", 0), make_users(2, "dev", 1), pool


def test_training_learns(bert_dir: Path, data, tmp_path: Path) -> None:
    train, dev, pool = data
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir), train, dev, pool, output_dir=tmp_path / "run",
                                            held_out=HELD_OUT, show_progress=False)
    assert "talks about s7z" not in trainer.pool and "talks about s7z" not in trainer.dev_pool
    before = trainer.evaluate()["dev_recall@10"]
    metrics = trainer.train()
    assert trainer.history["epochs"][0]["epoch"] == 0  # the untrained start is scored too
    epochs = trainer.history["epochs"][1:]
    assert epochs[-1]["train_loss"] < 0.7 * epochs[0]["train_loss"], epochs
    assert metrics["dev_recall@10"] > before + 0.2 and metrics["dev_recall@10"] > 0.8, (before, epochs)
    assert metrics["dev_selection"] == max(e["dev_selection"] for e in trainer.history["epochs"])  # best kept
    assert metrics["improved"] and metrics["untrained_dev_recall@10"] == pytest.approx(before)
    assert metrics["steps"] == 6 * 6 and metrics["train_users"] == 96
    assert trainer.loss_fn.temperature != pytest.approx(0.1)  # the temperature was optimised
    run = tmp_path / "run"
    assert (run / "training_curves.png").stat().st_size > 0
    curves = json.loads((run / "training_curves.json").read_text())
    assert len(curves["step_loss"]) == 36 and len(curves["epochs"]) == 7
    assert (run / "checkpoint-epoch-6" / "training_state.pt").is_file()
    # save_total_limit (2): only the newest two checkpoints stay beside the best model
    assert sorted(p.name for p in run.glob("checkpoint-epoch-*")) == ["checkpoint-epoch-5", "checkpoint-epoch-6"]
    loaded = UniversalUserEmbeddingModel.from_pretrained(run, device=trainer.device)  # the best model, at the root
    np.testing.assert_allclose(loaded.encode_users([u.texts for u in dev]),
                               trainer.model.encode_users([u.texts for u in dev]), atol=1e-5)


def test_resume_is_exact(bert_dir: Path, data, tmp_path: Path) -> None:
    train, dev, pool = data
    train, dev = train[::3], dev[::2]  # 32 train users: 2 steps per epoch
    cfg = config(bert_dir, num_epochs=3, use_attention_pooling=True, negatives="random", save_total_limit=3)
    full = UniversalUserEmbeddingTrainer(cfg, train, dev, pool, output_dir=tmp_path / "a", show_progress=False)
    full_metrics = full.train()
    resumed = UniversalUserEmbeddingTrainer(cfg, train, dev, pool, output_dir=tmp_path / "b", show_progress=False)
    resumed_metrics = resumed.train(resume_from=tmp_path / "a" / "checkpoint-epoch-1")
    assert not (tmp_path / "b" / "checkpoint-epoch-1").exists()  # epoch 1 came from the checkpoint
    assert [e["epoch"] for e in resumed.history["epochs"]] == [0, 1, 2, 3]
    a = load_file(str(tmp_path / "a" / "checkpoint-epoch-3" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "checkpoint-epoch-3" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    assert full.history["step_loss"] == pytest.approx(resumed.history["step_loss"], rel=1e-5)
    ignore = {"seconds", "training_mode"}
    assert {k: v for k, v in full_metrics.items() if k not in ignore} == \
        pytest.approx({k: v for k, v in resumed_metrics.items() if k not in ignore}, rel=1e-5)
    fa, fb = full.model.state_dict(), resumed.model.state_dict()  # the selected best models agree too
    assert all(torch.allclose(fa[k], fb[k], rtol=1e-5, atol=1e-6) for k in fa)
    with pytest.raises(UUEError, match="not a training checkpoint"):
        resumed.train(resume_from=tmp_path / "a")
    state = torch.load(tmp_path / "a" / "checkpoint-epoch-1" / "training_state.pt", weights_only=True)
    assert ModelConfig.from_dict(json.loads(state["config"])) == cfg.resolved()
    assert json.loads(state["run"])["data"] == full.data_fingerprint
    other = UniversalUserEmbeddingTrainer(config(bert_dir, num_epochs=3, negatives="random", batch_size=8), train,
                                          dev, pool, output_dir=tmp_path / "c", show_progress=False)
    with pytest.raises(UUEError, match="batch_size is 16 in the checkpoint, not 8"):  # not silently inexact
        other.train(resume_from=tmp_path / "a" / "checkpoint-epoch-1")


def test_users_without_statements_are_skipped(bert_dir: Path, data) -> None:
    train, dev, pool = data
    extra = [UserData("only-held-out", [UserChunk("t7w1 t7w2")], statements=["talks about s7z"]),
             UserData("no-labels", [UserChunk("t1w1")])]
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir, num_epochs=1), train[:4] + extra, dev, pool,
                                            held_out=HELD_OUT, show_progress=False)
    assert len(trainer.train_users) == 4 and trainer.skipped_users == 2
    assert all(trainer.pool[i] not in HELD_OUT for u in trainer.train_users for i in u.positives)
    with pytest.raises(UUEError, match="nothing to learn"):
        UniversalUserEmbeddingTrainer(config(bert_dir, user_loss_weight=0.0), extra, dev, pool, held_out=HELD_OUT,
                                      show_progress=False)
    # with the user-user term, users without statements still train (two halves of their history)
    unlabelled = [UserData(f"n{i}", [UserChunk(f"t{i % 8}w1 t{i % 8}w2"), UserChunk(f"t{i % 8}w3")]) for i in range(8)]
    trainer = UniversalUserEmbeddingTrainer(config(bert_dir, num_epochs=1), unlabelled, dev, pool, show_progress=False)
    assert trainer.train_users == [] and len(trainer.step_users) == 8
    assert trainer.train()["steps"] == 1


def test_cli_train(bert_dir: Path, data, tmp_path: Path) -> None:
    train, dev, _ = data
    home = tmp_path / "home"
    runner = CliRunner()
    cfg_file = tmp_path / "cfg.json"
    cfg = config(bert_dir, num_epochs=1).to_dict()
    cfg_file.write_text(json.dumps(cfg))
    empty = runner.invoke(main, ["--home", str(home), "train", "--config", str(cfg_file)])
    assert empty.exit_code == 1 and "uue ingest" in empty.output and "Traceback" not in empty.output
    users_file = tmp_path / "users.jsonl"
    users_file.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in train[::4] + dev))
    ingested = runner.invoke(main, ["--home", str(home), "ingest", str(users_file)])
    assert ingested.exit_code == 0, ingested.output
    result = runner.invoke(main, ["--home", str(home), "train", "--config", str(cfg_file), "--epochs", "2",
                                  "--max-users", "16", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    assert out["epochs"] == 2 and out["train_users"] == 16 and Path(out["model"]).parent == home / "models"
    from uue.workspace import Workspace

    with Workspace.resolve(home).open_store() as store:
        active = store.active_model()
        assert active.path == out["model"] and active.embedding_dim == 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"epochs": 3, "batch_size": 4}))
    result = runner.invoke(main, ["--home", str(home), "train", "--config", str(bad)])
    assert result.exit_code == 1 and "unknown ModelConfig field(s): epochs" in result.output
    bad.write_text("{oops")
    result = runner.invoke(main, ["--home", str(home), "train", "--config", str(bad)])
    assert result.exit_code == 1 and "invalid JSON" in result.output
    result = runner.invoke(main, ["--home", str(home), "train", "--config", str(cfg_file), "--negatives", "nope"])
    assert result.exit_code == 2 and "'nope' is not one of 'random', 'hard', 'semi-hard'" in result.output
    result = runner.invoke(main, ["--home", str(home), "train", "--config", str(cfg_file), "--negatives", "hard",
                                  "--negative-option", "rangemax=30"])
    assert result.exit_code == 1 and "rangemax" in result.output and "range_max" in result.output
    result = runner.invoke(main, ["--home", str(home), "train", "--config", str(cfg_file),
                                  "--negative-option", "range_max"])
    assert result.exit_code == 1 and "expected KEY=VALUE" in result.output
