"""Content-addressed blob stores: an interface and its local-disk implementation (the embedded default)."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1 << 20


class BlobNotFound(KeyError):
    """No blob is stored under that key."""


class BlobStore(Protocol):
    """Stores bytes under the SHA-256 of their content; every write is durable before it returns."""

    def put_bytes(self, data: bytes) -> str: ...
    def put_stream(self, stream: BinaryIO) -> tuple[str, int]: ...
    def put_path(self, path: Path) -> str: ...
    def get_bytes(self, key: str) -> bytes: ...
    def copy_to(self, key: str, target: Path) -> None: ...
    def open_stream(self, key: str) -> BinaryIO: ...
    def local_path(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...


class LocalBlobStore:
    """Blobs as files ROOT/ab/cd/abcd…; written to a temporary file, fsynced, then renamed into place."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a SHA-256 blob key: {key!r}")
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
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


BACKENDS = {"local": lambda settings: LocalBlobStore(settings.home / "blobs")}


def open_blob_store(settings) -> BlobStore:
    """The blob store named by settings.blobs.backend."""
    return BACKENDS[settings.blobs.backend](settings)
