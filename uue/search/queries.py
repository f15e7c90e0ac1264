"""The three queries, answered from the active index builds.

- ``audience(text)``: statement → the users it describes best;
- ``similar(user_id)``: user → the nearest other users (never the user itself);
- ``profile(user_id)``: user → the pool statements that describe them best, plus a
  score for any free-text statement (open vocabulary, no retraining). Scores are
  cosines; ``calibrated=True`` standardises each statement over users
  (``uue.search.calibration``: standard deviations above the typical user). Raw is the
  default because it measured better on every benchmark set (README). The whole pool is
  scored exactly (one matrix-vector product over the stored statement vectors).

Filters are resolved in SQL to an id set that is applied inside the FAISS search; users
deleted since the build are left out inside the search too (still ``k`` results). A
``Searcher`` keeps the loaded indexes and reloads them when the active build changes,
so a long-running process picks up a rebuild without a restart. A build's file is
checked against its recorded sha256 when it is loaded (``uue.search.loaded``; once per build per process,
again if the file is modified); ``Searcher(..., verify=False)`` skips that, for huge
memory-mapped files whose full read would defeat the mapping.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from index.builds import active_build
from storage.errors import UUEError
from storage.filters import UserFilter, resolve_filter
from storage.store import Store
from storage.tables import IndexBuild
from storage.users import deleted_user_pks
from uue.model.open_vocabulary import OpenVocabulary
from uue.search.calibration import calibrate, statement_stats, user_sample
from uue.search.loaded import LoadedBuild, load_build
from uue.search.results import Profile, QueryError, StaleIndex, StatementHit, UserHit, check_k

logger = logging.getLogger(__name__)

SETTING_FLAGS = {"efSearch": "--ef-search", "nprobe": "--nprobe", "recall": "--recall"}  # the CLI's names of search settings


class Searcher:
    """Answers queries from the store's active builds with the active model."""

    def __init__(self, store: Store, *, model=None, mmap: bool | None = None, verify: bool = True,
                 trust_remote_code: bool = False) -> None:
        self.store, self.mmap, self.verify, self.trust_remote_code = store, mmap, verify, trust_remote_code
        self._model = model
        self._model_id: int | None = None  # the store's id of a model this Searcher loaded itself
        self._vocabulary: tuple[int, OpenVocabulary] | None = None
        self._loaded: dict[str, LoadedBuild] = {}
        self._filters: OrderedDict[tuple[UserFilter, int], np.ndarray] = OrderedDict()
        self._deleted: tuple[tuple[int, int], np.ndarray | None] | None = None  # ((build, version), ids)
        self._lock = threading.RLock()  # one loader at a time: a server shares one Searcher between threads
        self._interests = None  # uue.search.interest_search.InterestSearch, made on first use

    FILTER_CACHE = 64  # resolved filters kept per Searcher (LRU), valid until the next ingest

    def allowed_ids(self, user_filter: UserFilter | None) -> np.ndarray | None:
        """The filter's user ids, from SQL once per data version (repeat queries skip SQL)."""
        if user_filter is None or user_filter.empty:
            return None
        key = (user_filter, self.store.data_version())
        with self._lock:
            if key in self._filters:
                self._filters.move_to_end(key)
                return self._filters[key]
        ids = resolve_filter(self.store, user_filter)
        with self._lock:
            self._filters[key] = ids
            while len(self._filters) > self.FILTER_CACHE:
                self._filters.popitem(last=False)
        return ids

    def deleted_ids(self, users: LoadedBuild) -> np.ndarray | None:
        """Ids of users deleted since the build ``users`` was made (its vectors still hold
        them): left out of every result until the next build drops them."""
        key = (users.build.id, self.store.data_version())
        cached = self._deleted
        if cached is not None and cached[0] == key:
            return cached[1]
        tombstones = deleted_user_pks(self.store)
        present = tombstones[users.vectors.rows(tombstones) >= 0] if len(tombstones) else tombstones
        ids = present if len(present) else None
        self._deleted = (key, ids)
        return ids

    # ---- loading ----------------------------------------------------------------------

    def loaded_build(self, kind: str) -> LoadedBuild:
        """The store's active build of ``kind`` (``"users"``, ``"statements"`` or ``"interests"``), loaded:
        its index, vectors and (statements) what queries score. Loaded and checked once, and again
        when another build is activated; raises ``StaleIndex`` when the build was made with another
        model than the active one, ``NotFound`` when there is no active build of that kind."""
        build = active_build(self.store, kind)
        cached = self._loaded.get(kind)
        if cached is not None and cached.build.id == build.id:
            if build.model_id == self.store.active_model().id:  # another model activated: refuse, as _load does
                return cached
            self._loaded.pop(kind, None)
        with self._lock:  # threads that see the same new build load it once
            cached = self._loaded.get(kind)
            if cached is not None and cached.build.id == build.id:
                return cached
            try:
                return self._load(kind, build)
            except UUEError:
                newer = active_build(self.store, kind)
                if newer.id == build.id:
                    raise
                logger.info("%s build %d was replaced while loading; loading build %d", kind, build.id, newer.id)
                return self._load(kind, newer)  # later builds pruned its files meanwhile

    def _load(self, kind: str, build: IndexBuild) -> LoadedBuild:
        model_row = self.store.active_model()
        if build.model_id != model_row.id:
            raise StaleIndex(f"the {kind} index (build {build.id}) was made with model #{build.model_id}, "
                             f"but the active model is #{model_row.id}: run `uue index rebuild`")
        if build.dim != model_row.embedding_dim:
            raise StaleIndex(f"the {kind} index has dimension {build.dim} but the active model embeds in "
                             f"{model_row.embedding_dim}: run `uue index rebuild`")
        loaded = load_build(build, kind, mmap=self.mmap, verify=self.verify)
        if kind == "statements":
            self._serve_statements(loaded)
        if loaded.index.dim != build.dim:
            raise StaleIndex(f"{build.path} holds {loaded.index.dim}-d vectors, the store says {build.dim}: "
                             "run `uue index rebuild`")
        self._loaded[kind] = loaded
        return loaded

    def model(self):
        """The given model, else the active one: loaded once, and again when another model is activated."""
        if self._model is not None and self._model_id is None:
            return self._model  # given by the caller
        row = self.store.active_model()
        if self._model is None or self._model_id != row.id:
            with self._lock:
                if self._model is None or self._model_id != row.id:
                    from uue.model.dual_encoder import UniversalUserEmbeddingModel

                    logger.info("loading model #%d from %s", row.id, row.path)
                    model = UniversalUserEmbeddingModel.from_pretrained(row.path, checksum=row.checksum,
                                                                        trust_remote_code=self.trust_remote_code)
                    self._model, self._model_id = model.eval(), row.id
        return self._model

    def check_ready(self) -> None:
        """Load (or confirm) both active builds and the model; raise what would stop a query."""
        for kind in ("users", "statements"):
            self.loaded_build(kind)
        self.model()

    def vocabulary(self) -> OpenVocabulary:
        """The active model's open vocabulary: which statements it trained on, and the query
        map for the others (read without loading the transformer)."""
        if self._model is not None and self._model_id is None:  # given by the caller
            if self._vocabulary is None:
                self._vocabulary = (-1, OpenVocabulary.from_model(self._model))
            return self._vocabulary[1]
        row = self.store.active_model()
        if self._vocabulary is None or self._vocabulary[0] != row.id:
            if self._model is not None and self._model_id == row.id:  # loaded (and checked) already
                self._vocabulary = (row.id, OpenVocabulary.from_model(self._model))
                return self._vocabulary[1]
            try:
                self._vocabulary = (row.id, OpenVocabulary.from_pretrained(row.path, checksum=row.checksum))
            except (OSError, ValueError) as exc:
                raise QueryError(f"cannot read the active model #{row.id} at {row.path}: {exc}") from exc
        return self._vocabulary[1]

    def _serve_statements(self, loaded: LoadedBuild) -> None:
        vocabulary = self.vocabulary()
        vectors = np.asarray(loaded.vectors.vectors, dtype=np.float32)
        if not vocabulary.active:
            loaded.served = vectors
            return
        texts = self.store.statement_texts([int(i) for i in loaded.vectors.ids])
        ordered = [texts.get(int(i), "") for i in loaded.vectors.ids]
        loaded.novel = vocabulary.novel(ordered)
        loaded.served = vocabulary.apply(ordered, vectors)
        if loaded.calibration is not None and loaded.novel.any():  # their statistics change with the map
            sample = user_sample(self.loaded_build("users").vectors.vectors)
            loaded.calibration = loaded.calibration.copy()
            loaded.calibration[loaded.novel] = statement_stats(loaded.served[loaded.novel], sample)
        logger.info("%d of %d pool statements are new to the model: scored open-vocabulary",
                    int(loaded.novel.sum()), len(ordered))

    def statement_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Stored vectors for pool statements, the model for anything else."""
        texts = [t.strip() for t in texts]
        if any(not t for t in texts):
            raise QueryError("the statement is empty: give a sentence about a user, e.g. \"enjoys hiking\"")
        known = self.store.statement_ids(texts)
        out = np.zeros((len(texts), self.loaded_build("statements").build.dim), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in known]
        stored = [i for i, t in enumerate(texts) if t in known]
        if stored:
            statements = self.loaded_build("statements")
            vectors = statements.vectors
            rows = vectors.rows(np.array([known[texts[i]] for i in stored]))
            for i, row in zip(stored, rows):
                if row < 0:
                    missing.append(i)
                else:
                    out[i] = statements.served[row]
        if missing:
            rows = sorted(missing)
            out[rows] = self.vocabulary().apply([texts[i] for i in rows],
                                                self.model().encode_statements([texts[i] for i in rows]))
        return out

    def user_vector(self, user_id: str) -> tuple[int, np.ndarray]:
        pk = self.store.user_pk(user_id)
        users = self.loaded_build("users")
        rows = users.vectors.rows(np.array([pk]))
        if rows[0] < 0:
            raise StaleIndex(f"user {user_id!r} was ingested after the last index build: run `uue index build`")
        return pk, np.asarray(users.vectors.vectors[rows[0]], dtype=np.float32)

    # ---- queries ----------------------------------------------------------------------

    @staticmethod
    def check_search_params(users: LoadedBuild, params: dict | None) -> None:
        useless = sorted(set(params or {}) - users.index.search_settings)
        if useless:
            flags = ", ".join(SETTING_FLAGS.get(p, p) for p in useless)
            raise QueryError(f"{flags} does not apply to the users index ({users.build.factory!r}): --ef-search and "
                             "--recall are for HNSW indexes (--recall: of 5,000 users or more, whose build calibrated "
                             "it), --nprobe for IVF ones (`uue index build --factory HNSW32`)")

    def _search_users(self, query: np.ndarray, k: int, allowed: np.ndarray | None, exclude: int | None,
                      params: dict | None) -> list[UserHit]:
        users = self.loaded_build("users")
        self.check_search_params(users, params)
        matching = allowed
        if allowed is not None and exclude is not None:
            allowed = allowed[allowed != exclude]
        if allowed is not None and len(allowed) == 0:
            return []
        want = k + (1 if exclude is not None and allowed is None else 0)
        scores, ids = users.index.search(query[None, :], want, ids=allowed, params=params,
                                         exclude=self.deleted_ids(users))
        pairs = [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0 and i != exclude][:k]
        if len(pairs) < k and matching is not None:  # fewer than asked: users missing from the build?
            self.check_indexed(users, matching)
        names = self.store.user_ids([i for i, _ in pairs])
        return [UserHit(names[i], s) for i, s in pairs if i in names]

    @staticmethod
    def check_indexed(users: LoadedBuild, allowed: np.ndarray) -> None:
        """Refuse a filter none of whose users is in the build (all ingested after it); warn
        when some of them are missing. Called only when a search found fewer than ``k``."""
        indexed = int((users.vectors.rows(allowed) >= 0).sum())
        if indexed == 0:
            raise QueryError(f"{len(allowed)} user(s) match the filter, but none of them is in the index: they were "
                             "ingested after the last build: run `uue index build`")
        if indexed < len(allowed):
            logger.warning("%d of the %d users matching the filter were ingested after the last index build and are "
                           "not searched: run `uue index build`", len(allowed) - indexed, len(allowed))

    def interest_search(self):
        """Queries over the multi-interest build (``interests=True``): ``uue.search.interest_search``."""
        if self._interests is None:
            from uue.search.interest_search import InterestSearch

            self._interests = InterestSearch(self)
        return self._interests

    def audience(self, text: str, k: int = 10, user_filter: UserFilter | None = None,
                 params: dict | None = None, interests: bool = False) -> list[UserHit]:
        """The ``k`` users a statement describes best, among those passing the filter
        (``interests``: by each user's best-matching interest)."""
        check_k(k)
        query = self.statement_vectors([text])[0]
        allowed = self.allowed_ids(user_filter)
        if interests:
            return self.interest_search().audience(query, k, allowed, params)
        return self._search_users(query, k, allowed, None, params)

    def audience_scores(self, text: str, user_filter: UserFilter | None = None, min_score: float | None = None,
                        limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every indexed user the statement describes, best first, as ``(ids, scores)``:
        an exact scan of the stored vectors (no ``MAX_K`` cap), for exports. ``min_score``
        keeps scores at or above it; ``limit`` keeps the best ``limit``."""
        query = self.statement_vectors([text])[0]
        return self.scan_users(lambda vectors: vectors @ query, user_filter, min_score=min_score, limit=limit)

    def scan_users(self, score, user_filter: UserFilter | None = None, min_score: float | None = None,
                   limit: int | None = None, leave_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, scores)`` of every indexed user passing the filter, best first, scored by
        ``score(vectors [n, d]) -> [n]`` over the stored vectors (``leave_out``: ids to skip)."""
        if limit is not None and limit < 1:
            raise QueryError(f"the limit must be at least 1, got {limit}")
        users = self.loaded_build("users")
        ids = np.asarray(users.vectors.ids, dtype=np.int64)
        keep = np.ones(len(ids), dtype=bool)
        allowed = self.allowed_ids(user_filter)
        if allowed is not None:
            keep &= np.isin(ids, allowed)
        for skipped in (self.deleted_ids(users), leave_out):
            if skipped is not None and len(skipped):
                keep &= ~np.isin(ids, skipped)
        rows = np.flatnonzero(keep)
        scores = np.empty(len(rows), dtype=np.float32)
        for start in range(0, len(rows), 65_536):  # memory-mapped vectors, read in blocks
            block = rows[start:start + 65_536]
            scores[start:start + len(block)] = score(np.asarray(users.vectors.vectors[block], dtype=np.float32))
        if min_score is not None:
            rows, scores = rows[scores >= min_score], scores[scores >= min_score]
        order = np.argsort(-scores, kind="stable")[:limit]
        return ids[rows[order]], scores[order]

    def compound_audience(self, query, k: int = 10, user_filter: UserFilter | None = None,
                          params: dict | None = None) -> list[UserHit]:
        """The ``k`` users a ``uue.search.compound.CompoundQuery`` describes best (statements and
        users, wanted or excluded, weighted): scoring in ``uue.search.compound``."""
        from uue.search.compound import compound_audience

        return compound_audience(self, query, k, user_filter, params)

    def similar(self, user_id: str, k: int = 10, user_filter: UserFilter | None = None,
                params: dict | None = None, interests: bool = False) -> list[UserHit]:
        """The ``k`` users nearest to ``user_id`` (never the user itself; ``interests``: whose
        interests cover the user's best)."""
        check_k(k)
        if interests:
            return self.interest_search().similar(user_id, k, self.allowed_ids(user_filter), params)
        pk, query = self.user_vector(user_id)
        allowed = self.allowed_ids(user_filter)
        return self._search_users(query, k, allowed, pk, params)

    def profile(self, user_id: str, k: int = 10, statements: Sequence[str] = (),
                params: dict | None = None, calibrated: bool = False, interests: bool = False):
        """The ``k`` pool statements that describe ``user_id`` best, and scores for ``statements``.

        ``params`` is accepted for symmetry with the other queries; the pool is scored exactly.
        ``interests``: an ``InterestProfile`` instead, the top statements of each of the user's interests.
        """
        check_k(k)
        if interests:
            if statements or calibrated:
                raise QueryError("--interests lists each interest's top pool statements: leave out --statement "
                                 "and --calibrated")
            return self.interest_search().profile(user_id, k)
        _, query = self.user_vector(user_id)
        pool = self.loaded_build("statements")
        stats = pool.calibration if calibrated else None
        if calibrated and stats is None:
            raise QueryError("the statement index was built before calibration existed: run `uue index rebuild` "
                             "to compute it, or leave out --calibrated")
        raw = pool.served @ query
        scores = calibrate(raw, stats) if stats is not None else raw
        top_rows = np.argsort(-scores, kind="stable")[:k]
        ids = pool.vectors.ids[top_rows]
        texts = self.store.statement_texts([int(i) for i in ids])
        top = [StatementHit(texts[int(i)], float(scores[r])) for i, r in zip(ids, top_rows) if int(i) in texts]
        scored = []
        if statements:
            vectors = self.statement_vectors(statements)
            values = vectors @ query
            if stats is not None:
                sample = user_sample(self.loaded_build("users").vectors.vectors)
                values = calibrate(values, statement_stats(vectors, sample))
            scored = [StatementHit(t.strip(), float(v)) for t, v in zip(statements, values)]
        return Profile(user_id, top, scored)
