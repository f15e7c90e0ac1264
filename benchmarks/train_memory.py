"""Peak memory of training as the number of users grows: streamed from the store vs loaded whole.

For each size N a store of N synthetic users (``uue.data.synthetic``, ~9.5 posts each,
80% train / 10% dev by the hash split) is ingested and the chunk vectors of every user are
embedded into the on-disk chunk-vector cache once (as an index build does), by a tiny
random BERT (1 layer, width 32, a word-level vocabulary of the synthetic posts): the
memory measured is training's, not a big backbone's. Then one locked-mode epoch
(batch 64) runs twice, each in a fresh process:

- ``streaming``: ``train_from_store`` — the train split streamed from the store,
  ``BLOCK_USERS`` users (and their chunk vectors) at a time;
- ``load-all`` (the peer): what ``train_from_store`` did before — every train and dev user
  read into ``UserData`` objects, then the trainer with every chunk vector in memory.

Peak RSS (``getrusage`` ``ru_maxrss``) of each process is reported, and its growth over
the RSS after imports and model load (the training data's share). Both read the same
cache file, so neither embeds; CPU seconds are process CPU time (the machine is shared).

    python -m benchmarks.train_memory [--users 10000,100000,300000] [--peer-max 300000] [--workdir DIR]
    python -m benchmarks.train_memory --users 300000 --peer-max 100000 --workdir DIR --keep-other-sizes

Writes ``benchmarks/results/train_memory.json`` and ``train_memory.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import RESULTS, markdown_table, write_results

BATCH = 64


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tiny_backbone(directory: Path) -> Path:
    """A 1-layer, 32-wide random BERT whose word-level vocabulary covers the synthetic posts."""
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from uue.data.synthetic import SyntheticDataset

    dataset = SyntheticDataset(n_users=2000, seed=0)
    texts = [c["text"] for u in dataset.iter_users() for c in u["chunks"]] + [s["text"] for s in
                                                                               dataset.statement_pool()]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())})
    vocab = {t: i for i, t in enumerate(specials + words)}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[(s, vocab[s]) for s in ("[CLS]", "[SEP]")])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                        cls_token="[CLS]", sep_token="[SEP]")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                         intermediate_size=64, max_position_embeddings=64, pad_token_id=0)).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def model_config(backbone: Path):
    from uue.model.config import ModelConfig

    return ModelConfig(base_model_name=str(backbone), training_mode="locked", max_chunk_length=16,
                       max_statement_length=16, batch_size=BATCH, num_epochs=1, seed=0)


def prepare(root: Path, n_users: int, backbone: Path) -> dict:
    """Ingest N synthetic users and embed every chunk into the cache (bounded memory)."""
    import torch

    from storage.records import validate_statement, validate_user
    from storage.store import Store
    from uue.data.synthetic import SyntheticDataset
    from uue.model.chunk_cache import ChunkVectorCache
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.training.steps import LOCKED_MAX_CHUNKS, evenly_spaced

    torch.set_num_threads(1)
    started = time.perf_counter()
    dataset = SyntheticDataset(n_users=n_users, seed=0)
    store = Store(f"sqlite:///{root / 'uue.db'}")
    counts = store.ingest((validate_user(u) for u in dataset.iter_users()),
                          [validate_statement(s) for s in dataset.statement_pool()])
    ingested = time.perf_counter() - started
    model = UniversalUserEmbeddingModel.from_config(model_config(backbone))
    cache = ChunkVectorCache.for_encoder(root / "cache", model.encoder_fingerprint(), model.encoder.hidden_size)
    block: list[str] = []
    for _, record in store.iter_users():
        texts = [c["text"] for c in record["chunks"]]
        block.extend(texts[i] for i in evenly_spaced(len(texts), LOCKED_MAX_CHUNKS))
        if len(block) >= 50_000:
            model.chunk_vectors(block, batch_size=256, cache=cache)
            block = []
    if block:
        model.chunk_vectors(block, batch_size=256, cache=cache)
    cache.close()
    store.close()
    return {"users": counts.get("users", n_users), "chunks": counts.get("chunks"), "ingest_s": round(ingested, 1),
            "prepare_s": round(time.perf_counter() - started, 1)}


def measure(root: Path, path: str, backbone: Path) -> dict:
    """One locked epoch in this process; its peak RSS and CPU time."""
    import torch

    from storage.store import Store
    from uue.data.schema import UserData
    from uue.model.chunk_cache import ChunkVectorCache
    from uue.model.dual_encoder import UniversalUserEmbeddingModel
    from uue.training.store_run import train_from_store
    from uue.training.trainer import UniversalUserEmbeddingTrainer

    torch.set_num_threads(1)
    config = model_config(backbone)
    store = Store(f"sqlite:///{root / 'uue.db'}")
    model = UniversalUserEmbeddingModel.from_config(config)  # imports and weights: the baseline
    del model
    baseline, cpu, started = rss_mb(), cpu_seconds(), time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix=f"uue-mem-{path}-", dir=root))
    if path == "streaming":
        _, metrics = train_from_store(store, config, out, show_progress=False, cache_dir=root / "cache")
    else:  # the peer: train_from_store before streaming
        train = [UserData.from_record(r) for _, r in store.iter_users(split="train")]
        dev = [UserData.from_record(r) for _, r in store.iter_users(split="dev")]
        pool = [t for _, t in store.statements(held_out=False)]
        held_out = {t for _, t in store.statements(held_out=True)}
        model = UniversalUserEmbeddingModel.from_config(config)
        cache = ChunkVectorCache.for_encoder(root / "cache", model.encoder_fingerprint(), model.encoder.hidden_size)
        trainer = UniversalUserEmbeddingTrainer(config, train, dev, pool, output_dir=out, held_out=held_out,
                                                show_progress=False, model=model, chunk_cache=cache)
        metrics = trainer.train()
    return {"path": path, "baseline_mb": round(baseline, 1), "peak_mb": round(peak_mb(), 1),
            "growth_mb": round(peak_mb() - baseline, 1), "cpu_s": round(cpu_seconds() - cpu, 1),
            "wall_s": round(time.perf_counter() - started, 1), "train_users": metrics["train_users"],
            "dev_users": metrics["dev_users"], "steps": metrics["steps"]}


def child(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "benchmarks.train_memory", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmark step {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="10000,100000,300000", help="comma-separated store sizes")
    parser.add_argument("--peer-max", type=int, default=300_000, help="largest size the load-all peer runs at")
    parser.add_argument("--workdir", default=None, help="where the stores go (default: a temporary directory)")
    parser.add_argument("--keep-other-sizes", action="store_true",
                        help="keep the rows of sizes not measured now from the existing results file")
    parser.add_argument("--step", choices=["prepare", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--backbone", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "prepare":
        print(json.dumps(prepare(Path(args.root), args.n, Path(args.backbone))))
        return
    if args.step == "measure":
        print(json.dumps(measure(Path(args.root), args.path, Path(args.backbone))))
        return
    sizes = [int(s) for s in args.users.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="uue-train-memory-"))
    backbone = work / "backbone"
    if not (backbone / "config.json").is_file():
        tiny_backbone(backbone)
    rows, runs = [], []
    for n in sizes:
        root = work / f"n{n}"
        root.mkdir(parents=True, exist_ok=True)
        marker = root / "prepared.json"  # a --workdir run before prepared this size: reuse its store and cache
        if marker.is_file():
            prepared = json.loads(marker.read_text())
        else:
            prepared = child("--step", "prepare", "--root", str(root), "--n", str(n), "--backbone", str(backbone))
            marker.write_text(json.dumps(prepared))
        print(f"N={n:,}: {prepared}", flush=True)
        result = {"n_users": n, **prepared}
        for path in ("streaming", "load-all"):
            if path == "load-all" and n > args.peer_max:
                continue
            measured = child("--step", "measure", "--root", str(root), "--path", path, "--backbone", str(backbone))
            print(f"  {path}: {measured}", flush=True)
            result[path] = measured
        runs.append(result)
    if args.keep_other_sizes and (RESULTS / "train_memory.json").is_file():  # sizes measured by an earlier run
        earlier = json.loads((RESULTS / "train_memory.json").read_text())["runs"]
        runs = sorted(runs + [r for r in earlier if r["n_users"] not in sizes], key=lambda r: r["n_users"])
    for result in runs:
        stream, peer = result["streaming"], result.get("load-all")
        ratio = f"{peer['growth_mb'] / stream['growth_mb']:.1f}x" if peer else "–"
        rows.append([f"{result['n_users']:,}", f"{stream['train_users']:,}", stream["peak_mb"], stream["growth_mb"],
                     peer["peak_mb"] if peer else "–", peer["growth_mb"] if peer else "–", ratio,
                     stream["cpu_s"], peer["cpu_s"] if peer else "–"])
    table = markdown_table(["users", "train users", "streaming peak RSS MB", "streaming growth MB",
                            "load-all peak RSS MB", "load-all growth MB", "load-all / streaming growth",
                            "streaming CPU s", "load-all CPU s"], rows)
    print(table)
    write_results("train_memory", {"sizes": [r["n_users"] for r in runs], "batch_size": BATCH, "runs": runs}, table)


if __name__ == "__main__":
    main()
