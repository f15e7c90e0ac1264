"""``uue audience ... --out FILE``: a whole audience written to CSV or JSONL.

The file is written atomically (a temporary name, then renamed), ranked best first,
one user per row: ``rank, user_id, score``. No 10,000 cap: every indexed user passing
the filter and ``min_score`` (or the best ``limit``) is written.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from index.files import atomic_write
from storage.errors import UUEError
from storage.filters import UserFilter

FORMATS = {".csv": "csv", ".jsonl": "jsonl"}
BATCH = 10_000  # user ids resolved per SQL round trip


def export_format(path: str | os.PathLike) -> str:
    """``csv`` or ``jsonl`` from the file name; anything else is refused."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UUEError(f"cannot tell the export format of {path}: name the file *.csv or *.jsonl")
    return FORMATS[suffix]


def export_audience(searcher, text, path: str | os.PathLike, *, user_filter: UserFilter | None = None,
                    min_score: float | None = None, limit: int | None = None, interests: bool = False) -> int:
    """Write the users ``text`` describes (best first) to ``path`` (.csv or .jsonl); returns
    how many. ``searcher`` is a ``uue.search.queries.Searcher``; ``text`` a statement or a
    ``uue.search.compound.CompoundQuery``; ``interests``: score a statement against each
    user's best-matching interest (the interests build)."""
    fmt = export_format(path)
    if interests and not isinstance(text, str):
        raise UUEError("a compound audience uses the single user vectors: leave out interests")
    if interests:
        query = searcher.statement_vectors([text])[0]
        ids, scores = searcher.interest_search().audience_scores(query, searcher.allowed_ids(user_filter),
                                                                 min_score=min_score, limit=limit)
    elif isinstance(text, str):
        ids, scores = searcher.audience_scores(text, user_filter, min_score=min_score, limit=limit)
    else:
        from uue.search.compound import compound_scores

        ids, scores = compound_scores(searcher, text, user_filter, min_score=min_score, limit=limit)
    written = 0

    def write(out) -> None:
        nonlocal written
        if fmt == "csv":
            out.write(b"rank,user_id,score\r\n")
        for start in range(0, len(ids), BATCH):
            names = searcher.store.user_ids(ids[start:start + BATCH].tolist())
            buffer = io.StringIO()
            rows = csv.writer(buffer)
            for pk, score in zip(ids[start:start + BATCH], scores[start:start + BATCH]):
                name = names.get(int(pk))
                if name is None:  # deleted while exporting
                    continue
                written += 1
                if fmt == "csv":
                    rows.writerow([written, name, f"{float(score):.6f}"])
                else:
                    buffer.write(json.dumps({"rank": written, "user_id": name, "score": round(float(score), 6)},
                                            ensure_ascii=False) + "\n")
            out.write(buffer.getvalue().encode("utf-8"))

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise UUEError(f"cannot write {path}: {exc.strerror or exc}") from None
    return written
