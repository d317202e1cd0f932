"""Inspection splits a file into one blob per page, and every later job fetches only the blobs it needs, into a
temporary folder that is gone afterwards: a multi-page PDF or TIFF becomes distinct one-page blobs holding the same
page; a 50-page file is fetched once, at inspection, and each page job fetches its own page; a repaired or unlocked
PDF is split from its work copy; pages catalogued before page blobs existed still read their file; and no code outside
the blob store takes a blob for a local file."""
from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont
from pikepdf import Dictionary, Name
from sqlalchemy import create_engine, text

from conftest import ROOT
from shared import missing

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
WORDS = ("HARBOUR", "MEADOW", "LANTERN", "COPPER")
CASE_NO = "（2024）浙0803民初1234号"
PDF = "application/pdf"


class RemoteBlobs:
    """A blob store whose blobs are not files here, as on S3: a checkout copies the blobs into a temporary folder
    removed when the block ends. It has no local_path, and it notes every checkout and every folder it made."""

    def __init__(self, root: Path):
        from storage.blobs import LocalBlobStore
        self._store = LocalBlobStore(root)
        self.checkouts: list[tuple[str, ...]] = []
        self.folders: list[Path] = []

    def put_bytes(self, data: bytes) -> str:
        return self._store.put_bytes(data)

    def put_stream(self, stream) -> tuple[str, int]:
        return self._store.put_stream(stream)

    def put_path(self, path: Path) -> str:
        return self._store.put_path(path)

    def get_bytes(self, key: str) -> bytes:
        return self._store.get_bytes(key)

    def copy_to(self, key: str, target: Path) -> None:
        self._store.copy_to(key, target)

    def open_stream(self, key: str):
        return self._store.open_stream(key)

    def exists(self, key: str) -> bool:
        return self._store.exists(key)

    @contextlib.contextmanager
    def checkout(self, keys: Sequence[str]) -> Iterator[list[Path]]:
        self.checkouts.append(tuple(keys))
        with tempfile.TemporaryDirectory(prefix="checkout-") as folder:
            self.folders.append(Path(folder))
            paths = [Path(folder) / f"{n}-{key}" for n, key in enumerate(keys)]
            for key, path in zip(keys, paths):
                self._store.copy_to(key, path)
            yield paths

    def count(self, key: str) -> int:
        return sum(keys.count(key) for keys in self.checkouts)


class RecordingQueue:
    """The test runs the jobs itself."""

    def enqueue(self, job, *args, key=None, delay=0.0):
        pass

    def depths(self):
        return {}


def _context(home: Path):
    from config.settings import load_settings
    from ingest.context import Context
    from storage.catalogue import open_catalogue
    settings = load_settings(env={}, home=str(home), ocr={"languages": "eng"})
    home.mkdir(parents=True, exist_ok=True)
    return Context(settings, RemoteBlobs(settings.home / "blobs"), open_catalogue(settings), RecordingQueue())


