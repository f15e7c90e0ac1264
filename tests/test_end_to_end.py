"""The whole path through the CLI with a tiny random backbone: ingest → train → index
build → audience / similar / profile → evaluate. Real model code, no download."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from support.tiny_models import tiny_bert
from uue.data import load_dataset, write_jsonl

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    dataset = load_dataset("synthetic", n_users=60, seed=3)
    users, pool = root / "users.jsonl", root / "statements.jsonl"
    write_jsonl(dataset, users, pool, progress=False)
    words = {w for line in users.read_text().splitlines() for w in json.loads(line)["user_id"].split()}
    for item in dataset.statement_pool():
        words.update(item["text"].lower().split())
    for user in dataset.iter_users():
        for chunk in user["chunks"]:
            words.update(chunk["text"].lower().replace(",", " ").replace(".", " ").split())
    backbone = tiny_bert(root / "backbone", sorted(words))
    config = root / "config.json"
    config.write_text(json.dumps({"base_model_name": str(backbone), "num_epochs": 1,
                                  "batch_size": 8, "max_chunk_length": 32, "train_chunks_per_user": 2,
                                  "num_chunks_per_user": 4, "attention_heads": 2}))
    home = root / "home"
    run = lambda *args: CliRunner().invoke(main, ["--home", str(home), *args])  # noqa: E731
    assert run("ingest", str(users), "--statements", str(pool)).exit_code == 0
    return home, config, run


def test_train_build_query_evaluate(workspace):
    home, config, run = workspace
    trained = run("train", "--config", str(config), "--json")
    assert trained.exit_code == 0, trained.output
    model_dir = json.loads(trained.stdout)["model"]
    built = run("index", "build", "--json")
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["counts"]["users"] == 60
    assert run("index", "verify").exit_code == 0

    some_user = json.loads(run("users", "show", "u0000003", "--json").stdout)
    statement = some_user["statements"][0]
    audience = json.loads(run("audience", statement, "-k", "5", "--json").stdout)
    assert len(audience) == 5 and all(set(h) == {"user_id", "score"} for h in audience)
    free_text = run("audience", "someone who likes quiet evenings", "-k", "3", "--json")
    assert free_text.exit_code == 0, free_text.output
    similar = json.loads(run("similar", "u0000003", "-k", "5", "--json").stdout)
    assert "u0000003" not in [h["user_id"] for h in similar]
    profile = run("profile", "u0000003", "-k", "3", "--statement", "enjoys long walks", "--json")
    assert profile.exit_code == 0, profile.output
    assert [h["statement"] for h in json.loads(profile.stdout)][-1] == "enjoys long walks"

    report_dir = home / "report"
    evaluated = run("evaluate", "--output-dir", str(report_dir), "--json")
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert {"model", "base", "tfidf"} <= set(metrics)
    assert 0.0 <= metrics["model"]["retrieval/recall@10"] <= 1.0
    assert (report_dir / "report.md").exists() and (report_dir / "metrics.json").exists()
    assert (report_dir / "training_curves.png").read_bytes()[:4] == b"\x89PNG"

    stats = json.loads(run("index", "stats", "--json").stdout)
    assert stats["active"]["users"]["model_id"] == 1 and model_dir
