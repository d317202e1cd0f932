"""The catalogue: stacks, entries received, pages, documents, cases, volumes, quarantine, incidents and client tokens.

SQLite by default, any SQLAlchemy URL otherwise. Every fact the product keeps lives here, so any process on any machine
can pick up work where another left it: nothing about a job's outcome lives only in the memory of one process.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, case, create_engine, delete, event, false, func, insert, select, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from config.settings import SettingsError

metadata = MetaData()

stacks = Table(
    "stacks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, unique=True),                       # a backlog folder's path, so a rerun finds its stack
    Column("kind", String(16), nullable=False),             # backlog | import | upload | device
    Column("state", String(8), nullable=False),             # open | closed
    Column("case_no", Text),
    Column("case_error", Text),                             # why the folder's name is not a usable case number
    Column("device", Text),
    Column("volume_hint", String(2)),
    Column("client", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("closed_at", Float),
    Column("version", Integer, nullable=False, default=0),             # bumped whenever one of its pages settles
    Column("classified_version", Integer, nullable=False, default=0),  # the version classification last saw
    Column("classified_at", Float),
    Column("classify_seconds", Float),
)

entries = Table(
    "entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stack_id", Integer, ForeignKey("stacks.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),   # the blob of the bytes as received
    Column("name", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("media_type", String(64)),
    Column("received_at", Float, nullable=False),
    Column("status", String(16), nullable=False),          # received | ready | quarantined | duplicate
    Column("duplicate_of", Integer),                        # the earlier entry with the same bytes, same case
    Column("page_count", Integer),
    Column("work_sha256", String(64)),                      # repaired / unlocked copy pages are read from
    Column("case_no", Text),                                # from the stack, or re-routed by an operator
    Column("client", Text, nullable=False),                 # which client sent the file
    Column("note", Text),
    Column("provenance", Text),                             # JSON: device, source, side, sheet, dpi, capture time
    UniqueConstraint("stack_id", "seq", name="uq_entries_stack_seq"),
)

pages = Table(
    "pages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("entries.id"), nullable=False, index=True),
    Column("page_index", Integer, nullable=False),
    Column("blob_key", String(64)),               # what the page job reads: the page split from its file, or the file
    Column("blob_media_type", String(64)),
    Column("blob_index", Integer),                # the page inside that blob: 0 for a page split from its file
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
    Column("layout_hash", String(64)),            # perceptual: a sheet scanned twice has (nearly) the same
    Column("pdf_key", String(64)),
    Column("error", Text),
    Column("seconds", Float),
    Column("created_at", Float),
    Column("done_at", Float),
    Column("updated_at", Float),
    UniqueConstraint("entry_id", "page_index", name="uq_pages_entry_index"),
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
    Column("stack_id", Integer, ForeignKey("stacks.id"), nullable=False, index=True),
    Column("received_order", Float, nullable=False),
    Column("separator_page_id", Integer),
    Column("parties", JSON),
    Column("identifiers", JSON),
    Column("created_at", Float, nullable=False),
    Column("corrected", Boolean, nullable=False, default=False, server_default=false()),  # a person changed it
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
    Column("entry_id", Integer, index=True),               # None: refused before it was stored (too large)
    Column("page_index", Integer),
    Column("name", Text, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("error_code", String(32), nullable=False),
    Column("stack_id", Integer),
    Column("stack_seq", Integer),
    Column("case_no", Text),
    Column("status", String(16), nullable=False),        # open | retried | resolved
    Column("note", Text),
    Column("created_at", Float, nullable=False),
)

cases = Table(
    "cases", metadata,
    Column("case_no", Text, primary_key=True),
    Column("family", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("version", Integer, nullable=False, default=0),             # bumped whenever its documents may change
    Column("assembled_version", Integer, nullable=False, default=0),
    Column("assembled_at", Float),
    Column("assembly_seconds", Float),
    Column("fingerprint", String(64)),                                 # of what the stored dossier was built from
    Column("manifest_key", String(64)),
    Column("court", Text),                                             # as the case-management system opened it
    Column("tribunal", Text),
    Column("parties", JSON),
    Column("opened_at", Float),                                        # None: pages arrived, the case is not open
    Column("audit_seq", Integer),                                      # the head of the case's audit chain
    Column("audit_head", String(64)),
    Column("pages_received", Integer),                                 # the case's proof of digitisation, as
    Column("pages_scanned", Integer),                                  # last settled (ingest.reports.settle_case)
    Column("digitised", Boolean),
    Column("usable", Boolean),
    Column("settled_at", Float),
)

audit = Table(
    "audit", metadata,                        # per case, hash-chained: see chain_hash
    Column("case_no", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("key", Text, nullable=False),      # what the entry is about (entry:12:received): recorded once
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("detail", Text, nullable=False),   # canonical JSON
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_no", "key", name="uq_audit_case_key"),
)

case_events = Table(
    "case_events", metadata,                  # one per case and stage reached: the earliest time reported for it
    Column("case_no", Text, primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("at", Float, nullable=False),
    Column("recorded_at", Float, nullable=False),
    Column("client", Text, nullable=False),
)

receipts = Table(
    "receipts", metadata,                     # paper handed in (签收单): what, how many pages, by whom, when
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", Text, nullable=False, index=True),
    Column("type_code", String(32), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("handed_in_by", Text),
    Column("received_at", Float, nullable=False),
    Column("client", Text, nullable=False),
    Column("key", Text, unique=True),         # the client's own name for it: registering it again finds it
    Column("due_at", Float),                  # scanned and catalogued by then (the working-day deadline)
    Column("digitised_at", Float),            # when it was found digitised; None while it is not
    Column("pages_scanned", Integer),         # distinct pages scanned against it, as last settled
)

corrections = Table(
    "corrections", metadata,                  # what people changed in what was filed automatically
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", Text, nullable=False, index=True),
    Column("kind", String(16), nullable=False),      # type | split | merge | reorder | move | rescan | replace | remove
    Column("detail", JSON, nullable=False),          # page ids, never document ids: documents are made again
    Column("stacks", Text, nullable=False),          # ",12,15,": the stacks whose filing it changes
    Column("actor", Text, nullable=False),
    Column("at", Float, nullable=False),
)

archives = Table(
    "archives", metadata,                     # archive packages made (edossier archive)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", Text, nullable=False, index=True),
    Column("archived_at", Float, nullable=False),
    Column("actor", Text, nullable=False),
    Column("forced", Boolean, nullable=False),       # made before the case was closed, by an operator's decision
    Column("reason", Text),
    Column("digitised", Boolean, nullable=False),    # every page received was in the package: archived electronically only
    Column("manifest_sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
)

volumes = Table(
    "volumes", metadata,
    Column("case_no", Text, ForeignKey("cases.case_no"), primary_key=True),
    Column("volume", String(2), primary_key=True),
    Column("blob_key", String(64), nullable=False),
    Column("pdf_pages", Integer, nullable=False),
    Column("built_at", Float, nullable=False),
)

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(32), nullable=False),
    Column("args", JSON, nullable=False),
    Column("stack_id", Integer, index=True),
    Column("case_no", Text),
    Column("entry_id", Integer),
    Column("page_id", Integer),
    Column("error", Text, nullable=False),
    Column("traceback", Text),
    Column("status", String(16), nullable=False),        # open | resolved
    Column("at", Float, nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, index=True),      # unique among tokens not revoked
    Column("role", String(16), nullable=False),          # device | operator | admin
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

leases = Table(
    "leases", metadata,
    Column("name", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("wanted", Boolean, nullable=False, default=False),   # someone found it taken and is waiting for it
)

Index("ix_entries_stack", entries.c.stack_id, entries.c.seq)
Index("ix_quarantine_status", quarantine.c.status)


users = Table(
    "users", metadata,                        # people who sign in to the console
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("role", String(16), nullable=False),          # operator | judge | admin
    Column("password_hash", Text, nullable=False),       # scrypt, salted (kiosk.sessions.hash_password)
    Column("created_at", Float, nullable=False),
    Column("disabled_at", Float),
)

web_sessions = Table(
    "web_sessions", metadata,                 # a signed-in console user, or a person filing at a kiosk
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret_hash", String(64), nullable=False, unique=True),   # the cookie's secret is never stored
    Column("kind", String(16), nullable=False),          # console | filing
    Column("subject", Text, nullable=False),             # the user's name, or the filing's id
    Column("role", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),         # absolute; idleness ends it earlier
    Column("ended_at", Float),
)

filings = Table(
    "filings", metadata,                      # a filing made at a kiosk, until a filing judge decides on it
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),         # the lookup code on the receipt
    Column("kiosk", Text, nullable=False),
    Column("state", String(16), nullable=False),         # draft | submitted | returned | accepted | refused | abandoned
    Column("identity", JSON),                            # as read from the card or typed: the record, never listed
    Column("kind", String(16)),                          # civil | enforcement
    Column("court", Text),
    Column("cause", Text),
    Column("notice_accepted_at", Float),
    Column("form", JSON),                                # fields as confirmed, each with whether OCR pre-filled it
    Column("signature_sha256", String(64)),
    Column("upload_hash", String(64)),                   # the phone's one-time upload link
    Column("upload_expires_at", Float),
    Column("case_no", Text),                             # once accepted
    Column("stack_id", Integer),                         # the stack its pages were filed in, once accepted
    Column("returned", Integer, nullable=False, default=0),
    Column("decided_by", Text),
    Column("decided_at", Float),
    Column("reason", Text),
    Column("created_at", Float, nullable=False),
    Column("submitted_at", Float),
)

filing_pages = Table(
    "filing_pages", metadata,                 # each page captured at a kiosk, stored and hashed when captured
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("filing_id", Integer, nullable=False, index=True),
    Column("material", String(32), nullable=False),      # COMPLAINT | PARTY_ID | EVIDENCE | …: a taxonomy code
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("position", Float, nullable=False),           # the person's order; moving a page changes only this
    Column("source", String(16), nullable=False),        # adf | camera | phone
    Column("provenance", JSON),
    Column("captured_at", Float, nullable=False),
    Column("deleted_at", Float),                         # taken out by the person: kept in the record
    Column("text", Text),                                # read for the pre-filled form
)


@dataclass(frozen=True)
class StackRow:
    id: int
    key: str | None
    kind: str
    state: str
    case_no: str | None
    case_error: str | None
    device: str | None
    volume_hint: str | None
    client: str
    created_at: float
    closed_at: float | None
    version: int
    classified_version: int
    classified_at: float | None
    classify_seconds: float | None


@dataclass(frozen=True)
class EntryRow:
    id: int
    stack_id: int
    seq: int
    sha256: str
    name: str
    source_path: str
    size: int
    status: str
    page_count: int | None
    work_sha256: str | None
    case_no: str | None
    client: str
    received_at: float
    media_type: str | None
    note: str | None
    duplicate_of: int | None
    provenance: str | None = None


@dataclass(frozen=True)
class PageBlob:
    """Where a page job reads its page: a blob (the page split from its file at inspection, or a one-page file
    itself), how to read it, and the page's index inside it — so a page job never fetches a whole file for one page."""
    key: str
    media_type: str
    index: int = 0