def _scan(word: str, size: tuple[int, int] = (1240, 1754), mode: str = "L") -> Image.Image:
    """A page at 150 dpi carrying one word in large letters, line after line (enough text to tell which way up)."""
    if not FONT.exists():
        missing(str(FONT), "apt-get install fonts-dejavu-core")
    image = Image.new("L", size, 255)
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(str(FONT), size[0] // 14)
    for line in range(max(1, size[1] // (size[0] // 5))):
        draw.text((size[0] // 10, size[0] // 10 + line * size[0] // 7), word, fill=0, font=font)
    return image.convert(mode)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _scanner_pdf(path: Path, images: list[Image.Image], shared: bool = False, **save) -> Path:
    """One scanned image per page. `shared`: all pages share one resource dictionary naming every page's image (as
    some scanners write), so a page copied with its resources whole would carry the images of all the others."""
    pdf = pikepdf.new()
    xobjects = {f"/Im{i}": pikepdf.Stream(pdf, _jpeg(img), Type=Name.XObject, Subtype=Name.Image, Width=img.width,
                                         Height=img.height, BitsPerComponent=8, ColorSpace=Name.DeviceGray,
                                         Filter=Name.DCTDecode) for i, img in enumerate(images)}
    everything = pdf.make_indirect(Dictionary(XObject=Dictionary(xobjects)))
    for i, img in enumerate(images):
        width, height = img.width * 72 / 150, img.height * 72 / 150
        content = pikepdf.Stream(pdf, f"q {width:.2f} 0 0 {height:.2f} 0 0 cm /Im{i} Do Q".encode())
        resources = everything if shared else Dictionary(XObject=Dictionary({f"/Im{i}": xobjects[f"/Im{i}"]}))
        pdf.pages.append(pikepdf.Page(Dictionary(Type=Name.Page, MediaBox=[0, 0, width, height], Contents=content,
                                                 Resources=resources)))
    pdf.save(path, **save)
    return path


def _inspected(ctx, path: Path, password: str | None = None):
    """Accept and inspect one file in a stack of the test case: (entry, its page rows in order)."""
    from ingest import pipeline
    stack = pipeline.open_stack(ctx, kind="import", client="test", case_no=CASE_NO)
    with path.open("rb") as handle:
        accepted = pipeline.accept(ctx, stack, handle, name=path.name, source_path=str(path), client="test",
                                   password=password)
    pipeline.inspect(ctx, accepted.entry.id, password)
    return ctx.catalogue.entry(accepted.entry.id), ctx.catalogue.pages_of_stack(stack.id)


def _raster(ctx, path: Path, media_type: str, index: int):
    from ingest.pages import load_page
    return load_page(path, media_type, index, ctx.limits, ctx.settings.ocr.dpi)


def _assert_same_page(ctx, blob_path: Path, row: dict, original: Path, media_type: str) -> None:
    """The page blob decodes to exactly the original's page: same pixels, colour, resolution, way of reading."""
    split = _raster(ctx, blob_path, row["blob_media_type"], row["blob_index"])
    whole = _raster(ctx, original, media_type, row["page_index"])
    assert (split.dpi, split.how, split.gray.shape) == (whole.dpi, whole.how, whole.gray.shape)
    assert np.array_equal(split.gray, whole.gray)
    assert (split.color is None) == (whole.color is None)
    assert split.color is None or np.array_equal(split.color, whole.color)


def _page_blob_paths(ctx, rows: list[dict]):
    return ctx.blobs.checkout([r["blob_key"] for r in rows])


def _image_count(pdf: pikepdf.Pdf) -> int:
    return sum(1 for obj in pdf.objects if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == Name.Image)


# PDF -------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pdf_run(tmp_path_factory):
    """A four-page scanned PDF inspected, each page digitised, the case assembled, all through RemoteBlobs; with
    what each step checked out."""
    from ingest import pipeline
    base = tmp_path_factory.mktemp("pdf")
    original = _scanner_pdf(base / "four.pdf", [_scan(w) for w in WORDS])
    ctx = _context(base / "home")
    entry, rows = _inspected(ctx, original)
    steps = {"inspect": list(ctx.blobs.checkouts), "pages": []}
    for row in rows:
        pipeline.page(ctx, row["id"])
        steps["pages"].append(ctx.blobs.checkouts[-1])
    pipeline.close_stack(ctx, entry.stack_id)
    pipeline.classify(ctx, entry.stack_id)
    before = len(ctx.blobs.checkouts)
    pipeline.assemble(ctx, CASE_NO)
    steps["assemble"] = ctx.blobs.checkouts[before:]
    return ctx, original, entry, rows, steps


def test_a_multipage_pdf_is_split_into_one_blob_per_page_at_inspection(pdf_run):
    ctx, original, entry, rows, steps = pdf_run
    assert steps["inspect"] == [(entry.sha256,)]
    keys = [r["blob_key"] for r in rows]
    assert len(set(keys)) == len(WORDS) and entry.sha256 not in keys
    assert {(r["blob_media_type"], r["blob_index"]) for r in rows} == {(PDF, 0)}
    with _page_blob_paths(ctx, rows) as paths:
        for row, path in zip(rows, paths):
            with pikepdf.open(path) as page_pdf:
                assert len(page_pdf.pages) == 1 and _image_count(page_pdf) == 1
            _assert_same_page(ctx, path, row, original, PDF)


def test_each_page_job_reads_its_own_page_blob_only(pdf_run):
    ctx, _, entry, rows, steps = pdf_run
    assert steps["pages"] == [(r["blob_key"],) for r in rows]
    done = ctx.catalogue.pages_of_stack(entry.stack_id)
    assert [r["status"] for r in done] == ["done"] * len(WORDS)
    assert [word in (r["text"] or "") for r, word in zip(done, WORDS)] == [True] * len(WORDS)


def test_a_volume_is_bound_from_its_page_pdfs_checked_out_once(pdf_run):
    ctx, _, entry, _, steps = pdf_run
    pdf_keys = {r["pdf_key"] for r in ctx.catalogue.pages_of_stack(entry.stack_id)}
    [volume] = ctx.catalogue.volumes_of_case(CASE_NO)
    assert [set(keys) for keys in steps["assemble"]] == [pdf_keys]
    with ctx.blobs.checkout([volume["blob_key"]]) as (path,):
        with pikepdf.open(path) as bound:
            assert len(bound.pages) == volume["pdf_pages"] >= len(WORDS)
    assert not any(folder.exists() for folder in ctx.blobs.folders)


def test_a_page_keeps_only_the_resources_it_draws(tmp_path):
    """Pages sharing a dictionary of every page's scan: each page blob holds its own scan only, and the page job
    takes that scan as it is (it no longer sees four images on the page and renders it instead)."""
    scans = [_scan(w) for w in WORDS]
    original = _scanner_pdf(tmp_path / "shared.pdf", scans, shared=True)
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, original)
    split_size = sum(len(ctx.blobs.get_bytes(r["blob_key"])) for r in rows)
    assert split_size < original.stat().st_size + 1024 * len(rows)         # each scan once, not once per page
    with _page_blob_paths(ctx, rows) as paths:
        for row, path, scan in zip(rows, paths, scans):
            with pikepdf.open(path) as page_pdf:
                assert _image_count(page_pdf) == 1
            raster = _raster(ctx, path, PDF, 0)
            assert raster.how == "embedded image" and raster.dpi == 150
            assert np.array_equal(raster.gray, np.asarray(Image.open(io.BytesIO(_jpeg(scan)))))


def test_a_50_page_pdf_is_fetched_once_and_each_page_job_fetches_its_own_page(tmp_path):
    from ingest import pipeline
    original = _scanner_pdf(tmp_path / "fifty.pdf", [_scan(f"PAGE {n}", (600, 420)) for n in range(1, 51)])
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, original)
    assert ctx.blobs.checkouts == [(entry.sha256,)]
    assert len({r["blob_key"] for r in rows}) == 50
    for row in rows:
        pipeline.page(ctx, row["id"])
        assert ctx.blobs.checkouts[-1] == (row["blob_key"],)
    assert ctx.blobs.count(entry.sha256) == 1
    assert sorted(ctx.blobs.checkouts[1:]) == sorted((r["blob_key"],) for r in rows)
    texts = [r["text"] or "" for r in ctx.catalogue.pages_of_stack(entry.stack_id)]
    read = [re.search(rf"PAGE\s*{n}(?!\d)", t) is not None for n, t in enumerate(texts, start=1)]
    assert read == [True] * 50                  # the space between the words is not always read
    assert not any(folder.exists() for folder in ctx.blobs.folders)


# work copies -----------------------------------------------------------------------------------------------------
def _assert_split_from_work_copy(ctx, entry, rows: list[dict]) -> None:
    """Each page blob is a plain one-page PDF (no lock, nothing to repair) with the work copy's page on it."""
    assert entry.work_sha256 not in (None, entry.sha256)
    assert len({r["blob_key"] for r in rows}) == len(rows) > 1
    assert entry.sha256 not in {r["blob_key"] for r in rows}
    with ctx.blobs.checkout([entry.work_sha256]) as (work,), _page_blob_paths(ctx, rows) as paths:
        for row, path in zip(rows, paths):
            with pikepdf.open(path) as page_pdf:
                assert len(page_pdf.pages) == 1 and not page_pdf.is_encrypted and not page_pdf.get_warnings()
            _assert_same_page(ctx, path, row, work, PDF)


@pytest.mark.parametrize("name", ["qpdf_encrypted-with-images.pdf", "pypdf_encrypted_doc_no_id.pdf",
                                  "qpdf_append-xref-loop.pdf"])
def test_a_repaired_or_unlocked_pdf_is_split_from_its_work_copy(tmp_path, samples, name):
    source = samples / "bad_inputs" / "pdf" / name
    if not source.exists():
        missing(str(source))
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, source)
    assert entry.status == "ready" and entry.note
    _assert_split_from_work_copy(ctx, entry, rows)


def test_a_password_protected_pdf_is_split_from_its_unlocked_copy(tmp_path):
    from ingest import pipeline
    locked = _scanner_pdf(tmp_path / "locked.pdf", [_scan(w) for w in WORDS[:3]],
                          encryption=pikepdf.Encryption(user="secret", owner="owner", R=6))
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, locked, password="secret")
    assert entry.note == "unlocked with the password given"
    _assert_split_from_work_copy(ctx, entry, rows)
    pipeline.page(ctx, rows[2]["id"])
    assert WORDS[2] in ctx.catalogue.page(rows[2]["id"])["text"]


# images ----------------------------------------------------------------------------------------------------------
def _multiframe_tiff(path: Path, turned: tuple[int, ...] = (0,)) -> Path:
    """Three frames of different kinds and compressions, appended as a scanner's driver would: JPEG grey, CCITT G4
    bilevel, colour with a red stamp; the frames in `turned` tagged to be shown turned (EXIF orientation 6)."""
    from PIL import TiffImagePlugin
    grey, bilevel, colour = _scan(WORDS[0]), _scan(WORDS[1], mode="1"), _scan(WORDS[2], mode="RGB")
    ImageDraw.Draw(colour).ellipse((800, 1200, 1100, 1500), outline=(220, 0, 0), width=25)
    exif = Image.Exif()
    exif[0x0112] = 6
    with TiffImagePlugin.AppendingTiffWriter(str(path), new=True) as out:
        for n, (frame, compression) in enumerate(((grey, "jpeg"), (bilevel, "group4"), (colour, "tiff_lzw"))):
            frame.save(out, "TIFF", compression=compression, dpi=(150, 150), **({"exif": exif} if n in turned else {}))
            out.newFrame()
    return path


def test_a_multiframe_tiff_is_split_into_one_frame_per_blob_byte_for_byte(tmp_path):
    from ingest import pipeline
    original = _multiframe_tiff(tmp_path / "three.tif")
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, original)
    keys = [r["blob_key"] for r in rows]
    assert len(set(keys)) == 3 and entry.sha256 not in keys
    assert {(r["blob_media_type"], r["blob_index"]) for r in rows} == {("image/tiff", 0)}
    with _page_blob_paths(ctx, rows) as paths:
        for row, path in zip(rows, paths):
            with Image.open(path) as frame:
                assert getattr(frame, "n_frames", 1) == 1
            _assert_same_page(ctx, path, row, original, "image/tiff")
        assert sum(p.stat().st_size for p in paths) <= original.stat().st_size + 3 * 512   # not re-encoded
    for row in rows:
        pipeline.page(ctx, row["id"])
    texts = [r["text"] or "" for r in ctx.catalogue.pages_of_stack(entry.stack_id)]
    assert [word in t for word, t in zip(WORDS, texts)] == [True] * 3
    assert ctx.blobs.count(entry.sha256) == 1


