"""The S3 blob store (MinIO or any S3 server), with a local spool that keeps accepting blobs while S3 is down; the only
module that imports minio.

A put returns once the bytes are durable: in S3 and checked there, or — when S3 cannot be reached (no connection, a
timeout, a 5xx) — fsynced in HOME/spool, from which a background thread uploads them when S3 answers again. Objects
are named ab/cd/abcd… by the SHA-256 of their bytes, so an upload repeated by a retry, a second process or the
drain is harmless: one key, one object.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError

from config.errors import MissingDependency
from config.settings import S3Location, Settings, SettingsError
from storage.blobs import CHUNK, BlobNotFound, BlobUnavailable, check_key, is_blob_key, sync_directory

log = logging.getLogger("edossier.blobs")

PART_SIZE = 16 << 20        # a blob larger than this goes up in parts of this size
MIN_PART_SIZE = 5 << 20     # the smallest part S3 accepts
FIRST_PAUSE_S = 0.5         # the drain's pause after a round that left blobs in the spool, doubling up to
LAST_PAUSE_S = 8.0          # this, so that S3's return is noticed within seconds without hammering it meanwhile
STALE_STAGED_S = 86400      # a copy staged for upload this long ago belongs to a process that died
_TRY_LATER = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"}   # S3 error codes that pass


class S3Unreachable(BlobUnavailable):
    """S3 did not answer, timed out or answered with a server error: a put spools the blob, a read reports it
    unavailable."""


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Credentials:
        """The usual AWS variables; a settings error at start-up when they are missing, since nothing would work."""
        missing = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not env.get(name)]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise SettingsError(f"blobs.backend is s3 but {' and '.join(missing)} {verb} not set: export the access "
                                "key and secret key of the S3 store (and AWS_SESSION_TOKEN for temporary credentials)")
        return cls(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None)


def _md5() -> hashlib._Hash:
    return hashlib.md5(usedforsecurity=False)


class _Digest:
    """What one pass over the bytes tells: their key (SHA-256), size, and the ETag S3 reports for them once uploaded
    in parts of `part_size` (the MD5 of a single part; for several, the MD5 of the parts' MD5s and their count)."""

    def __init__(self, part_size: int):
        self.part_size, self.size = part_size, 0
        self._sha256, self._part, self._part_filled = hashlib.sha256(), _md5(), 0
        self._parts: list[bytes] = []

    @classmethod
    def of_bytes(cls, data: bytes, part_size: int) -> _Digest:
        digest = cls(part_size)
        digest.update(data)
        return digest

    @classmethod
    def of_file(cls, source: BinaryIO, part_size: int) -> _Digest:
        digest = cls(part_size)
        while chunk := source.read(CHUNK):
            digest.update(chunk)
        return digest

    def update(self, data: bytes) -> None:
        self._sha256.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            take = min(len(view), self.part_size - self._part_filled)
            self._part.update(view[:take])
            self._part_filled += take
            view = view[take:]
            if self._part_filled == self.part_size:
                self._parts.append(self._part.digest())
                self._part, self._part_filled = _md5(), 0

    @property
    def key(self) -> str:
        return self._sha256.hexdigest()

    @property
    def etag(self) -> str:
        parts = self._parts + ([self._part.digest()] if self._part_filled or not self._parts else [])
        if len(parts) == 1:
            return parts[0].hex()
        return hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest() + f"-{len(parts)}"


def _object_name(key: str) -> str:
    return f"{key[:2]}/{key[2:4]}/{check_key(key)}"


@contextlib.contextmanager
def _translated(location: S3Location, doing: str) -> Iterator[None]:
    """minio's and urllib3's errors turned into ours, once, here: S3Unreachable for what passes (no connection, a
    timeout, a server error), BlobUnavailable for a refusal (credentials, a missing bucket)."""
    try:
        yield
    except (urllib3.exceptions.HTTPError, ServerError, InvalidResponseError) as exc:
        cause = getattr(exc, "reason", None) or exc
        raise S3Unreachable(f"S3 at {location.endpoint} cannot be reached to {doing}: {cause}") from exc
    except S3Error as exc:
        if exc.code in _TRY_LATER or exc.response.status >= 500:
            raise S3Unreachable(f"S3 at {location.endpoint} failed to {doing}: {exc.code} {exc.message}") from exc
        raise BlobUnavailable(f"S3 at {location.endpoint} refused to {doing}: {exc.code} {exc.message}") from exc


class _Process:
    """What each process keeps of a store: its own client (connections are never shared across a fork), its drain
    thread, and whether S3 was last found unreachable — then puts go straight to the spool, not each waiting for a
    timeout, until the drain gets a blob through."""

    def __init__(self, client: Minio):
        self.pid, self.client = os.getpid(), client
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.outage = threading.Event()
        self.drainer: threading.Thread | None = None


_making_state = threading.Lock()


def _fresh_lock_after_fork() -> None:
    global _making_state
    _making_state = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def _try_lock(handle: BinaryIO) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class _Cache:
    """Small blobs this machine stored in S3 or read from it, kept in HOME/cache/blobs so that they are not fetched
    again: page images and page PDFs a dossier rebuild binds, each time it is rebuilt. Blobs never change (their
    name is their hash), so a copy never goes stale; one is checked against its name when read, and a damaged one is
    dropped and fetched again. A copy is made only once S3 holds the blob (after a checked upload or download). A put
    is always sent, so that an object damaged in S3 is mended by the next machine that stores it. Least recently used
    copies go when the folder outgrows its limit."""

    MAX_BLOB = 4 << 20         # larger blobs (whole files, volumes) are not kept

    def __init__(self, folder: Path, limit_bytes: int):
        self.folder, self.limit = folder, limit_bytes
        self.added = 0
        if limit_bytes:
            folder.mkdir(parents=True, exist_ok=True)

    def read(self, key: str) -> bytes | None:
        if not self.limit:
            return None
        path = self.folder / key
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if hashlib.sha256(data).hexdigest() != key:
            log.warning("blob cache: %s does not hold the blob it is named after; dropped", path)
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(FileNotFoundError):
            os.utime(path)
        return data

    def keep(self, key: str, data: bytes) -> None:
        if not self.limit or len(data) > self.MAX_BLOB:
            return
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, self.folder / key)
        self.added += len(data)
        if self.added > self.limit // 10:
            self.added = 0
            self._trim()

    def _trim(self) -> None:
        """Oldest-used copies removed until the folder is under nine tenths of its limit."""
        entries = []
        for entry in os.scandir(self.folder):
            with contextlib.suppress(FileNotFoundError):
                info = entry.stat()
                entries.append((info.st_mtime, info.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit * 0.9:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            total -= size


class _Small:
    """A writer passing bytes on to `out` that also keeps them while they total at most `limit`."""

    def __init__(self, out: BinaryIO, limit: int):
        self.out, self.limit, self._kept = out, limit, bytearray()
        self._small = True

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        if self._small:
            self._kept += chunk
            self._small = len(self._kept) <= self.limit
            if not self._small:
                self._kept = bytearray()

    @property
    def data(self) -> bytes | None:
        return bytes(self._kept) if self._small else None


class S3BlobStore:
    """Blobs as objects ab/cd/abcd… in one bucket, each upload checked: S3 must report the size, the SHA-256 sent
    as the object's metadata, and the ETag computed here from the bytes (their MD5, or for a multipart upload the MD5
    of the parts' MD5s). On the way, each request carries its body's SHA-256 (over http) or MD5 (over https), which
    the server checks too."""

    def __init__(self, location: S3Location, credentials: S3Credentials, spool: Path, *, part_size: int = PART_SIZE,
                 connect_timeout_s: float = 3.0, read_timeout_s: float = 20.0, cache: Path | None = None,
                 cache_bytes: int = 0):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part size {part_size} is below the {MIN_PART_SIZE} bytes S3 accepts")
        self.location, self.part_size = location, part_size
        self.spool = Path(spool)
        self.spool.mkdir(parents=True, exist_ok=True)
        self._credentials = credentials
        self._timeouts = urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s)
        self._process: _Process | None = None
        self.cache = _Cache(cache or self.spool.with_name("cache") / "blobs", cache_bytes)

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None, **tuning) -> S3BlobStore:
        credentials = S3Credentials.from_env(os.environ if env is None else env)
        tuning.setdefault("cache_bytes", settings.blobs.cache_mb << 20)
        return cls(settings.blobs.s3, credentials, settings.home / "spool", cache=settings.home / "cache" / "blobs",
                   **tuning)

    def check(self) -> None:
        """At start-up: S3 answers and the bucket exists (made if missing), or stop now, naming the endpoint — a
        command that could never upload should not start (a server down is a missing dependency, like Redis; a
        refusal is a settings error). Blobs an earlier run left in the spool start draining."""
        try:
            self._ensure_bucket()
        except S3Unreachable as exc:
            raise MissingDependency(f"{exc}: start it, or point EDOSSIER_BLOBS (blobs.url) at one that runs") from exc
        except BlobUnavailable as exc:
            raise SettingsError(f"{exc}: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and blobs.url") from exc
        self._sweep_staged()
        if self.spooled():
            self._kick()

    def _sweep_staged(self) -> None:
        """Remove copies an earlier run was staging when it died (a put never acknowledged): untouched for a day."""
        stale = time.time() - STALE_STAGED_S
        for path in self.spool.glob(".incoming-*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < stale:
                    path.unlink()

    # writing -------------------------------------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> str:
        digest = _Digest.of_bytes(data, self.part_size)
        if self._store(digest, lambda: io.BytesIO(data), lambda: self._keep_bytes(data, digest.key)):
            self.cache.keep(digest.key, data)
        return digest.key

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Copy the stream to a file in the spool's folder, hashing as it goes (the key must be known before the
        upload names the object), then upload that file or keep it in the spool."""
        staged, digest = self._stage(stream)
        try:
            self._store(digest, lambda: open(staged, "rb"), lambda: self._keep(staged, digest.key))
        finally:
            staged.unlink(missing_ok=True)
        return digest.key, digest.size

    def put_path(self, path: Path) -> str:
        with open(path, "rb") as handle:
            return self.put_stream(handle)[0]

    def _store(self, digest: _Digest, source: Callable[[], BinaryIO], keep: Callable[[], None]) -> bool:
        """Into S3 if it answers (True), else `keep` into the spool (False); durable either way when this returns."""
        state = self._state()
        if not state.outage.is_set():
            try:
                with source() as stream:
                    self._upload(digest, stream)
                return True
            except S3Unreachable as exc:
                state.outage.set()
                log.warning("%s; blobs wait in %s until it answers", exc, self.spool)
        keep()
        self._kick()
        return False

    def _upload(self, digest: _Digest, stream: BinaryIO) -> None:
        """Send the bytes and make sure S3 kept exactly them: the ETag it answers is the MD5 it computed of what it
        stored (of each part's MD5s, for a multipart upload), which must be the one computed here. A large blob is
        sent only unless S3 holds it already; a small one is simply sent again — one request, where asking first
        would make two."""
        if digest.size >= self.part_size and self._holds(digest):
            return
        with _translated(self.location, f"store blob {digest.key}"):
            result = self._client().put_object(self.location.bucket, _object_name(digest.key), stream, digest.size,
                                               metadata={"sha256": digest.key}, part_size=self.part_size,
                                               num_parallel_uploads=1)
        if (result.etag or "").strip('"') != digest.etag:
            raise BlobUnavailable(f"S3 at {self.location.endpoint} did not keep blob {digest.key} as sent "
                                  f"(ETag {result.etag}, expected {digest.etag})")

    def _holds(self, digest: _Digest) -> bool:
        found = self._stat(digest.key)
        return (found is not None and found.size == digest.size
                and (found.metadata or {}).get("x-amz-meta-sha256") == digest.key)

    def _stage(self, stream: BinaryIO) -> tuple[Path, _Digest]:
        """The stream in a new file beside the spool (not yet fsynced: only a blob that stays needs that)."""
        digest = _Digest(self.part_size)
        fd, tmp = tempfile.mkstemp(dir=self.spool, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp), digest

    def _keep_bytes(self, data: bytes, key: str) -> None:
        staged = self._stage(io.BytesIO(data))[0]
        try:
            self._keep(staged, key)
        finally:
            staged.unlink(missing_ok=True)

    def _keep(self, staged: Path, key: str) -> None:
        """Make a staged file a spooled blob that survives a crash: its bytes fsynced, renamed to its key, the folder
        fsynced."""
        with open(staged, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, self.spool / key)
        sync_directory(self.spool)

    # reading -------------------------------------------------------------------------------------------------------

    def get_bytes(self, key: str) -> bytes:
        buffer = io.BytesIO()
        self._fetch(key, buffer)
        return buffer.getvalue()

    def open_stream(self, key: str) -> BinaryIO:
        """The spooled file itself, or the object downloaded (and checked) into an anonymous temporary file."""
        with contextlib.suppress(FileNotFoundError):
            return open(self._spooled(key), "rb")
        out = tempfile.TemporaryFile()
        try:
            self._download(key, out)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out

    def copy_to(self, key: str, target: Path) -> None:
        """Write the blob to `target` atomically (a reader never sees half a file)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                self._fetch(key, out)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @contextlib.contextmanager
    def checkout(self, keys: Sequence[str]) -> Iterator[list[Path]]:
        """The blobs downloaded into a new temporary folder, removed again when the block ends."""
        folder = Path(tempfile.mkdtemp(prefix="edossier-checkout-"))
        try:
            paths = [folder / check_key(key) for key in keys]
            for path in paths:
                if not path.exists():
                    with open(path, "wb") as out:
                        self._fetch(path.name, out)
            yield paths
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        return self._spooled(key).exists() or self._stat(key) is not None

    def _fetch(self, key: str, out: BinaryIO) -> None:
        """The spooled copy if there is one (it leaves the spool only once S3 holds it), else this machine's cached
        copy, else the object (kept in the cache when small)."""
        try:
            with open(self._spooled(key), "rb") as source:
                shutil.copyfileobj(source, out, CHUNK)
            return
        except FileNotFoundError:
            pass
        cached = self.cache.read(key)
        if cached is not None:
            out.write(cached)
            return
        small = _Small(out, self.cache.MAX_BLOB)
        self._download(key, small)
        if small.data is not None:
            self.cache.keep(key, small.data)

    def _download(self, key: str, out: BinaryIO) -> None:
        """The object's bytes into `out`, checked against their key: a truncated or damaged transfer is no blob."""
        digest = hashlib.sha256()
        with _translated(self.location, f"read blob {key}"):
            try:
                response = self._client().get_object(self.location.bucket, _object_name(key))
            except S3Error as exc:
                if exc.code == "NoSuchKey":
                    raise BlobNotFound(key) from None
                raise
            try:
                for chunk in response.stream(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            finally:
                response.close()
                response.release_conn()
        if digest.hexdigest() != key:
            raise BlobUnavailable(f"blob {key} arrived from S3 at {self.location.endpoint} damaged; try again")

    def _stat(self, key: str) -> Object | None:
        with _translated(self.location, f"look up blob {key}"):
            try:
                return self._client().stat_object(self.location.bucket, _object_name(key))
            except S3Error as exc:
                if exc.code == "NoSuchKey":
                    return None
                raise

    def _spooled(self, key: str) -> Path:
        return self.spool / check_key(key)

    # the spool's drain ---------------------------------------------------------------------------------------------

    def spooled(self) -> int:
        """How many blobs wait in the spool for S3."""
        return len(self._waiting())

    def drain(self, timeout: float | None = None) -> bool:
        """Upload the spool now rather than at the next retry and wait until it is empty or `timeout` passes; True
        when it is empty (for tests, and for a command that wants its blobs in S3 before it exits)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._kick()
        self._state().wake.set()
        while self.spooled():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._kick()
            time.sleep(0.05)
        return True

    def _waiting(self) -> list[Path]:
        try:
            names = os.listdir(self.spool)
        except FileNotFoundError:
            return []
        return [self.spool / name for name in sorted(names) if is_blob_key(name)]

    def _kick(self) -> None:
        """A drain thread runs in this process (one at most) while the spool holds blobs."""
        state = self._state()
        with state.lock:
            if state.drainer is None or not state.drainer.is_alive():
                state.drainer = threading.Thread(target=self._drain_loop, args=(state,), name="edossier-spool",
                                                 daemon=True)
                state.drainer.start()

    def _drain_loop(self, state: _Process) -> None:
        """Round after round over the spool until it is empty, pausing after a round that left blobs (longer each
        time, or until drain() asks). It decides to stop under the lock _kick takes, so no spooled blob is missed."""
        pause = FIRST_PAUSE_S
        while True:
            with state.lock:
                waiting = self._waiting()
                if not waiting:
                    state.drainer = None
                    state.outage.clear()
                    return
            if self._drain_round(waiting, state):
                pause = FIRST_PAUSE_S
                continue
            state.wake.wait(pause)
            state.wake.clear()
            pause = min(2 * pause, LAST_PAUSE_S)

    def _drain_round(self, waiting: list[Path], state: _Process) -> bool:
        """Try each waiting blob once; True when all went. S3 unreachable ends the round at once."""
        all_went = True
        for path in waiting:
            try:
                went = self._drain_one(path)
            except S3Unreachable as exc:
                log.info("spool: %s; %d blobs wait", exc, len(waiting))
                return False
            except Exception as exc:      # a refusal, a damaged object, the disk: logged, the blob kept, tried again
                log.error("spool: blob %s stays in the spool for now: %s", path.name, exc)
                went = False
            if went:
                state.outage.clear()
            all_went &= went
        return all_went

    def _drain_one(self, path: Path) -> bool:
        """Upload one spooled blob and remove it from the spool once S3 holds it, checked. False when another process
        is uploading it right now (its lock is held)."""
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return True
        with handle:
            if not _try_lock(handle):
                return False
            if os.fstat(handle.fileno()).st_nlink == 0:      # uploaded and removed while this waited for the lock
                return True
            digest = _Digest.of_file(handle, self.part_size)
            if digest.key != path.name:
                self._set_aside(path)
                return True
            handle.seek(0)
            self._upload(digest, handle)
            path.unlink(missing_ok=True)
        sync_directory(self.spool)
        return True

    def _set_aside(self, path: Path) -> None:
        """A spooled file whose bytes no longer match its name (a damaged disk) must not be uploaded as that blob."""
        os.replace(path, path.with_name(f".damaged-{path.name}"))
        log.error("spool: %s does not hold the blob it is named after; set aside as .damaged-%s", path, path.name)

    # the client, one per process -----------------------------------------------------------------------------------

    def _client(self) -> Minio:
        return self._state().client

    def _state(self) -> _Process:
        state = self._process
        if state is None or state.pid != os.getpid():
            with _making_state:
                state = self._process
                if state is None or state.pid != os.getpid():
                    state = self._process = _Process(self._new_client())
        return state

    def _new_client(self) -> Minio:
        """Short timeouts and few retries, so that an S3 that is down is noticed in seconds and the blob spooled, and
        a frozen one holds an upload for well under a minute — not minio's default five minutes and five retries."""
        http = urllib3.PoolManager(
            timeout=self._timeouts, maxsize=10, cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(total=2, connect=2, read=1, status=2, backoff_factor=0.2,
                                  status_forcelist=(500, 502, 503, 504)))
        credentials = self._credentials
        return Minio(self.location.host, access_key=credentials.access_key, secret_key=credentials.secret_key,
                     session_token=credentials.session_token, secure=self.location.secure,
                     region=self.location.region, http_client=http)

    def _ensure_bucket(self) -> None:
        """Make the bucket unless it exists; another process making it at the same moment is no error."""
        bucket = self.location.bucket
        with _translated(self.location, f"open bucket {bucket}"):
            if self._client().bucket_exists(bucket):
                return
            try:
                self._client().make_bucket(bucket)
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":
                    raise


def open_s3_store(settings: Settings) -> S3BlobStore:
    """The store blobs.url names. A command checks it as it starts and stops, naming the endpoint, if S3 cannot be
    reached; the worker processes a command starts skip that check (their parent made it), so that a worker started
    during an outage — one replacing a worker that died — spools like a running process instead of failing."""
    store = S3BlobStore.from_settings(settings)
    if multiprocessing.parent_process() is None:
        store.check()
    return store