def page_blob(page: dict, entry: EntryRow) -> PageBlob:
    """The page's blob; a page catalogued before pages had blobs of their own is read from its entry's file (or its
    repaired or unlocked copy) at its index, as it always was."""
    if page["blob_key"] is not None:
        return PageBlob(page["blob_key"], page["blob_media_type"], page["blob_index"])
    return PageBlob(entry.work_sha256 or entry.sha256, entry.media_type, page["page_index"])


class OutdatedCatalogue(SettingsError):
    """The catalogue was written by an earlier layout of the product."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_writer(url: str, engine: Engine) -> Engine:
    """The engine write transactions use. SQLite's must take the write lock when they begin (BEGIN IMMEDIATE):
    a transaction that reads first and writes later cannot wait for a lock in WAL mode, it fails at once."""
    if not url.startswith("sqlite:///"):
        return engine
    writer = create_engine(url, connect_args={"timeout": 60})

    def on_connect(dbapi_connection, record) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None          # we say when transactions begin

    def on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(writer, "connect", on_connect)
    event.listen(writer, "begin", on_begin)
    return writer


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the catalogue cannot be reached now — a server down, restarting or recovering, a
    connection dropped, the pool exhausted, a database file busy — rather than a defect in a statement (SQLite
    reports "no such column" and syntax errors as operational errors too; those stay defects)."""
    from sqlalchemy import exc as errors
    if isinstance(exc, errors.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, errors.TimeoutError):
        return True
    if isinstance(exc, (errors.OperationalError, errors.InterfaceError)):
        text = str(exc.orig).lower()
        return not any(word in text for word in ("no such", "syntax error", "has no column", "no column"))
    return False


