"""Inference precision chosen by the machine (bf16 where native), overridable, and part of
every fingerprint: vectors computed at one precision are never reused at another."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import uue.model.precision as P
from cli import main
from index.builds import active_build
from index.vectors import build_stem, read_build_precision
from storage.errors import UUEError
from support.tiny_models import tiny_bert
from support.topic_users import config, make_users, words
from uue.model.chunk_cache import ChunkVectorCache
from uue.model.config import ModelConfig
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.search.builds import build_indexes
from uue.training.store_run import train_from_store
from uue.workspace import Workspace

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


@pytest.fixture
def flags(monkeypatch):
    """Set the CPU flags the detection sees."""
    def set_flags(*names: str) -> None:
        monkeypatch.setattr(P, "cpu_flags", lambda: frozenset(names))
    monkeypatch.delenv(P.ENV_VAR, raising=False)
    return set_flags


def test_auto_is_bf16_only_where_the_hardware_has_it(flags) -> None:
    flags("sse4_2", "avx2", "avx512f")  # AVX-512 without BF16: emulated, slower
    assert P.resolve_precision("auto", CPU) == "fp32"
    flags("avx512f", "avx512_bf16")
    assert P.resolve_precision("auto", CPU) == "bf16"
    flags("amx_tile", "amx_bf16")
    assert P.resolve_precision("auto", CPU) == "bf16"
    flags("fp", "asimd", "bf16")  # aarch64 Features line
    assert P.resolve_precision("auto", CPU) == "bf16"
    flags()
    assert P.resolve_precision("auto", torch.device("cuda")) == "bf16"
    assert P.resolve_precision("auto", torch.device("mps")) == "fp32"
    assert P.resolve_precision("fp32", torch.device("cuda")) == "fp32"  # an explicit choice is kept
    assert P.resolve_precision("bf16", CPU) == "bf16"


def test_cpu_flags_read_this_machine() -> None:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    assert P.cpu_has_native_bf16() == any(f" {f}" in text for f in ("avx512_bf16", "amx_bf16", " bf16"))


def test_environment_overrides_the_config_and_bad_values_are_named(flags, monkeypatch) -> None:
    assert P.requested_precision(None) == "auto"
    assert P.requested_precision("bf16") == "bf16"
    monkeypatch.setenv(P.ENV_VAR, "FP32")
    assert P.requested_precision("bf16") == "fp32"
    monkeypatch.setenv(P.ENV_VAR, "fp8")
    with pytest.raises(UUEError, match=r"\$UUE_INFERENCE_PRECISION must be one of auto, fp32, bf16, got 'fp8'"):
        P.requested_precision(None)
    monkeypatch.delenv(P.ENV_VAR)
    with pytest.raises(UUEError, match="ModelConfig.extra.inference_precision must be one of"):
        P.requested_precision("half")


def test_precision_is_part_of_the_encoder_fingerprint(bert_dir: Path, flags, monkeypatch, tmp_path: Path) -> None:
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), attention_heads=4))
    flags("avx2")
    assert model.precision == "fp32"
    fp32, statements32 = model.encoder_fingerprint(), model.statement_fingerprint()
    flags("avx512_bf16")
    assert model.precision == "bf16"
    bf16 = model.encoder_fingerprint()
    assert bf16 != fp32 and model.statement_fingerprint() != statements32
    monkeypatch.setenv(P.ENV_VAR, "fp32")  # the override applies to models made after it is set
    forced = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(bert_dir), attention_heads=4))
    assert forced.precision == "fp32" and forced.encoder_fingerprint() == fp32
    # so the chunk-vector caches of the two precisions are two files
    a = ChunkVectorCache.for_encoder(tmp_path, fp32, 32)
    b = ChunkVectorCache.for_encoder(tmp_path, bf16, 32)
    assert a.path != b.path
    # and the vectors really differ a little (bf16 autocast) but stay close
    monkeypatch.delenv(P.ENV_VAR)
    texts = ["likes s1x and s2y", "s3z s4w"]
    v16 = model.encode_statements(texts)
    v32 = forced.encode_statements(texts)
    assert not np.array_equal(v16, v32)
    assert float(np.min(np.sum(v16 * v32, axis=1))) > 0.99


def test_a_build_at_another_precision_embeds_every_user_again(bert_dir: Path, tmp_path: Path, flags,
                                                              monkeypatch) -> None:
    ws = Workspace.resolve(tmp_path / "home")
    users = tmp_path / "users.jsonl"
    users.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in make_users(2, "train", 0) + make_users(1, "dev", 1)))
    flags("avx2")
    with ws.open_store() as store:
        store.ingest_file(users)
        train_from_store(store, config(bert_dir, training_mode="locked", num_epochs=1), tmp_path / "m",
                         show_progress=False, cache_dir=ws.cache_dir)
        first = build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir, interests=True)
        assert read_build_precision(active_build(store, "users")) == "fp32"
        assert read_build_precision(active_build(store, "interests")) == "fp32"
        again = build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir)
        assert again.embedded["users"] == 0 and again.reused["users"] == first.counts["users"]
        assert again.embedded["interests"] == 0 and again.reused["interests"] == first.counts["users"]
        flags("avx512_bf16")  # the same model on a machine with native bf16: auto → bf16
        bf16 = build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir)
        assert bf16.embedded["users"] == bf16.counts["users"] > 0 and bf16.reused["users"] == 0
        assert bf16.embedded["statements"] == bf16.counts["statements"]  # their fingerprint differs too
        assert bf16.embedded["interests"] == bf16.counts["users"] and bf16.reused["interests"] == 0
        assert read_build_precision(active_build(store, "interests")) == "bf16"
        build = active_build(store, "users")
        assert read_build_precision(build) == "bf16"
        assert json.loads(Path(f"{build_stem(build)}.encoder.json").read_text()) == {"precision": "bf16"}
        assert read_build_precision(active_build(store, "statements")) == "bf16"
        assert len(list(ws.cache_dir.glob("chunks-*.sqlite"))) == 2  # one chunk cache per precision
        # the CLI override: --precision fp32 for one invocation, restored after it
        result = CliRunner().invoke(main, ["--home", str(ws.home), "--precision", "fp32", "index", "build"])
        assert result.exit_code == 0, result.output
        assert read_build_precision(active_build(store, "users")) == "fp32"
        assert P.ENV_VAR not in os.environ
