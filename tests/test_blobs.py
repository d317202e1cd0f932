"""The blob stores' contract, run over every implementation (files on this disk, and S3 on moto's server), then what
only the S3 store does: its bucket made when missing, uploads checked, large blobs in parts, and the spool that keeps
accepting blobs while S3 cannot be reached and uploads them when it answers again."""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import threading
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from config.errors import MissingDependency
from config.settings import SettingsError, load_settings
from servers import Relay, free_port, fresh_bucket
from storage.blobs import BlobNotFound, BlobUnavailable, LocalBlobStore, open_blob_store
from storage.s3 import MIN_PART_SIZE, S3BlobStore

MIB = 1 << 20


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def name_of(key: str) -> str:
    return f"{key[:2]}/{key[2:4]}/{key}"


def bucket_client(endpoint: str):
    """boto3, not the store's own client: what S3 holds, seen from outside the store."""
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def stored(store, endpoint: str | None = None) -> list[str]:
    """The names of what the store holds: files under its folder, or the objects in its bucket."""
    if isinstance(store, LocalBlobStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*")
                      if p.is_file() and not p.name.startswith("."))
    listing = bucket_client(endpoint or store.location.endpoint).list_objects_v2(Bucket=store.location.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def object_bytes(endpoint: str, bucket: str, key: str) -> bytes:
    return bucket_client(endpoint).get_object(Bucket=bucket, Key=name_of(key))["Body"].read()


def s3_settings(home: Path, url: str):
    return load_settings(env={"EDOSSIER_HOME": str(home), "EDOSSIER_BLOBS": url})


# the contract, for every store --------------------------------------------------------------------------------------

def test_bytes_come_back_under_the_sha256_of_their_content(blob_store):
    data = b"%PDF-1.7\n" + os.urandom(200_000)
    key = blob_store.put_bytes(data)
    assert key == sha256(data)
    assert blob_store.get_bytes(key) == data
    assert blob_store.exists(key)
    assert stored(blob_store) == [name_of(key)]


def test_a_stream_and_a_file_are_stored_like_bytes(blob_store, tmp_path):
    data = os.urandom(3 * MIB + 17)
    key, size = blob_store.put_stream(io.BytesIO(data))
    assert (key, size) == (sha256(data), len(data))
    path = tmp_path / "scan.pdf"
    path.write_bytes(data)
    assert blob_store.put_path(path) == key
    with blob_store.open_stream(key) as stream:
        assert stream.read() == data
    assert stored(blob_store) == [name_of(key)]


def test_an_empty_blob_is_a_blob(blob_store):
    key = blob_store.put_bytes(b"")
    assert key == sha256(b"")
    assert blob_store.get_bytes(key) == b""


def test_the_same_bytes_stored_again_and_at_once_from_many_threads_are_one_blob(blob_store):
    data = os.urandom(500_000)
    first = blob_store.put_bytes(data)
    start, keys = threading.Barrier(8), []

    def put() -> None:
        start.wait()
        keys.append(blob_store.put_bytes(data))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert keys == [first] * 8
    assert blob_store.put_stream(io.BytesIO(data)) == (first, len(data))
    assert stored(blob_store) == [name_of(first)]
    assert blob_store.get_bytes(first) == data


def test_a_blob_never_stored_is_not_found(blob_store, tmp_path):
    key = sha256(b"never stored")
    assert not blob_store.exists(key)
    with pytest.raises(BlobNotFound):
        blob_store.get_bytes(key)
    with pytest.raises(BlobNotFound):
        blob_store.open_stream(key)
    with pytest.raises(BlobNotFound):
        blob_store.copy_to(key, tmp_path / "out" / "copy.pdf")
    with pytest.raises(BlobNotFound):
        with blob_store.checkout([key]):
            pass
    assert not (tmp_path / "out" / "copy.pdf").exists()


def test_a_key_that_is_not_a_sha256_is_refused(blob_store):
    for key in ("../../etc/passwd", "A" * 64, ""):
        with pytest.raises(ValueError):
            blob_store.get_bytes(key)
        with pytest.raises(ValueError):
            blob_store.exists(key)


def test_copy_to_replaces_the_target_whole_or_not_at_all(blob_store, tmp_path):
    data = os.urandom(1 * MIB)
    key = blob_store.put_bytes(data)
    target = tmp_path / "export" / "volume-1.pdf"
    target.parent.mkdir()
    target.write_bytes(b"the previous export")
    blob_store.copy_to(key, target)
    assert target.read_bytes() == data
    with pytest.raises(BlobNotFound):
        blob_store.copy_to(sha256(b"missing"), target)
    assert target.read_bytes() == data
    assert os.listdir(target.parent) == ["volume-1.pdf"]      # no half-written temporary file left beside it


def test_checkout_gives_readable_files_for_the_length_of_the_block(blob_store):
    pages = [os.urandom(100_000) for _ in range(3)]
    keys = [blob_store.put_bytes(page) for page in pages]
    with blob_store.checkout(keys + keys[:1]) as paths:
        assert [path.read_bytes() for path in paths] == pages + pages[:1]
    if isinstance(blob_store, S3BlobStore):        # fetched copies: gone with their folder afterwards
        assert not any(path.exists() for path in paths)
        assert not paths[0].parent.exists()


# the S3 store --------------------------------------------------------------------------------------------------------

def test_the_s3_store_makes_its_bucket_when_missing_even_with_several_racing_to(moto, s3_credentials, tmp_path):
    bucket = fresh_bucket()
    with pytest.raises(ClientError):
        bucket_client(moto.endpoint).head_bucket(Bucket=bucket)
    settings = s3_settings(tmp_path / "home", moto.url(bucket))
    stores = [S3BlobStore.from_settings(settings) for _ in range(4)]
    threads = [threading.Thread(target=store.check) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    store = open_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    bucket_client(moto.endpoint).head_bucket(Bucket=bucket)
    key = store.put_bytes(b"first blob")
    assert object_bytes(moto.endpoint, bucket, key) == b"first blob"


def test_an_upload_carries_its_sha256_and_a_damaged_object_is_never_served(moto, s3_credentials, tmp_path):
    url = moto.url(fresh_bucket())
    store = open_blob_store(s3_settings(tmp_path / "home", url))
    data = os.urandom(300_000)
    key = store.put_bytes(data)
    head = bucket_client(moto.endpoint).head_object(Bucket=store.location.bucket, Key=name_of(key))
    assert head["Metadata"] == {"sha256": key}
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"') == hashlib.md5(data).hexdigest()

    bucket_client(moto.endpoint).put_object(Bucket=store.location.bucket, Key=name_of(key), Body=b"not the scan")
    elsewhere = open_blob_store(s3_settings(tmp_path / "other", url))     # another machine, with no copy
    with pytest.raises(BlobUnavailable):
        elsewhere.get_bytes(key)
    assert store.get_bytes(key) == data             # this machine's checked copy
    assert store.put_bytes(data) == key             # the object is not what its key says: uploaded again
    assert elsewhere.get_bytes(key) == data


def test_small_blobs_read_once_are_read_again_from_this_machine_and_a_damaged_copy_is_fetched_anew(
        moto, s3_credentials, tmp_path):
    url = moto.url(fresh_bucket())
    store = open_blob_store(s3_settings(tmp_path / "home", url))
    page, volume = os.urandom(200_000), os.urandom(5 << 20)
    page_key, volume_key = store.put_bytes(page), store.put_bytes(volume)
    other = open_blob_store(s3_settings(tmp_path / "other", url))
    assert other.get_bytes(page_key) == page and other.get_bytes(volume_key) == volume
    moto.freeze()
    try:
        assert other.get_bytes(page_key) == page                # S3 hangs: the page is read from this machine
        assert store.get_bytes(page_key) == page                # and where it was stored
    finally:
        moto.thaw()
    cached = tmp_path / "other" / "cache" / "blobs" / page_key
    assert cached.exists() and not (tmp_path / "other" / "cache" / "blobs" / volume_key).exists()
    cached.write_bytes(b"damaged on this disk")
    assert other.get_bytes(page_key) == page                    # the damaged copy dropped, fetched again
    assert cached.read_bytes() == page


def test_a_large_blob_goes_up_in_parts_and_comes_back_whole(moto, s3_credentials, tmp_path):
    settings = s3_settings(tmp_path / "home", moto.url(fresh_bucket()))
    store = S3BlobStore.from_settings(settings, part_size=MIN_PART_SIZE)
    store.check()
    data = os.urandom(12 * MIB)
    scan = tmp_path / "scan.tiff"
    scan.write_bytes(data)
    key = store.put_path(scan)
    head = bucket_client(moto.endpoint).head_object(Bucket=store.location.bucket, Key=name_of(key))
    assert head["ETag"].strip('"').endswith("-3")           # three parts of 5, 5 and 2 MiB
    assert head["Metadata"] == {"sha256": key}
    store.copy_to(key, tmp_path / "back.tiff")
    assert (tmp_path / "back.tiff").read_bytes() == data
    with store.checkout([key]) as (path,):
        assert path.stat().st_size == len(data)


def test_a_command_stops_at_start_up_naming_the_endpoint_when_s3_cannot_be_reached(s3_credentials, tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MissingDependency, match=endpoint.replace(".", r"\.")):
        open_blob_store(s3_settings(tmp_path / "home", f"s3://edossier?endpoint={endpoint}"))


def test_s3_settings_say_what_is_wrong(monkeypatch, tmp_path):
    for url in ("s3://", "s3://edossier", "s3://Not_A_Bucket?endpoint=http://127.0.0.1:9000", "minio://x"):
        with pytest.raises(SettingsError, match="blobs.url"):
            s3_settings(tmp_path / "home", url)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        open_blob_store(s3_settings(tmp_path / "home", "s3://edossier?endpoint=http://127.0.0.1:9000"))
    assert load_settings(env={"EDOSSIER_HOME": str(tmp_path), "EDOSSIER_BLOBS": "local"}).blobs.backend == "local"


def test_while_s3_cannot_be_reached_blobs_wait_in_the_spool_and_go_up_once_when_it_answers(moto, s3_credentials,
                                                                                            tmp_path):
    relay = Relay(moto.port).on()
    store = open_blob_store(s3_settings(tmp_path / "home", moto.url(fresh_bucket(), relay.endpoint)))
    before = store.put_bytes(b"stored before the outage")
    theirs = sha256(b"stored by another machine")
    bucket_client(moto.endpoint).put_object(Bucket=store.location.bucket, Key=name_of(theirs),
                                            Body=b"stored by another machine")
    relay.off()
    try:
        pages = {store.put_bytes(page): page for page in (b"page %d" % i + os.urandom(50_000) for i in range(5))}
        scan = os.urandom(2 * MIB)
        pages[store.put_stream(io.BytesIO(scan))[0]] = scan
        pages[store.put_bytes(b"received twice")] = b"received twice"
        assert store.put_bytes(b"received twice") == sha256(b"received twice")
        assert store.spooled() == len(pages)
        assert all(store.get_bytes(key) == data for key, data in pages.items())
        with store.checkout(list(pages)) as paths:
            assert [path.read_bytes() for path in paths] == list(pages.values())
        assert store.get_bytes(before) == b"stored before the outage"      # this machine kept a copy
        with pytest.raises(BlobUnavailable):            # in S3, which cannot be asked: unavailable, not missing
            store.get_bytes(theirs)
        with pytest.raises(BlobUnavailable):
            store.get_bytes(sha256(b"never stored"))
    finally:
        relay.on()
    assert store.drain(60)
    assert store.spooled() == 0
    bucket = store.location.bucket
    for key, data in pages.items():
        assert object_bytes(moto.endpoint, bucket, key) == data
        assert store.get_bytes(key) == data
    assert stored(store, moto.endpoint) == sorted(map(name_of, [*pages, before, theirs]))


def test_a_spool_left_by_a_process_that_stopped_goes_up_when_the_next_one_starts(moto, s3_credentials, tmp_path):
    bucket, relay = fresh_bucket(), Relay(moto.port).on()
    first = open_blob_store(s3_settings(tmp_path / "home", moto.url(bucket, relay.endpoint)))
    relay.off()
    key = first.put_bytes(b"received during the outage")
    assert first.spooled() == 1
    second = open_blob_store(s3_settings(tmp_path / "home", moto.url(bucket)))     # S3 answers this one
    assert second.drain(60)
    assert object_bytes(moto.endpoint, bucket, key) == b"received during the outage"


def test_a_copy_staged_by_a_process_that_died_is_swept_at_start_up(moto, s3_credentials, tmp_path):
    spool = tmp_path / "home" / "spool"
    spool.mkdir(parents=True)
    (spool / ".incoming-died").write_bytes(b"half a scan")
    os.utime(spool / ".incoming-died", (1, 1))
    (spool / ".incoming-now").write_bytes(b"a scan arriving")
    open_blob_store(s3_settings(tmp_path / "home", moto.url(fresh_bucket())))
    assert sorted(os.listdir(spool)) == [".incoming-now"]


def test_a_frozen_s3_sends_a_put_to_the_spool_instead_of_holding_it(moto, s3_credentials, tmp_path):
    store = S3BlobStore.from_settings(s3_settings(tmp_path / "home", moto.url(fresh_bucket())),
                                      connect_timeout_s=1, read_timeout_s=2)
    store.check()
    done: list[str] = []
    moto.freeze()
    try:
        put = threading.Thread(target=lambda: done.append(store.put_bytes(b"arrived while S3 hung")))
        put.start()
        put.join(90)
        assert done == [sha256(b"arrived while S3 hung")]
        assert store.spooled() == 1
    finally:
        moto.thaw()
    assert store.drain(60)
    assert object_bytes(moto.endpoint, store.location.bucket, done[0]) == b"arrived while S3 hung"


def _put_in_child(store: S3BlobStore, data: bytes, keys) -> None:
    keys.put(store.put_bytes(data))


def test_a_forked_worker_uses_the_store_it_inherited_with_a_client_of_its_own(moto, s3_credentials, tmp_path):
    store = open_blob_store(s3_settings(tmp_path / "home", moto.url(fresh_bucket())))
    store.put_bytes(b"parent")
    context = multiprocessing.get_context("fork")
    keys = context.Queue()
    child = context.Process(target=_put_in_child, args=(store, b"child", keys))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert keys.get(timeout=5) == sha256(b"child")
    assert store.get_bytes(sha256(b"child")) == b"child"
