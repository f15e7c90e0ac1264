"""Shared fixtures: a temporary store (on SQLite and on PostgreSQL) and a writer for users.jsonl files.

``db_url`` runs a test twice: on a SQLite file and on a fresh database of the PostgreSQL
server that the test run starts itself (``storage.pg_sandbox``; stopped at the end).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# No model hub at test time: a name that is not a local directory fails fast instead of
# waiting on network timeouts (set before huggingface_hub reads it at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Encoders run at fp32 in tests on every machine (auto would pick bf16 where the CPU has it), so
# figures pinned by tests are the same everywhere; tests/test_precision.py covers auto and bf16.
os.environ.setdefault("UUE_INFERENCE_PRECISION", "fp32")

import pytest

from storage.pg_sandbox import PostgresServer
from storage.store import Store


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'uue.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def write_jsonl(tmp_path: Path):
    """``write_jsonl(lines, name)``: dicts are JSON-encoded, str/bytes written as they are."""

    def write(lines: list, name: str = "users.jsonl") -> Path:
        path = tmp_path / name
        with path.open("wb") as handle:
            for line in lines:
                if isinstance(line, dict):
                    line = json.dumps(line)
                if isinstance(line, str):
                    line = line.encode("utf-8")
                handle.write(line + b"\n")
        return path

    return write
