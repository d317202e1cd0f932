"""The catalogue: files received, pages, documents, cases and quarantine, in SQLite (default) or any SQLAlchemy URL."""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        create_engine, delete, event, func, insert, select, update)
from sqlalchemy.engine import Engine

metadata = MetaData()

files = Table(
    "files", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("media_type", String(64)),
    Column("received_at", Float, nullable=False),
    Column("status", String(16), nullable=False),          # received | ready | quarantined
    Column("page_count", Integer),
    Column("work_sha256", String(64)),                      # repaired / unlocked copy pages are read from
    Column("stack", Text, nullable=False),
    Column("stack_seq", Integer, nullable=False),
    Column("case_no", Text),                                # known from the folder, manifest or --case
    Column("note", Text),
)

pages = Table(
    "pages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_sha256", String(64), ForeignKey("files.sha256"), nullable=False, index=True),
    Column("page_index", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),   # pending | done | failed
    Column("role", String(16)),                                   # content | blank | separator
    Column("case_no", Text, index=True),
    Column("text", Text),
    Column("mean_conf", Float),
    Column("rotation", Integer),
    Column("skew", Float),
    Column("blank", Boolean),
    Column("title", Text),
    Column("codes", JSON),
    Column("steps", JSON),
    Column("engine", JSON),
    Column("layout_key", String(64)),
    Column("pdf_key", String(64)),
    Column("error", Text),
    Column("seconds", Float),
    Column("updated_at", Float),
)

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", Text, index=True),
    Column("volume", String(2), nullable=False),
    Column("type_code", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("review", Boolean, nullable=False),
    Column("reason", Text),
    Column("stack", Text, nullable=False, index=True),
    Column("received_order", Float, nullable=False),
    Column("separator_page_id", Integer),
    Column("parties", JSON),
    Column("identifiers", JSON),
    Column("created_at", Float, nullable=False),
)

