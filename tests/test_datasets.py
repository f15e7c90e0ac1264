"""Datasets (uue.data): format validity, determinism, the no-verbatim property, laziness, MovieLens, CLI."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import re
import statistics
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from storage.errors import UUEError
from storage.records import split_for, validate_statement, validate_user
from uue.data import DATASETS, load_dataset, write_jsonl
from uue.data.movielens import GENRE_STATEMENTS, find_ml100k
from uue.data.synthetic import SyntheticDataset, all_topics
from uue.data.templates import STOPWORDS


def _ml100k_available() -> bool:
    try:
        find_ml100k()
    except UUEError:
        return False
    return True


needs_ml100k = pytest.mark.skipif(not _ml100k_available(),
                                  reason="MovieLens-100k absent: pip install --no-deps recbole==1.2.1")


@pytest.fixture(scope="module")
def synthetic_users() -> list[dict]:
    return list(load_dataset("synthetic", n_users=600, seed=7).iter_users())


@pytest.fixture(scope="module")
def movielens_users() -> list[dict]:
    if not _ml100k_available():
        pytest.skip("MovieLens-100k absent: pip install --no-deps recbole==1.2.1")
    return list(load_dataset("movielens").iter_users())


# ---- registry ---------------------------------------------------------------------------------


def test_registry_and_factory_errors() -> None:
    assert set(DATASETS) == {"synthetic", "movielens", "parlspeech"}
    with pytest.raises(UUEError, match="unknown dataset 'nope'.*movielens, parlspeech, synthetic"):
        load_dataset("nope")
    with pytest.raises(UUEError, match="does not take option.*colour"):
        load_dataset("synthetic", colour="red")
    with pytest.raises(UUEError, match="n_topics"):
        load_dataset("synthetic", n_topics=10_000)


# ---- synthetic ----------------------------------------------------------------------------------


def test_lexicon_has_enough_topics() -> None:
    topics = all_topics()
    assert len(topics) >= 200
    for t in topics:
        assert t.statements and len(t.nouns) >= 2
    facet_statements = [t.statements[-1] for t in topics]
    assert len(set(facet_statements)) == len(facet_statements)


def test_synthetic_users_are_valid_and_plausible(synthetic_users: list[dict]) -> None:
    pool = {s["text"] for s in load_dataset("synthetic").statement_pool()}
    for user in synthetic_users:
        record = validate_user(json.loads(json.dumps(user)))
        assert "split" not in user and record["split"] == split_for(user["user_id"])
        assert 1 <= len(user["chunks"]) <= 30
        assert user["statements"] and set(user["statements"]) <= pool
        assert not set(user["statements"]) & set(user["negative_statements"])
        assert set(user["negative_statements"]) <= pool
        stamps = [c["timestamp"] for c in record["chunks"]]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert {c["platform"] for c in user["chunks"]} <= {"reddit", "twitter", "forum", "review"}
        assert set(user["traits"]) == {"age", "activity_level", "openness"}
        assert set(user["metadata"]) == {"country", "cohort"}
    n_chunks = [len(u["chunks"]) for u in synthetic_users]
    assert 7 <= statistics.mean(n_chunks) <= 13 and max(n_chunks) > 15
    assert len({u["user_id"] for u in synthetic_users}) == len(synthetic_users)


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "s", "y", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "y" and word[-2] in "aeiou":
                continue
            word = word[: -len(suffix)]
            break
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


def test_chunks_never_contain_the_users_statement_words(synthetic_users: list[dict]) -> None:
    checked = 0
    for user in synthetic_users:
        tokens = {w for c in user["chunks"] for w in re.findall(r"[a-z]+", c["text"].lower())}
        text = " ".join(c["text"].lower() for c in user["chunks"])
        for statement in user["statements"]:
            for word in re.findall(r"[a-z]+", statement.lower()):
                if len(word) < 4 or word in STOPWORDS:
                    continue
                assert word not in text, (user["user_id"], statement, word)
                prefix = _stem(word)
                clash = [t for t in tokens if t.startswith(prefix)]
                assert not clash, (user["user_id"], statement, prefix, clash)
                checked += 1
    assert checked > 1000
    hikers = [u for u in synthetic_users if "enjoys hiking" in u["statements"]]
    assert hikers and all("hik" not in c["text"].lower() for u in hikers for c in u["chunks"])


def test_chunks_are_about_the_interests(synthetic_users: list[dict]) -> None:
    # Posts are written from the interest's own vocabulary: its nouns show up in the chunks.
    by_statement = {t.statements[-1]: t for t in all_topics()}
    hits = total = 0
    for user in synthetic_users:
        text = " ".join(c["text"] for c in user["chunks"])
        for statement in user["statements"]:
            if statement in by_statement:
                total += 1
                hits += any(n in text for n in by_statement[statement].nouns)
    assert hits / total > 0.95


def test_traits_follow_interests(synthetic_users: list[dict]) -> None:
    # Each trait is a noisy function of the user's interests: learnable from their history.
    by_statement = {t.statements[-1]: t for t in all_topics()}
    for i, trait in enumerate(("age", "activity_level", "openness")):
        expected, actual = [], []
        for user in synthetic_users:
            topics = [by_statement[s] for s in user["statements"] if s in by_statement]
            expected.append(statistics.mean(t.traits[i] for t in topics))
            actual.append(user["traits"][trait])
        assert statistics.correlation(expected, actual) > 0.5, trait


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    paths = []
    for i, seed in enumerate((3, 3, 4)):
        out = tmp_path / f"u{i}.jsonl"
        assert write_jsonl(load_dataset("synthetic", n_users=150, seed=seed), out, tmp_path / f"s{i}.jsonl",
                           progress=False) == 150
        paths.append(out.read_bytes())
    assert paths[0] == paths[1] and paths[0] != paths[2]
    assert (tmp_path / "s0.jsonl").read_bytes() == (tmp_path / "s1.jsonl").read_bytes()


def test_options_n_topics_and_split() -> None:
    small = load_dataset("synthetic", n_users=200, n_topics=20, seed=1)
    allowed = {s for t in all_topics()[:20] for s in t.statements}
    users = list(small.iter_users())
    assert all(set(u["statements"]) <= allowed for u in users)
    assert {p["text"] for p in small.statement_pool()} == allowed
    assert all(u["split"] == split_for(u["user_id"])
               for u in load_dataset("synthetic", n_users=20, split="hash").iter_users())
    assert {u["split"] for u in load_dataset("synthetic", n_users=20, split="dev").iter_users()} == {"dev"}


def test_iter_users_is_lazy_and_memory_flat() -> None:
    huge = load_dataset("synthetic", n_users=10**9)
    t0 = time.perf_counter()
    stream = huge.iter_users()
    assert inspect.isgenerator(stream)
    first = list(itertools.islice(stream, 50))
    assert len(first) == 50 and time.perf_counter() - t0 < 5

    def peak_while_consuming(n: int) -> int:
        tracemalloc.start()
        for _ in itertools.islice(huge.iter_users(), n):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_while_consuming(200), peak_while_consuming(2000)
    assert large < small * 2 + 200_000


def test_write_jsonl_is_atomic_and_pool_is_valid(tmp_path: Path) -> None:
    out, pool = tmp_path / "sub" / "users.jsonl", tmp_path / "statements.jsonl"
    assert write_jsonl(load_dataset("synthetic", n_users=30), out, pool, progress=False) == 30
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["statements.jsonl", "sub", "users.jsonl"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # a normal file, not mkstemp's private 0600
    lines = pool.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 250 and all(validate_statement(json.loads(x))["category"] for x in lines)

    class Broken(SyntheticDataset):
        def iter_users(self):  # type: ignore[override]
            yield from itertools.islice(super().iter_users(), 3)
            raise RuntimeError("boom")

    before = out.read_bytes()
    with pytest.raises(RuntimeError):
        write_jsonl(Broken(n_users=10), out, progress=False)
    assert out.read_bytes() == before and not list(tmp_path.rglob("*.tmp"))


# ---- MovieLens ----------------------------------------------------------------------------------


@needs_ml100k
def test_movielens_users(movielens_users: list[dict]) -> None:
    assert len(movielens_users) == 943
    pool = load_dataset("movielens").statement_pool()
    texts = {p["text"] for p in pool}
    assert {p["category"] for p in pool} == {"demographic", "occupation", "genre"}
    n_ratings = 0
    for user in movielens_users:
        record = validate_user(user)
        assert user["statements"] and set(user["statements"]) <= texts
        assert set(user["negative_statements"]) <= texts
        assert not set(user["statements"]) & set(user["negative_statements"])
        stamps = [c["timestamp"] for c in record["chunks"]]
        assert stamps == sorted(stamps)
        assert all(c["platform"] == "movielens" for c in user["chunks"])
        lines = [ln for c in user["chunks"] for ln in c["text"].split("\n")]
        assert all(re.match(r"Rated [1-5]/5: .+", ln) for ln in lines)
        assert all(len(c["text"].split("\n")) <= 10 for c in user["chunks"])
        n_ratings += len(lines)
        assert set(user["traits"]) == {"age", "mean_rating", "log_n_ratings"}
        assert user["metadata"]["gender"] in {"F", "M"}
        # Statement phrasing never appears in the history text (titles may say "Films": real data).
        text = " ".join(c["text"].lower() for c in user["chunks"])
        assert not any(s in text for s in texts) and "enjoys" not in text
    assert n_ratings == 100_000
    with_genre = sum(any(s in GENRE_STATEMENTS.values() for s in u["statements"]) for u in movielens_users)
    assert with_genre > 700
    star_wars = next(u for u in movielens_users if u["user_id"] == "ml1")
    assert star_wars["traits"]["age"] == 24.0 and "is in their twenties" in star_wars["statements"]
    assert "is a man" in star_wars["statements"] and "is a woman" in star_wars["negative_statements"]


@needs_ml100k
def test_movielens_options() -> None:
    few = list(load_dataset("movielens", n_users=5, ratings_per_chunk=50).iter_users())
    assert [u["user_id"] for u in few] == ["ml1", "ml2", "ml3", "ml4", "ml5"]
    assert all(len(c["text"].split("\n")) <= 50 for u in few for c in u["chunks"])
    with pytest.raises(UUEError, match="ratings_per_chunk"):
        load_dataset("movielens", ratings_per_chunk=0)


def test_movielens_grouplens_directory(tmp_path: Path) -> None:
    # A tiny hand-made directory in the GroupLens layout (latin-1, pipe-separated, 19 genre flags).
    d = tmp_path / "ml-100k"
    d.mkdir()
    flags = lambda *on: "|".join("1" if i in on else "0" for i in range(19))  # noqa: E731
    (d / "u.item").write_bytes(
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags(3, 4, 5)}\n"
        f"2|Café Express (1980)|01-Jan-1980||http://y|{flags(8)}\n"
        f"3|Alien (1979)|01-Jan-1979||http://z|{flags(11, 15)}\n".encode("latin-1"))
    (d / "u.user").write_text("1|31|F|writer|12345\n2|65|M|other|V3N4P\n", encoding="latin-1")
    rows = [(1, i % 3 + 1, r, 880000000 + 100 * i) for i, r in enumerate([5, 2, 1] * 5)]
    rows += [(2, 3, 4, 870000000), (2, 1, 3, 860000000)]
    (d / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    users = list(load_dataset("movielens", path=str(tmp_path), ratings_per_chunk=5).iter_users())
    assert [validate_user(u)["user_id"] for u in users] == ["ml1", "ml2"]
    first, second = users
    assert len(first["chunks"]) == 3 and first["chunks"][0]["timestamp"] == "1997-11-20T04:26:40Z"
    assert first["chunks"][0]["text"].startswith("Rated 5/5: Toy Story (1995) — Animation, Children's, Comedy")
    assert "Café Express (1980)" in first["chunks"][0]["text"]
    assert {"is in their thirties", "is a woman", "is a writer", "enjoys animated films"} <= set(first["statements"])
    assert {"enjoys dramas", "enjoys horror films", "is a man"} <= set(first["negative_statements"])
    assert second["statements"] == ["is sixty or older", "is a man"]  # "other": no occupation statement
    assert second["chunks"][0]["text"].startswith("Rated 3/5: Toy Story")  # time order, not file order
    assert second["metadata"] == {"gender": "M", "occupation": "other", "zip_prefix": "V3N", "age_band": "60+"}


def test_movielens_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UUEError, match="pip install --no-deps recbole==1.2.1.*--path"):
        load_dataset("movielens", path=str(tmp_path))


# ---- CLI ----------------------------------------------------------------------------------------


def test_cli_datasets(tmp_path: Path) -> None:
    runner = CliRunner()
    out, pool = tmp_path / "users.jsonl", tmp_path / "statements.jsonl"
    result = runner.invoke(main, ["datasets", "synthetic", "--out", str(out), "--users", "25", "--seed", "2",
                                  "--statements-out", str(pool)])
    assert result.exit_code == 0, result.output
    assert "wrote 25 synthetic users" in result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25 and all(validate_user(json.loads(x)) for x in lines) and pool.stat().st_size > 0

    result = runner.invoke(main, ["datasets", "nope", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "'nope' is not one of" in result.output and "synthetic" in result.output
    result = runner.invoke(main, ["datasets", "movielens", "--path", str(tmp_path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "recbole" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "m").exists()


@needs_ml100k
def test_cli_datasets_movielens(tmp_path: Path) -> None:
    out = tmp_path / "ml.jsonl"
    result = CliRunner().invoke(main, ["datasets", "movielens", "--out", str(out), "--users", "10"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10