def test_tiff_frames_shown_turned_split_into_the_same_pages(tmp_path):
    original = _multiframe_tiff(tmp_path / "turned.tif", turned=(0, 1, 2))
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, original)
    assert len({r["blob_key"] for r in rows}) == 3
    with _page_blob_paths(ctx, rows) as paths:
        for row, path in zip(rows, paths):
            _assert_same_page(ctx, path, row, original, "image/tiff")


def test_shared_sample_tiffs_split_into_the_same_pages(tmp_path, samples):
    names = ["paperless_multi-page-images-alpha-rgb.tiff", "paperless_multi-page-images-alpha.tiff",
             "pillow_g4-multi.tiff", "pillow_multipage.tiff"]
    ctx = _context(tmp_path / "home")
    for name in names:
        original = samples / "scans" / name
        if not original.exists():
            missing(str(original))
        entry, rows = _inspected(ctx, original)
        assert len({r["blob_key"] for r in rows}) == len(rows) == entry.page_count > 1
        with _page_blob_paths(ctx, rows) as paths:
            for row, path in zip(rows, paths):
                _assert_same_page(ctx, path, row, original, "image/tiff")


def test_an_animated_gif_is_split_into_lossless_frames(tmp_path):
    frames = []
    for n in range(3):
        frame = Image.new("P", (600, 400), 0)
        frame.putpalette([255, 255, 255, 0, 0, 0, 210, 0, 0] + [0] * 759)
        ImageDraw.Draw(frame).rectangle((50, 50, 200 + 100 * n, 300), fill=1 + n % 2)
        frames.append(frame)
    original = tmp_path / "three.gif"
    frames[0].save(original, save_all=True, append_images=frames[1:], transparency=0, disposal=2)
    ctx = _context(tmp_path / "home")
    entry, rows = _inspected(ctx, original)
    assert len({r["blob_key"] for r in rows}) == 3
    with _page_blob_paths(ctx, rows) as paths:
        for row, path in zip(rows, paths):
            _assert_same_page(ctx, path, row, original, "image/gif")


