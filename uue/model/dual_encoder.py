"""The dual encoder: users and statements in one L2-normalised vector space.

Module chain (sentence-transformers style):

- user side: token encoder (backbone + token pooling) on each chunk of the whole
  history → chunk pooling (attention or mean, masked; streamed for long histories) →
  residual adapter (zero-initialised: starts as the identity) → projection (none when
  ``embedding_dim`` equals the backbone width) → L2 normalise;
- statement side: the same token encoder (shared weights, instruction prefix where
  the model wants one) → the same projection → L2 normalise.

A saved model directory holds ``config.json`` (the ``ModelConfig`` JSON, with the
token pooling and instruction resolved), ``model.safetensors`` (all weights),
the tokenizer files, ``backbone/config.json`` (the Hugging Face config) and, for a
trained model, ``trained_statements.json`` (the statements it trained on: any other
statement is scored in the pretrained geometry, see ``open_vocabulary``); it loads
offline, without pickle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_model, save_model
from torch import nn
from tqdm.auto import tqdm

from index.files import sha256_file
from storage.failures import translated_writes
from uue.model.backbones import skip_weight_init
from uue.model.chunk_cache import ChunkVectorCache, chunk_key
from uue.model.config import ConfigError, ModelConfig
from uue.model.encoder import ModelNotFoundError, TokenEncoder, pad_ragged
from uue.model.open_vocabulary import read_trained_statements, write_trained_statements
from uue.model.pooling import AttentionPooling, MeanPooling, ResidualAdapter, StreamingPool
from uue.model.precision import inference_autocast, requested_precision, resolve_precision

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
BACKBONE_DIR = "backbone"
CHUNK_BLOCK = 8192  # chunk vectors held at once in encode_users: bounds its memory
POOL_BLOCK = 65536  # users x padded chunks per pooling call
_INFERRING = threading.local()  # .models: ids of the models inside _inference on this thread
OPTIONAL_KEYS = ("user_adapter.",)  # absent from models saved before the adapter: they load as the identity


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Training's autocast: bf16 mixed precision on CUDA, nothing (fp32) elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class UniversalUserEmbeddingModel(nn.Module):
    """Dual encoder of users (chunk histories) and statements with shared backbone weights."""

    def __init__(self, config: ModelConfig, encoder: TokenEncoder) -> None:
        super().__init__()
        #: inference precision asked for: "auto" (bf16 where the machine computes it natively),
        #: "fp32" or "bf16"; ``$UUE_INFERENCE_PRECISION`` over ``config.extra``. See ``uue.model.precision``.
        self.inference_precision = requested_precision(config.extra.get("inference_precision"))
        width = encoder.hidden_size
        config = dataclasses.replace(config, pooling=encoder.pooling, query_instruction=encoder.query_instruction,
                                     embedding_dim=config.embedding_dim or width)
        self.config = config
        self.encoder = encoder
        if config.use_attention_pooling and width % config.attention_heads:
            divisors = [h for h in range(1, min(width, 64) + 1) if width % h == 0]
            raise ConfigError(f"ModelConfig.attention_heads ({config.attention_heads}) must divide the width "
                              f"({width}) of the backbone {config.base_model_name!r}: choose one of "
                              f"{', '.join(map(str, divisors))}, or set use_attention_pooling to false")
        if config.training_mode == "locked" and config.embedding_dim != width:
            raise ConfigError(f"ModelConfig.embedding_dim ({config.embedding_dim}) must equal the width ({width}) of "
                              f"the backbone {config.base_model_name!r} in training_mode 'locked' (the statement "
                              "side stays the pretrained encoder's space); set embedding_dim to "
                              f"{width}, or use training_mode 'partial' or 'full'")
        self.chunk_pooling: nn.Module = (AttentionPooling(width, config.attention_heads, config.dropout)
                                         if config.use_attention_pooling else MeanPooling())
        self.user_adapter = ResidualAdapter(width)
        self.projection: nn.Module = (nn.Linear(width, config.embedding_dim, bias=False)
                                      if config.embedding_dim != width else nn.Identity())
        # the statements training used (set by the trainer); None = unknown (untrained, or saved before
        # they were recorded): every statement is then scored alike (uue/model/open_vocabulary.py)
        self.trained_statements: frozenset[str] | None = None

    # ---- construction and artifacts ---------------------------------------------

    @classmethod
    def from_config(cls, config: ModelConfig) -> UniversalUserEmbeddingModel:
        """An untrained model on the base backbone; new layers seeded from ``config.seed``."""
        encoder = TokenEncoder.from_name(config.base_model_name, pooling=config.pooling,
                                         query_instruction=config.query_instruction,
                                         trust_remote_code=config.trust_remote_code)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            return cls(config, encoder)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model directory. Every file is written into a staging directory first and
        renamed into place only when all were written: a full disk leaves the previous files
        intact (and a ``StorageError`` that says so), never a partial model."""
        out = Path(directory)
        with translated_writes(out):
            out.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=out, prefix=".saving-"))
        try:
            with translated_writes(out):
                (staging / BACKBONE_DIR).mkdir()
                self.config.save(staging / CONFIG_FILE)
                self.encoder.backbone.config.save_pretrained(staging / BACKBONE_DIR)
                self.encoder.tokenizer.save_pretrained(str(staging))
                save_model(self, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
                if self.trained_statements is not None:
                    write_trained_statements(staging, self.trained_statements)
                files = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
                for name in sorted(files, key=lambda p: p.name == WEIGHTS_FILE):  # the weights last
                    (out / name).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / name, out / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("saved model to %s", out)
        return out

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device | None = None, *,
                        checksum: str | None = None, trust_remote_code: bool = False) -> UniversalUserEmbeddingModel:
        """Load a model directory; with ``checksum`` (the sha256 the store registered), refuse
        weights that have changed since, e.g. while a training run is writing into the directory.
        ``trust_remote_code``: allow the backbone's own Python code (the caller's choice only; the
        directory's ``config.json`` cannot turn it on)."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = Path(directory)
        if not (path / CONFIG_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
            raise ModelNotFoundError(f"{path} is not a UUE model directory (needs {CONFIG_FILE} and {WEIGHTS_FILE}); "
                                     "train one with `uue train`")
        if checksum is not None and sha256_file(path / WEIGHTS_FILE) != checksum:
            raise ModelNotFoundError(f"{path / WEIGHTS_FILE} is not the file registered for this model (its sha256 "
                                     "differs): a training run may be writing there. Let it finish (it registers "
                                     "the new weights), then run `uue index rebuild`")
        config = ModelConfig.load(path / CONFIG_FILE, trust_remote_code=trust_remote_code)
        trust = trust_remote_code
        backbone_config = AutoConfig.from_pretrained(str(path / BACKBONE_DIR), trust_remote_code=trust)
        with skip_weight_init():  # every backbone weight is loaded from WEIGHTS_FILE below
            backbone = AutoModel.from_config(backbone_config, trust_remote_code=trust, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(path), config=backbone_config, trust_remote_code=trust)
        encoder = TokenEncoder(backbone, tokenizer, config.pooling or "mean", config.query_instruction or "")
        model = cls(config, encoder)
        missing, unexpected = load_model(model, str(path / WEIGHTS_FILE), strict=False)
        missing = [k for k in missing if not k.startswith(OPTIONAL_KEYS)]
        if missing or unexpected:
            raise ModelNotFoundError(f"{path / WEIGHTS_FILE} does not match its config: missing {missing[:5]}, "
                                     f"unexpected {unexpected[:5]}")
        model.trained_statements = read_trained_statements(path)
        model.eval()
        return model.to(device or default_device())

    # ---- properties ---------------------------------------------------------------

    @property
    def embedding_dim(self) -> int:
        return int(self.config.embedding_dim)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ---- differentiable pieces (training) ------------------------------------------

    def embed(self, vectors: torch.Tensor) -> torch.Tensor:
        """Projection + L2 normalisation of backbone-width vectors (the statement side)."""
        return nn.functional.normalize(self.projection(vectors).float(), dim=-1)

    def embed_users(self, pooled: torch.Tensor) -> torch.Tensor:
        """Adapter + projection + L2 normalisation of pooled histories (the user side)."""
        return self.embed(self.user_adapter(pooled.float()))

    def pool_users(self, chunk_vectors: torch.Tensor, groups: Sequence[Sequence[int]]) -> torch.Tensor:
        """Users' embeddings ``[U, d]`` from ``chunk_vectors[n, h]``; ``groups[u]`` = row indices of user u."""
        index, mask = pad_ragged(groups)
        device = chunk_vectors.device
        padded = chunk_vectors[torch.from_numpy(index).to(device)]  # [U, C, h]
        return self.embed_users(self.chunk_pooling(padded, torch.from_numpy(mask).to(device)))

    def forward_users(self, histories: Sequence[Sequence[str]]) -> torch.Tensor:
        """Embed users from their chunk texts in one pass (with gradients when enabled)."""
        flat = [t for h in histories for t in h]
        ids = self.encoder.tokenize(flat, self.config.max_chunk_length)
        groups, start = [], 0
        for h in histories:
            groups.append(range(start, start + len(h)))
            start += len(h)
        return self.pool_users(self.encoder.encode_ids(ids), groups)

    def forward_statements(self, texts: Sequence[str]) -> torch.Tensor:
        ids = self.encoder.tokenize(list(texts), self.config.max_statement_length, query=True)
        return self.embed(self.encoder.encode_ids(ids))

    # ---- inference ------------------------------------------------------------------

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        inside = _INFERRING.__dict__.setdefault("models", set())  # this thread's (modes are per thread)
        if id(self) in inside:  # nested (encode_users → chunk_vectors): already set up
            yield
            return
        was_training = self.training
        self.eval()
        inside.add(id(self))
        try:
            with torch.inference_mode(), inference_autocast(self.device, self.precision):
                yield
        finally:
            inside.discard(id(self))
            self.train(was_training)

    def _encode_sorted(self, ids: list[list[int]], batch_size: int, bar: tqdm, project: bool) -> torch.Tensor:
        """Encode token-id lists in length-sorted batches; rows come back in input order."""
        dim = self.embedding_dim if project else self.encoder.hidden_size
        out = torch.empty(len(ids), dim, dtype=torch.float32, device=self.device)
        order = np.argsort(-np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids)), kind="stable")
        for start in range(0, len(ids), batch_size):
            rows = order[start:start + batch_size]
            vectors = self.encoder.encode_ids([ids[i] for i in rows])
            out[torch.from_numpy(rows).to(self.device)] = (self.embed(vectors) if project else vectors).float()
            bar.update(len(rows))
        return out

    def encode_statements(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """float32 ``[n, d]``, L2-normalised; each distinct text is encoded once."""
        if not texts:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        where = {t: i for i, t in enumerate(unique)}
        with self._inference(), tqdm(total=len(unique), desc="statements", unit="text",
                                     disable=not show_progress) as bar:
            ids = self.encoder.tokenize(unique, self.config.max_statement_length, query=True)
            vectors = self._encode_sorted(ids, batch_size, bar, project=True).cpu().numpy()
        return vectors[[where[t] for t in texts]]

    @property
    def precision(self) -> str:
        """The inference precision in use on the current device: "fp32" or "bf16"."""
        return resolve_precision(self.inference_precision, self.device)

    def encoder_fingerprint(self) -> str:
        """Identifies what a chunk vector depends on: the token encoder's weights, its token
        pooling, ``max_chunk_length`` and the inference precision (the key of the chunk-vector
        cache; fp32 keeps the fingerprint it had before precision was part of it). The weights'
        hash is computed once per model object: call it on a model whose weights no longer
        change (loaded, or locked)."""
        if getattr(self, "_fingerprint", None) is None:
            self._fingerprint = _fingerprint(
                f"{self.encoder.pooling}|{self.config.max_chunk_length}|{type(self.encoder.tokenizer).__name__}|"
                f"{len(self.encoder.tokenizer)}", self.encoder)
        precision = self.precision
        if precision == "fp32":
            return self._fingerprint
        return hashlib.blake2b(f"{self._fingerprint}|{precision}".encode(), digest_size=20).hexdigest()

    def statement_fingerprint(self) -> str:
        """Identifies what a statement vector depends on: the token encoder, the query
        instruction, ``max_statement_length`` and the projection. Two models with the same one
        (a locked model and its base) embed every statement identically."""
        return _fingerprint(f"{self.encoder_fingerprint()}|{self.config.max_statement_length}|"
                            f"{self.encoder.query_instruction}", self.projection)

    def chunk_vectors(self, texts: list[str], batch_size: int = 64, cache: ChunkVectorCache | None = None,
                      bar: tqdm | None = None) -> torch.Tensor:
        """Token-encoder vectors ``[n, h]`` (float32, before pooling) of chunk texts; each
        distinct text is encoded once, and ``cache`` hits are not encoded at all."""
        width = self.encoder.hidden_size
        out = torch.empty(len(texts), width, dtype=torch.float32, device=self.device)
        keys = [chunk_key(t) for t in texts] if cache is not None else []
        missing = np.ones(len(texts), dtype=bool)
        if cache is not None:
            hit_rows, hits = cache.lookup(keys)
            if len(hit_rows):  # one host-to-device copy for all hits
                out[torch.from_numpy(hit_rows).to(self.device)] = torch.from_numpy(hits).to(self.device)
                missing[hit_rows] = False
        todo: dict[str, list[int]] = {}
        for i in np.flatnonzero(missing).tolist():
            todo.setdefault(texts[i], []).append(i)
        if bar is not None:
            bar.total = (bar.total or 0) + len(todo)
            bar.refresh()
        if todo:
            unique = list(todo)
            with self._inference():
                ids = self.encoder.tokenize(unique, self.config.max_chunk_length)
                fresh = self._encode_sorted(ids, batch_size, bar or tqdm(disable=True), project=False)
            rows = list(todo.values())  # one scatter, not an indexing call per text
            source = np.repeat(np.arange(len(rows)), np.fromiter(map(len, rows), dtype=np.int64, count=len(rows)))
            target = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=len(source))
            out[torch.from_numpy(target).to(self.device)] = fresh[torch.from_numpy(source).to(self.device)]
            if cache is not None:
                cache.put([keys[r[0]] for r in rows], fresh.cpu().numpy())
        return out

    def encode_users(self, histories: list[list[str]], batch_size: int = 64, show_progress: bool = False,
                     cache: ChunkVectorCache | None = None) -> np.ndarray:
        """float32 ``[n, d]``, L2-normalised, each pooled from the user's whole history (oldest
        first; the most recent ``num_chunks_per_user`` when that is > 0).

        Memory is bounded by ``CHUNK_BLOCK`` chunk vectors whatever the history lengths: users
        are embedded in blocks, and a longer history is pooled block by block (``StreamingPool``).
        """
        out = np.zeros((len(histories), self.embedding_dim), dtype=np.float32)
        cap = self.config.num_chunks_per_user
        recent = [list(h[-cap:]) if cap else list(h) for h in histories]
        if any(not h for h in recent):
            raise ValueError("every user needs at least one chunk")
        with self._inference(), tqdm(total=0, desc="user chunks", unit="text", disable=not show_progress) as bar:
            block: list[int] = []
            size = 0
            for u, history in enumerate(recent):
                if len(history) > CHUNK_BLOCK:
                    out[u] = self._encode_long_user(history, batch_size, cache, bar)
                    continue
                if size + len(history) > CHUNK_BLOCK:
                    self._encode_block(recent, block, out, batch_size, cache, bar)
                    block, size = [], 0
                block.append(u)
                size += len(history)
            if block:
                self._encode_block(recent, block, out, batch_size, cache, bar)
        return out

    def _encode_block(self, histories: list[list[str]], users: list[int], out: np.ndarray, batch_size: int,
                      cache: ChunkVectorCache | None, bar: tqdm) -> None:
        where: dict[str, int] = {}
        groups = [[where.setdefault(t, len(where)) for t in histories[u]] for u in users]
        vectors = self.chunk_vectors(list(where), batch_size, cache, bar)
        start = 0
        while start < len(users):  # pool in calls of at most POOL_BLOCK padded chunk slots
            end, width = start, 0
            while end < len(users) and max(width, len(groups[end])) * (end - start + 1) <= max(POOL_BLOCK, width):
                width = max(width, len(groups[end]))
                end += 1
            end = max(end, start + 1)
            pooled = self.pool_users(vectors, groups[start:end])
            out[users[start:end]] = pooled.float().cpu().numpy()
            start = end

    def _encode_long_user(self, history: list[str], batch_size: int, cache: ChunkVectorCache | None,
                          bar: tqdm) -> np.ndarray:
        stream = StreamingPool(self.chunk_pooling)
        for start in range(0, len(history), CHUNK_BLOCK):
            stream.add(self.chunk_vectors(history[start:start + CHUNK_BLOCK], batch_size, cache, bar))
        return self.embed_users(stream.result()[None, :])[0].float().cpu().numpy()


def _fingerprint(settings: str, module: nn.Module) -> str:
    """blake2b of ``settings`` and every tensor of ``module`` (by name, as float32 bytes)."""
    h = hashlib.blake2b(settings.encode(), digest_size=20)
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def default_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")

