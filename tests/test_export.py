"""uue export: a sentence-transformers folder that embeds statements exactly as UUE does, the
user side beside it (loader, model card), the Hub upload refused or called without network, and
user vectors as Parquet."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from storage.errors import UUEError
from support.tiny_models import tiny_bert, tiny_qwen3
from uue.export.hub import push_to_hub
from uue.export.sentence_transformers_format import export_sentence_transformers
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.model.open_vocabulary import OpenVocabulary

WORDS = ["enjoys", "hiking", "camping", "likes", "cooking", "bread", "trail", "boots", "runs", "every", "day",
         "the", "mountains", "are", "calling", "baked", "sourdough", "again", "night", "shifts", "works"]
STATEMENTS = ["enjoys hiking", "likes cooking bread", "works night shifts", "the mountains are calling again",
              "runs every day"]
HISTORIES = [["the mountains are calling", "trail boots again", "hiking every day"], ["baked sourdough bread"]]


def saved_model(tmp_path: Path, backbone: Path, **config) -> Path:
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(backbone), attention_heads=4,
                                                                **config))
    with torch.no_grad():  # a "trained" user side: non-zero attention queries, adapter and a query map
        torch.manual_seed(1)
        model.user_adapter.linear.weight.normal_(0, 0.1)
        model.user_adapter.linear.bias.normal_(0, 0.1)
        model.chunk_pooling.query.normal_(0, 1.0)
    model.trained_statements = frozenset(STATEMENTS[:2])
    return model.save_pretrained(tmp_path / "model")


def loader(out: Path):
    spec = importlib.util.spec_from_file_location("uue_user_side_export", out / "user_side" / "uue_user_side.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("embedding_dim", [None, 16])  # 16: a projection (Dense) after the token pooling
def test_sentence_transformers_export_embeds_as_uue(tmp_path, embedding_dim):
    from sentence_transformers import SentenceTransformer

    mode = {"training_mode": "full", "embedding_dim": embedding_dim} if embedding_dim else {}
    model_dir = saved_model(tmp_path, tiny_bert(tmp_path / "bert", WORDS), **mode)
    (model_dir / "metrics.json").write_text(json.dumps({"audience": {"ndcg@10": 0.61}, "profile.recall@5": 0.4}))
    out = tmp_path / "st"
    result = CliRunner().invoke(main, ["export", str(model_dir), "--format", "sentence-transformers", str(out)])
    assert result.exit_code == 0, result.output

    uue = UniversalUserEmbeddingModel.from_pretrained(model_dir, device="cpu")
    st = SentenceTransformer(str(out), device="cpu", local_files_only=True)
    np.testing.assert_allclose(st.encode(STATEMENTS), uue.encode_statements(STATEMENTS), atol=1e-5)
    assert st.get_embedding_dimension() == uue.embedding_dim

    side = loader(out).UserSide.load(out)
    np.testing.assert_allclose(side.encode_users(st, HISTORIES), uue.encode_users(HISTORIES), atol=1e-5)
    served = OpenVocabulary.from_model(uue).apply(STATEMENTS, uue.encode_statements(STATEMENTS))
    assert side.query_map is not None
    np.testing.assert_allclose(side.statement_vectors(st, STATEMENTS), served, atol=1e-5)
    card = (out / "README.md").read_text()
    assert "| audience.ndcg@10 | 0.6100 |" in card and "| profile.recall@5 | 0.4000 |" in card
    assert json.loads((out / "user_side" / "trained_statements.json").read_text())["statements"] == sorted(STATEMENTS[:2])


def test_qwen3_export_applies_the_query_instruction(tmp_path):
    from sentence_transformers import SentenceTransformer

    model_dir = saved_model(tmp_path, tiny_qwen3(tmp_path / "qwen", WORDS))
    uue = UniversalUserEmbeddingModel.from_pretrained(model_dir, device="cpu")
    assert uue.encoder.query_instruction and uue.encoder.pooling == "last"
    out = export_sentence_transformers(model_dir, tmp_path / "st")
    st = SentenceTransformer(str(out), device="cpu", local_files_only=True)
    # a batch (padded) as well as UUE's left-padded batches: last-token pooling finds the real last token
    np.testing.assert_allclose(st.encode(STATEMENTS), uue.encode_statements(STATEMENTS), atol=1e-5)
    plain = st.encode(STATEMENTS[:1], prompt="")
    assert not np.allclose(plain, uue.encode_statements(STATEMENTS[:1]), atol=1e-3)  # the prompt matters


def test_export_refuses_a_non_model_and_a_used_output(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(main, ["export", str(tmp_path), "--format", "sentence-transformers", str(tmp_path / "o")])
    assert bad.exit_code == 1 and "is not a UUE model directory" in bad.output and "Traceback" not in bad.output
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("keep me")
    with pytest.raises(UUEError, match="not an empty directory"):
        export_sentence_transformers(tmp_path, tmp_path / "used")
    assert (tmp_path / "used" / "x").read_text() == "keep me"


class RecordingApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return type("Info", (), {"commit_url": "https://huggingface.co/me/uue/commit/abc"})()


def test_push_to_hub_refused_without_token_and_calls_the_api(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no saved token
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UUEError, match="no Hugging Face token: run `hf auth login` or set HF_TOKEN"):
        push_to_hub(tmp_path, "me/uue")
    with pytest.raises(UUEError, match="OWNER/NAME"):
        push_to_hub(tmp_path, "no-owner", token="t", api=RecordingApi())
    api = RecordingApi()
    assert push_to_hub(tmp_path, "me/uue", token="hf_x", api=api).endswith("/commit/abc")
    assert api.calls[0] == ("create_repo", {"repo_id": "me/uue", "repo_type": "model", "private": True,
                                            "exist_ok": True})
    assert api.calls[1][1]["folder_path"] == str(tmp_path) and api.calls[1][1]["repo_id"] == "me/uue"


def test_export_vectors_parquet_matches_the_index_and_leaves_out_deleted(tmp_path):
    import pyarrow.parquet as pq

    from storage.store import Store
    from support.served_workspace import tiny_model_workspace
    from uue.model.dual_encoder import UniversalUserEmbeddingModel

    home = tiny_model_workspace(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["--home", str(home), "users", "delete", "chess-0"]).exit_code == 0
    out = tmp_path / "users.parquet"
    result = runner.invoke(main, ["--home", str(home), "export", "vectors", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column_names == ["user_id", "vector", "model_id"]
    ids = table.column("user_id").to_pylist()
    assert len(ids) == 17 and "chess-0" not in ids and json.loads(result.output)["users"] == 17
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        row = store.active_model()
        _, user = store.get_user("hiking-2")
    assert set(table.column("model_id").to_pylist()) == {row.id}
    assert table.schema.metadata[b"uue.model_path"].decode() == row.path
    model = UniversalUserEmbeddingModel.from_pretrained(row.path, device="cpu")
    expected = model.encode_users([[c["text"] for c in user["chunks"]]])[0]
    np.testing.assert_allclose(np.asarray(table.column("vector")[ids.index("hiking-2")].as_py()), expected, atol=1e-5)
    empty = runner.invoke(main, ["--home", str(tmp_path / "none"), "export", "vectors", "--out", str(out)])
    assert empty.exit_code == 1 and "Traceback" not in empty.output
    usage = runner.invoke(main, ["--home", str(home), "export", "vectors"])
    assert usage.exit_code == 2 and "--out" in usage.output
    # the model card finds the report `uue evaluate` wrote to the workspace's reports/<model dir name>/
    (home / "reports" / "tiny").mkdir(parents=True)
    (home / "reports" / "tiny" / "metrics.json").write_text(json.dumps({"audience.ndcg@10": 0.25}))
    card = runner.invoke(main, ["--home", str(home), "export", row.path, str(tmp_path / "st")])
    assert card.exit_code == 0, card.output
    assert "| audience.ndcg@10 | 0.2500 |" in (tmp_path / "st" / "README.md").read_text()
