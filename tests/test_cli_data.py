"""The data commands through click's CliRunner: exit codes, messages, --json."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from support.records import user_line


def run(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_ingest_stats_show(tmp_path, write_jsonl):
    path = write_jsonl([user_line("u1"), user_line("u2", metadata={"country": "FR"})])
    result = run(tmp_path / "h", "ingest", str(path))
    assert result.exit_code == 0, result.output
    assert "2 new users" in result.output
    stats = run(tmp_path / "h", "stats", "--json")
    data = json.loads(stats.output)
    assert data["users"] == 2 and data["chunks"] == 4 and data["platforms"] == {"reddit": 4}
    shown = run(tmp_path / "h", "users", "show", "u2")
    assert shown.exit_code == 0 and "country=FR" in shown.output and "enjoys hiking" in shown.output
    as_json = json.loads(run(tmp_path / "h", "users", "show", "u2", "--json").output)
    assert as_json["user_id"] == "u2" and len(as_json["chunks"]) == 2


def test_bad_input_exits_nonzero_without_traceback(tmp_path, write_jsonl):
    bad = write_jsonl([user_line("u1"), "{oops"])
    result = run(tmp_path / "h", "ingest", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2: invalid JSON" in result.output
    assert "Traceback" not in result.output
    assert json.loads(run(tmp_path / "h", "stats", "--json").output)["users"] == 0
    missing = run(tmp_path / "h", "users", "show", "nobody")
    assert missing.exit_code == 1 and "unknown user 'nobody'" in missing.output


def test_home_from_environment(tmp_path, write_jsonl, monkeypatch):
    monkeypatch.setenv("UUE_HOME", str(tmp_path / "envhome"))
    result = CliRunner().invoke(main, ["ingest", str(write_jsonl([user_line("u1")]))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "envhome" / "uue.db").exists()


def test_json_output_is_strict_json(capsys) -> None:
    from cli import print_json

    print_json({"model": {"traits/age/r2": float("nan"), "ok": 0.5}, "curve": [float("inf"), 1.0]})
    parsed = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert parsed == {"model": {"traits/age/r2": None, "ok": 0.5}, "curve": [None, 1.0]}
