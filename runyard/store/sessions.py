"""Dashboard login sessions: created by a login, ended by logout or by their time-to-live.

The caller hands in the session's key (an HMAC of the cookie's id, see server/sessions.py):
the store never sees what is in a browser's cookie.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from runyard.store.tables import sessions


class Sessions:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def create(self, key: str, ttl_s: float, address: str | None) -> float:
        """Store a new session; its expiry time."""
        now = time.time()
        expires = now + ttl_s
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(sessions).values(
                    key=key, created_at=now, expires_at=expires, address=(address or "")[:64]
                )
            )
        return expires

    def use_once(self, key: str, ttl_s: float) -> bool:
        """Mark ``key`` used: True the first time, False ever after (while it lives)."""
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(sessions).values(
                        key=key, created_at=now, expires_at=now + ttl_s, address=""
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def expires_at(self, key: str) -> float | None:
        """When a live session ends; None for one that is unknown or over."""
        with self.engine.connect() as conn:
            expires = conn.execute(
                sa.select(sessions.c.expires_at).where(sessions.c.key == key)
            ).scalar_one_or_none()
        return expires if expires is not None and expires > time.time() else None

    def delete(self, key: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(sessions).where(sessions.c.key == key)).rowcount > 0

    def purge(self) -> int:
        """Forget sessions that are over."""
        with self.engine.begin() as conn:
            done = conn.execute(sa.delete(sessions).where(sessions.c.expires_at <= time.time()))
            return done.rowcount
