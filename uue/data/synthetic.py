"""A seeded generator of realistic synthetic users (``load_dataset("synthetic")``).

Each user has 1-4 latent interests (topics: a facet of one of 50 hand-written domains,
``uue.data.topics``), drawn with Zipf-like popularity. Their history mixes posts about
those interests with generic chatter; their statements are the interests' statements,
their negative statements come from domains they have no interest in, and their traits
(``age``, ``activity_level``, ``openness``) are noisy functions of their domains.

No chunk of a user contains a content word of that user's statements, stem-wise
("hiking" excludes "hike", "hiker", "hikes") and inside compounds ("list" excludes
"checklist"; 3-letter stems only at a word's start): posts are written from each topic's
distinctive vocabulary, so a model has to learn the association, not string-match it.

Users are generated one at a time from one ``random.Random(seed)``: the same options
give byte-identical output, and memory stays flat however many users are asked for.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from storage.records import split_for
from uue.data import templates as T
from uue.data.topics import DOMAINS

logger = logging.getLogger(__name__)

_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "s", "y", "e")
_WORD = re.compile(r"[a-z]+")
_SLOT = re.compile(r"\{[A-Za-z]+\}")
_START = 1514764800  # 2018-01-01T00:00:00Z
_SPAN = 6 * 365 * 86400
_PLATFORMS = ("reddit", "twitter", "forum", "review")


def stem(word: str) -> str:
    """A crude stem: strip one common suffix (keeping >= 3 letters), undouble the last consonant.

    A final "y" goes only after a consonant ("study" -> "stud", "stay" stays).
    """
    w = word.lower()
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not (suf == "y" and w[-2] in "aeiou"):
            w = w[: -len(suf)]
            break
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]
    return w


def content_stems(statement: str) -> set[str]:
    """Stems of a statement's content words (>= 4 letters, not a stopword)."""
    return {stem(w) for w in _WORD.findall(statement.lower()) if len(w) >= 4 and w not in T.STOPWORDS}


@dataclass(frozen=True)
class Topic:
    id: int
    domain: str
    statements: tuple[str, ...]  # domain statements first, then the facet statement
    nouns: tuple[str, ...]  # facet nouns first
    n_facet_nouns: int
    lines: tuple[str, ...]
    traits: tuple[float, float, float]  # mean age, activity_level, openness


def _split(text: str, sep: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(sep) if part.strip())


def parse_domains(text: str = DOMAINS) -> list[Topic]:
    """Topics of the lexicon, interleaved (facet 0 of every domain, then facet 1, ...)."""
    by_facet: list[list[Topic]] = []
    for block in text.split("\n## ")[1:]:
        header, *rows = block.strip().splitlines()
        key, stmts, numbers = (part.strip() for part in header.split("|"))
        age, act, openness = (float(x) for x in numbers.split())
        nouns: tuple[str, ...] = ()
        lines: tuple[str, ...] = ()
        facets = []
        for row in rows:
            if row.startswith("nouns:"):
                nouns = _split(row[6:], ",")
            elif row.startswith("lines:"):
                lines = _split(row[6:], ";")
            elif row.startswith("- "):
                statement, facet_nouns = row[2:].split(":", 1)
                facets.append((statement.strip(), _split(facet_nouns, ",")))
        for i, (statement, facet_nouns) in enumerate(facets):
            while len(by_facet) <= i:
                by_facet.append([])
            by_facet[i].append(Topic(0, key, _split(stmts, ";") + (statement,), facet_nouns + nouns,
                                     len(facet_nouns), lines, (age, act, openness)))
    flat = [t for facet in by_facet for t in facet]
    return [Topic(i, t.domain, t.statements, t.nouns, t.n_facet_nouns, t.lines, t.traits) for i, t in enumerate(flat)]


