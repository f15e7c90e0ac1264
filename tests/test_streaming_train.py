"""Training that streams users from the store a block at a time (uue/training/data.py):
every user once per epoch, seeded, bounded, the same batches as in memory, exact mid-epoch resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import uue.training.selection as selection
from storage.store import Store
from support.tiny_models import tiny_bert
from support.topic_users import STATEMENTS, TOPICS, config, make_users, words
from uue.data.schema import UserData, history_texts
from uue.model.chunk_cache import ChunkVectorCache
from uue.model.dual_encoder import UniversalUserEmbeddingModel
from uue.training.data import TrainingData
from uue.training.store_run import train_from_store
from uue.training.trainer import UniversalUserEmbeddingTrainer

POOL = [s for k in range(TOPICS) for s in STATEMENTS[k]]


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("bert"), words())


@pytest.fixture(scope="module")
def users() -> tuple[list[UserData], list[UserData]]:
    return make_users(4, "train", 0), make_users(1, "dev", 1)  # 32 train users: 4 steps of 8


def filled(url: str, users, tmp_path: Path) -> Store:
    train, dev = users
    path = tmp_path / "users.jsonl"
    path.write_text("".join(json.dumps(u.to_dict()) + "\n" for u in train + dev))
    s = Store(url)
    s.ingest_file(path)
    return s


@pytest.fixture
def store(users, tmp_path: Path) -> Store:
    s = filled(f"sqlite:///{tmp_path / 'uue.db'}", users, tmp_path)
    yield s
    s.close()


@pytest.fixture
def any_store(db_url: str, users, tmp_path: Path) -> Store:
    """The same users on SQLite and on PostgreSQL."""
    s = filled(db_url, users, tmp_path)
    yield s
    s.close()


def locked(bert_dir: Path, **kw):
    # the tiny random backbone's chunk vectors are nearly parallel: a larger step than the default
    return config(bert_dir, **{"training_mode": "locked", "batch_size": 8, "num_epochs": 2, "learning_rate": 1e-2,
                               "anchor_weight": 0.0, "user_loss_weight": 0.5, **kw})


def spied(data: TrainingData) -> list[np.ndarray]:
    """Record every block the trainer reads from ``data.step_users``."""
    calls: list[np.ndarray] = []
    load = data.step_users.load

    def recording(indices):
        calls.append(np.asarray(indices).copy())
        return load(indices)

    data.step_users.load = recording
    return calls


def test_each_user_once_per_epoch_in_bounded_seeded_blocks(bert_dir, users) -> None:
    train, dev = users
    cfg = locked(bert_dir)

    def run(seed: int) -> tuple[list[np.ndarray], UniversalUserEmbeddingTrainer]:
        data = TrainingData.from_lists(train, dev, POOL, set(), with_unlabelled=True)
        calls = spied(data)
        trainer = UniversalUserEmbeddingTrainer(cfg.__class__(**{**cfg.to_dict(), "seed": seed}), data=data,
                                                block_size=16, show_progress=False)
        held = []
        set_users = trainer.steps.set_users

        def holding(block):
            set_users(block)
            held.append((len(block), len(trainer.steps.chunks), sum(min(len(u.texts), 256) for u in block)))

        trainer.steps.set_users = holding
        trainer.train()
        assert all(n <= 16 and rows == chunks for n, rows, chunks in held), held  # never more than a block
        return calls, trainer

    calls, trainer = run(7)
    assert not trainer.resident and trainer.block_size == 16
    blocks = [c for c in calls if len(c)]
    assert len(blocks) == 4 and all(len(b) == 16 for b in blocks)  # 2 blocks per epoch, 2 epochs
    for epoch in (blocks[:2], blocks[2:]):
        np.testing.assert_array_equal(np.sort(np.concatenate(epoch)), np.arange(32))  # everyone exactly once
    # an exact shuffle: the first epoch's blocks are windows of the seed's permutation of all users
    order = np.random.default_rng(7).permutation(32)
    np.testing.assert_array_equal(blocks[0], np.sort(order[:16]))
    np.testing.assert_array_equal(blocks[1], np.sort(order[16:]))
    again, _ = run(7)
    assert all(np.array_equal(a, b) for a, b in zip(calls, again, strict=True))  # deterministic with the seed
    other, _ = run(8)
    assert not all(np.array_equal(a, b) for a, b in zip(calls, other, strict=True))


def test_streaming_from_the_store_trains_like_everything_in_memory(bert_dir, store, tmp_path) -> None:
    cfg = locked(bert_dir)
    caches = tmp_path / "cache"
    _, streamed = train_from_store(store, cfg, tmp_path / "streamed", show_progress=False, cache_dir=caches,
                                   block_size=16)
    # the load-everything path, as train_from_store did before: every user as a Python object
    train = [UserData.from_record(r) for _, r in store.iter_users(split="train")]
    dev = [UserData.from_record(r) for _, r in store.iter_users(split="dev")]
    pool = [t for _, t in store.statements(held_out=False)]
    held_out = {t for _, t in store.statements(held_out=True)}
    model = UniversalUserEmbeddingModel.from_config(cfg)
    cache = ChunkVectorCache.for_encoder(caches, model.encoder_fingerprint(), model.encoder.hidden_size)
    trainer = UniversalUserEmbeddingTrainer(cfg, train, dev, pool, output_dir=tmp_path / "memory", model=model,
                                            held_out=held_out, chunk_cache=cache, show_progress=False)
    assert trainer.resident
    in_memory = trainer.train()
    assert streamed["best_epoch"] > 0  # it learned: the models compared are trained ones
    for name in ("model.safetensors", "checkpoint-epoch-2/model.safetensors"):
        a, b = load_file(str(tmp_path / "streamed" / name)), load_file(str(tmp_path / "memory" / name))
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-7, msg=f"{name} {key}")
    ignore = {"seconds", "training_mode"}
    assert {k: v for k, v in streamed.items() if k not in ignore} == \
        pytest.approx({k: v for k, v in in_memory.items() if k not in ignore}, rel=1e-6)


class Interrupted(Exception):
    pass


def test_resume_inside_an_epoch_is_exact(bert_dir, store, tmp_path, monkeypatch) -> None:
    cfg = locked(bert_dir, save_steps=3, num_epochs=3)
    caches = tmp_path / "cache"
    _, full = train_from_store(store, cfg, tmp_path / "a", show_progress=False, cache_dir=caches, block_size=16)
    assert not list((tmp_path / "a").glob("checkpoint-step-*"))  # superseded by the epoch checkpoints
    step = UniversalUserEmbeddingTrainer._step

    def interrupted(self, batch, epoch, number):
        if number == 3:  # the 4th step: after checkpoint-step-3, the 2nd batch of the epoch's 2nd block
            raise Interrupted
        return step(self, batch, epoch, number)

    monkeypatch.setattr(UniversalUserEmbeddingTrainer, "_step", interrupted)
    with pytest.raises(Interrupted):
        train_from_store(store, cfg, tmp_path / "b", show_progress=False, cache_dir=caches, block_size=16)
    monkeypatch.undo()
    checkpoint = tmp_path / "b" / "checkpoint-step-3"
    state = torch.load(checkpoint / "training_state.pt", weights_only=True)
    assert (state["epoch"], state["step"], state["position"]) == (0, 3, 3)
    # resumed with other blocks: the batches do not depend on how many users are held at once
    _, resumed = train_from_store(store, cfg, tmp_path / "b", show_progress=False, cache_dir=caches,
                                  resume_from=checkpoint, block_size=8)
    for name in ("model.safetensors", "checkpoint-epoch-3/model.safetensors"):
        a, b = load_file(str(tmp_path / "a" / name)), load_file(str(tmp_path / "b" / name))
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=f"{name} {key}")
    curves = [json.loads((tmp_path / d / "training_curves.json").read_text()) for d in "ab"]
    assert curves[0]["step_loss"] == pytest.approx(curves[1]["step_loss"], rel=1e-5)
    assert [e["epoch"] for e in curves[1]["epochs"]] == [0, 1, 2, 3]
    ignore = {"seconds", "training_mode"}
    assert {k: v for k, v in full.items() if k not in ignore} == \
        pytest.approx({k: v for k, v in resumed.items() if k not in ignore}, rel=1e-5)


def test_model_selection_uses_a_bounded_seeded_sample_of_dev_users(any_store, monkeypatch) -> None:
    store = any_store
    monkeypatch.setattr(selection, "MAX_DEV_USERS", 5)
    dev = [UserData.from_record(r) for _, r in store.iter_users(split="dev")]
    train = [UserData.from_record(r) for _, r in store.iter_users(split="train")]
    in_memory = TrainingData.from_lists(train, dev, [], set(), with_unlabelled=True)
    streamed = TrainingData.from_store(store, None, with_unlabelled=True)
    assert len(dev) == 8 and len(in_memory.dev_users) == len(streamed.dev_users) == 5
    assert [u.texts for u in in_memory.dev_users] == [u.texts for u in streamed.dev_users]
    assert streamed.labelled == len(streamed.step_users) == 32 and not streamed.dev_from_train
    # max_users: the first N of each split, as before
    limited = TrainingData.from_store(store, 10, with_unlabelled=True)
    assert len(limited.step_users) == 10 and len(limited.dev_users) == 5
    np.testing.assert_array_equal(limited.step_users.pks, streamed.step_users.pks[:10])
    block = streamed.step_users.load(np.array([5, 0, 31]))  # a block in the order asked, read by primary key
    by_pk = {pk: r for pk, r in store.iter_users(split="train")}
    index = streamed.pool_index
    for i, user in zip((5, 0, 31), block, strict=True):
        record = by_pk[int(streamed.step_users.pks[i])]
        assert user.texts == history_texts(record["chunks"])
        assert user.positives == [index[t] for t in record["statements"] if t in index] and user.positives


def test_positive_labels_page_by_users_in_pk_order(any_store) -> None:
    from storage.splits import positive_labels

    store = any_store
    held = {sid for sid, _ in store.statements(held_out=True)}
    expected = [(pk, sid) for pk, ids in store.labels("train").items() for sid in ids if sid not in held]
    assert len(expected) > 32 and held
    for page in (1, 3, 1000):  # a page boundary inside every user's labels, and one page for all
        assert list(positive_labels(store, "train", page=page)) == expected
    up_to = sorted(store.labels("train"))[9]
    assert list(positive_labels(store, "train", up_to_pk=up_to, page=4)) == [r for r in expected if r[0] <= up_to]
    assert list(positive_labels(store, "dev", page=2)) == [(pk, sid) for pk, ids in store.labels("dev").items()
                                                            for sid in ids if sid not in held]


def test_a_block_reads_each_users_texts_and_positives_and_refuses_deleted_users(store) -> None:
    from storage.errors import UUEError
    from storage.users import delete_users

    data = TrainingData.from_store(store, None, with_unlabelled=True)
    index, pks = data.pool_index, data.step_users.pks
    order = np.array([7, 2, 30, 2])  # any order, a repeat included
    by_pk = dict(store.iter_users(pks=[int(pks[i]) for i in order]))
    for i, user in zip(order, data.step_users.load(order), strict=True):
        record = by_pk[int(pks[i])]
        assert user.texts == history_texts(record["chunks"]) and user.positives
        assert user.positives == list(dict.fromkeys(index[t] for t in record["statements"] if t in index))
    delete_users(store, [by_pk[int(pks[2])]["user_id"]])
    with pytest.raises(UUEError, match="1 training user.*deleted from the store while training ran"):
        data.step_users.load(order)
