"""What a training run reads: the statement pool, the users a step draws from, the dev users.

The users a step draws from (``UserSource``) are addressed by index ``0..n-1``, the ones
with statements first:

- ``ListSource``: ``UserData`` lists handed to the trainer (the Python API), all in memory.
- ``StoreSource``: the store's train split, streamed. Only the users' primary keys stay
  in memory (8 bytes a user); ``load(indices)`` reads those users' histories and labels
  from the store by primary key, and the trainer holds one block of them at a time.

The trainer shuffles the *indices* each epoch (``rng.permutation``, as it always has) and
walks the permutation in blocks (``uue.training.trainer``). Loaders over sequential
formats — webdataset's shard shuffle plus a sample buffer, tf.data's and Hugging Face
``IterableDataset``'s ``shuffle(buffer_size)`` — can only approximate a shuffle, since
they cannot jump to a sample; a store reads any user by primary key, so the shuffle here
is exact and a streamed run trains on the same batches as one with every user in memory.

Model selection uses at most ``MAX_DEV_USERS`` dev users (``uue.training.selection``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from abc import ABC, abstractmethod
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from uue.data.schema import UserData
from uue.training.selection import dev_key, dev_sample, in_dev_slice
from uue.training.steps import TrainUser

logger = logging.getLogger(__name__)

BLOCK_USERS = 4096  # users a streamed run holds at once (with their chunk vectors in locked mode)


def train_user(texts: list[str], statements: Sequence[str], index: dict[str, int]) -> TrainUser:
    positives = list(dict.fromkeys(index[s.strip()] for s in statements if s.strip() in index))
    return TrainUser(texts, positives, set(positives))


def to_train_users(data: Sequence[UserData], index: dict[str, int]) -> list[TrainUser]:
    """Users with at least one chunk, their statements as indices into the pool ``index``."""
    return [train_user(u.texts, u.statements, index) for u in data if u.chunks]


class UserSource(ABC):
    """The users a training step draws from, by index."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def load(self, indices: np.ndarray) -> list[TrainUser]:
        """The users at ``indices``, in that order."""


class ListSource(UserSource):
    def __init__(self, users: list[TrainUser]) -> None:
        self.users = users

    def __len__(self) -> int:
        return len(self.users)

    def load(self, indices: np.ndarray) -> list[TrainUser]:
        return [self.users[int(i)] for i in indices]


class StoreSource(UserSource):
    """Users of a store by primary key (``pks[i]`` is user ``i``); read on ``load``."""

    def __init__(self, store: Any, pks: np.ndarray, pool_index: dict[str, int]) -> None:
        self.store, self.pks, self.pool_index = store, np.asarray(pks, dtype=np.int64), pool_index

    def __len__(self) -> int:
        return len(self.pks)

    def load(self, indices: np.ndarray) -> list[TrainUser]:
        """Only what a step needs: chunk texts (``Store.iter_histories``) and positive
        statements (``iter_users`` also reads metadata, negatives and traits), with the
        cyclic GC paused: its collections, walking every live container of the process,
        were more than half of a block's read (``benchmarks/train_stream.py``)."""
        from storage.ingest import gc_paused
        from storage.splits import positive_statements

        wanted = self.pks[np.asarray(indices, dtype=np.int64)].tolist()
        with gc_paused():
            histories = dict(self.store.iter_histories(wanted))
            statements = positive_statements(self.store, wanted)
            users = [train_user(histories[pk], statements.get(pk, ()), self.pool_index)
                     for pk in wanted if pk in histories]
        missing = [pk for pk in dict.fromkeys(wanted) if pk not in histories]  # every stored user has a chunk
        if missing:
            from storage.errors import UUEError

            raise UUEError(f"{len(missing)} training user(s) were deleted from the store while training ran "
                           f"(pk {missing[0]}...): start the run again")
        return users


