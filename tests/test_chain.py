"""The chain of jobs as an operator meets it: re-routing what was quarantined, the same bytes in two cases, a missing
dependency found before any work, a defect told apart from bad input, a poison page, and classification that ends
the same whatever order the pages finish in."""
from __future__ import annotations

import csv
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from synth.documents import civil_case, make_court
from synth.render import render_page
from shared import poison_page


def _png(page, path: Path) -> Path:
    Image.fromarray(render_page(page).image).save(path, dpi=(300, 300))
    return path


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """Pages of two synthetic civil cases, rendered once: complaints, an ID card copy, a judgment."""
    out = tmp_path_factory.mktemp("paper")
    found = {}
    for seed in (31, 32):
        case = civil_case(random.Random(seed), make_court(random.Random(seed)))
        docs = {d.type_code: d for d in case.documents}
        found[seed] = {"case_no": case.case_no,
                       "complaint": [_png(p, out / f"{seed}-complaint-{i}.png")
                                     for i, p in enumerate(docs["COMPLAINT"].pages)],
                       "id_card": _png(docs["PARTY_ID"].pages[0], out / f"{seed}-id.png"),
                       "judgment": _png(docs["JUDGMENT"].pages[0], out / f"{seed}-judgment.png")}
    return found


def _folder(root: Path, name: str, files: list[Path]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for index, source in enumerate(files):
        shutil.copy(source, folder / f"{index:02d}-{source.name}")
    return folder


def _entries(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "catalogue.sqlite3") as conn:
        return conn.execute("select stack_id, seq, status, case_no from entries order by id").fetchall()


def test_a_folder_quarantined_as_unknown_case_follows_its_new_name(edossier, tmp_path, paper):
    case = paper[31]
    root = tmp_path / "backlog"
    box = _folder(root, "box-17", case["complaint"])
    first = edossier("backlog", root, "--json")
    assert first.code == 3, first.stderr
    assert {q["code"] for q in first.json()["quarantined"]} == {"unknown_case"}
    box.rename(root / case["case_no"])
    second = edossier("backlog", root, "--json")
    assert second.code == 0, second.stderr + second.stdout
    [filed] = second.json()["cases"]
    assert filed["case_no"] == case["case_no"] and filed["pages_digitised"] == len(case["complaint"])
    assert edossier("quarantine", "list", "--json").json() == []


def test_a_manifest_maps_a_quarantined_folder_to_its_case(edossier, tmp_path, paper):
    case = paper[31]
    root = tmp_path / "backlog"
    _folder(root, "box-18", case["complaint"])
    assert edossier("backlog", root).code == 3
    mapping = tmp_path / "map.csv"
    with mapping.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["folder", "case_no"], ["box-18", case["case_no"]]])
    again = edossier("backlog", root, "--manifest", mapping, "--json")
    assert again.code == 0, again.stderr
    assert [c["case_no"] for c in again.json()["cases"]] == [case["case_no"]]
    assert {row[3] for row in _entries(edossier.home)} == {case["case_no"]}


def test_quarantine_retry_with_a_case_reroutes_the_file(edossier, tmp_path, paper):
    case = paper[32]
    root = tmp_path / "backlog"
    _folder(root, "unlabelled", [case["judgment"]])
    assert edossier("backlog", root).code == 3
    [item] = edossier("quarantine", "list", "--json").json()
    refused = edossier("quarantine", "retry", str(item["id"]))
    assert refused.code == 2 and "--case" in refused.stderr
    retried = edossier("quarantine", "retry", str(item["id"]), "--case", case["case_no"], "--json")
    assert retried.code == 0, retried.stderr
    [filed] = retried.json()["cases"]
    assert filed["case_no"] == case["case_no"] and filed["pages_digitised"] == 1
    status = edossier("status", case["case_no"], "--json").json()
    assert [d["type_code"] for d in status["documents"]] == ["JUDGMENT"]