class Vocabulary:
    """Topics plus, for every text piece, the topics whose statement stems it contains."""

    def __init__(self, topics: list[Topic]) -> None:
        by_stem: dict[str, set[int]] = {}
        for topic in topics:
            words = {w for st in topic.statements for w in _WORD.findall(st.lower())
                     if len(w) >= 4 and w not in T.STOPWORDS}
            for s in words | set().union(*(content_stems(st) for st in topic.statements)):
                by_stem.setdefault(s, set()).add(topic.id)
        self.conflicts: dict[str, frozenset[int]] = {}
        self.cap: dict[str, str] = {}  # text -> Capitalised text
        self.tags: dict[str, str] = {}  # noun -> hashtag

        def conflicts(piece: str) -> frozenset[int]:
            if piece not in self.conflicts:
                hit: set[int] = set()
                for word in _WORD.findall(_SLOT.sub(" ", piece).lower()):
                    # a stem at the start of a word, or (4+ letters) anywhere inside it: "checklist"
                    for i in range(len(word) - 2):
                        for k in range(i + (3 if i == 0 else 4), len(word) + 1):
                            hit |= by_stem.get(word[i:k], set())
                self.conflicts[piece] = frozenset(hit)
            return self.conflicts[piece]

        fillers = T.PLACES + T.WHENS + T.NOISE_TEMPLATES + T.TOPIC_TEMPLATES + T.TWEET_TEMPLATES + T.REVIEW_TEMPLATES
        for piece in fillers:
            conflicts(piece)
        self.topics: list[Topic] = []
        dropped = 0
        for t in topics:
            own = [n for n in t.nouns if t.id not in conflicts(n)]
            lines = tuple(ln for ln in t.lines if t.id not in conflicts(ln))
            dropped += len(t.nouns) - len(own) + len(t.lines) - len(lines)
            n_facet = sum(1 for n in t.nouns[: t.n_facet_nouns] if t.id not in conflicts(n))
            if not own:
                raise ValueError(f"topic {t.statements[-1]!r}: every noun shares a stem with its statements")
            for n in own:
                self.tags[n] = n.replace(" ", "").replace("-", "")
                conflicts(self.tags[n])  # hashtags
                self.cap[n] = n[0].upper() + n[1:]  # a noun standing in for a missing line
                conflicts(self.cap[n])
            self.topics.append(Topic(t.id, t.domain, t.statements, tuple(own), n_facet, lines, t.traits))
        for text in {ln for t in self.topics for ln in t.lines} | set(T.WHENS):
            self.cap[text] = text[0].upper() + text[1:]
            conflicts(self.cap[text])
        logger.debug("synthetic vocabulary: %d topics, %d pieces dropped for sharing a statement stem",
                  len(self.topics), dropped)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return Vocabulary(parse_domains())