def insert_new(conn: Connection, table: Table, values: dict, key: Sequence[str]):
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING the primary key, on SQLite and PostgreSQL alike: answers the
    new row's key, or None when a row with that key is already there — two processes racing to insert the same row
    is an expected outcome, not an error that aborts the transaction."""
    make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[conn.dialect.name]
    primary = list(table.primary_key.columns)[0]
    return conn.execute(make(table).values(**values).on_conflict_do_nothing(index_elements=list(key))
                        .returning(primary)).scalar()


GENESIS = "0" * 64


def canonical(detail: dict) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def chain_hash(prev: str, case_no: str, seq: int, key: str, at: float, kind: str, actor: str, detail: str) -> str:
    """An audit entry's hash: over the hash of the entry before and everything the entry says."""
    body = canonical({"case_no": case_no, "seq": seq, "key": key, "at": round(at, 6), "kind": kind,
                      "actor": actor, "detail": detail})
    return hashlib.sha256(f"{prev}\n{body}".encode("utf-8")).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Catalogue:
    """Every fact the product keeps about received paper; the single source of truth for resuming work."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.writer = make_writer(url, self.engine)
        self._check_layout(url)

    def _check_layout(self, url: str) -> None:
        """A new catalogue gets the newest layout; one at an older layout must be upgraded on purpose."""
        from storage import migrate
        if migrate.is_empty(self.engine):
            migrate.upgrade(self.writer)
            return
        found, wanted = migrate.current(self.engine), migrate.head()
        if found is None:
            raise OutdatedCatalogue(f"the catalogue at {url} was written by an earlier version of edossier, before "
                                    "its layout was kept by migrations; start from a new EDOSSIER_HOME (the original "
                                    "files are kept where they were)")
        if found != wanted:
            raise OutdatedCatalogue(f"the catalogue at {url} has layout {found}, this version needs {wanted}: "
                                    "stop the service and workers, then run `edossier db upgrade`")

    def dispose(self) -> None:
        self.engine.dispose()
        self.writer.dispose()

    # stacks --------------------------------------------------------------------------------------------------
    def open_stack(self, *, kind: str, client: str, key: str | None = None, case_no: str | None = None,
                   case_error: str | None = None, device: str | None = None,
                   volume_hint: str | None = None) -> StackRow:
        """A new open stack, or the one already known under `key` (reopened, with the case it now maps to)."""
        if key is not None and (found := self.stack_by_key(key)) is not None:
            with self.writer.begin() as conn:
                conn.execute(update(stacks).where(stacks.c.id == found.id).values(
                    state="open", closed_at=None, case_no=case_no, case_error=case_error))
            return self.stack(found.id)
        values = dict(key=key, kind=kind, state="open", case_no=case_no, case_error=case_error, device=device,
                      volume_hint=volume_hint, client=client, created_at=time.time(), version=0,
                      classified_version=0)
        with self.writer.begin() as conn:
            stack_id = (insert_new(conn, stacks, values, ["key"]) if key is not None
                        else conn.execute(insert(stacks).values(**values)).inserted_primary_key[0])
        if stack_id is None:            # another process opened the same key at the same moment
            return self.open_stack(kind=kind, client=client, key=key, case_no=case_no, case_error=case_error)
        return self.stack(stack_id)

    def stack(self, stack_id: int) -> StackRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(stacks).where(stacks.c.id == stack_id)).mappings().first()
        return _row(StackRow, row) if row else None

    def stack_by_key(self, key: str) -> StackRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(stacks).where(stacks.c.key == key)).mappings().first()
        return _row(StackRow, row) if row else None

    def close_stack(self, stack_id: int) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(stacks).where((stacks.c.id == stack_id) & (stacks.c.state == "open"))
                         .values(state="closed", closed_at=time.time(), version=stacks.c.version + 1))

    def bump_stack(self, stack_id: int) -> None:
        """Something in the stack settled: classification must look again (an atomic increment, no lost update)."""
        with self.writer.begin() as conn:
            conn.execute(update(stacks).where(stacks.c.id == stack_id).values(version=stacks.c.version + 1))

    def mark_classified(self, stack_id: int, version: int, seconds: float) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(stacks).where(stacks.c.id == stack_id).values(classified_at=time.time(),
                                                                               classify_seconds=seconds))
            conn.execute(update(stacks).where((stacks.c.id == stack_id) & (stacks.c.classified_version < version))
                         .values(classified_version=version))

    def pending_pages(self, stack_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(pages).join(entries, entries.c.id == pages.c.entry_id)
                                .where((entries.c.stack_id == stack_id) & (pages.c.status == "pending"))).scalar_one()

    # entries -------------------------------------------------------------------------------------------------
    def add_entry(self, *, stack_id: int, seq: int | None, sha256: str, name: str, source_path: str, size: int,
                  case_no: str | None, client: str, provenance: str | None = None) -> tuple[EntryRow, bool]:
        """(entry, created). An entry is keyed by (stack, seq); without a seq the next free one is taken.
        The same position again answers the entry already there (created=False)."""
        for _ in range(20):
            position = self.next_seq(stack_id) if seq is None else seq
            existing = self.entry_at(stack_id, position)
            if existing is not None and seq is not None:
                return existing, False
            if existing is not None:            # another file took the next position first: look again
                continue
            with self.writer.begin() as conn:
                entry_id = insert_new(conn, entries, dict(
                    stack_id=stack_id, seq=position, sha256=sha256, name=name, source_path=source_path, size=size,
                    received_at=time.time(), status="received", case_no=case_no, client=client,
                    provenance=provenance),
                    ["stack_id", "seq"])
            if entry_id is not None:
                return self.entry(entry_id), True
            # someone else took that position first: look again
        raise RuntimeError(f"could not find a free position in stack {stack_id}")

    def next_seq(self, stack_id: int) -> int:
        with self.engine.connect() as conn:
            top = conn.execute(select(func.max(entries.c.seq)).where(entries.c.stack_id == stack_id)).scalar()
        return 0 if top is None else top + 1

    def entry(self, entry_id: int) -> EntryRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(entries).where(entries.c.id == entry_id)).mappings().first()
        return _row(EntryRow, row) if row else None

    def entry_at(self, stack_id: int, seq: int) -> EntryRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(entries).where((entries.c.stack_id == stack_id) & (entries.c.seq == seq))
                               ).mappings().first()
        return _row(EntryRow, row) if row else None

    def entries_of_stack(self, stack_id: int) -> list[EntryRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(entries).where(entries.c.stack_id == stack_id).order_by(entries.c.seq))
            return [_row(EntryRow, r) for r in rows.mappings()]

    def entries_with_sha(self, sha256: str, stack_id: int | None = None) -> list[EntryRow]:
        """Entries of these bytes (in one stack, when given), oldest first."""
        condition = entries.c.sha256 == sha256
        if stack_id is not None:
            condition &= entries.c.stack_id == stack_id
        with self.engine.connect() as conn:
            rows = conn.execute(select(entries).where(condition).order_by(entries.c.id))
            return [_row(EntryRow, r) for r in rows.mappings()]

    def mark_entry_ready(self, entry_id: int, media_type: str, page_count: int, work_sha256: str,
                         note: str | None, page_blobs: Sequence[PageBlob] | None = None) -> list[int]:
        """Record the page count and create one pending page per page, each with the blob its job reads (none given:
        pages read the entry's file at their index), in one transaction; returns the page ids."""
        if page_blobs is not None and len(page_blobs) != page_count:
            raise ValueError(f"{len(page_blobs)} page blobs for {page_count} pages")
        now = time.time()
        with self.writer.begin() as conn:
            conn.execute(update(entries).where(entries.c.id == entry_id).values(
                status="ready", media_type=media_type, page_count=page_count, work_sha256=work_sha256, note=note))
            existing = set(conn.execute(select(pages.c.page_index).where(pages.c.entry_id == entry_id)).scalars())
            rows = [{"entry_id": entry_id, "page_index": i, "status": "pending", "created_at": now,
                     "updated_at": now, **_blob_columns(page_blobs[i] if page_blobs else None)}
                    for i in range(page_count) if i not in existing]
            if rows:
                conn.execute(insert(pages), rows)
            return list(conn.execute(select(pages.c.id).where(pages.c.entry_id == entry_id)
                                     .order_by(pages.c.page_index)).scalars())

    def set_entry(self, entry_id: int, **values: object) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(entries).where(entries.c.id == entry_id).values(**values))

    # pages ---------------------------------------------------------------------------------------------------
    def page_ids(self, *, status: str | None = None, stack_id: int | None = None,
                 entry_id: int | None = None) -> list[int]:
        query = select(pages.c.id).join(entries, entries.c.id == pages.c.entry_id)
        if status:
            query = query.where(pages.c.status == status)
        if stack_id is not None:
            query = query.where(entries.c.stack_id == stack_id)
        if entry_id is not None:
            query = query.where(pages.c.entry_id == entry_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(entries.c.stack_id, entries.c.seq, pages.c.page_index))
                        .scalars())

    def page(self, page_id: int) -> dict | None:
        query = (select(pages, entries.c.stack_id, entries.c.sha256.label("file_sha256"),
                        entries.c.name.label("file_name"))
                 .join(entries, entries.c.id == pages.c.entry_id).where(pages.c.id == page_id))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def pages_by_id(self, page_ids: Iterable[int]) -> dict[int, dict]:
        wanted = list(page_ids)
        query = (select(pages, entries.c.stack_id, entries.c.sha256.label("file_sha256"),
                        entries.c.name.label("file_name"))
                 .join(entries, entries.c.id == pages.c.entry_id).where(pages.c.id.in_(wanted)))
        with self.engine.connect() as conn:
            return {r["id"]: dict(r) for r in conn.execute(query).mappings()}

    def pages_of_stack(self, stack_id: int) -> list[dict]:
        query = (select(pages, entries.c.seq.label("stack_seq"), entries.c.case_no.label("entry_case_no"),
                        entries.c.received_at, entries.c.name.label("file_name"))
                 .join(entries, entries.c.id == pages.c.entry_id)
                 .where(entries.c.stack_id == stack_id)
                 .order_by(entries.c.seq, pages.c.page_index))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def record_page(self, page_id: int, **values: object) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(pages).where(pages.c.id == page_id).values(updated_at=time.time(), **values))

    def finish_page(self, page_id: int, stack_id: int, *, settled: tuple[int, int] | None = None,
                    **values: object) -> None:
        """Record a page's outcome and tell its stack, in one transaction; `settled` (entry id, page index): the
        page got through, so its open quarantine items and incidents are resolved in the same transaction."""
        now = time.time()
        with self.writer.begin() as conn:
            conn.execute(update(pages).where(pages.c.id == page_id).values(updated_at=now, done_at=now, **values))
            conn.execute(update(stacks).where(stacks.c.id == stack_id).values(version=stacks.c.version + 1))
            if settled is not None:
                entry_id, page_index = settled
                conn.execute(update(quarantine).where(
                    (quarantine.c.entry_id == entry_id) & (quarantine.c.page_index == page_index)
                    & (quarantine.c.status == "open")).values(status="resolved", note="digitised"))
                conn.execute(update(incidents).where(
                    (incidents.c.page_id == page_id) & (incidents.c.job == "page")
                    & (incidents.c.status == "open")).values(status="resolved"))

    def reset_failed_pages(self, entry_id: int) -> list[int]:
        with self.writer.begin() as conn:
            ids = list(conn.execute(select(pages.c.id).where((pages.c.entry_id == entry_id)
                                                             & (pages.c.status == "failed"))).scalars())
            conn.execute(update(pages).where(pages.c.id.in_(ids)).values(status="pending", error=None))
        return ids

    def set_page_roles(self, roles: dict[int, tuple[str, str | None]]) -> None:
        """roles: page id → (role, case number)."""
        with self.writer.begin() as conn:
            for page_id, (role, case_no) in roles.items():
                conn.execute(update(pages).where(pages.c.id == page_id).values(role=role, case_no=case_no))

    # documents -----------------------------------------------------------------------------------------------
    def save_stack_documents(self, stack_id: int, drafts: Sequence[dict]) -> set[str | None]:
        """Make the stack's documents these drafts. A document whose pages did not change keeps its id (and so
        whatever refers to it); one that grew or shrank from the same first page keeps it too. Returns the cases
        whose documents the stack holds before or after."""
        with self.writer.begin() as conn:
            old = _documents_with_pages(conn, documents.c.stack_id == stack_id)
            touched = {d["case_no"] for d in old} | {d["case_no"] for d in drafts}
            by_pages = {tuple(d["page_ids"]): d for d in old}
            by_first = {d["page_ids"][0]: d for d in old if d["page_ids"]}
            kept: set[int] = set()
            for draft in drafts:
                match = by_pages.get(tuple(draft["page_ids"])) or by_first.get(draft["page_ids"][0])
                if match is not None and match["id"] not in kept:
                    kept.add(match["id"])
                    _update_document(conn, match, draft)
                else:
                    _insert_document(conn, stack_id, draft)
            gone = [d["id"] for d in old if d["id"] not in kept]
            if gone:
                conn.execute(delete(document_pages).where(document_pages.c.document_id.in_(gone)))
                conn.execute(delete(documents).where(documents.c.id.in_(gone)))
        return touched

    def documents_of_case(self, case_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return _documents_with_pages(conn, documents.c.case_no == case_no)

    def documents_of_stacks(self, stack_ids: Sequence[int]) -> list[dict]:
        with self.engine.connect() as conn:
            return _documents_with_pages(conn, documents.c.stack_id.in_(list(stack_ids)))

    def unrouted_documents(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                select(documents).where(documents.c.case_no.is_(None)).order_by(documents.c.id)).mappings()]

    # cases ---------------------------------------------------------------------------------------------------
    def touch_case(self, case_no: str, family: str) -> None:
        """The case exists and its dossier must be looked at again (an atomic increment)."""
        with self.writer.begin() as conn:
            insert_new(conn, cases, dict(case_no=case_no, family=family, created_at=time.time(), version=0,
                                         assembled_version=0), ["case_no"])
            conn.execute(update(cases).where(cases.c.case_no == case_no).values(version=cases.c.version + 1))

    def open_case(self, case_no: str, family: str, *, court: str | None, tribunal: str | None,
                  parties: list[str] | None) -> bool:
        """Open a case (or fill in what a later open adds); True when it was not open before. Details given again
        replace the ones held; details left out keep them."""
        now = time.time()
        with self.writer.begin() as conn:
            insert_new(conn, cases, dict(case_no=case_no, family=family, created_at=now, version=0,
                                         assembled_version=0), ["case_no"])
            was_open = conn.execute(select(cases.c.opened_at).where(cases.c.case_no == case_no)).scalar()
            given = {k: v for k, v in (("court", court), ("tribunal", tribunal), ("parties", parties)) if v}
            conn.execute(update(cases).where(cases.c.case_no == case_no).values(
                opened_at=was_open or now, version=cases.c.version + 1, **given))
        return was_open is None

    def record_stage(self, case_no: str, stage: str, at: float, client: str) -> bool:
        """A stage event; True when it changed what is known (a new stage, or an earlier time for one)."""
        with self.writer.begin() as conn:
            if insert_new(conn, case_events, dict(case_no=case_no, stage=stage, at=at, recorded_at=time.time(),
                                                   client=client), ["case_no", "stage"]) is not None:
                return True
            return conn.execute(update(case_events).where(
                (case_events.c.case_no == case_no) & (case_events.c.stage == stage) & (case_events.c.at > at))
                .values(at=at, recorded_at=time.time(), client=client)).rowcount > 0

    def stages_of_case(self, case_no: str) -> dict[str, float]:
        """Each stage the case has reached, with when."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(case_events.c.stage, case_events.c.at).where(case_events.c.case_no == case_no))
            return {stage: at for stage, at in rows}

    def add_archive(self, *, case_no: str, archived_at: float, actor: str, forced: bool, reason: str | None,
                    digitised: bool, manifest_sha256: str, path: str) -> int:
        """An archive package made of the case (edossier archive); answers its id."""
        with self.writer.begin() as conn:
            return conn.execute(insert(archives).values(
                case_no=case_no, archived_at=archived_at, actor=actor, forced=forced, reason=reason,
                digitised=digitised, manifest_sha256=manifest_sha256, path=path).returning(archives.c.id)).scalar()

    def archives_of_case(self, case_no: str) -> list[dict]:
        """The case's archive packages, oldest first."""
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(archives).where(archives.c.case_no == case_no)
                                                  .order_by(archives.c.archived_at, archives.c.id)).mappings()]

    # audit -----------------------------------------------------------------------------------------------------
    def append_audit(self, case_no: str, key: str, kind: str, actor: str, detail: dict,
                     at: float | None = None) -> bool:
        """Append to the case's audit chain, once per `key`; False when that key is recorded already. Two writers
        appending at once: one gets the next position, the other tries again behind it."""
        text, at = canonical(detail), time.time() if at is None else at
        for _ in range(50):
            with self.writer.begin() as conn:
                if conn.execute(select(audit.c.seq).where((audit.c.case_no == case_no) & (audit.c.key == key))
                                ).first() is not None:
                    return False
                last = conn.execute(select(audit.c.seq, audit.c.hash).where(audit.c.case_no == case_no)
                                    .order_by(audit.c.seq.desc()).limit(1)).first()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                digest = chain_hash(prev, case_no, seq, key, at, kind, actor, text)
                make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[conn.dialect.name]
                made = conn.execute(make(audit).values(case_no=case_no, seq=seq, key=key, at=at, kind=kind,
                                                       actor=actor, detail=text, prev=prev, hash=digest)
                                    .on_conflict_do_nothing().returning(audit.c.seq)).scalar()
                if made is not None:
                    conn.execute(update(cases).where(cases.c.case_no == case_no)
                                 .values(audit_seq=seq, audit_head=digest))
                    return True
        raise RuntimeError(f"could not append to the audit log of {case_no}: too many writers at once")

    def audit_material(self, case_no: str) -> tuple[list[dict], list[dict]]:
        """The files and the read pages of a case, as its audit log records them."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(
                pages.c.id, pages.c.page_index, pages.c.status, pages.c.role, pages.c.done_at, pages.c.text,
                pages.c.pdf_key, pages.c.error, entries.c.id.label("entry_id"), entries.c.name, entries.c.sha256,
                entries.c.size, entries.c.received_at, entries.c.client)
                .join(entries, entries.c.id == pages.c.entry_id)
                .where(_of_case(case_no) & pages.c.status.in_(("done", "failed")))
                .order_by(entries.c.id, pages.c.page_index)).mappings().all()
        files = {r["entry_id"]: {k: r[k] for k in ("entry_id", "name", "sha256", "size", "received_at", "client")}
                 for r in rows}
        return list(files.values()), [dict(r) for r in rows]

    def audit_of_case(self, case_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(audit).where(audit.c.case_no == case_no)
                                                  .order_by(audit.c.seq)).mappings()]

    # receipts --------------------------------------------------------------------------------------------------
    def add_receipt(self, *, case_no: str, type_code: str, pages: int, handed_in_by: str | None, received_at: float,
                    client: str, key: str | None = None) -> tuple[dict, bool]:
        """Register paper handed in; with the client's `key`, registering it again answers the same receipt.
        Answers the receipt and whether it is new."""
        with self.writer.begin() as conn:
            made = insert_new(conn, receipts, dict(case_no=case_no, type_code=type_code, pages=pages,
                                                    handed_in_by=handed_in_by, received_at=received_at,
                                                    client=client, key=key), ["key"]) if key else \
                conn.execute(insert(receipts).values(case_no=case_no, type_code=type_code, pages=pages,
                                                     handed_in_by=handed_in_by, received_at=received_at,
                                                     client=client).returning(receipts.c.id)).scalar()
            where = receipts.c.id == made if made is not None else receipts.c.key == key
            row = conn.execute(select(receipts).where(where)).mappings().one()
        return dict(row), made is not None

    def receipt(self, receipt_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(receipts).where(receipts.c.id == receipt_id)).mappings().first()
        return dict(row) if row else None

    def receipts_of_case(self, case_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(receipts).where(receipts.c.case_no == case_no)
                                                  .order_by(receipts.c.id)).mappings()]

    def cases_followed(self) -> list[str]:
        """Cases with a stage reported or paper registered: those an alert can be about."""
        with self.engine.connect() as conn:
            found = set(conn.execute(select(receipts.c.case_no).distinct()).scalars())
            found |= set(conn.execute(select(case_events.c.case_no).distinct()).scalars())
        return sorted(found)

    def pages_done_at(self, page_ids: Sequence[int]) -> float | None:
        """When the last of these pages was read (None when one is not read yet)."""
        if not page_ids:
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(select(pages.c.status, pages.c.done_at).where(pages.c.id.in_(list(page_ids)))).all()
        return None if any(status != "done" for status, _ in rows) else max(at or 0.0 for _, at in rows)

    def pages_around_case(self, case_no: str) -> list[dict]:
        """Every page of every stack holding pages of the case, in stack order (stack, position, page), with what
        reconciling receipts needs: role, codes, text, layout hash, status, whether its document is in review, and
        the entry's provenance (a scan session registered under a receipt says so there)."""
        with self.engine.connect() as conn:
            stack_ids = list(conn.execute(select(entries.c.stack_id).join(pages, pages.c.entry_id == entries.c.id)
                                          .where(_of_case(case_no)).distinct()).scalars())
            if not stack_ids:
                return []
            in_review = set(conn.execute(select(document_pages.c.page_id).join(
                documents, documents.c.id == document_pages.c.document_id).where(
                documents.c.stack_id.in_(stack_ids) & documents.c.review.is_(True))).scalars())
            rows = conn.execute(select(
                pages.c.id, pages.c.status, pages.c.role, pages.c.case_no, pages.c.codes, pages.c.text,
                pages.c.layout_hash, pages.c.page_index, entries.c.stack_id, entries.c.seq, entries.c.name,
                entries.c.provenance, entries.c.case_no.label("entry_case_no"))
                .join(entries, entries.c.id == pages.c.entry_id).where(entries.c.stack_id.in_(stack_ids))
                .order_by(entries.c.stack_id, entries.c.seq, pages.c.page_index)).mappings().all()
        return [dict(r) | {"in_review": r["id"] in in_review} for r in rows]

    def case_numbers(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(cases.c.case_no).order_by(cases.c.case_no)).scalars())

    def open_case_numbers(self) -> list[str]:
        """Cases the case-management system opened: the numbers a garbled one on a loose page can be."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(cases.c.case_no).where(cases.c.opened_at.is_not(None))).scalars())

    def case(self, case_no: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.case_no == case_no)).mappings().first()
        return dict(row) if row else None

    def add_correction(self, *, case_no: str, kind: str, detail: dict, stack_ids: Iterable[int], actor: str,
                       at: float) -> dict:
        stacks_text = "," + ",".join(str(s) for s in sorted(set(stack_ids))) + ","
        with self.writer.begin() as conn:
            made = conn.execute(insert(corrections).values(case_no=case_no, kind=kind, detail=detail,
                                                           stacks=stacks_text, actor=actor, at=at)
                                .returning(corrections.c.id)).scalar()
            return dict(conn.execute(select(corrections).where(corrections.c.id == made)).mappings().one())

    def corrections_of_stack(self, stack_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(corrections).where(
                corrections.c.stacks.like(f"%,{stack_id},%")).order_by(corrections.c.id)).mappings()]

    def corrections_of_case(self, case_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(corrections).where(corrections.c.case_no == case_no)
                                                  .order_by(corrections.c.id)).mappings()]

    def document(self, document_id: int) -> dict | None:
        with self.engine.connect() as conn:
            found = _documents_with_pages(conn, documents.c.id == document_id)
        return found[0] if found else None

    def document_of_page(self, page_id: int) -> dict | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(document_pages.c.document_id).where(document_pages.c.page_id == page_id)
                                 ).scalar()
            rows = _documents_with_pages(conn, documents.c.id == found) if found is not None else []
        return rows[0] if rows else None

    def stack_of_pages(self, page_ids: Iterable[int]) -> dict[int, int]:
        """page id → the stack it was received in."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(pages.c.id, entries.c.stack_id).join(entries, entries.c.id == pages.c.entry_id)
                                     .where(pages.c.id.in_(list(page_ids)))).all())

    def unreadable_pages(self, case_no: str, below: float) -> int:
        """Pages of the case read with text whose mean confidence is below `below` (a photo with no text is not
        counted: there is nothing on it to read)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(pages.join(entries, entries.c.id == pages.c.entry_id))
                                .where(_of_case(case_no) & (pages.c.status == "done") & (pages.c.role == "content")
                                       & (func.length(func.trim(func.coalesce(pages.c.text, ""))) > 0)
                                       & (pages.c.mean_conf < below))).scalar()

    def settle_case_state(self, case_no: str, *, pages_received: int, pages_scanned: int, digitised: bool,
                          usable: bool, receipts_state: Sequence[dict], at: float) -> None:
        """Keep what the case proves now: its page counts, digitised and usable, and per receipt its deadline and
        distinct pages scanned. A receipt keeps the time it was first found digitised while it stays digitised."""
        with self.writer.begin() as conn:
            conn.execute(update(cases).where(cases.c.case_no == case_no).values(
                pages_received=pages_received, pages_scanned=pages_scanned, digitised=digitised, usable=usable,
                settled_at=at))
            for state in receipts_state:
                since = case((receipts.c.digitised_at.is_(None), state["since"]), else_=receipts.c.digitised_at) \
                    if state["digitised"] else None
                conn.execute(update(receipts).where(receipts.c.id == state["id"]).values(
                    due_at=state["due_at"], pages_scanned=state["pages_scanned"], digitised_at=since))

    def unsettled_cases(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(cases.c.case_no).where(cases.c.opened_at.is_not(None)
                                                                   & cases.c.settled_at.is_(None))).scalars())

    def report_rows(self, start: float, end: float, closing: Sequence[str], tribunal: str | None = None) -> list[dict]:
        """One row per case opened or closed in [start, end) — opened by the case-management system, closed when
        it first reached one of the `closing` stages — with what the court's figures count, in one statement."""
        closed = (select(case_events.c.case_no, func.min(case_events.c.at).label("closed_at"))
                  .where(case_events.c.stage.in_(list(closing))).group_by(case_events.c.case_no).subquery())
        docs = (select(documents.c.case_no, func.count().label("documents"),
                       func.sum(case((documents.c.corrected.is_(True), 1), else_=0)).label("corrected"))
                .where(documents.c.case_no.is_not(None)).group_by(documents.c.case_no).subquery())
        in_period = (receipts.c.received_at >= start) & (receipts.c.received_at < end)
        decided = receipts.c.digitised_at.is_not(None) | (receipts.c.due_at <= time.time())
        paper = (select(receipts.c.case_no, func.count().label("receipts"),
                        func.sum(case((decided, 1), else_=0)).label("receipts_decided"),
                        func.sum(case((receipts.c.digitised_at <= receipts.c.due_at, 1), else_=0)).label("on_time"))
                 .where(in_period).group_by(receipts.c.case_no).subquery())
        packed = (select(archives.c.case_no, func.max(case((archives.c.digitised.is_(True), 1), else_=0))
                         .label("archived_electronically")).group_by(archives.c.case_no).subquery())
        built = select(volumes.c.case_no).distinct().subquery()
        query = (select(cases.c.case_no, cases.c.family, cases.c.tribunal, cases.c.opened_at, closed.c.closed_at,
                        cases.c.pages_received, cases.c.pages_scanned, cases.c.digitised, cases.c.usable,
                        (built.c.case_no.is_not(None)).label("has_dossier"),
                        func.coalesce(docs.c.documents, 0).label("documents"),
                        func.coalesce(docs.c.corrected, 0).label("corrected"),
                        func.coalesce(paper.c.receipts, 0).label("receipts"),
                        func.coalesce(paper.c.receipts_decided, 0).label("receipts_decided"),
                        func.coalesce(paper.c.on_time, 0).label("on_time"),
                        func.coalesce(packed.c.archived_electronically, 0).label("archived_electronically"))
                 .select_from(cases.outerjoin(closed, closed.c.case_no == cases.c.case_no)
                              .outerjoin(docs, docs.c.case_no == cases.c.case_no)
                              .outerjoin(paper, paper.c.case_no == cases.c.case_no)
                              .outerjoin(packed, packed.c.case_no == cases.c.case_no)
                              .outerjoin(built, built.c.case_no == cases.c.case_no))
                 .where(cases.c.opened_at.is_not(None)
                        & (((cases.c.opened_at >= start) & (cases.c.opened_at < end))
                           | ((closed.c.closed_at >= start) & (closed.c.closed_at < end))))
                 .order_by(cases.c.tribunal, cases.c.case_no))
        if tribunal is not None:
            query = query.where(cases.c.tribunal == tribunal)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def record_dossier(self, case_no: str, version: int, fingerprint: str, seconds: float,
                       manifest_key: str | None, built: Sequence[tuple[str, str, int]] | None) -> None:
        """What assembly stored: `built` lists (volume, blob key, pages); None when the stored dossier still holds."""
        now = time.time()
        with self.writer.begin() as conn:
            if built is not None:
                conn.execute(delete(volumes).where(volumes.c.case_no == case_no))
                for volume, key, count in built:
                    conn.execute(insert(volumes).values(case_no=case_no, volume=volume, blob_key=key,
                                                        pdf_pages=count, built_at=now))
                conn.execute(update(cases).where(cases.c.case_no == case_no).values(
                    fingerprint=fingerprint, manifest_key=manifest_key, assembled_at=now, assembly_seconds=seconds))
            conn.execute(update(cases).where((cases.c.case_no == case_no) & (cases.c.assembled_version < version))
                         .values(assembled_version=version))

    def volumes_of_case(self, case_no: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(volumes).where(volumes.c.case_no == case_no)
                                                  .order_by(volumes.c.volume.desc())).mappings()]

    def case_page_counts(self, case_no: str) -> dict[str, int]:
        """Pages received for the case (files routed to it by folder, plus pages classified into it) by status."""
        query = (select(pages.c.status, pages.c.role, func.count())
                 .join(entries, entries.c.id == pages.c.entry_id)
                 .where(_of_case(case_no)).group_by(pages.c.status, pages.c.role))
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for status, role, n in conn.execute(query):
                counts[status] = counts.get(status, 0) + n
                if role:
                    counts[role] = counts.get(role, 0) + n
        return counts

    def excluded_pages(self, case_no: str) -> list[dict]:
        """Pages of the case left out of its volumes: blanks, separator sheets, pages that failed, and pages an
        operator replaced by their rescan or removed (kept in the record)."""
        query = (select(pages.c.id, entries.c.sha256.label("file_sha256"), entries.c.name.label("file_name"),
                        pages.c.page_index, pages.c.role, pages.c.error)
                 .join(entries, entries.c.id == pages.c.entry_id)
                 .where(_of_case(case_no))
                 .where((pages.c.role.in_(("blank", "separator", "replaced", "removed"))) | (pages.c.status == "failed"))
                 .order_by(entries.c.stack_id, entries.c.seq, pages.c.page_index))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # progress ------------------------------------------------------------------------------------------------
    def unsettled_stacks(self, device: str) -> list[int]:
        """The device's stacks whose work is not finished: files not inspected, pages not read, not classified."""
        pending_page = (select(pages.c.id).join(entries, entries.c.id == pages.c.entry_id)
                        .where((entries.c.stack_id == stacks.c.id) & (pages.c.status == "pending")).exists())
        received = (select(entries.c.id).where((entries.c.stack_id == stacks.c.id)
                                               & (entries.c.status == "received")).exists())
        with self.engine.connect() as conn:
            return list(conn.execute(select(stacks.c.id).where(
                (stacks.c.device == device) & ((stacks.c.classified_version < stacks.c.version) | pending_page
                                               | received)).order_by(stacks.c.id)).scalars())

    def stack_progress(self, stack_ids: Sequence[int]) -> dict:
        """Where the work of these stacks stands: entries waiting, pages by status, stacks and cases not settled.
        Items held by an open incident count as stuck, not as waiting."""
        ids = list(stack_ids)
        with self.engine.connect() as conn:
            stuck = _open_incidents(conn)
            waiting = [e for e in conn.execute(select(entries.c.id).where(
                entries.c.stack_id.in_(ids) & (entries.c.status == "received"))).scalars() if e not in stuck["entry"]]
            counts = {"pending": 0, "done": 0, "failed": 0, "stuck": 0}
            counts |= dict(conn.execute(select(pages.c.status, func.count()).join(
                entries, entries.c.id == pages.c.entry_id).where(entries.c.stack_id.in_(ids))
                .group_by(pages.c.status)).all())
            if stuck["page"] and counts["pending"]:
                held = conn.execute(select(func.count()).select_from(pages).join(
                    entries, entries.c.id == pages.c.entry_id).where(
                    entries.c.stack_id.in_(ids) & (pages.c.status == "pending") & pages.c.id.in_(stuck["page"]))
                ).scalar_one()
                counts["pending"], counts["stuck"] = counts["pending"] - held, held
            unclassified = [s for s in conn.execute(select(stacks.c.id).where(
                stacks.c.id.in_(ids) & (stacks.c.classified_version < stacks.c.version))).scalars()
                if s not in stuck["stack"]]
            touched = _cases_of_stacks(conn, ids)
            unassembled = [c for c in conn.execute(select(cases.c.case_no).where(
                cases.c.case_no.in_(touched) & (cases.c.assembled_version < cases.c.version))).scalars()
                if c not in stuck["case"]]
        return {"entries_waiting": len(waiting), "pages": counts, "stacks_unclassified": len(unclassified),
                "cases_unassembled": len(unassembled), "cases": sorted(touched),
                "settled": not waiting and not counts["pending"] and not unclassified and not unassembled}

    # quarantine ----------------------------------------------------------------------------------------------
    def add_quarantine(self, **values: object) -> int:
        with self.writer.begin() as conn:
            return conn.execute(insert(quarantine).values(status="open", created_at=time.time(), **values)
                                ).inserted_primary_key[0]

    def quarantine_items(self, status: str | None = "open", stack_ids: Sequence[int] | None = None) -> list[dict]:
        query = select(quarantine).order_by(quarantine.c.id)
        if status:
            query = query.where(quarantine.c.status == status)
        if stack_ids is not None:
            query = query.where(quarantine.c.stack_id.in_(list(stack_ids)))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def quarantine_item(self, item_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(quarantine).where(quarantine.c.id == item_id)).mappings().first()
        return dict(row) if row else None

    def set_quarantine_status(self, item_id: int, status: str, note: str | None = None) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(quarantine).where(quarantine.c.id == item_id).values(status=status, note=note))

    def resolve_quarantine(self, *, entry_id: int, page_index: int | None = None, code: str | None = None,
                           note: str | None = None) -> None:
        """Open items of the entry (of one page, or of one code) are resolved: the entry got past that point."""
        condition = (quarantine.c.entry_id == entry_id) & (quarantine.c.status == "open")
        if page_index is not None:
            condition &= quarantine.c.page_index == page_index
        if code is not None:
            condition &= quarantine.c.error_code == code
        with self.writer.begin() as conn:
            conn.execute(update(quarantine).where(condition).values(status="resolved", note=note))

    # incidents: defects in our code or our servers, never blamed on the file --------------------------------
    def add_incident(self, *, job: str, args: Sequence, error: str, traceback: str | None,
                     stack_id: int | None = None, case_no: str | None = None, entry_id: int | None = None,
                     page_id: int | None = None) -> int:
        """An internal error holding work back; the same job failing again on the same work updates its open
        incident (time, error, traceback) rather than adding another."""
        refs = dict(stack_id=stack_id, case_no=case_no, entry_id=entry_id, page_id=page_id)
        same = (incidents.c.status == "open") & (incidents.c.job == job)
        for name, value in refs.items():
            same &= incidents.c[name].is_(None) if value is None else incidents.c[name] == value
        with self.writer.begin() as conn:
            found = conn.execute(select(incidents.c.id).where(same).limit(1)).scalar()
            if found is not None:
                conn.execute(update(incidents).where(incidents.c.id == found).values(
                    error=error, traceback=traceback, at=time.time()))
                return found
            return conn.execute(insert(incidents).values(
                job=job, args=json.loads(json.dumps(list(args), default=str)), error=error, traceback=traceback,
                status="open", at=time.time(), **refs)).inserted_primary_key[0]

    def incidents(self, status: str | None = "open", stack_ids: Sequence[int] | None = None,
                  cases_: Sequence[str] | None = None) -> list[dict]:
        query = select(incidents).order_by(incidents.c.id)
        if status:
            query = query.where(incidents.c.status == status)
        if stack_ids is not None or cases_ is not None:
            query = query.where(incidents.c.stack_id.in_(list(stack_ids or ()))
                                | incidents.c.case_no.in_(list(cases_ or ())))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def resolve_incidents(self, *, entry_id: int | None = None, page_id: int | None = None,
                          stack_id: int | None = None, case_no: str | None = None, job: str | None = None) -> None:
        condition = incidents.c.status == "open"
        for column, value in ((incidents.c.entry_id, entry_id), (incidents.c.page_id, page_id),
                              (incidents.c.stack_id, stack_id), (incidents.c.case_no, case_no),
                              (incidents.c.job, job)):
            if value is not None:
                condition &= column == value
        with self.writer.begin() as conn:
            conn.execute(update(incidents).where(condition).values(status="resolved"))

    # leases: single-flight work across processes and machines ----------------------------------------------
    def take_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Take or renew the lease; when another owner holds it, note that it is wanted, so its release says so."""
        now = time.time()
        with self.writer.begin() as conn:
            taken = conn.execute(update(leases).where((leases.c.name == name) & (
                (leases.c.expires_at < now) | (leases.c.owner == owner))).values(
                owner=owner, expires_at=now + seconds, wanted=(leases.c.owner == owner) & leases.c.wanted))
            if taken.rowcount:
                return True
            if insert_new(conn, leases, dict(name=name, owner=owner, expires_at=now + seconds, wanted=False),
                          ["name"]) is not None:
                return True
            conn.execute(update(leases).where(leases.c.name == name).values(wanted=True))
            return False

    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up; True when someone else asked for it meanwhile (they wait to be queued again)."""
        with self.writer.begin() as conn:
            wanted = conn.execute(delete(leases).where((leases.c.name == name) & (leases.c.owner == owner))
                                  .returning(leases.c.wanted)).scalar()
        return bool(wanted)

    # tokens --------------------------------------------------------------------------------------------------
    def add_token(self, name: str, role: str, token: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(insert(tokens).values(name=name, role=role, token_hash=token_hash(token),
                                               created_at=time.time()))

    def token_by_secret(self, token: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where((tokens.c.token_hash == token_hash(token))
                                                    & tokens.c.revoked_at.is_(None))).mappings().first()
        return dict(row) if row else None

    def token_list(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(tokens.c.id, tokens.c.name, tokens.c.role,
                                                         tokens.c.created_at, tokens.c.revoked_at)
                                                  .order_by(tokens.c.id)).mappings()]

    def revoke_token(self, name: str) -> bool:
        with self.writer.begin() as conn:
            result = conn.execute(update(tokens).where((tokens.c.name == name) & tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=time.time()))
        return bool(result.rowcount)

    # people and their sessions --------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str) -> bool:
        """A new user; False when the name is taken (the password is then set anew, and the role)."""
        with self.writer.begin() as conn:
            made = insert_new(conn, users, dict(name=name, role=role, password_hash=password_hash,
                                                created_at=time.time()), ["name"])
            if made is None:
                conn.execute(update(users).where(users.c.name == name).values(
                    role=role, password_hash=password_hash, disabled_at=None))
        return made is not None

    def user(self, name: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        return dict(row) if row else None

    def user_list(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(users.c.name, users.c.role, users.c.created_at,
                                                         users.c.disabled_at).order_by(users.c.name)).mappings()]

    def disable_user(self, name: str) -> bool:
        with self.writer.begin() as conn:
            done = conn.execute(update(users).where((users.c.name == name) & users.c.disabled_at.is_(None))
                                .values(disabled_at=time.time())).rowcount
            conn.execute(update(web_sessions).where((web_sessions.c.kind == "console")
                                                    & (web_sessions.c.subject == name)
                                                    & web_sessions.c.ended_at.is_(None)).values(ended_at=time.time()))
        return bool(done)

    def add_session(self, secret: str, kind: str, subject: str, role: str, expires_at: float) -> None:
        now = time.time()
        with self.writer.begin() as conn:
            conn.execute(insert(web_sessions).values(secret_hash=token_hash(secret), kind=kind, subject=subject,
                                                     role=role, created_at=now, seen_at=now, expires_at=expires_at))

    def live_session(self, secret: str, kind: str, idle_s: float, touch: bool = True) -> dict | None:
        """The session behind a cookie if it has not ended, expired or been idle longer than `idle_s`; its
        last-seen time moves on (`touch`: a person's own request; a page polling on its own does not). An idle or
        expired session is ended for good."""
        now = time.time()
        where = (web_sessions.c.secret_hash == token_hash(secret)) & (web_sessions.c.kind == kind) \
            & web_sessions.c.ended_at.is_(None)
        with self.writer.begin() as conn:
            row = conn.execute(select(web_sessions).where(where)).mappings().first()
            if row is None:
                return None
            if row["expires_at"] <= now or row["seen_at"] + idle_s <= now:
                conn.execute(update(web_sessions).where(web_sessions.c.id == row["id"]).values(ended_at=now))
                return None
            if touch:
                conn.execute(update(web_sessions).where(web_sessions.c.id == row["id"]).values(seen_at=now))
        return dict(row)

    def session(self, secret: str, kind: str) -> dict | None:
        """The session behind a cookie, live or ended."""
        with self.engine.connect() as conn:
            row = conn.execute(select(web_sessions).where((web_sessions.c.secret_hash == token_hash(secret))
                                                          & (web_sessions.c.kind == kind))).mappings().first()
        return dict(row) if row else None

    def end_session(self, secret: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(web_sessions).where((web_sessions.c.secret_hash == token_hash(secret))
                                                    & web_sessions.c.ended_at.is_(None)).values(ended_at=time.time()))

    def end_sessions_of(self, kind: str, subject: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(web_sessions).where((web_sessions.c.kind == kind)
                                                    & (web_sessions.c.subject == subject)
                                                    & web_sessions.c.ended_at.is_(None)).values(ended_at=time.time()))

    # kiosk filings ---------------------------------------------------------------------------------------------
    def add_filing(self, code: str, kiosk: str) -> dict:
        with self.writer.begin() as conn:
            filing_id = conn.execute(insert(filings).values(code=code, kiosk=kiosk, state="draft", returned=0,
                                                            created_at=time.time())
                                     .returning(filings.c.id)).scalar()
        return self.filing(filing_id)

    def filing(self, filing_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(filings).where(filings.c.id == filing_id)).mappings().first()
        return dict(row) if row else None

    def filing_by(self, **where) -> dict | None:
        """The filing with this lookup `code` or phone-upload `upload_hash`."""
        (column, value), = where.items()
        with self.engine.connect() as conn:
            row = conn.execute(select(filings).where(filings.c[column] == value)).mappings().first()
        return dict(row) if row else None

    def filings_in(self, states: Sequence[str]) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(filings).where(filings.c.state.in_(list(states)))
                                                  .order_by(filings.c.submitted_at, filings.c.id)).mappings()]

    def set_filing(self, filing_id: int, *, expect: Sequence[str] | None = None, **values) -> bool:
        """Change a filing; with `expect`, only while it is in one of those states (False otherwise)."""
        where = filings.c.id == filing_id
        if expect is not None:
            where &= filings.c.state.in_(list(expect))
        with self.writer.begin() as conn:
            return bool(conn.execute(update(filings).where(where).values(**values)).rowcount)

    def add_filing_page(self, filing_id: int, *, material: str, sha256: str, size: int, source: str,
                        provenance: dict | None, states: Sequence[str], instead_of: int | None = None) -> dict | None:
        """Record a captured page at the end of the filing, or in the place of `instead_of` (taken out) — in one
        transaction, and only while the filing is in one of `states` (None otherwise)."""
        now = time.time()
        with self.writer.begin() as conn:
            state = conn.execute(select(filings.c.state).where(filings.c.id == filing_id).with_for_update()).scalar()
            if state not in states:
                return None
            if instead_of is not None:
                position = conn.execute(update(filing_pages).where(
                    (filing_pages.c.id == instead_of) & (filing_pages.c.filing_id == filing_id)
                    & filing_pages.c.deleted_at.is_(None)).values(deleted_at=now)
                    .returning(filing_pages.c.position)).scalar()
            else:
                position = (conn.execute(select(func.max(filing_pages.c.position))
                                         .where(filing_pages.c.filing_id == filing_id)).scalar() or 0) + 1
            if position is None:
                return None
            page_id = conn.execute(insert(filing_pages).values(
                filing_id=filing_id, material=material, sha256=sha256, size=size, position=position,
                source=source, provenance=provenance, captured_at=now).returning(filing_pages.c.id)).scalar()
        return self.filing_page(page_id)

    def swap_filing_pages(self, first: int, second: int) -> None:
        """Two pages of a filing change places, in one transaction."""
        with self.writer.begin() as conn:
            rows = dict(conn.execute(select(filing_pages.c.id, filing_pages.c.position)
                                     .where(filing_pages.c.id.in_([first, second]))).all())
            for page_id, other in ((first, second), (second, first)):
                conn.execute(update(filing_pages).where(filing_pages.c.id == page_id).values(position=rows[other]))

    def filing_page(self, page_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(filing_pages).where(filing_pages.c.id == page_id)).mappings().first()
        return dict(row) if row else None

    def filing_pages_of(self, filing_id: int, deleted: bool = False) -> list[dict]:
        """The filing's pages in the person's order (with `deleted`, those taken out as well)."""
        where = filing_pages.c.filing_id == filing_id
        if not deleted:
            where &= filing_pages.c.deleted_at.is_(None)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(filing_pages).where(where)
                                                  .order_by(filing_pages.c.position, filing_pages.c.id)).mappings()]

    def set_filing_page(self, page_id: int, **values) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(filing_pages).where(filing_pages.c.id == page_id).values(**values))

    # figures -------------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            by_status = dict(conn.execute(select(pages.c.status, func.count()).group_by(pages.c.status)).all())
            open_q = conn.execute(select(func.count()).select_from(quarantine)
                                  .where(quarantine.c.status == "open")).scalar_one()
            review = conn.execute(select(func.count()).select_from(documents)
                                  .where(documents.c.review.is_(True))).scalar_one()
            waiting = conn.execute(select(func.count()).select_from(entries)
                                   .where(entries.c.status == "received")).scalar_one()
        pages_counts = {f"pages_{s}": by_status.get(s, 0) for s in ("pending", "done", "failed")}
        return pages_counts | {"files_waiting": waiting, "quarantined": open_q, "in_review": review}

    def unfinished(self) -> dict[str, list]:
        """What the catalogue says is still to do, whatever a queue remembers: files received and not inspected,
        pages not digitised, stacks and cases changed since they were last classified or assembled."""
        with self.engine.connect() as conn:
            return {
                "entries": list(conn.execute(select(entries.c.id).where(entries.c.status == "received")
                                             .order_by(entries.c.id)).scalars()),
                "pages": list(conn.execute(select(pages.c.id).where(pages.c.status == "pending")
                                           .order_by(pages.c.id)).scalars()),
                "stacks": list(conn.execute(select(stacks.c.id).where(stacks.c.classified_version < stacks.c.version)
                                            .order_by(stacks.c.id)).scalars()),
                "cases": list(conn.execute(select(cases.c.case_no).where(cases.c.assembled_version < cases.c.version)
                                           .order_by(cases.c.case_no)).scalars()),
            }

    def routed_case_numbers(self) -> list[str]:
        """Cases known from the catalogue's cases and from files routed to a case not yet classified."""
        with self.engine.connect() as conn:
            found = set(conn.execute(select(cases.c.case_no)).scalars())
            found |= set(conn.execute(select(entries.c.case_no).where(entries.c.case_no.is_not(None))
                                      .distinct()).scalars())
        return sorted(found)

    def latency_histogram(self, bounds: Sequence[float]) -> tuple[list[int], float, int]:
        """Pages settled within each bound (seconds from receipt), the sum of their latencies and their count."""
        latency = pages.c.done_at - entries.c.received_at
        columns = [func.sum(case((latency <= b, 1), else_=0)) for b in bounds]
        query = (select(*columns, func.sum(latency), func.count()).select_from(pages)
                 .join(entries, entries.c.id == pages.c.entry_id).where(pages.c.done_at.is_not(None)))
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return [int(v or 0) for v in row[:-2]], float(row[-2] or 0.0), int(row[-1] or 0)

    # the operator console ----------------------------------------------------------------------------------------
    def pages_done_since(self, since: float) -> int:
        """Pages read (status done) at or after `since`: the console's pages per minute."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(pages).where(
                (pages.c.status == "done") & (pages.c.done_at >= since))).scalar_one()

    def recent_stacks(self, limit: int = 30) -> list[StackRow]:
        """The stacks opened last, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(stacks).order_by(stacks.c.id.desc()).limit(limit)).mappings()
            return [_row(StackRow, r) for r in rows]

    def documents_in_review(self) -> list[dict]:
        """Every document flagged for a person to check, in a case or not routed to one, with its pages."""
        with self.engine.connect() as conn:
            return _documents_with_pages(conn, documents.c.review.is_(True))


