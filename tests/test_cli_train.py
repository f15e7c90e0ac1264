"""`uue train` and the workspace through the command line: resume, config validation, errors.

Every user mistake ends in a one-line message and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from cli import main
from support.tiny_models import tiny_bert
from support.topic_users import config, make_users, words
from uue.model.config import ConfigError, ModelConfig
from uue.workspace import Workspace


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A workspace with 24 train and 8 dev users ingested."""
    root = tmp_path_factory.mktemp("ws")
    users = root / "users.jsonl"
    people = make_users(3, "train", 0) + make_users(1, "dev", 1)
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in people))
    result = CliRunner().invoke(main, ["--home", str(root / "home"), "ingest", str(users)])
    assert result.exit_code == 0, result.output
    return root / "home"


def uue(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *map(str, args)])


def failed(result, *words: str) -> bool:
    """Exit 1 with a message (not a traceback) that contains every one of ``words``."""
    return (result.exit_code == 1 and isinstance(result.exception, SystemExit) and "Traceback" not in result.output
            and all(w in result.output for w in words))


def weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-6, msg=key)


# ---- --resume continues exactly, with the checkpoint's config ------------------------------


@pytest.fixture(scope="module")
def run(home: Path, bert_dir: Path, tmp_path_factory) -> tuple[Path, dict]:
    """An uninterrupted 2-epoch run with a non-default batch size and --max-users."""
    cfg = tmp_path_factory.mktemp("cfg") / "cfg.json"
    cfg.write_text(json.dumps(config(bert_dir, num_epochs=1, negatives="random").to_dict()))
    out = home.parent / "full"
    result = uue(home, "train", "--config", cfg, "--batch-size", 4, "--epochs", 2, "--max-users", 12,
                 "--output-dir", out, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output[result.output.index("{"):])


def test_resume_without_flags_continues_exactly(home: Path, run) -> None:
    full, metrics = run
    assert metrics["steps"] == 2 * 3 and metrics["train_users"] == 12  # batch size 4
    resumed_dir = home.parent / "resumed"
    result = uue(home, "train", "--resume", full / "checkpoint-epoch-1", "--output-dir", resumed_dir, "--json")
    assert result.exit_code == 0, result.output
    resumed = json.loads(result.output[result.output.index("{"):])
    assert resumed["steps"] == metrics["steps"] and resumed["train_users"] == 12 and resumed["epochs"] == 2
    assert not (resumed_dir / "checkpoint-epoch-1").exists()
    assert_same_weights(full / "checkpoint-epoch-2", resumed_dir / "checkpoint-epoch-2")
    assert_same_weights(full, resumed_dir)  # the selected best model too
    assert ModelConfig.load(resumed_dir / "config.json").batch_size == 4
    with Workspace.resolve(home).open_store() as store:
        assert store.active_model().path == str(resumed_dir.resolve())


def test_save_steps_may_change_on_resume_and_changes_no_weight(home: Path, run) -> None:
    full, _ = run
    out = home.parent / "stepped"
    result = uue(home, "train", "--resume", full / "checkpoint-epoch-1", "--save-steps", 2, "--output-dir", out,
                 "--json")
    assert result.exit_code == 0, result.output
    assert ModelConfig.load(out / "config.json").save_steps == 2
    assert not list(out.glob("checkpoint-step-*"))  # step 4's checkpoint went once epoch 2's was written
    assert_same_weights(full / "checkpoint-epoch-2", out / "checkpoint-epoch-2")
    result = uue(home, "train", "--save-steps", -1)
    assert result.exit_code == 2 and "--save-steps" in result.output


def test_resume_extends_with_epochs(home: Path, run) -> None:
    full, _ = run
    out = home.parent / "longer"
    result = uue(home, "train", "--resume", full / "checkpoint-epoch-2", "--epochs", 3, "--output-dir", out, "--json")
    assert result.exit_code == 0, result.output
    longer = json.loads(result.output[result.output.index("{"):])
    assert longer["epochs"] == 3 and longer["steps"] == 3 * 3
    assert (out / "checkpoint-epoch-3").is_dir() and not (out / "checkpoint-epoch-2").exists()


@pytest.mark.parametrize("args, words", [
    (["--batch-size", "8"], ["batch_size is 4 in the checkpoint, not 8", "only --epochs and --save-steps may change"]),
    (["--base-model", "other-model"], ["base_model_name", "other-model"]),
    (["--negatives", "hard"], ["negatives is \"random\" in the checkpoint, not \"hard\""]),
    (["--negative-option", "range_max=30"], ["extra", "range_max"]),
    (["--max-users", "5"], ["max_users 12, not 5"]),
    (["--epochs", "1"], ["already trained 2 epochs", "at least 2"]),
])
def test_resume_refuses_conflicting_options(home: Path, run, args: list[str], words: list[str]) -> None:
    full, _ = run
    result = uue(home, "train", "--resume", full / "checkpoint-epoch-2", "--output-dir", home.parent / "x", *args)
    assert failed(result, *words), result.output


def test_resume_accepts_options_equal_to_the_checkpoint(home: Path, run, tmp_path: Path) -> None:
    full, _ = run
    saved = json.loads((full / "checkpoint-epoch-2" / "config.json").read_text())
    cfg = tmp_path / "same.json"
    cfg.write_text(json.dumps({"batch_size": saved["batch_size"], "seed": saved["seed"]}))
    result = uue(home, "train", "--resume", full / "checkpoint-epoch-2", "--config", cfg, "--batch-size", 4,
                 "--max-users", 12, "--output-dir", tmp_path / "same", "--json")
    assert result.exit_code == 0, result.output


