"""Direct inserts for tests that need a worker before the worker service exists in them."""

from __future__ import annotations

from sqlalchemy import text

from ledger.db.engine import Database


async def make_worker(db: Database, uid: str, fund: str = "TH-SSO",
                      member_hmac: str | None = None) -> str:
    """Worker `wkr_{uid}`, a member of `fund` under `member_hmac` (the member number's lookup
    hash; `uid` stands in when the test never looks the member up)."""
    worker = f"wkr_{uid}"
    async with db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO workers (id, nationality, created_at_us) VALUES (:w, 'KH', 0)"),
            {"w": worker})
        await conn.execute(text(
            "INSERT INTO memberships (worker_id, fund, member_number_hmac, "
            "member_number_ciphertext, created_at_us) VALUES (:w, :f, :h, :c, 0)"),
            {"w": worker, "f": fund, "h": member_hmac or uid, "c": b"x"})
    return worker
