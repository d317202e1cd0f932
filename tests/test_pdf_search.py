"""Finding a party by name in a bound volume as an operator does: the volume opened in pdf.js (the PDF viewer of
Firefox; headless Chromium does not show its own viewer to automation) in a real Chromium, searched with the
viewer's own find (Ctrl+F, whole phrase), the pages it finds checked against the pages that print the phrase."""
from __future__ import annotations

import functools
import http.server
import random
import threading
from datetime import date
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from shared import missing

from config.settings import load_settings
from dossier.assemble import assemble_volume
from dossier.model import DocumentEntry, VolumeSpec
from ingest.digitise import digitise
from ingest.pages import Raster
from synth.documents import civil_case, make_court
from synth.render import render_page

PDFJS = Path("/usr/share/javascript/pdf")        # Debian's libjs-pdf (scripts/setup.sh --test)
CHROMIUM = Path("/usr/bin/chromium")
DOCUMENTS = ("COMPLAINT", "EVIDENCE_LIST", "ACCEPT_NOTICE", "JUDGMENT")   # first pages; the notice is sealed
FIND_TIMEOUT_MS = 30_000


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def case():
    return civil_case(random.Random(8), make_court(random.Random(8)))


@pytest.fixture(scope="module")
def volume(case, tmp_path_factory) -> tuple[Path, dict[int, list[str]]]:
    """A volume bound from pages the product digitised, and the lines printed on each of its pages (1-based):
    for scanned pages the lines drawn, for the sheets the volume adds (cover, contents …) their text."""
    folder = tmp_path_factory.mktemp("volume")
    settings = load_settings(env={"EDOSSIER_HOME": str(folder / "home")})
    docs = {d.type_code: d for d in case.documents}
    entries, drawn = [], []
    for code in DOCUMENTS:
        files = []
        for index, page in enumerate(docs[code].pages[:1]):
            rendered = render_page(page)
            result = digitise(Raster(rendered.image, 300, "decoded image"), settings)
            files.append(folder / f"{code}-{index}.pdf")
            files[-1].write_bytes(result.ocr.pdf)
            drawn.append(rendered.text.splitlines())
        entries.append(DocumentEntry(docs[code].title, code, docs[code].title, tuple(files)))
    spec = VolumeSpec(case_no=case.case_no, volume="ZJ", court=case.court.name, cause=case.cause,
                      case_family_label="民事一审", documents=tuple(entries), produced_on=date(2024, 5, 6))
    result = assemble_volume(spec, folder / "ZJ.pdf")
    first = result.documents[0].pdf_first_index
    printed = {first + 1 + i: lines for i, lines in enumerate(drawn)}
    sheets = [i for i in range(result.pages) if i + 1 not in printed]
    printed.update({i + 1: [_pdf_text(result.path, i)] for i in sheets})
    return result.path, printed


def _pdf_text(path: Path, index: int) -> str:
    document = pdfium.PdfDocument(str(path))
    try:
        return document[index].get_textpage().get_text_range()
    finally:
        document.close()


@pytest.fixture(scope="module")
def viewer(volume):
    """pdf.js's viewer in Chromium with the volume open, both served from 127.0.0.1."""
    sync_playwright = _playwright()
    if not CHROMIUM.exists():
        missing("Chromium", "scripts/setup.sh --test installs Debian's chromium")
    if not (PDFJS / "web" / "viewer.html").is_file():
        missing("pdf.js", "scripts/setup.sh --test installs Debian's libjs-pdf")
    with _Served(volume[0]) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{url}/pdfjs/web/viewer.html?file=/{volume[0].name}")
        page.wait_for_function("() => window.PDFViewerApplication && PDFViewerApplication.pdfDocument && "
                               "PDFViewerApplication.pagesCount > 0", timeout=FIND_TIMEOUT_MS)
        yield page
        browser.close()


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python", "pip install -e '.[test]' installs it")
    return sync_playwright


class _Served:
    """A folder holding the volume and a link to pdf.js, served over HTTP on 127.0.0.1 while in use."""

    def __init__(self, volume: Path):
        self.root = volume.parent / "site"
        self.root.mkdir(exist_ok=True)
        (self.root / "pdfjs").unlink(missing_ok=True)
        (self.root / "pdfjs").symlink_to(PDFJS, target_is_directory=True)
        (self.root / volume.name).unlink(missing_ok=True)
        (self.root / volume.name).symlink_to(volume)
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:      # noqa: A002 - the base class's signature
        pass


FIND = """async (query) => {
  const app = PDFViewerApplication, finder = app.findController;
  const tick = () => new Promise(r => setTimeout(r, 50));
  const until = async (ok) => { while (!ok()) await tick(); };
  // A match is scrolled into view only once its page's text layer is drawn: a search still waiting for that
  // would move the view after the next search had started from page 1.
  await until(() => !finder._scrollMatches);
  app.page = 1;
  for (let still = 0; still < 3; still = app.page === 1 ? still + 1 : 0) await tick();
  app.eventBus.dispatch("find", {source: null, type: "", query, phraseSearch: true, caseSensitive: false,
                                 entireWord: false, highlightAll: true, findPrevious: false, matchDiacritics: false});
  await until(() => !finder._dirtyMatch && finder._pendingFindMatches.size === 0 &&
      Array.from({length: app.pagesCount}, (_, i) => finder.pageMatches[i]).every(m => m !== undefined));
  await until(() => finder.selected.pageIdx < 0 || !finder._scrollMatches);
  return {pages: finder.pageMatches.map((m, i) => m.length ? i + 1 : 0).filter(Boolean),
          selected: finder.selected.pageIdx + 1, shown: app.page};
}"""


def find(viewer, phrase: str) -> dict:
    """What the viewer's find (whole phrase) reports: the pages with a match, the page it selected and shows."""
    return viewer.evaluate(FIND, phrase)


def printed_on(printed: dict[int, list[str]], phrase: str) -> list[int]:
    """The pages with the phrase inside one printed line (a phrase broken over two lines is not one phrase)."""
    return sorted(page for page, lines in printed.items() if any(phrase in squash(line) for line in lines))


def _parties(case) -> tuple[str, str]:
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    lines = complaint.pages[0].lines
    return tuple(lines[i].text.split("：", 1)[1].split("，")[0] for i in (1, 3))


def test_each_party_s_full_name_is_found_on_the_pages_that_print_it(viewer, volume, case):
    for name in _parties(case):
        expected = printed_on(volume[1], name)
        assert len(expected) >= 2, (name, expected)          # the complaint and the court's papers name both
        found = find(viewer, name)
        assert found["pages"] == expected, (name, found, expected)
        assert found["selected"] == found["shown"] == expected[0]


def test_the_cause_of_action_is_found_as_a_phrase_where_it_is_printed(viewer, volume, case):
    expected = printed_on(volume[1], case.cause)
    assert 1 in expected and len(expected) >= 3, expected    # the cover, and scanned pages that state it
    found = find(viewer, case.cause)
    assert found["pages"] == expected, (found, expected)
    assert found["selected"] == found["shown"] == expected[0]


def test_the_volume_searched_holds_two_level_and_grey_page_images(volume):
    """The pages searched are kept as the product keeps them: text pages two-level, the sealed notice grey."""
    with pikepdf.open(volume[0]) as pdf:
        filters = {str(image.Filter) for page in pdf.pages for image in page.get_images().values()
                   if int(image.Width) > 1000}
    assert filters == {"/CCITTFaxDecode", "/DCTDecode"}