def test_the_same_bytes_in_two_cases_are_digitised_in_each(edossier, tmp_path, paper):
    one, two = paper[31], paper[32]
    root = tmp_path / "backlog"
    _folder(root, one["case_no"], [one["complaint"][0], one["id_card"]])
    _folder(root, two["case_no"], [two["complaint"][0], one["id_card"]])      # a copy of the same card
    result = edossier("backlog", root, "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["duplicates"] == [] and report["files_new"] == 4 and report["pages_done"] == 4
    for case in (one, two):
        status = edossier("status", case["case_no"], "--json").json()
        assert status["pages"]["received"] == 2 and status["pages"]["digitised"] == 2
        assert sorted(d["type_code"] for d in status["documents"]) == ["COMPLAINT", "PARTY_ID"]


def test_a_missing_font_stops_the_run_before_any_work(edossier, tmp_path, paper):
    root = tmp_path / "backlog"
    _folder(root, paper[31]["case_no"], paper[31]["complaint"])
    config = tmp_path / "settings.yaml"
    config.write_text(f"dossier:\n  font_text: {tmp_path / 'no-such-font.ttc'}\n", encoding="utf-8")
    result = edossier("backlog", root, env={"EDOSSIER_CONFIG": str(config)})
    assert result.code == 6
    assert "apt-get install fonts-arphic-uming" in result.stderr
    assert not (edossier.home / "catalogue.sqlite3").exists() or _entries(edossier.home) == []


def test_a_lost_blob_is_an_internal_error_left_pending_not_a_damaged_file(edossier, tmp_path, paper):
    scan = paper[31]["judgment"]
    case_no = paper[31]["case_no"]
    accepted = edossier("import", scan, "--case", case_no, "--no-wait", "--json")
    assert accepted.code == 0 and accepted.json()["files_new"] == 1
    shutil.rmtree(edossier.home / "blobs")
    burst = edossier("worker", "--burst")
    assert burst.code == 1, burst.stderr
    assert "internal error" in burst.stderr and "BlobNotFound" in burst.stderr
    assert edossier("quarantine", "list", "--json").json() == []            # the file is not blamed
    assert [row[2] for row in _entries(edossier.home)] == ["received"]      # left pending
    log = (edossier.home / "logs" / "edossier.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "BlobNotFound" in log
    status = edossier("status", "--json").json()
    assert [i["job"] for i in status["internal_errors"]] == ["inspect"]
    healed = edossier("import", scan, "--case", case_no, "--json")         # the bytes are stored again
    assert healed.code == 0, healed.stderr
    assert healed.json()["cases"][0]["pages_digitised"] == 1
    assert edossier("status", "--json").json()["internal_errors"] == []


def test_a_poison_page_fails_alone_after_bounded_tries(edossier, tmp_path, paper):
    config = tmp_path / "settings.yaml"
    config.write_text("queue:\n  page_timeout_s: 15\n  page_tries: 2\n", encoding="utf-8")
    poison = tmp_path / "poison.png"
    poison.write_bytes(poison_page())
    result = edossier("import", paper[32]["complaint"][0], poison, paper[32]["judgment"], "--case",
                      paper[32]["case_no"], "--json", env={"EDOSSIER_CONFIG": str(config)})
    assert result.code == 3, result.stderr
    report = result.json()
    assert report["pages_done"] == 2 and report["pages_failed"] == 1
    [item] = report["quarantined"]
    assert item["code"] == "timeout" and "poison.png" in item["file"]
    log = (edossier.home / "logs" / "edossier.log").read_text(encoding="utf-8")
    assert "try 2 of 2" in log


# order of completion ------------------------------------------------------------------------------------------
class RecordingQueue:
    """A queue that only notes what was asked of it: the test runs the jobs itself, in the order it chooses."""

    def __init__(self):
        self.jobs: list[tuple] = []

    def enqueue(self, job, *args, key=None, delay=0.0):
        self.jobs.append((job, args))

    def depths(self):
        return {}

    def close(self):
        pass


def _context(home: Path):
    from config.settings import load_settings
    from ingest.context import Context
    from storage.blobs import open_blob_store
    from storage.catalogue import open_catalogue
    settings = load_settings(env={}, home=str(home))
    return Context(settings, open_blob_store(settings), open_catalogue(settings), RecordingQueue())


def _documents(ctx, stack_id: int) -> list[tuple]:
    where = {p["id"]: (p["stack_seq"], p["page_index"]) for p in ctx.catalogue.pages_of_stack(stack_id)}
    return [(d["case_no"], d["volume"], d["type_code"], d["title"], d["review"], tuple(where[p] for p in d["page_ids"]))
            for d in ctx.catalogue.documents_of_stacks([stack_id])]


@pytest.fixture(scope="module")
def digitised(tmp_path_factory, paper):
    """One stack digitised for real (tesseract), its page results kept to be replayed in other orders."""
    from ingest import pipeline
    home = tmp_path_factory.mktemp("order") / "home"
    ctx = _context(home)
    files = [*paper[31]["complaint"], paper[31]["id_card"], paper[31]["judgment"], *paper[32]["complaint"]]
    stack = pipeline.open_stack(ctx, kind="import", client="test")
    for path in files:
        with path.open("rb") as handle:
            pipeline.accept(ctx, stack, handle, name=path.name, source_path=str(path), client="test")
    for entry in ctx.catalogue.entries_of_stack(stack.id):
        pipeline.inspect(ctx, entry.id)
    for page_id in ctx.catalogue.page_ids(stack_id=stack.id):
        pipeline.page(ctx, page_id)
    return ctx, stack, files


RESULT_FIELDS = ("status", "role", "text", "mean_conf", "rotation", "skew", "blank", "title", "codes", "steps",
                 "engine", "layout_key", "pdf_key", "error")


def test_the_final_catalogue_is_the_same_whatever_order_pages_finish_in(digitised, tmp_path):
    from ingest import pipeline
    source, stack, files = digitised
    pipeline.classify(source, stack.id)
    expected = _documents(source, stack.id)
    assert len(expected) >= 4
    results = {(p["stack_seq"], p["page_index"]): {k: p[k] for k in RESULT_FIELDS}
               for p in source.catalogue.pages_of_stack(stack.id)}
    orders = [sorted(results), sorted(results, reverse=True), random.Random(4).sample(sorted(results), len(results))]
    for number, order in enumerate(orders):
        ctx = _context(tmp_path / f"home{number}")
        replay = pipeline.open_stack(ctx, kind="import", client="test")
        for path in files:
            with path.open("rb") as handle:
                pipeline.accept(ctx, replay, handle, name=path.name, source_path=str(path), client="test")
        for entry in ctx.catalogue.entries_of_stack(replay.id):
            ctx.catalogue.mark_entry_ready(entry.id, "image/png", 1, entry.sha256, None)
        page_of = {(p["stack_seq"], p["page_index"]): p["id"] for p in ctx.catalogue.pages_of_stack(replay.id)}
        for position in order:
            ctx.catalogue.finish_page(page_of[position], replay.id, **results[position])
            pipeline.classify(ctx, replay.id)                       # classification as each page finishes
        pipeline.close_stack(ctx, replay.id)
        pipeline.classify(ctx, replay.id)
        assert _documents(ctx, replay.id) == expected, f"order {number}"


def test_a_document_whose_pages_did_not_change_keeps_its_id(digitised):
    from ingest import pipeline
    ctx, stack, _ = digitised
    pipeline.classify(ctx, stack.id)
    before = {tuple(d["page_ids"]): d["id"] for d in ctx.catalogue.documents_of_stacks([stack.id])}
    ctx.catalogue.bump_stack(stack.id)
    pipeline.classify(ctx, stack.id)
    after = {tuple(d["page_ids"]): d["id"] for d in ctx.catalogue.documents_of_stacks([stack.id])}
    assert after == before


def test_the_same_run_on_postgresql_files_the_same_documents(edossier, tmp_path, paper, postgres):
    """The chain of jobs on a PostgreSQL catalogue (EDOSSIER_CATALOGUE): the same pages give the same documents,
    in the same order, as on the embedded SQLite catalogue."""
    files = [*paper[31]["complaint"], paper[31]["judgment"]]
    results = {}
    for name, extra in (("sqlite", {}), ("postgresql", {"EDOSSIER_CATALOGUE": postgres.database()})):
        env = {"EDOSSIER_HOME": str(tmp_path / name), **extra}
        run = edossier("import", *files, "--case", paper[31]["case_no"], "--json", env=env)
        assert run.code == 0, run.stderr[-2000:]
        assert run.json()["pages_done"] == len(files)
        case = edossier("status", paper[31]["case_no"], "--json", env=env).json()
        results[name] = [(d["volume"], d["type_code"], d["pages"]) for d in case["documents"]]
    assert not (tmp_path / "postgresql" / "catalogue.sqlite3").exists()
    assert results["postgresql"] == results["sqlite"] == [("ZJ", "COMPLAINT", len(files) - 1), ("ZJ", "JUDGMENT", 1)]
