"""The data-operation commands through CliRunner: ingest --append, users list / delete,
models list / activate, audience --out, and read-only commands on a missing workspace."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from storage.store import Store
from support.fakes import BagOfWordsEmbedder
from support.records import user_line
from uue.search.builds import build_indexes

TOPICS = {"hiking": "trail summit mountain hiking boots", "baking": "sourdough flour oven baking bread",
          "chess": "chess opening gambit endgame rook"}
NAMES = ["alpha", "bravo", "charlie", "delta"]


def run(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args])


@pytest.fixture
def home(tmp_path, write_jsonl) -> Path:
    """A workspace with 12 users, a (bag-of-words) model and built indexes; the pool
    statements ("enjoys hiking"...) are answered from stored vectors, so no model loads."""
    home = tmp_path / "home"
    lines = [{"user_id": f"{topic}-{i}", "metadata": {"country": "DE" if i % 2 == 0 else "FR"},
              "chunks": [{"text": f"{words} {NAMES[i]}"}], "statements": [f"enjoys {topic}"]}
             for topic, words in TOPICS.items() for i in range(4)]
    assert run(home, "ingest", str(write_jsonl(lines))).exit_code == 0
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        model_dir = home / "models" / "bow"
        model_dir.mkdir(parents=True)
        (model_dir / "model.safetensors").write_bytes(b"not loaded in these tests")
        store.register_model(str(model_dir), "bag-of-words", 64)
        build_indexes(store, home / "indexes", progress=False, model=BagOfWordsEmbedder())
    return home


def test_read_only_commands_on_a_missing_workspace_create_nothing(tmp_path):
    missing = tmp_path / "nowhere"
    for args in (["stats"], ["users", "list"], ["users", "show", "u1"], ["users", "delete", "u1"],
                 ["audience", "enjoys hiking"], ["similar", "u1"], ["profile", "u1"], ["index", "stats"],
                 ["index", "verify"], ["index", "build"], ["models", "list"], ["models", "activate", "1"],
                 ["evaluate"], ["train"]):
        result = run(missing, *args)
        assert result.exit_code == 1, (args, result.output)
        assert f"no UUE workspace at {missing}" in result.output and "uue ingest" in result.output, args
        assert "Traceback" not in result.output
    assert not missing.exists()


def test_stats_prints_the_workspace(home):
    result = run(home, "stats")
    assert result.exit_code == 0 and f"workspace   {home}" in result.output
    data = json.loads(run(home, "stats", "--json").output)
    assert data["workspace"] == str(home) and data["database"] == f"sqlite:///{home / 'uue.db'}"


def test_stats_never_prints_a_database_password(tmp_path, monkeypatch):
    from uue.workspace import Workspace

    ws = Workspace.resolve(tmp_path, "postgresql://uue:s3cret@db.example/uue")
    assert "s3cret" not in ws.describe() and "***" in ws.describe()


def test_ingest_append_through_the_cli(home, write_jsonl):
    path = write_jsonl([{"user_id": "chess-0", "chunks": [{"text": "rook endgame tonight"}]}, user_line("new")],
                       "today.jsonl")
    result = run(home, "ingest", str(path), "--append")
    assert result.exit_code == 0, result.output
    assert "1 new users, 1 appended to, 3 chunks" in result.output
    again = json.loads(run(home, "ingest", str(path), "--append", "--json").output)
    assert again["chunks"] == 0 and again["chunks_already_stored"] == 3
    shown = json.loads(run(home, "users", "show", "chess-0", "--json").output)
    assert [c["text"] for c in shown["chunks"]][-1] == "rook endgame tonight" and len(shown["chunks"]) == 2


def test_users_list_and_delete(home, tmp_path):
    listed = run(home, "users", "list", "--where", "country=FR", "--limit", "2")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[0].startswith("hiking-1") and len(listed.stdout.splitlines()) == 2
    assert "2 of 6 users (--offset 2 for more)" in listed.stderr
    data = json.loads(run(home, "users", "list", "--json").output)
    assert data["total"] == 12 and len(data["users"]) == 12
    before = json.loads(run(home, "audience", "enjoys hiking", "-k", "1", "--json").output)[0]["user_id"]
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# to delete\n{before}\n\nghost\n")
    deleted = run(home, "users", "delete", "chess-1", "--file", str(ids))
    assert deleted.exit_code == 0, deleted.output
    assert "deleted 2 user(s)" in deleted.stdout and "not found (1): ghost" in deleted.stderr
    hits = json.loads(run(home, "audience", "enjoys hiking", "-k", "10", "--json").output)
    assert len(hits) == 10 and before not in [h["user_id"] for h in hits]
    assert "chess-1" not in [h["user_id"] for h in hits]
    assert json.loads(run(home, "users", "list", "--json").output)["total"] == 10
    nothing = run(home, "users", "delete", "ghost")
    assert nothing.exit_code == 1 and "not found (1): ghost" in nothing.output and "deleted" not in nothing.output
    assert run(home, "users", "delete").exit_code == 1


def test_models_list_and_activate(home, tmp_path):
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        (tmp_path / "newer").mkdir()
        (tmp_path / "newer" / "model.safetensors").write_bytes(b"w")
        newer = store.register_model(str(tmp_path / "newer"), "bag-of-words", 64)
    listed = run(home, "models", "list")
    assert listed.exit_code == 0 and f"* #{newer}" in listed.output and "serves users+statements" in listed.output
    refused = run(home, "audience", "enjoys hiking")
    assert refused.exit_code == 1 and "run `uue index rebuild`" in refused.output
    back = run(home, "models", "activate", "1")
    assert back.exit_code == 0, back.output
    assert "model #1" in back.output and "until you run" not in back.output  # its indexes still serve
    assert run(home, "audience", "enjoys hiking", "-k", "2").exit_code == 0
    unknown = run(home, "models", "activate", "42")
    assert unknown.exit_code == 1 and "unknown model #42" in unknown.output


def test_audience_out_and_min_score(home, tmp_path):
    out = tmp_path / "hikers.csv"
    result = run(home, "audience", "enjoys hiking", "--out", str(out))
    assert result.exit_code == 0 and "wrote 12 users" in result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12 and rows[0]["user_id"].startswith("hiking")
    cut = float(rows[3]["score"])
    best = json.loads(run(home, "audience", "enjoys hiking", "--min-score", str(cut), "--json").output)
    assert all(h["score"] >= cut for h in best) and 1 <= len(best) <= 10
    jsonl = tmp_path / "de.jsonl"
    result = run(home, "audience", "enjoys hiking", "--where", "country=DE", "-k", "3", "--out", str(jsonl), "--json")
    assert json.loads(result.output) == {"out": str(jsonl), "users": 3}
    assert [json.loads(line)["rank"] for line in jsonl.read_text().splitlines()] == [1, 2, 3]
    bad = run(home, "audience", "enjoys hiking", "--out", str(tmp_path / "x.xlsx"))
    assert bad.exit_code == 1 and "*.csv or *.jsonl" in bad.output


def test_the_demos_follow_up_commands_run_on_its_workspace(home):
    import shlex

    from uue.jobs.pipeline import follow_up_commands

    commands = follow_up_commands(home, "enjoys hiking", "chess-1")
    assert all(c.startswith(f"uue --home {shlex.quote(str(home))} ") for c in commands)
    for command in commands:
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.output)
