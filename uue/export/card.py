"""The model card (README.md) of an exported model: what it is, how to load it, its metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from storage.errors import UUEError


def read_metrics(path: str | Path) -> dict[str, Any]:
    """A ``metrics.json`` of ``uue evaluate`` (flat: name → number)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UUEError(f"{path}: not a readable metrics.json ({exc}); run `uue evaluate --output-dir DIR`") from None
    if not isinstance(data, dict):
        raise UUEError(f"{path}: expected a JSON object of metrics")
    return data


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def model_card(model, model_dir: Path, metrics: dict[str, Any] | None) -> str:
    config = model.config
    lines = [
        "---", "library_name: sentence-transformers", "pipeline_tag: sentence-similarity",
        "tags: [sentence-transformers, feature-extraction, uue, user-embeddings]", "---", "",
        f"# UUE model: {model_dir.name}", "",
        "A Universal User Embeddings (UUE) dual encoder: users (their whole text history) and natural-language "
        "statements about users (\"enjoys hiking\") in one vector space.", "",
        f"- Backbone: `{config.base_model_name}`, token pooling `{model.encoder.pooling}`, "
        f"embedding dimension {config.embedding_dim}",
        f"- Statement tower: this folder, a sentence-transformers model (`max_statement_length` "
        f"{config.max_statement_length})" + (", the query instruction as the default `query` prompt"
                                             if model.encoder.query_instruction else ""),
        f"- User tower: `user_side/` ({'attention' if config.use_attention_pooling else 'mean'} pooling over "
        f"chunk vectors, residual adapter, projection; chunks truncated at {config.max_chunk_length} tokens)", "",
        "## Statements", "", "```python", "from sentence_transformers import SentenceTransformer",
        "model = SentenceTransformer(\"PATH\")", "vectors = model.encode([\"enjoys hiking\"])", "```", "",
        "## Users", "", "```python", "import sys; sys.path.insert(0, \"PATH/user_side\")",
        "from uue_user_side import UserSide", "side = UserSide.load(\"PATH\")", "model = side.statement_model()",
        "users = side.encode_users(model, [[\"Finished the PCT!\", \"Trail runners over boots.\"]])",
        "scores = users @ side.statement_vectors(model, [\"enjoys hiking\"]).T", "```", "",
        "Statements the model never trained on are scored through the query map in `user_side/` "
        "(`statement_vectors` applies it), as UUE's own queries are.", "",
        "## Evaluation", "",
    ]
    flat = _flat(metrics or {})
    if flat:
        lines += ["From `uue evaluate` (metrics.json):", "", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in sorted(flat.items())]
    else:
        lines.append("No evaluation was given to the export (`uue export ... --metrics metrics.json`).")
    return "\n".join(lines) + "\n"
