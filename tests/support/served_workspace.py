"""A workspace with a real (tiny, untrained, random) model and built indexes: for serving tests."""

from __future__ import annotations

import json
from pathlib import Path

from support.tiny_models import tiny_bert

TOPICS = {"hiking": "trail summit mountain hiking boots", "baking": "sourdough flour oven baking bread",
          "chess": "chess opening gambit endgame rook"}
CHATTER = ["went to the shop for milk today", "the weather was grey and rainy"]


def topic_users(n_per_topic: int = 6) -> list[dict]:
    """Users with one topical chunk (at varying places) and two chunks of chatter each."""
    out = []
    for t, (topic, words) in enumerate(TOPICS.items()):
        for i in range(n_per_topic):
            chunks = [{"text": c, "platform": "forum", "timestamp": f"2024-0{1 + t}-0{j + 1}T00:00:00Z"}
                      for j, c in enumerate(CHATTER)]
            chunks.insert(i % 3, {"text": f"{words} day {i}", "platform": "reddit" if i < 3 else "forum",
                                  "timestamp": f"2024-0{1 + t}-1{i}T00:00:00Z"})
            out.append({"user_id": f"{topic}-{i}", "metadata": {"country": "DE" if i % 2 == 0 else "FR"},
                        "chunks": chunks, "statements": [f"enjoys {topic}"]})
    return out


def write_users(path: Path) -> Path:
    path.write_text("\n".join(json.dumps(u) for u in topic_users()) + "\n")
    return path


def tiny_model_workspace(root: Path, database_url: str | None = None) -> Path:
    """``root/home``: the topic users ingested, a tiny random locked model registered, indexes built.
    The store is ``home/uue.db`` unless ``database_url`` names another (e.g. PostgreSQL)."""
    from storage.store import Store
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.search.builds import build_indexes
    from uue.training.checkpoint import weights_checksum

    home = root / "home"
    words = {w for u in topic_users() for c in u["chunks"] for w in c["text"].split()}
    words |= {w for u in topic_users() for s in u["statements"] for w in s.split()}
    backbone = tiny_bert(root / "backbone", sorted(words | {"likes", "walks", "long", "someone"}))
    model = UniversalUserEmbeddingModel.from_config(ModelConfig(base_model_name=str(backbone), max_chunk_length=32,
                                                                attention_heads=2))
    model_dir = model.save_pretrained(home / "models" / "tiny")
    with Store(database_url or f"sqlite:///{home / 'uue.db'}") as store:
        store.ingest_file(write_users(root / "users.jsonl"))
        store.register_model(str(model_dir), str(backbone), model.embedding_dim, checksum=weights_checksum(model_dir))
        build_indexes(store, home / "indexes", progress=False, cache_dir=home / "cache")
    return home


def bow_workspace(root: Path, users_path: Path, database_url: str | None = None):
    """``root/home`` with ``users_path`` ingested and indexes built by the bag-of-words embedder:
    ``(store, home, model, build result)``; the caller closes the store. The store is
    ``home/uue.db`` unless ``database_url`` names another."""
    from storage.store import Store
    from support.fakes import BagOfWordsEmbedder
    from uue.search.builds import build_indexes

    home = root / "home"
    home.mkdir()
    store = Store(database_url or f"sqlite:///{home / 'uue.db'}")
    store.ingest_file(users_path)
    store.register_model(str(home / "models" / "bow"), "bag-of-words", 64)
    model = BagOfWordsEmbedder()
    return store, home, model, build_indexes(store, home / "indexes", progress=False, model=model)
