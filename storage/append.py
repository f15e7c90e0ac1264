"""``uue ingest --append``: a line adds to a stored user instead of replacing them.

For a ``user_id`` already stored, the line's chunks are added after the stored ones
(a chunk identical to a stored one — same text, platform, timestamp and metadata — is
skipped, so appending the same file twice adds nothing); its statements, negative
statements and traits are added (a line's value wins over a stored one for the same
statement or trait name); its metadata is merged key by key. The stored split is kept.
The user's content hash covers the whole new history, so the next index build re-pools
the user, and the chunk-vector cache embeds only the chunks it has not seen. A
``user_id`` not yet stored is inserted as by a plain ingest.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from storage.ingest import USERS, IngestWriter
from storage.records import UserRecord, content_hash
from storage.tables import Chunk, Label, Trait, User, UserAttribute, batched, utcnow


def chunk_identity(text: str, platform: str | None, timestamp: str | None, metadata: dict[str, Any] | None) -> tuple:
    return text, platform or "", timestamp or "", json.dumps(metadata or {}, sort_keys=True)


class AppendWriter(IngestWriter):
    """A ``storage.ingest`` writer whose existing users keep what is stored."""

    def update_existing(self, latest: dict[str, UserRecord], existing: dict[str, int]) -> dict[str, int]:
        pks = list(existing.values())
        stored: dict[int, list] = {pk: [] for pk in pks}
        metadata: dict[int, dict] = {}
        for part in batched(pks):
            for row in self.conn.execute(
                    select(Chunk.user_pk, Chunk.position, Chunk.text, Chunk.platform, Chunk.timestamp,
                           Chunk.metadata_.label("chunk_metadata"))
                    .where(Chunk.user_pk.in_(part)).order_by(Chunk.user_pk, Chunk.position)):
                stored[row.user_pk].append(row)
            metadata.update(self.conn.execute(select(User.id, User.metadata_).where(User.id.in_(part))).all())
        first_position: dict[str, int] = {}
        updates, labels, traits, attributes = [], [], [], []
        for user_id, pk in existing.items():
            record, old = latest[user_id], stored[pk]
            seen = {chunk_identity(r.text, r.platform, r.timestamp, r.chunk_metadata) for r in old}
            new = []
            for chunk in record["chunks"]:
                identity = chunk_identity(chunk["text"], chunk["platform"], chunk["timestamp"], chunk["metadata"])
                if identity in seen:
                    self.counts["chunks_already_stored"] += 1
                    continue
                seen.add(identity)
                new.append(chunk)
            history = [{"text": r.text, "platform": r.platform, "timestamp": r.timestamp} for r in old] + new
            updates.append({"b_pk": pk, "b_metadata": {**(metadata.get(pk) or {}), **record["metadata"]},
                            "b_hash": content_hash({"chunks": history}), "b_n": len(history)})
            first_position[user_id] = old[-1].position + 1 if old else 0
            latest[user_id] = {**record, "chunks": new}
            texts = (*record["statements"], *record["negative_statements"])
            labels.extend({"b_pk": pk, "b_sid": self.statement_ids[t]} for t in texts if t in self.statement_ids)
            traits.extend({"b_pk": pk, "b_key": name} for name in record["traits"])
            attributes.extend({"b_pk": pk, "b_key": key} for key in record["metadata"])
        for table, column, rows in ((Label, Label.statement_id, labels), (Trait, Trait.name, traits),
                                    (UserAttribute, UserAttribute.key, attributes)):
            if rows:  # the line's value replaces the stored one for the same key
                key = "b_sid" if table is Label else "b_key"
                self.conn.execute(delete(table).where(table.user_pk == bindparam("b_pk"), column == bindparam(key)),
                                  rows)
        self.conn.execute(update(USERS).where(USERS.c.id == bindparam("b_pk")).values(
            {"metadata": bindparam("b_metadata"), "content_hash": bindparam("b_hash"),
             "num_chunks": bindparam("b_n"), "updated_at": utcnow()}), updates)
        self.counts["users_appended"] += len(existing)
        return first_position
