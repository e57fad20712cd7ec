"""The sweep's SQLite database: one row per run, committed as each run finishes.

Table ``runs``: ``hash`` (of the resolved config; the key), ``params`` and ``config``
(JSON), ``seed``, ``status`` (``pending | running | done | diverged | pruned | failed``),
``metrics`` (JSON), ``started`` / ``finished`` (Unix times), ``seconds``, ``run_dir``,
``error``, ``host``. Table ``reports`` holds each run's metric at every evaluated epoch
(``hash``, ``epoch``, ``step``, ``value``: what a pruner compares). Table ``meta`` keeps the spec. The database runs in WAL mode and every
finished run is its own transaction, so killing a sweep (even with SIGKILL) loses no
finished result; a rerun skips ``done``, ``diverged`` and ``pruned`` runs and reruns the others.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["Store", "open_store", "FINISHED"]

FINISHED = ("done", "diverged", "pruned")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    hash TEXT PRIMARY KEY,
    idx INTEGER,
    params TEXT NOT NULL,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    metrics TEXT,
    started REAL,
    finished REAL,
    seconds REAL,
    run_dir TEXT,
    error TEXT,
    host TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS reports (
    hash TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (hash, epoch)
);
"""


class Store:
    """A sweep's database (``sweep.db`` in the sweep folder)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed row survives a killed process
            self.db.executescript(_SCHEMA)
            self.db.commit()
        except sqlite3.DatabaseError as e:  # not a database, read-only, locked, disk full
            raise ConfigError(f"sweep database {str(self.path)!r}: {e}") from None

    def close(self) -> None:
        self.db.close()

    def set_meta(self, key: str, value: Any) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, default=str)))

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def add(self, trials, start: int = 0) -> None:
        """Insert runs not yet in the table as ``pending`` (existing rows are kept); their
        order is ``start``, ``start + 1``, ..."""
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO runs (hash, idx, params, seed, config) VALUES (?, ?, ?, ?, ?)",
                [(t.hash, start + i, json.dumps(t.params), t.seed, json.dumps(t.config)) for i, t in enumerate(trials)])

    def report(self, h: str, epoch: int, step: int, value: float) -> None:
        """Record run ``h``'s metric at ``epoch`` (a later report at the same epoch replaces it)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO reports VALUES (?, ?, ?, ?)", (h, epoch, step, value))

    def reports(self, h: str, epoch: int):
        """What a pruner sees when run ``h`` reports at ``epoch`` (`initreg.sweep.prune.Reports`)."""
        from .prune import Reports

        own = [v for (v,) in self.db.execute("SELECT value FROM reports WHERE hash=? AND epoch<=? ORDER BY epoch",
                                             (h, epoch))]
        rows = self.db.execute("SELECT r.value, u.status FROM reports r JOIN runs u ON u.hash = r.hash "
                               "WHERE r.epoch=? AND r.hash != ?", (epoch, h)).fetchall()
        n_done = self.db.execute("SELECT COUNT(*) FROM runs WHERE status='done' AND hash != ?", (h,)).fetchone()[0]
        return Reports(epoch=epoch, own=own, finished=[v for v, st in rows if st == "done"], n_finished=n_done,
                       reached=[v for v, _ in rows])

    def curve(self, h: str) -> list[tuple[int, int, float]]:
        """Run ``h``'s reports: ``(epoch, step, value)`` in epoch order."""
        return [tuple(r) for r in self.db.execute("SELECT epoch, step, value FROM reports WHERE hash=? ORDER BY epoch",
                                                  (h,))]

    def status(self, h: str) -> str | None:
        row = self.db.execute("SELECT status FROM runs WHERE hash = ?", (h,)).fetchone()
        return row[0] if row else None

    def start(self, h: str, host: str | None = None) -> None:
        with self.db:
            self.db.execute("UPDATE runs SET status='running', started=?, host=?, error=NULL WHERE hash=?",
                            (time.time(), host, h))

    def finish(self, h: str, result: dict[str, Any]) -> None:
        """Record a run's outcome (``status``, ``metrics``, ``seconds``, ``run_dir``, ``error``) in one transaction."""
        with self.db:
            self.db.execute(
                "UPDATE runs SET status=?, metrics=?, finished=?, seconds=?, run_dir=?, error=?, host=COALESCE(?, host) "
                "WHERE hash=?",
                (result["status"], json.dumps(result.get("metrics") or {}), time.time(), result.get("seconds"),
                 result.get("run_dir"), result.get("error"), result.get("host"), h))

    def rows(self, hashes: list[str] | None = None) -> list[dict[str, Any]]:
        """Every run as a dict (params, config and metrics decoded), in sweep order."""
        cur = self.db.execute("SELECT * FROM runs ORDER BY idx, hash")
        out = []
        for r in cur.fetchall():
            d = dict(r)
            for k in ("params", "config", "metrics"):
                d[k] = json.loads(d[k]) if d[k] else {}
            out.append(d)
        if hashes is not None:
            keep = set(hashes)
            out = [d for d in out if d["hash"] in keep]
        return out


def open_store(where: str | Path) -> Store:
    """The store of a sweep: a ``sweep.db`` path, a sweep folder, or a sweep spec (its default folder)."""
    p = Path(where)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        from .spec import load_spec

        p = Path("sweeps") / load_spec(p).name
    if p.is_dir():
        p = p / "sweep.db"
    if not p.is_file():
        raise ConfigError(f"no sweep database at {str(p)!r}; give a sweep folder (with sweep.db), the .db file, "
                          "or the sweep's YAML spec")
    return Store(p)
