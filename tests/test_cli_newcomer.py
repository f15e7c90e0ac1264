"""The CLI as a newcomer meets it: help with examples and the order of steps, -h, choices
checked before any work, refusals that say what to do."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from cli import main
from storage.store import Store
from support.fakes import BagOfWordsEmbedder
from uue.search.builds import build_indexes


def all_commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


def test_every_command_has_an_example_and_h_works():
    runner = CliRunner()
    commands = list(all_commands(main))
    assert len(commands) >= 20
    for path, _ in [((), main), *commands]:
        result = runner.invoke(main, [*path, "-h"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example:" in result.output and "uue" in result.output.split("Example:")[1], path
        assert result.output == runner.invoke(main, [*path, "--help"]).output


def test_top_level_help_shows_the_order_of_the_steps():
    text = CliRunner().invoke(main, ["-h"]).output
    steps = ["uue ingest", "uue train", "uue index build", "uue audience", "uue evaluate"]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    listed = text.split("Commands:")[1].split()
    assert listed.index("ingest") < listed.index("train") < listed.index("index") < listed.index("audience")


def test_choices_are_checked_before_anything_runs(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "train", "--negatives", "semihard"])
    assert result.exit_code == 2 and "'semihard' is not one of 'random', 'hard', 'semi-hard'" in result.output
    result = CliRunner().invoke(main, ["datasets", "movielen", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "'movielen' is not one of" in result.output
    assert not (tmp_path / "h").exists() and not (tmp_path / "x.jsonl").exists()


def test_the_cli_choices_are_the_registered_ones():
    import uue.training.hard_negatives  # noqa: F401  (registers hard and semi-hard)
    from cli.data import DATASET_NAMES
    from uue.data import DATASETS
    from uue.model.config import NEGATIVE_SAMPLERS
    from uue.training.negatives import SAMPLERS

    assert set(NEGATIVE_SAMPLERS) == set(SAMPLERS) and set(DATASET_NAMES) == set(DATASETS)


@pytest.fixture
def home(tmp_path, write_jsonl):
    home = tmp_path / "home"
    home.mkdir()
    lines = [{"user_id": f"u{i}", "metadata": {"country": "DE"},
              "chunks": [{"text": f"hiking trail number {i}", "metadata": {"board": "outdoors"}}],
              "statements": ["enjoys hiking"]} for i in range(5)]
    with Store(f"sqlite:///{home / 'uue.db'}") as store:
        store.ingest_file(write_jsonl(lines))
        store.register_model(str(home / "models" / "bow"), "bag-of-words", 64)
        build_indexes(store, home / "indexes", progress=False, model=BagOfWordsEmbedder())
    return home


def run(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_search_settings_of_another_index_type_are_refused(home):
    result = run(home, "audience", "enjoys hiking", "--ef-search", "64")
    assert result.exit_code == 1 and "--ef-search does not apply to the users index ('Flat')" in result.output
    result = run(home, "similar", "u1", "--nprobe", "4")
    assert result.exit_code == 1 and "--nprobe does not apply" in result.output


def test_recall_reaches_a_calibrated_hnsw_index_and_is_refused_elsewhere(home, tmp_path, write_jsonl):
    result = run(home, "audience", "enjoys hiking", "--recall", "0.9")
    assert result.exit_code == 1 and "--recall does not apply to the users index ('Flat')" in result.output
    big = tmp_path / "big"  # calibration needs index.faiss_tuning.CALIBRATION_MIN_COUNT users
    big.mkdir()
    words = ["hiking", "chess", "cooking", "trail", "opening", "oven", "mountain", "endgame", "recipe"]
    lines = [{"user_id": f"u{i}", "chunks": [{"text": f"{words[i % 9]} {words[(i * 7) % 9]} {words[(i * 5) % 9]}"}]}
             for i in range(5000)]
    with Store(f"sqlite:///{big / 'uue.db'}") as store:
        store.ingest_file(write_jsonl(lines, "big.jsonl"))
        store.register_model(str(big / "models" / "bow"), "bag-of-words", 64)
        build_indexes(store, big / "indexes", factory="HNSW32", progress=False, model=BagOfWordsEmbedder())
    result = run(big, "similar", "u1", "--recall", "0.9", "-k", "5", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 5
    result = run(big, "similar", "u1", "--recall", "1.5")
    assert result.exit_code == 1 and "recall must be a number in (0, 1]" in result.output


def test_profile_json_marks_the_requested_statements(home):
    result = run(home, "profile", "u1", "-k", "1", "--statement", "enjoys hiking", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["requested"] for r in rows] == [False, True]
    assert rows[0]["statement"] == rows[1]["statement"] == "enjoys hiking"


def test_a_filter_of_users_not_indexed_yet_says_to_build(home, write_jsonl, caplog):
    late = [{"user_id": f"late{i}", "metadata": {"country": "FR"}, "chunks": [{"text": "chess"}]} for i in range(2)]
    assert run(home, "ingest", str(write_jsonl(late, "late.jsonl"))).exit_code == 0
    result = run(home, "audience", "enjoys hiking", "--where", "country=FR")
    assert result.exit_code == 1
    assert "2 user(s) match the filter, but none of them is in the index" in result.output
    assert "run `uue index build`" in result.output
    partly = run(home, "audience", "enjoys hiking", "--where", "split=" + json.loads(
        run(home, "users", "show", "late0", "--json").output)["split"], "-k", "10")
    assert partly.exit_code == 0 and "ingested after the last index build" in caplog.text


def test_unknown_filter_keys_list_user_and_chunk_metadata_keys(home):
    result = run(home, "audience", "enjoys hiking", "--where", "colour=red")
    assert result.exit_code == 1
    assert "user metadata key (country)" in result.output and "chunk metadata key (board)" in result.output


def test_an_unknown_backbone_fails_at_once_in_one_line(tmp_path, monkeypatch):
    """Not a directory, not the packaged model, not in the HF cache: one line, no Hub retries
    (the Hub's offline switch unset, as outside `make`), nothing created."""
    import subprocess
    import sys

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    home = tmp_path / "home"
    result = subprocess.run([sys.executable, "-m", "cli", "--home", str(home), "train", "--base-model",
                             "no-such-org/no-such-model"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "base model 'no-such-org/no-such-model' is not a local model directory" in result.stderr
    assert "hf download no-such-org/no-such-model" in result.stderr
    assert not home.exists()
