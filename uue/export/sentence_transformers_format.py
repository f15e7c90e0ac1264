"""Export a UUE model as a sentence-transformers folder (the statement tower) plus its user side.

``SentenceTransformer(OUT)`` loads the folder offline and embeds statements as
``UniversalUserEmbeddingModel.encode_statements`` does: Transformer (the backbone, truncating
at ``max_statement_length`` plus the instruction's tokens) → Pooling (the model's token
pooling) → Normalize → [Dense (the projection: no bias, identity activation) → Normalize].
The query instruction of instruction-tuned backbones (Qwen3-Embedding) is the ``query``
prompt and the default prompt, so ``encode(texts)`` applies it as UUE does.

``OUT/user_side/`` holds the rest of the user tower: ``user_side.safetensors`` (chunk
pooling, adapter and projection weights), ``config.json``, the open-vocabulary
``query_map.safetensors`` and ``trained_statements.json`` when the model has them, and
``uue_user_side.py``, a loader that needs no UUE install. ``OUT/README.md`` is the model card.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from storage.errors import UUEError
from uue.export.card import model_card
from uue.model.open_vocabulary import TRAINED_STATEMENTS_FILE, OpenVocabulary

logger = logging.getLogger(__name__)

USER_SIDE_DIR = "user_side"
LOADER = Path(__file__).with_name("uue_user_side.py")
ST_POOLING = {"mean": "mean", "cls": "cls", "last": "lasttoken"}


def export_sentence_transformers(model_dir: str | Path, out: str | Path, *,
                                 metrics: dict[str, Any] | None = None) -> Path:
    """Write ``out`` (a new or empty directory) from the UUE model directory ``model_dir``."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

    from uue.model.dual_encoder import UniversalUserEmbeddingModel

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UUEError(f"{out} exists and is not an empty directory: choose a new output directory")
    model = UniversalUserEmbeddingModel.from_pretrained(model_dir, device="cpu")
    encoder, config = model.encoder, model.config
    instruction = encoder.query_instruction or ""
    extra = len(encoder.tokenizer(instruction, add_special_tokens=False)["input_ids"]) if instruction else 0
    with tempfile.TemporaryDirectory(prefix="uue-export-") as tmp:
        encoder.backbone.save_pretrained(tmp)
        encoder.tokenizer.padding_side = encoder.padding_side
        encoder.tokenizer.save_pretrained(tmp)
        modules: list[nn.Module] = [
            Transformer(tmp, max_seq_length=config.max_statement_length + extra),
            Pooling(encoder.hidden_size, pooling_mode=ST_POOLING[encoder.pooling]),
            Normalize(),
        ]
        if isinstance(model.projection, nn.Linear):
            modules += [Dense(encoder.hidden_size, config.embedding_dim, bias=False, activation_function=nn.Identity(),
                              init_weight=model.projection.weight.detach().clone()), Normalize()]
        st = SentenceTransformer(modules=modules, device="cpu", prompts={"query": instruction} if instruction else None,
                                 default_prompt_name="query" if instruction else None, similarity_fn_name="cosine")
        st.save(str(out))
    _save_user_side(model, Path(model_dir), out / USER_SIDE_DIR)
    (out / "README.md").write_text(model_card(model, Path(model_dir), metrics), encoding="utf-8")
    logger.info("exported %s as sentence-transformers to %s", model_dir, out)
    return out


def _save_user_side(model, model_dir: Path, directory: Path) -> None:
    directory.mkdir(parents=True)
    state = {k: v.detach().cpu().float().contiguous() for k, v in model.state_dict().items()
             if k.startswith(("chunk_pooling.", "user_adapter.", "projection."))}
    save_file(state, str(directory / "user_side.safetensors"))
    config = model.config
    (directory / "config.json").write_text(json.dumps({
        "chunk_pooling": "attention" if config.use_attention_pooling else "mean",
        "attention_heads": config.attention_heads,
        "hidden_size": model.encoder.hidden_size,
        "embedding_dim": config.embedding_dim,
        "max_chunk_length": config.max_chunk_length,
        "num_chunks_per_user": config.num_chunks_per_user,
        "open_vocabulary_mix": config.open_vocabulary_mix,
        "base_model": config.base_model_name,
    }, indent=2) + "\n", encoding="utf-8")
    vocabulary = OpenVocabulary.from_model(model)
    if vocabulary.query_map is not None:
        save_file({"query_map": torch.from_numpy(vocabulary.query_map).contiguous()},
                  str(directory / "query_map.safetensors"))
    if (model_dir / TRAINED_STATEMENTS_FILE).is_file():
        shutil.copyfile(model_dir / TRAINED_STATEMENTS_FILE, directory / TRAINED_STATEMENTS_FILE)
    shutil.copyfile(LOADER, directory / LOADER.name)