def _row(cls, row):
    return cls(**{name: row[name] for name in cls.__dataclass_fields__})


def _blob_columns(blob: PageBlob | None) -> dict:
    if blob is None:
        return {"blob_key": None, "blob_media_type": None, "blob_index": None}
    return {"blob_key": blob.key, "blob_media_type": blob.media_type, "blob_index": blob.index}


def _of_case(case_no: str):
    """Pages classified into the case, and pages of entries routed to it that classification has not placed yet."""
    return (pages.c.case_no == case_no) | (pages.c.case_no.is_(None) & (entries.c.case_no == case_no))


def _open_incidents(conn) -> dict[str, set]:
    """What open incidents hold back, by kind of item."""
    found = {"entry": set(), "page": set(), "stack": set(), "case": set()}
    for job, entry_id, page_id, stack_id, case_no in conn.execute(select(
            incidents.c.job, incidents.c.entry_id, incidents.c.page_id, incidents.c.stack_id, incidents.c.case_no)
            .where(incidents.c.status == "open")):
        found["entry"].add(entry_id)
        found["page"].add(page_id)
        if job == "classify":
            found["stack"].add(stack_id)
        if job == "assemble":
            found["case"].add(case_no)
    return found


def _cases_of_stacks(conn, stack_ids: list[int]) -> set[str]:
    from_docs = conn.execute(select(documents.c.case_no).where(
        documents.c.stack_id.in_(stack_ids) & documents.c.case_no.is_not(None)).distinct()).scalars()
    from_entries = conn.execute(select(entries.c.case_no).where(
        entries.c.stack_id.in_(stack_ids) & entries.c.case_no.is_not(None)).distinct()).scalars()
    return set(from_docs) | set(from_entries)


