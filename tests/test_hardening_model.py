"""Issue 13: no code from data. A model directory or checkpoint cannot turn on trust_remote_code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from support.tiny_models import tiny_bert
from uue.model.config import ModelConfig
from uue.model.dual_encoder import BACKBONE_DIR, CONFIG_FILE, UniversalUserEmbeddingModel
from uue.training.checkpoint import STATE_FILE, resume_config

PLANTED = """
import os
from transformers import BertConfig, BertModel

open(os.environ["UUE_TEST_MARKER"], "a").write("ran\\n")  # what an attacker's code would do instead


class PlantedConfig(BertConfig):
    pass


class PlantedModel(BertModel):
    config_class = PlantedConfig
"""


def plant(model_dir: Path) -> None:
    """What a hostile directory looks like: it asks for remote code and ships the code."""
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    config["trust_remote_code"] = True
    (model_dir / CONFIG_FILE).write_text(json.dumps(config))
    backbone = model_dir / BACKBONE_DIR
    (backbone / "planted.py").write_text(PLANTED)
    bconfig = json.loads((backbone / "config.json").read_text())
    bconfig["auto_map"] = {"AutoConfig": "planted.PlantedConfig", "AutoModel": "planted.PlantedModel"}
    (backbone / "config.json").write_text(json.dumps(bconfig))


@pytest.fixture
def hostile_model(tmp_path, monkeypatch) -> tuple[Path, Path]:
    base = tiny_bert(tmp_path / "bert", ["hiking", "trail"])
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(base), embedding_dim=32))
    directory = model.save_pretrained(tmp_path / "model")
    plant(directory)
    marker = tmp_path / "marker"
    monkeypatch.setenv("UUE_TEST_MARKER", str(marker))
    return directory, marker


def test_a_model_directory_cannot_run_its_own_code(hostile_model):
    directory, marker = hostile_model
    model = UniversalUserEmbeddingModel.from_pretrained(directory)
    assert not marker.exists()
    assert model.config.trust_remote_code is False
    assert model.encode_statements(["enjoys hiking"]).shape == (1, 32)


def test_the_planted_code_does_run_when_the_caller_asks_for_it(hostile_model):
    """The check above can fail: with the caller's consent the same directory runs its code."""
    directory, marker = hostile_model
    UniversalUserEmbeddingModel.from_pretrained(directory, trust_remote_code=True)
    assert marker.read_text() == "ran\n"


def test_a_checkpoint_cannot_turn_on_remote_code_for_a_resume(tmp_path):
    checkpoint = tmp_path / "checkpoint-epoch-1"
    checkpoint.mkdir()
    ModelConfig(base_model_name="some/model", trust_remote_code=True).save(checkpoint / CONFIG_FILE)
    torch.save({"epoch": 1, "step": 3, "run": "{}"}, checkpoint / STATE_FILE)
    assert resume_config(checkpoint).trust_remote_code is False
    assert resume_config(checkpoint, overrides={"trust_remote_code": True}).trust_remote_code is True  # the caller's
    config_file = tmp_path / "mine.json"
    config_file.write_text(json.dumps({"trust_remote_code": True}))  # the caller's own config
    assert resume_config(checkpoint, config_file).trust_remote_code is True


def test_the_cli_flag_is_the_only_switch(hostile_model, tmp_path):
    from click.testing import CliRunner

    from cli import main
    from storage.store import Store
    from uue.search.queries import Searcher

    directory, marker = hostile_model
    home = tmp_path / "home"
    home.mkdir()
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        store.ingest_file(_users(tmp_path))
        store.register_model(str(directory), "tiny", 32)
    result = CliRunner().invoke(main, ["--home", str(home), "index", "build", "--json"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["--home", str(home), "audience", "likes a trail", "-k", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert Searcher.__init__.__kwdefaults__["trust_remote_code"] is False
    assert os.environ["UUE_TEST_MARKER"] == str(marker)


def _users(tmp_path: Path) -> Path:
    path = tmp_path / "users.jsonl"
    path.write_text("".join(json.dumps({"user_id": f"u{i}", "chunks": [{"text": "hiking trail"}]}) + "\n"
                            for i in range(3)))
    return path


class _Planted:
    """A pickle payload: unpickling it would run ``open(marker, "w")``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_no_pickle_is_executed_from_a_checkpoint_or_a_vector_file(tmp_path):
    import pickle

    import numpy as np

    from index.vectors import VectorSet
    from storage.errors import UUEError
    from uue.training.checkpoint import read_checkpoint

    marker = tmp_path / "ran"
    checkpoint = tmp_path / "checkpoint-epoch-1"
    checkpoint.mkdir()
    ModelConfig(base_model_name="some/model").save(checkpoint / CONFIG_FILE)
    torch.save({"epoch": 1, "step": 1, "run": "{}", "planted": _Planted(str(marker))}, checkpoint / STATE_FILE,
               pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(UUEError, match="cannot read the checkpoint state"):
        read_checkpoint(checkpoint)
    stem = tmp_path / "users-x"
    np.save(f"{stem}.ids.npy", np.arange(1))
    np.save(f"{stem}.vectors.npy", np.array([_Planted(str(marker))], dtype=object), allow_pickle=True)
    np.save(f"{stem}.hashes.npy", np.array(["h"]))
    with pytest.raises(UUEError, match="uue index rebuild"):
        VectorSet.load(stem)
    assert not marker.exists()