def test_unusable_checkpoints_are_clear_errors(home: Path, run, tmp_path: Path) -> None:
    full, _ = run
    assert failed(uue(home, "train", "--resume", full), "not a training checkpoint")
    broken = tmp_path / "broken"
    shutil.copytree(full / "checkpoint-epoch-1", broken)
    (broken / "training_state.pt").write_bytes(b"not a torch file")
    assert failed(uue(home, "train", "--resume", broken), "cannot read the checkpoint state")
    mismatched = tmp_path / "mismatched"
    shutil.copytree(full / "checkpoint-epoch-1", mismatched)
    cfg = json.loads((mismatched / "config.json").read_text())
    (mismatched / "config.json").write_text(json.dumps({**cfg, "embedding_dim": 16}))  # weights are 32-d
    assert failed(uue(home, "train", "--resume", mismatched, "--output-dir", tmp_path / "m"),
                  "cannot resume", "do not fit")
    (mismatched / "config.json").write_text(json.dumps({**cfg, "batch_size": 0}))
    assert failed(uue(home, "train", "--resume", mismatched), "checkpoint config", "batch_size")


# ---- the default output directory is new for every run -----------------------------------


def test_default_run_directories_are_unique(tmp_path: Path, monkeypatch) -> None:
    import time

    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20240101-120000")  # two runs in the same second
    ws = Workspace.resolve(tmp_path)
    first, second = ws.new_run_dir(), ws.new_run_dir()
    assert first != second and Path(first).is_dir() and Path(second).is_dir()
    assert Path(second).name.startswith("20240101-120000-")


def test_default_run_directory_is_removed_when_nothing_was_trained(tmp_path: Path, bert_dir: Path) -> None:
    empty_home = tmp_path / "empty"
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(config(bert_dir, num_epochs=1).to_dict()))
    assert failed(uue(empty_home, "train", "--config", cfg), "uue ingest")
    assert not empty_home.exists()  # no workspace: refused before anything is created
    assert uue(empty_home, "ingest", str(tmp_path / "missing.jsonl")).exit_code == 1  # creates the database only
    assert failed(uue(empty_home, "train", "--config", cfg), "uue ingest")
    assert not any((empty_home / "models").iterdir())


# ---- ModelConfig is validated --------------------------------------------------------------


@pytest.mark.parametrize("bad, words", [
    ({"batch_size": 0}, ["batch_size", "0", ">= 1"]),
    ({"num_epochs": "2"}, ["num_epochs", "'2'", "an integer"]),
    ({"num_epochs": 2.5}, ["num_epochs", "2.5", "an integer"]),
    ({"embedding_dim": 0}, ["embedding_dim", "0", ">= 1"]),
    ({"temperature": 2.0}, ["temperature", "2.0", "[0.01, 1.0]"]),
    ({"temperature": 0.001}, ["temperature", "0.001", "min_temperature"]),
    ({"min_temperature": 0.5, "max_temperature": 0.1, "temperature": 0.2}, ["max_temperature", "min_temperature"]),
    ({"learning_rate": -1}, ["learning_rate", "-1", "> 0"]),
    ({"dropout": 1.0}, ["dropout", "[0, 1)"]),
    ({"use_attention_pooling": "yes"}, ["use_attention_pooling", "true or false"]),
    ({"batch_size": True}, ["batch_size", "True"]),
    ({"pooling": "max"}, ["pooling", "mean, cls, last"]),
    ({"extra": {"sampler_options": [1]}}, ["sampler_options"]),
    ({"attention_heads": 5}, ["attention_heads (5) must divide the width (32)", "1, 2, 4, 8, 16, 32"]),
    ({"extra": {"inference_precision": "fp8"}}, ["inference_precision", "fp8"]),
])
def test_bad_config_values_are_clear_errors(home: Path, bert_dir: Path, tmp_path: Path, bad: dict,
                                            words: list[str]) -> None:
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({**config(bert_dir, num_epochs=1).to_dict(), **bad}))
    with Workspace.resolve(home).open_store() as store:
        models = store.stats()["models"]
    result = uue(home, "train", "--config", cfg, "--output-dir", tmp_path / "out")
    assert failed(result, *words), result.output
    with Workspace.resolve(home).open_store() as store:
        assert store.stats()["models"] == models  # nothing registered


def test_model_config_checks_in_the_library() -> None:
    with pytest.raises(ConfigError, match=r"ModelConfig.batch_size must be in >= 1, got 0") as caught:
        ModelConfig(batch_size=0)
    assert isinstance(caught.value, ValueError)
    assert ModelConfig(dropout=0, learning_rate=1).dropout == 0.0  # ints are fine for float fields
    assert isinstance(ModelConfig(learning_rate=1).learning_rate, float)
    with pytest.raises(ConfigError, match="unknown ModelConfig field"):
        ModelConfig.from_dict({"epochs": 3})


# ---- database and workspace errors -----------------------------------------------------------


def test_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"
    result = uue(tmp_path / "home", "--db", url, "ingest", str(tmp_path / "users.jsonl"))
    assert failed(result, "cannot open database", "x.db", "--db"), result.output
    result = uue(tmp_path / "home", "--db", url, "stats")  # read-only: names the missing database
    assert failed(result, "no database", "x.db", "uue ingest"), result.output


def test_unusable_home_is_a_clear_error(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = uue(a_file / "home", "ingest", str(tmp_path / "users.jsonl"))
    assert failed(result, "cannot create the workspace directory", "--home"), result.output
    if Path("/proc/1").is_dir():
        result = uue(Path("/proc/1/x"), "ingest", str(tmp_path / "users.jsonl"))
        assert failed(result, "cannot create the workspace directory /proc/1/x"), result.output
