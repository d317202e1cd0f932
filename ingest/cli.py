"""The `edossier` command line: backlog, import, status, export, quarantine, coversheet, samples."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from classify.identifiers import mask_text
from config.settings import SettingsError, load_settings
from ingest import logs, pipeline
from ingest.context import build_context
from ingest.discover import discover, files_stack, read_manifest
from ingest.errors import EdossierError, ExitCode, NotFound
from ingest.queue import open_queue
from ocr import tesseract

console = Console(stderr=True)
out = Console()

EXIT_CODES_HELP = """\b
Exit codes: 0 all done · 2 usage error · 3 finished, some files or pages quarantined ·
4 finished, some documents could not be routed to a case · 5 invalid settings ·
6 missing dependency (tesseract) · 7 case or item not found · 130 interrupted (run again to resume)."""


class State:
    def __init__(self, home: Path | None, config: Path | None, jobs: int | None = None):
        overrides = {"home": str(home)} if home else {}
        self.config, self.overrides, self._ctx = config, overrides, None
        self.jobs = jobs

    def context(self, jobs: int | None = None):
        if self._ctx is None:
            extra = dict(self.overrides)
            if jobs:
                extra["queue"] = {"workers": jobs}
            settings = load_settings(self.config, **extra)
            logs.configure(settings.home)
            self._ctx = build_context(settings)
        return self._ctx


@click.group(epilog=EXIT_CODES_HELP)
@click.option("--home", type=click.Path(path_type=Path), envvar="EDOSSIER_HOME",
              help="Data folder (catalogue, blobs, dossiers). Default ./edossier-data or $EDOSSIER_HOME.")
@click.option("--config", type=click.Path(path_type=Path, exists=True, dir_okay=False), envvar="EDOSSIER_CONFIG",
              help="YAML settings file overriding config/defaults.yaml.")
@click.version_option(package_name="edossier")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, config: Path | None) -> None:
    """edossier: court paper in, catalogued searchable electronic case files (电子卷宗) out.

    Every page is stored (content hash) before anything else; every bad file is quarantined with its reason.
    """
    ctx.obj = State(home, config)


# backlog / import --------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="OCR worker processes (default: one per core).")
@click.option("--manifest", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="CSV 'folder,case_no' for sub-folders not named by their case number.")
@click.option("--password", help="Password for password-protected PDFs in this backlog.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Where dossiers go (default HOME/dossiers).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON on stdout.")
@click.pass_obj
def backlog(state: State, folder: Path, jobs, manifest, password, out_dir, as_json) -> None:
    """Digitise a backlog FOLDER: each sub-folder is one case, named by its case number
    (or mapped by --manifest); loose files at the top are routed by separator sheets or by
    the case number read on the page. Interrupt with Ctrl-C and run again to resume.

    \b
    Example:
      edossier backlog /scans/2024-archive --jobs 2
      edossier backlog /scans/box17 --manifest box17.csv --json
    """
    ctx = state.context(jobs)
    stacks = discover(folder, read_manifest(manifest) if manifest else None,
                      strict=ctx.settings.classify.strict_case_numbers)
    _run(ctx, stacks, password, out_dir, as_json)


@cli.command(name="import", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--case", "case_no", help="Case number all these pages belong to, e.g. （2024）浙0803民初1234号.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="OCR worker processes (default: one per core).")
@click.option("--password", help="Password for password-protected PDFs.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Where dossiers go (default HOME/dossiers).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON on stdout.")
@click.pass_obj
def import_(state: State, paths, case_no, jobs, password, out_dir, as_json) -> None:
    """Digitise individual files (in the order given) through the same pipeline.

    \b
    Example:
      edossier import complaint.pdf id-card.jpg --case "（2024）浙0803民初1234号"
    """
    ctx = state.context(jobs)
    stack = files_stack(list(paths), case_no, strict=ctx.settings.classify.strict_case_numbers)
    if stack.case_error:
        raise click.BadParameter(stack.case_error, param_hint="--case")
    _run(ctx, [stack], password, out_dir, as_json)


def _run(ctx, stacks, password, out_dir, as_json) -> None:
    tesseract.version()
    tesseract.check_languages(ctx.settings.ocr.languages)
    queue = open_queue(ctx.settings)
    try:
        with _progress_bar() as bar:
            report = pipeline.run(ctx, queue, stacks, password=password, progress=bar, out_root=out_dir)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: finished pages are kept; run the same command again to resume.")
        sys.exit(ExitCode.interrupted)
    finally:
        queue.close()
    _print_report(report, as_json)
    sys.exit(_exit_code(report))


class _progress_bar:
    """Live bar: pages done / total, pages per minute, time remaining."""

    def __enter__(self):
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console)
        self.progress.start()
        self.task, self.started = None, time.monotonic()
        return self

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task(phase, total=total, rate="")
            self.started = time.monotonic()
        minutes = (time.monotonic() - self.started) / 60
        rate = f"{done / minutes:.1f} pages/min" if done and minutes > 0 else ""
        self.progress.update(self.task, completed=done, total=total, rate=rate)

    def __exit__(self, *exc):
        self.progress.stop()
        return False


def _exit_code(report) -> int:
    if report.quarantined:
        return ExitCode.quarantined
    if report.unrouted_documents:
        return ExitCode.needs_review
    return ExitCode.ok


def _report_dict(report) -> dict:
    return {
        "files_new": report.files_new, "files_already_known": report.files_known,
        "duplicates": [{"path": p, "same_as": s} for p, s in report.duplicates],
        "pages_done": report.pages_done, "pages_failed": report.pages_failed,
        "documents_in_review": report.review_documents, "documents_unrouted": report.unrouted_documents,
        "quarantined": [{"id": q["id"], "file": q["source_path"], "code": q["error_code"], "reason": q["reason"]}
                        for q in report.quarantined],
        "cases": [{"case_no": c.case_no, "folder": str(c.folder), "documents": c.documents, "review": c.review,
                   "pages_received": c.pages_received, "pages_digitised": c.pages_digitised,
                   "pages_excluded": c.excluded,
                   "volumes": [{"volume": v, "pdf": str(p), "pages": n} for v, p, n in c.volumes]}
                  for c in report.cases],
    }


def _print_report(report, as_json: bool) -> None:
    if as_json:
        out.print_json(data=_report_dict(report))
        return
    table = Table(title="Cases")
    table.add_column("case", no_wrap=True)
    for column in ("docs", "review", "received", "digitised", "left out"):
        table.add_column(column, justify="right")
    for case in report.cases:
        rate = f"{case.pages_digitised}" + (f" ({case.pages_digitised / case.pages_received:.0%})"
                                            if case.pages_received else "")
        table.add_row(case.case_no, str(case.documents), str(case.review), str(case.pages_received), rate,
                      str(case.excluded))
    out.print(table)
    for case in report.cases:
        out.print(f"dossier {case.case_no}: " + ", ".join(str(path) for _, path, _ in case.volumes))
    out.print(f"files: {report.files_new} new, {report.files_known} already received, "
              f"{len(report.duplicates)} duplicates · pages: {report.pages_done} digitised, "
              f"{report.pages_failed} failed · documents: {report.review_documents} flagged for review, "
              f"{report.unrouted_documents} not routed to a case")
    for item in report.quarantined:
        out.print(f"[red]quarantined[/] #{item['id']} {item['source_path']}: {mask_text(item['reason'])}")
    for path, same in report.duplicates:
        out.print(f"duplicate: {path} is byte-identical to {same}; not processed again")


# status ------------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("case_no", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def status(state: State, case_no: str | None, as_json: bool) -> None:
    """Cases, documents and pages: what is digitised, pending, in review or quarantined.

    \b
    Example:
      edossier status
      edossier status "（2024）浙0803民初1234号" --json
    """
    from ingest.reports import case_status, overall_status
    ctx = state.context()
    data = case_status(ctx, case_no) if case_no else overall_status(ctx)
    if data is None:
        raise NotFound(f"no case {case_no} in the catalogue")
    if as_json:
        out.print_json(data=data)
    else:
        from ingest.reports import render_status
        render_status(out, data)


# export ------------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("case_no")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for ZJ.pdf, FJ.pdf and manifest.json.")
@click.pass_obj
def export(state: State, case_no: str, out_dir: Path) -> None:
    """Write a case's volumes (ZJ.pdf, FJ.pdf when there is internal material) and manifest.json.

    \b
    Example:
      edossier export "（2024）浙0803民初1234号" --out /archive/1234
    """
    from dossier.export import export_case
    ctx = state.context()
    if ctx.catalogue.case(case_no) is None:
        raise NotFound(f"no case {case_no} in the catalogue (see `edossier status`)")
    result = export_case(ctx, case_no, out_dir)
    for volume, path, pages in result.volumes:
        out.print(f"{volume}: {path} ({pages} pages)")
    out.print(f"manifest: {out_dir / 'manifest.json'}")


# quarantine --------------------------------------------------------------------------------------------------------
@cli.group(epilog=EXIT_CODES_HELP)
def quarantine() -> None:
    """Files and pages that could not be digitised, with the reason; retry them once fixed."""


@quarantine.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Include items already retried or resolved.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def quarantine_list(state: State, show_all: bool, as_json: bool) -> None:
    """List quarantined files.  Example: edossier quarantine list --json"""
    items = state.context().catalogue.quarantine_items(None if show_all else "open")
    if as_json:
        out.print_json(data=[_public_item(i) for i in items])
        return
    table = Table(title=f"Quarantine ({len(items)})")
    for column in ("id", "file", "page", "code", "reason", "status"):
        table.add_column(column)
    for i in items:
        table.add_row(str(i["id"]), i["name"], str(i["page_index"] + 1) if i["page_index"] is not None else "",
                      i["error_code"], mask_text(i["reason"]), i["status"])
    out.print(table)


def _public_item(item: dict) -> dict:
    return {k: (mask_text(v) if k == "reason" else v) for k, v in item.items()}


@quarantine.command(name="show")
@click.argument("item_id", type=int)
@click.pass_obj
def quarantine_show(state: State, item_id: int) -> None:
    """Show one quarantined item.  Example: edossier quarantine show 3"""
    item = state.context().catalogue.quarantine_item(item_id)
    if item is None:
        raise NotFound(f"no quarantine item {item_id}")
    out.print_json(data=_public_item(item))


@quarantine.command(name="retry", epilog=EXIT_CODES_HELP)
@click.argument("item_id", type=int)
@click.option("--password", help="Password of a password-protected PDF.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON on stdout.")
@click.pass_obj
def quarantine_retry(state: State, item_id: int, password: str | None, as_json: bool) -> None:
    """Run a quarantined file or page through the pipeline again.

    \b
    Example:
      edossier quarantine retry 3 --password s3cret
    """
    from ingest.retry import retry_item
    ctx = state.context()
    tesseract.version()
    queue = open_queue(ctx.settings)
    try:
        report = retry_item(ctx, queue, item_id, password)
    finally:
        queue.close()
    _print_report(report, as_json)
    sys.exit(_exit_code(report))


# coversheet / samples ----------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--case", "case_no", required=True, help="Case number, e.g. （2024）浙0803民初1234号.")
@click.option("--type", "type_code", required=True, help="Document type code from config/taxonomy.yaml, e.g. COMPLAINT.")
@click.option("--volume", type=click.Choice(["ZJ", "FJ"]), default="ZJ", show_default=True)
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path, dir_okay=False))
def coversheet(case_no: str, type_code: str, volume: str, out_file: Path) -> None:
    """Print a separator sheet: put it on top of a document before scanning; the document is filed into
    that case with that type, and the sheet itself is left out of the dossier.

    \b
    Example:
      edossier coversheet --case "（2024）浙0803民初1234号" --type COMPLAINT --out sheet.pdf
    """
    from classify.coversheet import coversheet_pdf
    from classify.identifiers import parse_case_number
    from classify.taxonomy import Taxonomy
    number = parse_case_number(case_no)
    if number is None:
        raise click.BadParameter(f"'{case_no}' is not a valid case number", param_hint="--case")
    taxonomy = Taxonomy.load()
    if type_code not in taxonomy.codes:
        raise click.BadParameter(f"unknown type {type_code!r}; known: {', '.join(sorted(taxonomy.codes))}",
                                 param_hint="--type")
    out_file.write_bytes(coversheet_pdf(number.text, type_code, taxonomy.get(type_code).name, volume))
    out.print(f"separator sheet for {number.text} / {type_code} / {volume}: {out_file}")


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--seed", default=7, show_default=True, help="Same seed, same pages.")
@click.option("--cases", default=3, show_default=True, type=click.IntRange(1, 50))
def samples(folder: Path, seed: int, cases: int) -> None:
    """Generate a synthetic backlog of court paper (invented parties, valid-checksum fake IDs,
    scan-like degradation) to try the product on.

    \b
    Example:
      edossier samples ./demo-backlog && edossier backlog ./demo-backlog
    """
    from synth.backlog import make_backlog
    make_backlog(folder, seed=seed, cases=cases)
    out.print(f"synthetic backlog written to {folder}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        console.print("interrupted")
        sys.exit(ExitCode.interrupted)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.usage)
    except SettingsError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(ExitCode.bad_settings)
    except EdossierError as exc:
        console.print(f"[red]error:[/] {mask_text(str(exc))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to resume")
        sys.exit(ExitCode.interrupted)