def all_topics() -> list[Topic]:
    return vocabulary().topics


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class SyntheticDataset:
    """Seeded synthetic users: ``iter_users()`` streams them, ``statement_pool()`` lists every statement."""

    name = "synthetic"

    def __init__(self, n_users: int = 1000, seed: int = 0, n_topics: int | None = None,
                 split: str | None = None) -> None:
        topics = all_topics()
        if n_users < 0:
            raise ValueError("n_users must be >= 0")
        if n_topics is not None and not 2 <= n_topics <= len(topics):
            raise ValueError(f"n_topics must be between 2 and {len(topics)}, got {n_topics}")
        if split not in (None, "hash", "train", "dev", "test"):
            raise ValueError(f"split must be hash, train, dev or test, got {split!r}")
        self.n_users = n_users
        self.seed = seed
        self.split = split
        self.topics = topics[: n_topics or len(topics)]
        vocab = vocabulary()
        self.conflicts, self.cap, self.tags = vocab.conflicts, vocab.cap, vocab.tags
        # Popularity: a fixed (seed-independent) permutation of the topics, Zipf weights 1/rank^0.8.
        ranks = list(range(len(self.topics)))
        random.Random(20240501).shuffle(ranks)
        self.cum_weights = list(itertools.accumulate(1.0 / (r + 1) ** 0.8 for r in ranks))
        self.domains = sorted({t.domain for t in self.topics})
        self.by_domain: dict[str, list[Topic]] = {d: [] for d in self.domains}
        for t in self.topics:
            self.by_domain[t.domain].append(t)

    def __len__(self) -> int:
        return self.n_users

    def statement_pool(self) -> list[dict[str, Any]]:
        seen: dict[str, str] = {}
        for t in self.topics:
            for s in t.statements:
                seen.setdefault(s, t.domain)
        return [{"text": s, "category": c} for s, c in seen.items()]

    def iter_users(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(self.seed)
        for i in range(self.n_users):
            yield self._user(rng, f"u{i:07d}")

    def iter_users_with_topics(self) -> Iterator[tuple[dict[str, Any], list[Topic | None]]]:
        """``iter_users``' users (identical), each with the topic of each of its chunks (None: chatter):
        the ground truth of a user's interests and their shares (``uue.evaluation.interests``)."""
        rng = random.Random(self.seed)
        for i in range(self.n_users):
            topics: list[Topic | None] = []
            yield self._user(rng, f"u{i:07d}", topics), topics

    # -- one user -------------------------------------------------------------------------

    def _interests(self, rng: random.Random) -> list[Topic]:
        r = rng.random
        n = 1 + bisect.bisect(_N_INTERESTS_CUM, r())
        chosen: list[Topic] = []
        total = self.cum_weights[-1]
        for _ in range(20 * n):
            t = self.topics[bisect.bisect(self.cum_weights, r() * total)]
            if t not in chosen:
                chosen.append(t)
                if len(chosen) == n:
                    break
        return chosen

    def _post(self, rng: random.Random, topic: Topic | None, platform: str, mine: frozenset[int]) -> str | None:
        """A post about ``topic`` (None: chatter) free of the stems in ``mine``; None if none fits."""
        r = rng.random
        conflicts, cap, tags = self.conflicts, self.cap, self.tags
        for _ in range(50):
            when = _WHENS[int(r() * len(_WHENS))]
            place = _PLACES[int(r() * len(_PLACES))]
            if topic is None:
                tpl = _NOISE[int(r() * len(_NOISE))]
                pieces: tuple[str, ...] = (tpl, when, place)
            else:
                pool = (_REVIEW if platform == "review" else
                        _TWEET if platform == "twitter" and r() < 0.6 else _TOPIC)
                tpl = pool[int(r() * len(pool))]
                nouns = topic.nouns
                nf = topic.n_facet_nouns
                a = nouns[int(r() * nf)] if nf and r() < 0.5 else nouns[int(r() * len(nouns))]
                b = nouns[int(r() * len(nouns))]
                if b == a and "{b}" in tpl:
                    continue
                line = topic.lines[int(r() * len(topic.lines))] if topic.lines else a
                pieces = (tpl, a, b, when, place, cap[line], cap[when], tags[a])
            for piece in pieces:
                c = conflicts[piece]
                if c and not c.isdisjoint(mine):
                    break
            else:
                if topic is None:
                    return tpl.format(when=when, place=place, n=2 + int(r() * 8))
                return tpl.format(a=a, b=b, line=line, Line=cap[line], when=when, When=cap[when], place=place,
                                  tag=tags[a], n=2 + int(r() * 11), price=_PRICES[int(r() * 5)],
                                  stars=2 + int(r() * 4))
        return None

    def _user(self, rng: random.Random, user_id: str, topics: list[Topic | None] | None = None) -> dict[str, Any]:
        r = rng.random
        interests = self._interests(rng)
        mine = frozenset(t.id for t in interests)
        my_domains = {t.domain for t in interests}
        n_chunks = max(len(interests) + 1, 3 + min(27, int(rng.expovariate(1 / 7))))
        platforms = rng.sample(_PLATFORMS, 1 + bisect.bisect(_N_PLATFORMS_CUM, r()))
        # Every interest gets at least one post; the rest mostly on interests (the first
        # ones more), 15% chatter; shuffled so that position says nothing.
        focus = _FOCUS_CUM[len(interests) - 1]
        plan: list[Topic | None] = list(interests)
        for _ in range(n_chunks - len(interests)):
            plan.append(None if r() < 0.15 else interests[bisect.bisect(focus, r() * focus[-1])])
        rng.shuffle(plan)
        ts = _START + int(r() * _SPAN)
        start = time.gmtime(ts)
        chunks = []
        seen: set[str | None] = set()
        for topic in plan:
            platform = platforms[int(r() * len(platforms))]
            text = self._post(rng, topic, platform, mine)
            for _ in range(3):  # avoid repeating a post word for word
                if text not in seen:
                    break
                text = self._post(rng, topic, platform, mine)
            if text is None:
                topic = None
                text = self._post(rng, None, platform, mine)
                if text is None:
                    continue
            domain = topic.domain if topic else "casual"
            meta: dict[str, Any] = ({"subreddit": domain} if platform == "reddit" else
                                    {"board": domain} if platform == "forum" else
                                    {"verified_purchase": r() < 0.8} if platform == "review" else {})
            seen.add(text)
            if topics is not None:
                topics.append(topic)
            chunks.append({"text": text, "platform": platform, "timestamp": _iso(ts), "metadata": meta})
            ts += 60 + int(rng.expovariate(1 / (3 * 86400)))
        if not chunks:  # only if every template clashed with this user's statements: a lexicon bug
            raise RuntimeError(f"{user_id}: no post fits the user's vocabulary")

        statements = list(dict.fromkeys(s for t in interests for s in t.statements))
        others = [d for d in self.domains if d not in my_domains]
        negatives: list[str] = []
        if others:
            for d in rng.sample(others, min(len(others), rng.randint(2, 4))):
                cands = self.by_domain[d]
                t = cands[int(r() * len(cands))]
                negatives.append(t.statements[-1] if rng.random() < 0.6 else t.statements[0])
        age_mu = sum(t.traits[0] for t in interests) / len(interests)
        act_mu = sum(t.traits[1] for t in interests) / len(interests)
        open_mu = sum(t.traits[2] for t in interests) / len(interests)
        traits = {
            "age": float(min(85, max(16, round(rng.gauss(age_mu, 7))))),
            "activity_level": round(min(1.0, max(0.0, rng.gauss(act_mu, 0.08))), 3),
            "openness": round(min(1.0, max(0.0, rng.gauss(open_mu, 0.08))), 3),
        }
        country = rng.choices(T.COUNTRIES, cum_weights=_COUNTRY_CUM)[0][0]
        cohort = f"{start.tm_year}-H{1 if start.tm_mon <= 6 else 2}"
        user: dict[str, Any] = {
            "user_id": user_id, "chunks": chunks, "statements": statements,
            "negative_statements": list(dict.fromkeys(negatives)), "traits": traits,
            "metadata": {"country": country, "cohort": cohort},
        }
        if self.split == "hash":
            user["split"] = split_for(user_id)
        elif self.split:
            user["split"] = self.split
        return user


_COUNTRY_CUM = tuple(itertools.accumulate(w for _, w in T.COUNTRIES))
_N_INTERESTS_CUM = (0.35, 0.70, 0.90)  # 1, 2, 3 or 4 interests
_N_PLATFORMS_CUM = (0.50, 0.85)  # 1, 2 or 3 platforms
_FOCUS_CUM = tuple(tuple(itertools.accumulate((1.0, 0.6, 0.4, 0.3)[:k])) for k in range(1, 5))
_WHENS, _PLACES, _NOISE = T.WHENS, T.PLACES, T.NOISE_TEMPLATES
_TOPIC, _TWEET, _REVIEW = T.TOPIC_TEMPLATES, T.TWEET_TEMPLATES, T.REVIEW_TEMPLATES
_PRICES = (50, 100, 200, 300, 500)