def _documents_with_pages(conn, condition) -> list[dict]:
    docs = [dict(r) for r in conn.execute(select(documents).where(condition)
                                          .order_by(documents.c.received_order, documents.c.id)).mappings()]
    if not docs:
        return docs
    by_id = {d["id"]: d for d in docs}
    for d in docs:
        d["page_ids"] = []
    rows = conn.execute(select(document_pages).where(document_pages.c.document_id.in_(list(by_id)))
                        .order_by(document_pages.c.document_id, document_pages.c.position)).mappings()
    for row in rows:
        by_id[row["document_id"]]["page_ids"].append(row["page_id"])
    return docs


DOCUMENT_FIELDS = ("case_no", "volume", "type_code", "title", "confidence", "review", "reason", "received_order",
                   "separator_page_id", "parties", "identifiers", "corrected")


def _update_document(conn, old: dict, draft: dict) -> None:
    values = {k: draft[k] for k in DOCUMENT_FIELDS}
    if any(old[k] != v for k, v in values.items()):
        conn.execute(update(documents).where(documents.c.id == old["id"]).values(**values))
    if list(old["page_ids"]) != list(draft["page_ids"]):
        conn.execute(delete(document_pages).where(document_pages.c.document_id == old["id"]))
        _insert_pages(conn, old["id"], draft["page_ids"])


