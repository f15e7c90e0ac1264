"""MovieLens-100k as real users (``load_dataset("movielens")``): 943 people, 100k ratings.

Reads either the copy that ``recbole`` ships (``<site-packages>/recbole/dataset_example/
ml-100k/ml-100k.{inter,item,user}``, found without importing recbole) or a GroupLens
``ml-100k/`` directory (``u.data``, ``u.item``, ``u.user``, latin-1).

- chunks: the user's ratings in time order, ``ratings_per_chunk`` per chunk, one line each
  (``Rated 5/5: Star Wars (1977) — Action, Adventure, Sci-Fi``); the chunk's timestamp is
  its first rating's; platform ``movielens``.
- statements (true, from the recorded profile): the age band (decades: "is in their
  twenties"), gender ("is a woman" / "is a man"), occupation ("is a programmer"; none for
  "other" / "none"), and genre tastes: "enjoys science fiction films" when the user rated
  at least ``min_genre_ratings`` films of the genre and their mean on it is at least
  ``genre_margin`` stars above their own overall mean.
- negative statements (known false): genre tastes the other way round (mean at least
  ``genre_margin`` below their own mean, same minimum count: "enjoys horror films" is
  false of them), every other age band, and the other gender as recorded in the dataset
  (a binary field there). Occupations are never negatives: one recorded occupation does
  not make the others false (a student can be a writer).
- traits: ``age``, ``mean_rating``, ``log_n_ratings`` (natural log of the rating count).
- metadata: ``gender``, ``occupation``, ``zip_prefix`` (first 3 characters), ``age_band``
  ("20-29").
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storage.errors import UUEError

logger = logging.getLogger(__name__)

GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western")  # the order of u.item's 19 flags
GENRE_STATEMENTS = {
    "Action": "enjoys action films", "Adventure": "enjoys adventure films",
    "Animation": "enjoys animated films", "Children's": "enjoys children's films",
    "Comedy": "enjoys comedies", "Crime": "enjoys crime films", "Documentary": "enjoys documentaries",
    "Drama": "enjoys dramas", "Fantasy": "enjoys fantasy films", "Film-Noir": "enjoys film noir",
    "Horror": "enjoys horror films", "Musical": "enjoys musicals", "Mystery": "enjoys mysteries",
    "Romance": "enjoys romantic films", "Sci-Fi": "enjoys science fiction films",
    "Thriller": "enjoys thrillers", "War": "enjoys war films", "Western": "enjoys westerns",
}
OCCUPATION_STATEMENTS = {
    "administrator": "works as an administrator", "artist": "is an artist", "doctor": "is a doctor",
    "educator": "works in education", "engineer": "is an engineer", "entertainment": "works in entertainment",
    "executive": "is an executive", "healthcare": "works in healthcare", "homemaker": "is a homemaker",
    "lawyer": "is a lawyer", "librarian": "is a librarian", "marketing": "works in marketing",
    "programmer": "is a programmer", "retired": "is retired", "salesman": "works in sales",
    "scientist": "is a scientist", "student": "is a student", "technician": "works as a technician",
    "writer": "is a writer",
}  # "other" and "none" say nothing
GENDER_STATEMENTS = {"F": "is a woman", "M": "is a man"}
AGE_BANDS = ((0, 20, "under 20", "is in their teens or younger"), (20, 30, "20-29", "is in their twenties"),
             (30, 40, "30-39", "is in their thirties"), (40, 50, "40-49", "is in their forties"),
             (50, 60, "50-59", "is in their fifties"), (60, 200, "60+", "is sixty or older"))

_MISSING = ("MovieLens-100k not found{where}. Install the copy recbole ships with "
            "`pip install --no-deps recbole==1.2.1`, or pass --path to an ml-100k directory "
            "(GroupLens u.data/u.item/u.user, or recbole's ml-100k.inter/.item/.user).")


def age_band(age: int) -> tuple[str, str]:
    """(label, statement) of the age band of ``age``."""
    return next((label, text) for lo, hi, label, text in AGE_BANDS if lo <= age < hi)


def find_ml100k(path: str | Path | None = None) -> tuple[Path, str]:
    """The MovieLens-100k directory and its format (``"grouplens"`` or ``"recbole"``)."""
    if path is None:
        spec = importlib.util.find_spec("recbole")  # locates the package without importing it
        if spec is None or spec.origin is None:
            raise UUEError(_MISSING.format(where=" (recbole is not installed)"))
        candidates = [Path(spec.origin).parent / "dataset_example" / "ml-100k"]
    else:
        root = Path(path).expanduser()
        candidates = [root, root / "ml-100k"]
    for d in candidates:
        if (d / "u.data").is_file() and (d / "u.item").is_file() and (d / "u.user").is_file():
            return d, "grouplens"
        if all((d / f"ml-100k.{ext}").is_file() for ext in ("inter", "item", "user")):
            return d, "recbole"
    raise UUEError(_MISSING.format(where=f" in {candidates[0]}"))


def _read_recbole(d: Path) -> tuple[dict, dict, list]:
    def rows(name: str) -> Iterator[list[str]]:
        with open(d / f"ml-100k.{name}", encoding="utf-8") as fh:
            next(fh)  # header
            for line in fh:
                if line.strip():
                    yield line.rstrip("\n").split("\t")

    items = {}
    for r in rows("item"):
        title = f"{r[1]} ({r[2]})" if len(r) > 2 and r[2] else r[1]
        items[r[0]] = (title, tuple(g for g in (r[3].split() if len(r) > 3 else ()) if g != "unknown"))
    users = {r[0]: (int(r[1]), r[2], r[3], r[4]) for r in rows("user")}
    ratings = [(r[0], r[1], int(float(r[2])), int(float(r[3]))) for r in rows("inter")]
    return items, users, ratings


def _read_grouplens(d: Path) -> tuple[dict, dict, list]:
    def rows(name: str, sep: str) -> Iterator[list[str]]:
        with open(d / name, encoding="latin-1") as fh:
            for line in fh:
                if line.strip():
                    yield line.rstrip("\n").split(sep)

    items = {}
    for r in rows("u.item", "|"):
        flags = r[5:24]
        items[r[0]] = (r[1], tuple(g for g, f in zip(GENRES, flags) if f == "1" and g != "unknown"))
    users = {r[0]: (int(r[1]), r[2], r[3], r[4]) for r in rows("u.user", "|")}
    ratings = [(r[0], r[1], int(r[2]), int(r[3])) for r in rows("u.data", "\t")]
    return items, users, ratings


class MovieLensDataset:
    """MovieLens-100k users; see the module docstring for how statements are derived."""

    name = "movielens"

    def __init__(self, path: str | Path | None = None, ratings_per_chunk: int = 10, n_users: int | None = None,
                 min_genre_ratings: int = 5, genre_margin: float = 0.3) -> None:
        if ratings_per_chunk < 1:
            raise ValueError("ratings_per_chunk must be >= 1")
        if n_users is not None and n_users < 0:
            raise ValueError("n_users must be >= 0")
        self.directory, self.format = find_ml100k(path)
        self.ratings_per_chunk = ratings_per_chunk
        self.n_users = n_users
        self.min_genre_ratings = min_genre_ratings
        self.genre_margin = genre_margin
        self._data: tuple[dict, dict, dict] | None = None

    def _load(self) -> tuple[dict, dict, dict]:
        if self._data is None:
            reader = _read_grouplens if self.format == "grouplens" else _read_recbole
            try:
                items, users, ratings = reader(self.directory)
            except (ValueError, IndexError, UnicodeDecodeError) as exc:
                raise UUEError(f"{self.directory}: not a readable MovieLens-100k file set ({exc})") from None
            by_user: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
            for uid, iid, rating, ts in ratings:
                by_user[uid].append((ts, iid, rating))
            logger.info("MovieLens-100k (%s) from %s: %d users, %d items, %d ratings",
                     self.format, self.directory, len(users), len(items), len(ratings))
            self._data = (items, users, dict(by_user))
        return self._data

    def user_ids(self) -> list[str]:
        _, users, by_user = self._load()
        ids = sorted((u for u in users if u in by_user), key=int)
        return ids if self.n_users is None else ids[: self.n_users]

    def __len__(self) -> int:
        return len(self.user_ids())

    def statement_pool(self) -> list[dict[str, Any]]:
        pool = [{"text": text, "category": "demographic"} for *_, text in AGE_BANDS]
        pool += [{"text": text, "category": "demographic"} for text in GENDER_STATEMENTS.values()]
        pool += [{"text": text, "category": "occupation"} for text in OCCUPATION_STATEMENTS.values()]
        pool += [{"text": text, "category": "genre"} for text in GENRE_STATEMENTS.values()]
        return pool

    def iter_users(self) -> Iterator[dict[str, Any]]:
        items, users, by_user = self._load()
        for uid in self.user_ids():
            yield self._user(uid, users[uid], sorted(by_user[uid]), items)

    def _user(self, uid: str, profile: tuple[int, str, str, str], ratings: list[tuple[int, str, int]],
              items: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
        age, gender, occupation, zip_code = profile
        chunks = []
        for start in range(0, len(ratings), self.ratings_per_chunk):
            part = ratings[start: start + self.ratings_per_chunk]
            lines = []
            for _, iid, rating in part:
                title, genres = items.get(iid, (f"Unknown movie #{iid}", ()))
                lines.append(f"Rated {rating}/5: {title}" + (f" — {', '.join(genres)}" if genres else ""))
            chunks.append({"text": "\n".join(lines), "platform": "movielens",
                           "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(part[0][0])),
                           "metadata": {"n_ratings": len(part)}})

        mean = sum(r for *_, r in ratings) / len(ratings)
        per_genre: dict[str, list[int]] = defaultdict(list)
        for _, iid, rating in ratings:
            for g in items.get(iid, ("", ()))[1]:
                per_genre[g].append(rating)
        liked, disliked = [], []
        for g in GENRES:
            rs = per_genre.get(g, [])
            if g not in GENRE_STATEMENTS or len(rs) < self.min_genre_ratings:
                continue
            delta = sum(rs) / len(rs) - mean
            if delta >= self.genre_margin:
                liked.append(GENRE_STATEMENTS[g])
            elif delta <= -self.genre_margin:
                disliked.append(GENRE_STATEMENTS[g])

        band_label, band = age_band(age)
        statements = [band]
        negatives = []
        if gender in GENDER_STATEMENTS:
            statements.append(GENDER_STATEMENTS[gender])
            negatives += [s for g, s in GENDER_STATEMENTS.items() if g != gender]
        if occupation in OCCUPATION_STATEMENTS:
            statements.append(OCCUPATION_STATEMENTS[occupation])
        statements += liked
        negatives = disliked + [text for *_, text in AGE_BANDS if text != band] + negatives
        return {
            "user_id": f"ml{uid}",
            "chunks": chunks,
            "statements": statements,
            "negative_statements": negatives,
            "traits": {"age": float(age), "mean_rating": round(mean, 4),
                       "log_n_ratings": round(math.log(len(ratings)), 4)},
            "metadata": {"gender": gender, "occupation": occupation, "zip_prefix": zip_code[:3],
                         "age_band": band_label},
        }
