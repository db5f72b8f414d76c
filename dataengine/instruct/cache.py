"""The response cache: model answers stored by request key, so a rerun asks nothing twice.

The key (`ChatRequest.cache_key`) hashes the model, the prompt and the images, so a changed
prompt, option or model is a miss and never a stale hit. Only answers that came back from a
server are stored, never failures: a timeout today is asked again tomorrow.

SQLite, because several actor processes of one node share the file safely (WAL mode lets
readers run beside the one writer), a lookup costs one indexed read, and memory stays flat
however many answers the file holds.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

SCHEMA = "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, answer TEXT)"


class ResponseCache:
    """A key -> answer store in one SQLite file under `folder`. An answer is a JSON-able
    dict: {"texts": [...], "truncated": [...]}, one entry per choice."""

    FILE = "answers.sqlite"

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / self.FILE
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        # Opened on first use, in the process that uses it: a connection cannot be pickled
        # into a Ray worker.
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
        return self._db

    def get(self, key: str) -> dict | None:
        row = self._connection().execute("SELECT answer FROM answers WHERE key = ?", (key,))
        found = row.fetchone()
        return None if found is None else json.loads(found[0])

    def put(self, key: str, model: str, answer: dict) -> None:
        with self._connection() as db:  # one transaction, committed on leaving
            db.execute(
                "INSERT OR REPLACE INTO answers (key, model, answer) VALUES (?, ?, ?)",
                (key, model, json.dumps(answer, sort_keys=True)),
            )

    def __len__(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_db": None}
