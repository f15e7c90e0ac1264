"""``uue evaluate`` says what it skipped and why, groups by --attribute, warns about training
users in --data; the figures: epoch ends, no dip from a small last batch, integer k, one "other"."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner
from test_report import POOL, KeywordEmbedder, tiny_users, user

from cli import main
from storage.errors import UUEError
from storage.store import Store
from support.records import user_line
from uue.evaluation.report import create_evaluation_report
from uue.evaluation.skipped import skipped_sections


def test_an_evaluation_names_what_it_could_not_measure(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    users = [user("u0", ["cats"], ["likes cats"]), user("u1", ["dogs"], ["likes dogs"])]
    create_evaluation_report(KeywordEmbedder(), users, POOL, tmp_path, baselines=(), held_out=set())
    report = (tmp_path / "report.md").read_text()
    for words in ("zero-shot: the statement pool has no held-out statements",
                  "profile ROC-AUC: no evaluated user has both statements and negative_statements",
                  "traits: the evaluated users carry no trait values",
                  "similarity by attribute: no user metadata key suits grouping the 2 users",
                  "--attribute KEY", "similar users (half recall@1): fewer than 2 evaluated users"):
        assert words in report and words in caplog.text
    assert "Not measured on these users:" in report


def test_nothing_is_reported_skipped_when_everything_was_measured():
    metrics = {"zero_shot/n_pairs": 4.0, "zero_shot/roc_auc_per_statement": 0.7, "zero_shot/audience_ndcg@10": 0.5,
               "profile/n_users": 3.0, "traits/age/r2": 0.1, "similar/n_users": 10.0}
    assert skipped_sections(metrics, n_users=10, n_held_out=2, attribute="country", systems=["model", "tfidf"],
                            baselines=["tfidf"]) == []
    assert skipped_sections(metrics, n_users=10, n_held_out=2, attribute="country", systems=["model"],
                            baselines=["base"]) == ["baseline 'base': it could not be built (see the warning above)"]


def test_the_attribute_chooses_the_similarity_grouping():
    users = tiny_users()
    chosen = create_evaluation_report(KeywordEmbedder(), users * 2, POOL, baselines=(), attribute="pet")
    assert "similarity/neighbour_agreement@10" in chosen["model"]


@pytest.fixture
def evaluated_home(tmp_path, write_jsonl, monkeypatch):
    """A workspace with users and an active model whose evaluation is stubbed: these tests
    are about what evaluate_from_store checks and warns before it evaluates."""
    import uue.jobs.pipeline as pipeline

    home = tmp_path / "home"
    home.mkdir()
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        store.ingest_file(write_jsonl([user_line(f"u{i}", split="train" if i < 3 else "test",
                                                 metadata={"country": "DE"}) for i in range(5)]))
        store.register_model(str(tmp_path / "model"), "tiny", 8)
    calls = []

    class Evaluator:
        def __init__(self, path, **options):  # e.g. trust_remote_code
            self.model = KeywordEmbedder()
            self.model.config = type("C", (), {"training_mode": "full"})()

    monkeypatch.setattr("uue.model.inference.UniversalUserEmbeddingEvaluator", Evaluator)
    monkeypatch.setattr("uue.evaluation.report.create_evaluation_report",
                        lambda *a, **kw: calls.append(kw) or {"model": {"retrieval/recall@1": 1.0}})
    return home, calls, pipeline


def test_evaluate_warns_when_data_holds_training_users(evaluated_home, write_jsonl, caplog):
    home, calls, _ = evaluated_home
    data = write_jsonl([user_line("u0"), user_line("u1"), user_line("stranger")], "eval.jsonl")
    result = CliRunner().invoke(main, ["--home", str(home), "evaluate", "--data", str(data), "--json",
                                       "--attribute", "country"])
    assert result.exit_code == 0, result.output
    assert "2 of the 3 users in" in caplog.text and "trained on them, e.g. u0, u1" in caplog.text
    assert calls[-1]["attribute"] == "country"
    assert json.loads(result.stdout) == {"model": {"retrieval/recall@1": 1.0}}


def test_evaluate_refuses_an_attribute_the_users_lack(evaluated_home):
    home, calls, pipeline = evaluated_home
    result = CliRunner().invoke(main, ["--home", str(home), "evaluate", "--attribute", "colour"])
    assert result.exit_code == 1 and "--attribute 'colour' is not a metadata key" in result.output
    assert "they have: country" in result.output and not calls
    with Store(f"sqlite:///{home / 'uue.db'}") as store, pytest.raises(UUEError):
        pipeline.evaluate_from_store(store, home / "r", attribute="colour")


# ---- figures --------------------------------------------------------------------------------


def history(epochs: int = 3, per_epoch: int = 4, last: int = 2) -> dict:
    """Full batches of 8 users and a last batch of ``last`` whose loss dips (fewer negatives)."""
    loss, users, records = [], [], [{"epoch": 0, "dev_recall@10": 0.1}]
    for e in range(epochs):
        for s in range(per_epoch):
            small = s == per_epoch - 1
            loss.append(0.5 if small else 2.0 - 0.1 * (e * per_epoch + s))
            users.append(last if small else 8)
        records.append({"epoch": e + 1, "steps": (e + 1) * per_epoch, "dev_recall@10": 0.2 + 0.1 * e})
    return {"step_loss": loss, "step_users": users, "temperature": [0.05] * len(loss), "epochs": records}


def test_epoch_ends_and_small_batches_in_the_curves(tmp_path):
    from uue.jobs.pipeline import report_curves
    from uue.training.plots import epoch_end_steps, full_batch_steps, plot_training_curves

    h = history()
    assert epoch_end_steps(h) == [4, 8, 12]
    assert full_batch_steps(h).tolist() == [True, True, True, False] * 3
    old = {"step_loss": [1.0] * 12, "epochs": [{"epoch": 0}, {"epoch": 1}, {"epoch": 2}, {"epoch": 3}]}
    assert epoch_end_steps(old) == [4, 8, 12] and full_batch_steps(old).all()  # histories written before
    path = tmp_path / "training_curves.json"
    path.write_text(json.dumps(h))
    curves = report_curves(path)
    assert curves["loss"][3] is None and curves["loss"][2] == pytest.approx(1.8)  # no dip to 0.5
    assert curves["dev_recall@10_step"] == [0, 4, 8, 12] and curves["epoch_ends"] == [4, 8]
    plot_training_curves(h, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_figures_integer_k_epoch_lines_and_one_other(tmp_path, monkeypatch):
    import matplotlib.axes

    from uue.evaluation import plots

    drawn: dict[str, list] = {"legend": [], "vlines": [], "xticks": []}
    real_legend, real_axvline = matplotlib.axes.Axes.legend, matplotlib.axes.Axes.axvline

    def legend(ax, *args, **kwargs):
        drawn["legend"].append([t.get_text() for t in (real_legend(ax, *args, **kwargs)).get_texts()])

    def axvline(ax, x=0, *args, **kwargs):
        drawn["vlines"].append(x)
        return real_axvline(ax, x, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "legend", legend)
    monkeypatch.setattr(matplotlib.axes.Axes, "axvline", axvline)
    real_save = plots._save

    def save(fig, path):
        drawn["xticks"].append([t for ax in fig.axes for t in ax.get_xticks()])
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", save)
    plots.plot_recall_curves({"model": np.linspace(0.1, 0.6, 7)}, tmp_path / "r.png")
    assert drawn["xticks"][-1] and all(float(t).is_integer() for t in drawn["xticks"][-1])
    labels = [f"job{i}" for i in range(14) for _ in range(3)] + ["other"] * 5
    plots.plot_user_map(np.random.default_rng(0).normal(size=(len(labels), 4)), labels, tmp_path / "m.png")
    assert [t.lower() for t in drawn["legend"][-1]].count("other") == 1
    plots.plot_training_curves({"step": list(range(1, 13)), "loss": [1.0] * 12, "epoch_ends": [4, 8]},
                               tmp_path / "c.png")
    assert drawn["vlines"][-2:] == [4.5, 8.5]
