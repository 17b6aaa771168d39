"""Files a session wrote, archived in the log: content-addressed blobs (sha256) and one row per session file."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, select

from recorder.events import display_text, dump_json
from recorder.store import schema as t
from recorder.store.catalog import ensure_session
from recorder.store.database import Database, utcnow
from recorder.store.rows import ArchivedFile


def archived_ids_in(conn: Connection, session_id: str) -> set[str]:
    return set(conn.execute(select(t.session_files.c.file_id).where(t.session_files.c.session_id == session_id))
               .scalars())


class FileArchive:
    """Archive and read back a session's output files."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def archived_ids(self, session_id: str) -> set[str]:
        with self.db.read() as conn:
            return archived_ids_in(conn, session_id)

    def archive(self, session_id: str, metadata: dict[str, Any], content: bytes, run_id: int | None = None) -> str:
        """Keep one file (its metadata as the API gave it, and its bytes); returns the content's sha256."""
        return self.archive_many(session_id, [(metadata, content)], run_id)[0]

    def archive_many(
        self, session_id: str, files: Sequence[tuple[dict[str, Any], bytes]], run_id: int | None = None
    ) -> list[str]:
        """:meth:`archive` for several files of one session in one transaction; returns their sha256s."""
        if not files:
            return []
        now = utcnow()
        digests: list[str] = []
        with self.db.write() as conn:
            ensure_session(self.db, conn, session_id, now)
            for metadata, content in files:
                digest = hashlib.sha256(content).hexdigest()
                digests.append(digest)
                conn.execute(
                    self.db.upsert(t.file_blobs)
                    .values(sha256=digest, size_bytes=len(content), content=content)
                    .on_conflict_do_nothing(index_elements=["sha256"])
                )
                conn.execute(
                    self.db.upsert(t.session_files)
                    .values(
                        session_id=session_id,
                        file_id=display_text(metadata["id"]),
                        filename=display_text(metadata.get("filename") or metadata["id"]),
                        mime_type=display_text(metadata.get("mime_type")),
                        size_bytes=len(content),
                        sha256=digest,
                        metadata=dump_json(metadata),
                        archived_at=now,
                        run_id=run_id,
                    )
                    .on_conflict_do_nothing(index_elements=["session_id", "file_id"])
                )
        return digests

    def files(self, session_id: str) -> list[ArchivedFile]:
        c = t.session_files.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(c.session_id, c.file_id, c.filename, c.mime_type, c.size_bytes, c.sha256, c.archived_at,
                       c.metadata)
                .where(c.session_id == session_id)
                .order_by(c.file_id)
            ).all()
        return [ArchivedFile(*row) for row in rows]

    def content(self, session_id: str, file_id: str) -> bytes | None:
        with self.db.read() as conn:
            return conn.execute(
                select(t.file_blobs.c.content)
                .join(t.session_files, t.session_files.c.sha256 == t.file_blobs.c.sha256)
                .where(and_(t.session_files.c.session_id == session_id, t.session_files.c.file_id == file_id))
            ).scalar()
