"""What the application shares between requests: the store, one warm searcher, the build job."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from storage.errors import UUEError
from storage.store import Store
from uue.search.explain import Explainer
from uue.search.queries import Searcher
from uue.serve.settings import ServeSettings

logger = logging.getLogger(__name__)


@dataclass
class BuildJob:
    """The index build that ``POST /index/build`` started (one at a time per server)."""

    state: str = "idle"  # idle | running | done | failed
    full: bool = False
    started: float | None = None
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ServeState:
    store: Store
    indexes_dir: Path
    cache_dir: Path | None = None
    settings: ServeSettings = field(default_factory=ServeSettings)
    model: Any = None  # a model object to serve with (tests); default: the store's active model
    searcher: Searcher = field(init=False)
    explainer: Explainer = field(init=False)
    job: BuildJob = field(default_factory=BuildJob)
    _job_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.searcher = Searcher(self.store, model=self.model)
        self.explainer = Explainer(self.searcher, self.cache_dir)

    def start_build(self, *, full: bool, factory: str | None = None, statement_factory: str | None = None,
                    interests: bool | None = None) -> bool:
        """Start an index build in a thread; False when one is already running."""
        with self._job_lock:
            if self.job.state == "running":
                return False
            self.job = BuildJob(state="running", full=full, started=time.time())
        job = self.job
        threading.Thread(target=self._build, args=(job, full, factory, statement_factory, interests), name="uue-index-build",
                         daemon=True).start()
        return True

    def _build(self, job: BuildJob, full: bool, factory: str | None, statement_factory: str | None,
               interests: bool | None = None) -> None:
        from uue.search.builds import build_indexes

        try:
            result = build_indexes(self.store, self.indexes_dir, factory=factory, statement_factory=statement_factory,
                                   full=full, progress=False, model=self.searcher.model(), cache_dir=self.cache_dir,
                                   interests=interests)
            job.result, job.state = asdict(result), "done"
        except UUEError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception:  # noqa: BLE001 - reported in the job, logged with its traceback
            logger.exception("index build failed")
            job.error, job.state = "the index build failed with an internal error (see the server log)", "failed"
        finally:
            job.finished = time.time()
