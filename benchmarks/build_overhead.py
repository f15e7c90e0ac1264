"""Where an index build's time goes besides the transformer: the overhead of ``benchmarks/pipeline.py``, by part.

``pipeline.py`` measures UUE end to end beside a hand-wired peer and reports the share of the
wall time spent inside the transformer's forward. This script takes that forward out to
see the rest: it writes the same synthetic ``users.jsonl`` (``pipeline.write_users``),
ingests it, then runs ``build_indexes`` (fresh workspace, fresh chunk-vector cache) with
``TokenEncoder.forward`` replaced by a constant unit vector per text. Everything else runs
as in a real build: tokenising, padding, the chunk-vector cache (keys, lookups, writes),
the store read, de-duplication, user pooling, FAISS. Each part's wall time is summed by a
wrapper around its function; "rest" is the build's wall time minus the parts (model load
and fingerprint, chunk keys, bookkeeping, the FAISS build and the files).

Not a peer comparison (``pipeline.py`` is): a breakdown, to say what the overhead is made of.
The vectors are not real, but the texts, their repeats, the cache hits and the pooling
shapes are a real build's, so each part does a real build's work.

    python -m benchmarks.build_overhead [--users 10000] [--posts 20] [--out build_overhead_10k]

Writes ``benchmarks/results/OUT.json`` and ``OUT.md``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import tempfile
import time
from pathlib import Path

PARTS = (("uue.model.encoder", "TokenEncoder", "tokenize", "tokenising"),
         ("uue.model.encoder", "TokenEncoder", "pad", "padding"),
         ("uue.model.chunk_cache", "ChunkVectorCache", "lookup", "chunk-cache lookups"),
         ("uue.model.chunk_cache", "ChunkVectorCache", "put", "chunk-cache writes"),
         ("uue.model.dual_encoder", "UniversalUserEmbeddingModel", "pool_users", "pooling users"))


def instrument(spent: collections.Counter) -> None:
    """Wrap each part's function (and the store read, a generator) to add its wall time to ``spent``."""
    import importlib

    import torch

    from storage.store import Store
    from uue.model.encoder import TokenEncoder

    for module, owner, name, label in PARTS:
        cls = getattr(importlib.import_module(module), owner)
        fn = getattr(cls, name)

        def wrapped(*args, _fn=fn, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(cls, name, functools.wraps(fn)(wrapped))
    read = Store.iter_histories

    def timed_read(self, *args, **kwargs):
        rows = read(self, *args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                item = next(rows)
            except StopIteration:
                return
            finally:
                spent["store read"] += time.perf_counter() - started
            yield item

    Store.iter_histories = timed_read

    def no_forward(self, input_ids, attention_mask):  # one unit vector per text: no transformer
        return torch.nn.functional.normalize(torch.ones(input_ids.shape[0], self.hidden_size), dim=-1)

    TokenEncoder.forward = no_forward


def main() -> None:
    from benchmarks._common import markdown_table, write_results
    from benchmarks.pipeline import write_users

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--out", default=None, help="results file stem (default build_overhead_<users>)")
    args = parser.parse_args()

    from storage.store import Store
    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.search.builds import build_indexes
    from uue.training.checkpoint import weights_checksum
    from uue.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="uue-build-overhead-") as tmp:
        work = Path(tmp)
        counts = write_users(work / "users.jsonl", args.users, args.posts)
        ws = Workspace.resolve(work / "home")
        path = UniversalUserEmbeddingModel.from_config(ModelConfig()).save_pretrained(ws.models_dir / "base")
        store = Store(ws.database_url)
        store.register_model(str(path), ModelConfig().base_model_name, 384, checksum=weights_checksum(path))
        store.ingest_file(work / "users.jsonl")
        spent: collections.Counter = collections.Counter()
        instrument(spent)
        wall, cpu = time.perf_counter(), time.process_time()
        build_indexes(store, ws.indexes_dir, progress=False, cache_dir=ws.cache_dir)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        store.close()
    parts = dict(spent.most_common())
    parts["rest"] = wall - sum(spent.values())
    rows = [[label, round(seconds, 2), f"{seconds / wall:.0%}"] for label, seconds in parts.items()]
    rows.append(["build without the forward", round(wall, 2), "100%"])
    table = (f"# An index build without the transformer's forward: {counts['users']:,} users, {counts['chunks']:,} posts\n\n"
             f"Wall seconds per part (`python -m benchmarks.build_overhead --users {args.users}`); the build took "
             f"{wall:.1f} s wall, {cpu:.1f} s CPU (tokenising runs on 2 threads).\n\n"
             + markdown_table(["part", "wall s", "share"], rows))
    print(table)
    write_results(args.out or f"build_overhead_{args.users // 1000}k",
                  {"counts": counts, "wall_s": wall, "cpu_s": cpu, "parts_s": parts}, table)


if __name__ == "__main__":
    main()