def _insert_document(conn, stack_id: int, draft: dict) -> int:
    values = {k: draft[k] for k in DOCUMENT_FIELDS}
    doc_id = conn.execute(insert(documents).values(stack_id=stack_id, created_at=time.time(), **values)
                          ).inserted_primary_key[0]
    _insert_pages(conn, doc_id, draft["page_ids"])
    return doc_id


def _insert_pages(conn, doc_id: int, page_ids: Sequence[int]) -> None:
    conn.execute(insert(document_pages), [{"document_id": doc_id, "page_id": pid, "position": pos}
                                          for pos, pid in enumerate(page_ids)])


def upgrade_catalogue(url: str) -> tuple[str | None, str]:
    """Bring the catalogue at `url` to the newest layout: (layout before, layout now)."""
    from storage import migrate
    engine = make_engine(url)
    writer = make_writer(url, engine)
    try:
        empty = migrate.is_empty(engine)
        before = None if empty else migrate.current(engine)
        if before is None and not empty:
            raise OutdatedCatalogue(f"the catalogue at {url} predates migrations and cannot be upgraded; start "
                                    "from a new EDOSSIER_HOME")
        migrate.upgrade(writer)
        return before, migrate.current(engine)
    finally:
        engine.dispose()
        writer.dispose()


def open_catalogue(settings) -> Catalogue:
    return Catalogue(settings.catalogue_url)