document_pages = Table(
    "document_pages", metadata,
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("page_id", Integer, ForeignKey("pages.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_sha256", String(64), index=True),
    Column("page_index", Integer),
    Column("name", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("error_code", String(32), nullable=False),
    Column("stack", Text),
    Column("stack_seq", Integer),
    Column("case_no", Text),
    Column("status", String(16), nullable=False),        # open | retried | resolved
    Column("created_at", Float, nullable=False),
)

cases = Table(
    "cases", metadata,
    Column("case_no", Text, primary_key=True),
    Column("family", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True)
class FileRow:
    sha256: str
    name: str
    source_path: str
    size: int
    status: str
    page_count: int | None
    work_sha256: str | None
    stack: str
    stack_seq: int
    case_no: str | None
    received_at: float
    media_type: str | None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Catalogue:
    """Every fact the product keeps about received paper; the single source of truth for resuming work."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # files ---------------------------------------------------------------------------------------------------
    def file(self, sha256: str) -> FileRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(files).where(files.c.sha256 == sha256)).mappings().first()
        return _file_row(row) if row else None

    def add_file(self, *, sha256: str, name: str, source_path: str, size: int, media_type: str | None,
                 stack: str, stack_seq: int, case_no: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(files).values(
                sha256=sha256, name=name, source_path=source_path, size=size, media_type=media_type,
                received_at=time.time(), status="received", stack=stack, stack_seq=stack_seq, case_no=case_no))

    def mark_file_ready(self, sha256: str, media_type: str, page_count: int, work_sha256: str,
                        note: str | None) -> None:
        """Record the page count and create one pending page row per page, in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(update(files).where(files.c.sha256 == sha256).values(
                status="ready", media_type=media_type, page_count=page_count, work_sha256=work_sha256, note=note))
            existing = set(conn.execute(select(pages.c.page_index).where(pages.c.file_sha256 == sha256)).scalars())
            rows = [{"file_sha256": sha256, "page_index": i, "status": "pending", "updated_at": time.time()}
                    for i in range(page_count) if i not in existing]
            if rows:
                conn.execute(insert(pages), rows)

    def set_file_status(self, sha256: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(files).where(files.c.sha256 == sha256).values(status=status))

    def files_in_stack(self, stack: str) -> list[FileRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(files).where(files.c.stack == stack).order_by(files.c.stack_seq)).mappings()
            return [_file_row(r) for r in rows]

    # pages ---------------------------------------------------------------------------------------------------
    def page_ids(self, *, status: str | None = None, stack: str | None = None) -> list[int]:
        query = select(pages.c.id).join(files, files.c.sha256 == pages.c.file_sha256)
        if status:
            query = query.where(pages.c.status == status)
        if stack:
            query = query.where(files.c.stack == stack)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(files.c.stack, files.c.stack_seq, pages.c.page_index)).scalars())

    def page(self, page_id: int) -> dict:
        with self.engine.connect() as conn:
            row = conn.execute(select(pages).where(pages.c.id == page_id)).mappings().first()
        if row is None:
            raise KeyError(f"no page {page_id}")
        return dict(row)

    def pages_of_stack(self, stack: str) -> list[dict]:
        query = (select(pages, files.c.stack_seq, files.c.case_no.label("file_case_no"),
                        files.c.received_at, files.c.name.label("file_name"))
                 .join(files, files.c.sha256 == pages.c.file_sha256)
                 .where(files.c.stack == stack)
                 .order_by(files.c.stack_seq, pages.c.page_index))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def record_page(self, page_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(pages).where(pages.c.id == page_id).values(updated_at=time.time(), **values))

    def reset_failed_pages(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(pages).where((pages.c.file_sha256 == sha256) & (pages.c.status == "failed"))
                         .values(status="pending", error=None))

    def set_page_roles(self, roles: dict[int, tuple[str, str | None]]) -> None:
        """roles: page id → (role, case number)."""
        with self.engine.begin() as conn:
            for page_id, (role, case_no) in roles.items():
                conn.execute(update(pages).where(pages.c.id == page_id).values(role=role, case_no=case_no))

    # documents -----------------------------------------------------------------------------------------------
    def replace_stack_documents(self, stack: str, drafts: Sequence[dict]) -> list[int]:
        """Drop the stack's documents and write the new ones (each dict has its `page_ids`)."""
        with self.engine.begin() as conn:
            old = list(conn.execute(select(documents.c.id).where(documents.c.stack == stack)).scalars())
            if old:
                conn.execute(delete(document_pages).where(document_pages.c.document_id.in_(old)))
                conn.execute(delete(documents).where(documents.c.id.in_(old)))
            ids = []
            for draft in drafts:
                values = {k: v for k, v in draft.items() if k != "page_ids"}
                doc_id = conn.execute(insert(documents).values(stack=stack, created_at=time.time(), **values)
                                      ).inserted_primary_key[0]
                conn.execute(insert(document_pages), [
                    {"document_id": doc_id, "page_id": pid, "position": pos}
                    for pos, pid in enumerate(draft["page_ids"])])
                ids.append(doc_id)
        return ids

    def documents_of_case(self, case_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            docs = [dict(r) for r in conn.execute(
                select(documents).where(documents.c.case_no == case_no)
                .order_by(documents.c.received_order, documents.c.id)).mappings()]
            for doc in docs:
                doc["page_ids"] = list(conn.execute(
                    select(document_pages.c.page_id).where(document_pages.c.document_id == doc["id"])
                    .order_by(document_pages.c.position)).scalars())
        return docs

    def unrouted_documents(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                select(documents).where(documents.c.case_no.is_(None)).order_by(documents.c.id)).mappings()]

    # cases ---------------------------------------------------------------------------------------------------
    def ensure_case(self, case_no: str, family: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(cases.c.case_no).where(cases.c.case_no == case_no)).first() is None:
                conn.execute(insert(cases).values(case_no=case_no, family=family, created_at=time.time()))

    def case_numbers(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(cases.c.case_no).order_by(cases.c.case_no)).scalars())

    def case(self, case_no: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.case_no == case_no)).mappings().first()
        return dict(row) if row else None

    def case_page_counts(self, case_no: str) -> dict[str, int]:
        """Pages received for the case (files routed to it by folder, plus pages classified into it) by status."""
        query = (select(pages.c.status, pages.c.role, func.count())
                 .join(files, files.c.sha256 == pages.c.file_sha256)
                 .where((pages.c.case_no == case_no) | ((pages.c.case_no.is_(None)) & (files.c.case_no == case_no)))
                 .group_by(pages.c.status, pages.c.role))
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for status, role, n in conn.execute(query):
                counts[status] = counts.get(status, 0) + n
                if role:
                    counts[role] = counts.get(role, 0) + n
        return counts

    def excluded_pages(self, case_no: str) -> list[dict]:
        """Pages of the case left out of its volumes: blanks, separator sheets and pages that failed."""
        query = (select(pages.c.file_sha256, pages.c.page_index, pages.c.role, pages.c.error)
                 .join(files, files.c.sha256 == pages.c.file_sha256)
                 .where((pages.c.case_no == case_no) | (pages.c.case_no.is_(None) & (files.c.case_no == case_no)))
                 .where((pages.c.role.in_(("blank", "separator"))) | (pages.c.status == "failed"))
                 .order_by(files.c.stack, files.c.stack_seq, pages.c.page_index))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # quarantine ----------------------------------------------------------------------------------------------
    def add_quarantine(self, **values: object) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(quarantine).values(status="open", created_at=time.time(), **values)
                                ).inserted_primary_key[0]

    def quarantine_items(self, status: str | None = "open") -> list[dict]:
        query = select(quarantine).order_by(quarantine.c.id)
        if status:
            query = query.where(quarantine.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def quarantine_item(self, item_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(quarantine).where(quarantine.c.id == item_id)).mappings().first()
        return dict(row) if row else None

    def set_quarantine_status(self, item_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(quarantine).where(quarantine.c.id == item_id).values(status=status))

    def resolve_quarantine_for(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(quarantine).where((quarantine.c.file_sha256 == sha256)
                                                  & (quarantine.c.status == "open")).values(status="resolved"))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            by_status = dict(conn.execute(select(pages.c.status, func.count()).group_by(pages.c.status)).all())
            open_q = conn.execute(select(func.count()).select_from(quarantine)
                                  .where(quarantine.c.status == "open")).scalar_one()
            review = conn.execute(select(func.count()).select_from(documents)
                                  .where(documents.c.review.is_(True))).scalar_one()
        return {"pages_" + k: v for k, v in by_status.items()} | {"quarantined": open_q, "in_review": review}


def _file_row(row) -> FileRow:
    return FileRow(**{name: row[name] for name in FileRow.__dataclass_fields__})


def open_catalogue(settings) -> Catalogue:
    return Catalogue(settings.catalogue_url)
