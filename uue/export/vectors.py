"""User vectors as Parquet (``user_id``, ``vector``, ``model_id``) for teams that join them into a warehouse.

The vectors are the active users index build's (what queries search), minus users deleted
since; written in row groups so memory stays flat. File metadata: the model's path, the
build id and the dimension.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.builds import active_build
from index.vectors import VectorSet, build_stem
from storage.errors import UUEError
from storage.store import Store
from storage.users import deleted_user_pks

logger = logging.getLogger(__name__)

ROW_GROUP = 50_000


def export_vectors(store: Store, out: str | os.PathLike, *, progress: bool = False) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    build = active_build(store, "users")
    model = store.active_model()
    vectors = VectorSet.load(build_stem(build))
    deleted = deleted_user_pks(store)
    keep = ~np.isin(vectors.ids, deleted) if len(deleted) else np.ones(len(vectors), bool)
    rows = np.flatnonzero(keep)
    dim = vectors.dim
    schema = pa.schema([("user_id", pa.string()), ("vector", pa.list_(pa.float32(), dim)), ("model_id", pa.int64())],
                       metadata={"uue.model_path": str(model.path), "uue.build_id": str(build.id),
                                 "uue.dim": str(dim)})
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    written = 0
    try:
        with pq.ParquetWriter(str(tmp), schema) as writer, \
                tqdm(total=len(rows), desc="vectors", unit="user", disable=not progress) as bar:
            for start in range(0, len(rows), ROW_GROUP):
                part = rows[start:start + ROW_GROUP]
                pks = vectors.ids[part]
                names = store.user_ids(pks.tolist())
                present = [i for i, pk in enumerate(pks.tolist()) if pk in names]
                flat = np.ascontiguousarray(vectors.vectors[part][present], dtype=np.float32).reshape(-1)
                table = pa.table({"user_id": [names[int(pks[i])] for i in present],
                                  "vector": pa.FixedSizeListArray.from_arrays(pa.array(flat), dim),
                                  "model_id": np.full(len(present), build.model_id, dtype=np.int64)}, schema=schema)
                writer.write_table(table)
                written += len(present)
                bar.update(len(part))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UUEError(f"{path}: cannot write: {exc.strerror or exc}") from None
    logger.info("wrote %d user vectors to %s", written, path)
    return {"users": written, "dim": dim, "model_id": build.model_id, "build_id": build.id, "out": str(path)}
