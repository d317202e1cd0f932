"""Content-addressed blob stores: an interface, its local-disk implementation (the embedded default) and the table
that picks one from the settings (S3 lives in storage/s3.py, imported only when named)."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from config.errors import EdossierError

CHUNK = 1 << 20


class BlobNotFound(KeyError):
    """No blob is stored under that key."""


class BlobUnavailable(EdossierError):
    """The blob cannot be read or written now (its store unreachable or refusing, or the blob still on its way from
    another machine's spool): a reason to try again later, never to blame the file or call it missing."""


def is_blob_key(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def check_key(key: str) -> str:
    """The key itself; a ValueError for anything that is not a SHA-256 in hex (never a path to follow)."""
    if not is_blob_key(key):
        raise ValueError(f"not a SHA-256 blob key: {key!r}")
    return key


def sync_directory(path: Path) -> None:
    """fsync a directory, so that a file renamed into it survives a crash."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class BlobStore(Protocol):
    """Stores bytes under the SHA-256 of their content; every write is durable before it returns."""

    def put_bytes(self, data: bytes) -> str: ...
    def put_stream(self, stream: BinaryIO) -> tuple[str, int]: ...
    def put_path(self, path: Path) -> str: ...
    def get_bytes(self, key: str) -> bytes: ...
    def copy_to(self, key: str, target: Path) -> None: ...
    def open_stream(self, key: str) -> BinaryIO: ...
    def exists(self, key: str) -> bool: ...

    def checkout(self, keys: Sequence[str]) -> contextlib.AbstractContextManager[list[Path]]:
        """Files holding the blobs, valid inside the `with` block only (a store keeping blobs elsewhere fetches
        them into a temporary directory and removes it afterwards). Callers never assume a blob is a file."""


class LocalBlobStore:
    """Blobs as files ROOT/ab/cd/abcd…; written to a temporary file, fsynced, then renamed into place."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put_bytes(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        if not self.exists(key):
            self._commit(key, lambda out: out.write(data))
        return key

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Copy a stream into the store, hashing as it goes; returns (key, size)."""
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            key = digest.hexdigest()
            self._place(Path(tmp), key)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return key, size

    def put_path(self, path: Path) -> str:
        with open(path, "rb") as handle:
            return self.put_stream(handle)[0]

    def get_bytes(self, key: str) -> bytes:
        return self.local_path(key).read_bytes()

    def open_stream(self, key: str) -> BinaryIO:
        return open(self.local_path(key), "rb")

    def copy_to(self, key: str, target: Path) -> None:
        """Write the blob to `target` atomically (a reader never sees half a file)."""
        source = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @contextlib.contextmanager
    def checkout(self, keys: Sequence[str]) -> Iterator[list[Path]]:
        """Blobs on this disk are files already: their own paths, not copies."""
        yield [self.local_path(key) for key in keys]

    def local_path(self, key: str) -> Path:
        path = self._path(key)
        if not path.exists():
            raise BlobNotFound(key)
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def _commit(self, key: str, write) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            self._place(Path(tmp), key)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _place(self, tmp: Path, key: str) -> None:
        target = self._path(key)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        sync_directory(target.parent)


def _open_s3(settings) -> BlobStore:
    from storage.s3 import open_s3_store      # minio is imported only by a process that uses S3
    return open_s3_store(settings)


BACKENDS = {
    "local": lambda settings: LocalBlobStore(settings.home / "blobs"),
    "s3": _open_s3,
}


def open_blob_store(settings) -> BlobStore:
    """The blob store named by settings.blobs.backend."""
    return BACKENDS[settings.blobs.backend](settings)