@dataclass
class TrainingData:
    """The pool, the step users (``labelled`` with statements first, then ``unlabelled``
    ones when the user-user term is on) and the dev users of a run."""

    pool: list[str]
    step_users: UserSource
    labelled: int
    unlabelled: int  # training users without a (non-held-out) statement, with chunks
    skipped_users: int  # training users left out of the statement term
    dev_users: list[TrainUser]
    dev_pool: list[str]
    dev_from_train: bool
    fingerprint: str  # what training sees, checked on resume
    train_users: list[TrainUser] | None = None  # in-memory sources: the labelled users
    unlabelled_users: list[TrainUser] | None = None

    @property
    def pool_index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.pool)}

    @classmethod
    def from_lists(cls, train_data: list[UserData], eval_data: list[UserData], statement_pool: Sequence[str],
                   held_out: set[str], with_unlabelled: bool) -> TrainingData:
        """From users in memory. Without dev users (and >= 10 training users), the
        training users in the dev slice (``in_dev_slice``) are held back to select the model."""
        if not eval_data and len(train_data) >= 10:
            eval_data = [u for u in train_data if in_dev_slice(u.user_id)]
            train_data = [u for u in train_data if not in_dev_slice(u.user_id)]
            logger.info("no dev users: %d training users held back for model selection", len(eval_data))
        dev_from_train = bool(eval_data) and all(u.split != "dev" for u in eval_data)
        keys = np.fromiter((dev_key(u.user_id) for u in eval_data), dtype=np.int64, count=len(eval_data))
        eval_data = [eval_data[int(i)] for i in dev_sample(keys)]
        texts = [s.strip() for s in statement_pool] + [s.strip() for u in train_data for s in u.statements]
        pool = [t for t in dict.fromkeys(texts) if t and t not in held_out]
        everyone = to_train_users(train_data, {t: i for i, t in enumerate(pool)})
        labelled = [u for u in everyone if u.positives]
        unlabelled = [u for u in everyone if not u.positives]
        step = labelled + (unlabelled if with_unlabelled else [])
        dev_pool, dev_users = _dev(eval_data, held_out)
        h = hashlib.sha256()
        for part in (pool, dev_pool):
            h.update(json.dumps(part).encode("utf-8"))
        for users in (step, dev_users):
            h.update(str(len(users)).encode())
            for u in users:
                h.update(json.dumps([u.texts, u.positives]).encode("utf-8"))
        return cls(pool, ListSource(step), len(labelled), len(unlabelled), len(train_data) - len(labelled),
                   dev_users, dev_pool, dev_from_train, h.hexdigest(), labelled, unlabelled)

    @classmethod
    def from_store(cls, store: Any, max_users: int | None, with_unlabelled: bool) -> TrainingData:
        """The store's train split (the first ``max_users`` by primary key), streamed: only
        primary keys and small per-user flags are read here; histories are read per block.
        Dev users: the dev split's first ``max_users``, or, when it is empty, the training
        users in the dev slice (as ``from_lists``)."""
        from storage.splits import nth_pk, positive_labels, split_rows

        pool = [t for _, t in store.statements(held_out=False) if t]
        held_out = {t for _, t in store.statements(held_out=True)}
        n_train = store.count_users(split="train")
        n_dev = store.count_users(split="dev")
        if max_users:
            n_train, n_dev = min(n_train, max_users), min(n_dev, max_users)
        train_to = nth_pk(store, "train", max_users) if max_users else None
        slice_dev = n_dev == 0 and n_train >= 10
        h = hashlib.sha256(b"store\x00")
        h.update(json.dumps(pool).encode("utf-8"))
        pks, in_slice, slice_keys = array("q"), array("b"), array("q")
        for pk, user_id, content in split_rows(store, "train", up_to_pk=train_to):
            pks.append(pk)
            held_back = slice_dev and in_dev_slice(user_id)
            in_slice.append(held_back)
            if held_back:
                slice_keys.append(dev_key(user_id))
            h.update(f"{pk}\x1f{user_id}\x1f{content}\x1e".encode())
        with_labels = array("q")
        for user_pk, statement in positive_labels(store, "train", up_to_pk=train_to):
            if not with_labels or with_labels[-1] != user_pk:
                with_labels.append(user_pk)
            h.update(f"{user_pk}:{statement},".encode())
        all_pks = np.frombuffer(pks, dtype=np.int64) if pks else np.zeros(0, dtype=np.int64)
        labelled_mask = np.isin(all_pks, np.frombuffer(with_labels, dtype=np.int64) if with_labels else [])
        training = ~np.frombuffer(in_slice, dtype=np.int8).astype(bool) if in_slice else np.ones(0, dtype=bool)
        labelled_pks, unlabelled_pks = all_pks[training & labelled_mask], all_pks[training & ~labelled_mask]
        step = np.concatenate([labelled_pks, unlabelled_pks]) if with_unlabelled else labelled_pks
        if slice_dev:
            candidates, keys = all_pks[~training], np.frombuffer(slice_keys, dtype=np.int64)
            logger.info("no dev users: %d training users held back for model selection", len(candidates))
        else:
            dev_to = nth_pk(store, "dev", max_users) if max_users else None
            rows = [(pk, dev_key(user_id)) for pk, user_id, _ in split_rows(store, "dev", up_to_pk=dev_to)]
            candidates = np.array([r[0] for r in rows], dtype=np.int64)
            keys = np.array([r[1] for r in rows], dtype=np.int64)
        chosen = candidates[dev_sample(keys)].tolist()
        eval_data = [UserData.from_record(record) for _, record in store.iter_users(pks=chosen)]
        dev_pool, dev_users = _dev(eval_data, held_out)
        h.update(json.dumps(dev_pool).encode("utf-8"))
        for u in dev_users:
            h.update(json.dumps([u.texts, u.positives]).encode("utf-8"))
        logger.info("streaming %d training users from the store (%d with statements)", len(step), len(labelled_pks))
        return cls(pool, StoreSource(store, step, {t: i for i, t in enumerate(pool)}), len(labelled_pks),
                   len(unlabelled_pks), int(training.sum()) - len(labelled_pks), dev_users, dev_pool,
                   slice_dev and bool(eval_data), h.hexdigest())


def _dev(eval_data: list[UserData], held_out: set[str]) -> tuple[list[str], list[TrainUser]]:
    texts = [s.strip() for u in eval_data for s in u.statements]
    dev_pool = [t for t in dict.fromkeys(texts) if t not in held_out]
    return dev_pool, to_train_users(eval_data, {t: i for i, t in enumerate(dev_pool)})