def test_a_single_image_is_its_own_page_blob(tmp_path):
    original = tmp_path / "one.png"
    _scan(WORDS[3]).save(original, dpi=(150, 150))
    ctx = _context(tmp_path / "home")
    entry, [row] = _inspected(ctx, original)
    assert (row["blob_key"], row["blob_media_type"], row["blob_index"]) == (entry.sha256, "image/png", 0)


# pages catalogued before page blobs ------------------------------------------------------------------------------
def test_a_page_catalogued_before_page_blobs_reads_its_file_at_its_index(tmp_path):
    from ingest import pipeline
    from storage import migrate
    from storage.blobs import LocalBlobStore
    home = tmp_path / "home"
    original = _scanner_pdf(tmp_path / "old.pdf", [_scan(w) for w in WORDS[:3]])
    key = LocalBlobStore(home / "blobs").put_path(original)
    engine = create_engine(f"sqlite:///{home / 'catalogue.sqlite3'}")
    migrate.upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("insert into stacks (id, kind, state, client, created_at, version, classified_version, "
                          "case_no) values (1, 'import', 'open', 'test', 0, 0, 0, :case)"), {"case": CASE_NO})
        conn.execute(text("insert into entries (id, stack_id, seq, sha256, name, source_path, size, media_type, "
                          "received_at, status, page_count, case_no, client) values (1, 1, 0, :key, 'old.pdf', "
                          "'old.pdf', 1, 'application/pdf', 0, 'ready', 3, :case, 'test')"),
                     {"key": key, "case": CASE_NO})
        for index in range(3):
            conn.execute(text("insert into pages (entry_id, page_index, status) values (1, :i, 'pending')"),
                         {"i": index})
    migrate.upgrade(engine)
    engine.dispose()
    ctx = _context(home)
    [old] = [r for r in ctx.catalogue.pages_of_stack(1) if r["page_index"] == 2]
    assert old["blob_key"] is None
    pipeline.page(ctx, old["id"])
    assert ctx.blobs.checkouts == [(key,)]
    assert WORDS[2] in ctx.catalogue.page(old["id"])["text"]


# no blob is taken for a local file ------------------------------------------------------------------------------
def _source_files() -> Iterator[Path]:
    """Every Python file of the project outside storage/ (the blob store's own package), virtualenvs and caches."""
    skipped = {"storage", ".venv", ".git", "build", "__pycache__", "node_modules"}
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in skipped and not d.endswith(".egg-info")]
        yield from (Path(folder) / f for f in files if f.endswith(".py"))


def test_no_module_outside_the_blob_store_calls_local_path():
    callers = []
    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        callers += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and node.attr == "local_path"]
    assert callers == []
