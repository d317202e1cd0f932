"""The `edossier` command line: backlog, import, status, export, archive, verify, quarantine, coversheet, samples."""
from __future__ import annotations

import getpass
import json
import logging
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from classify.identifiers import mask_text, parse_case_number
from config.settings import SettingsError, load_settings
from ingest import logs
from ingest.auth import ROLES, USER_ROLES
from ingest.discover import discover, files_stack, read_manifest
from config.errors import EdossierError, ExitCode, NotFound
from ingest.forkserver import start_early

# The pipeline's modules (OCR, PDF, database) are imported by the commands that use them, after the worker
# processes' fork server has been started: it imports them too, at the same time, on another core.
QUEUE_NAMES = ("assemble", "classify", "inspect", "ocr")

log = logging.getLogger("edossier.cli")
console = Console(stderr=True)
out = Console() if sys.stdout.isatty() else Console(width=4096)     # into a file or a pipe: lines are not wrapped

EXIT_CODES_HELP = """\b
Exit codes: 0 all done · 1 internal error (logged with its traceback; the work is left pending) ·
2 usage error · 3 finished, some files or pages quarantined · 4 finished, some documents could not
be routed to a case · 5 invalid settings · 6 missing dependency (tesseract, its languages, fonts,
Ghostscript) · 7 case or item not found · 130 interrupted (run again to resume)."""


class State:
    def __init__(self, home: Path | None, config: Path | None, jobs: int | None = None):
        overrides = {"home": str(home)} if home else {}
        self.config, self.overrides, self._ctx = config, overrides, None
        self.jobs = jobs

    def context(self, jobs: int | None = None, *, reading: bool = False):
        """The command's context. A command that only reads (`reading`) never creates the data folder: with no
        catalogue there it says where it looked."""
        if self._ctx is None:
            extra = dict(self.overrides)
            if jobs:
                extra["queue"] = {"workers": jobs}
            settings = load_settings(self.config, **extra)
            if reading:
                _require_catalogue(settings)
            logs.configure(settings.home)
            from ingest.context import build_context
            self._ctx = build_context(settings)
        return self._ctx


def _require_catalogue(settings) -> None:
    url = settings.catalogue_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise NotFound(f"no catalogue in {settings.home}: nothing has been digitised there yet. Point to the "
                       "data folder with --home DIR or EDOSSIER_HOME=DIR (the default is ./edossier-data).")


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
@click.option("--no-wait", is_flag=True, help="Return once the files are durably accepted; `edossier serve` or "
                                              "`edossier worker` does the rest.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON on stdout.")
@click.pass_obj
def backlog(state: State, folder: Path, jobs, manifest, password, out_dir, no_wait, as_json) -> None:
    """Digitise a backlog FOLDER: each sub-folder is one case, named by its case number
    (or mapped by --manifest); loose files at the top are routed by separator sheets or by
    the case number read on the page. Interrupt with Ctrl-C and run again to resume.

    \b
    Example:
      edossier backlog /scans/2024-archive --jobs 2
      edossier backlog /scans/box17 --manifest box17.csv --json
    """
    start_early()
    ctx = state.context(jobs)
    found = discover(folder, read_manifest(manifest) if manifest else None,
                     strict=ctx.settings.classify.strict_case_numbers)
    _require_supported_files(folder, [path for pile in found for path in pile.files])
    _run(ctx, found, "backlog", password, out_dir, no_wait, as_json)


def _require_supported_files(folder: Path, files: list[Path]) -> None:
    """A backlog with nothing to digitise is a mistake worth saying at once (a wrong folder, an unmounted share)."""
    from ingest.sniff import ACCEPTED, sniff
    if not files:
        raise click.UsageError(f"no files in {folder}: nothing to digitise (is it the right folder?)")
    for path in files:
        with path.open("rb") as handle:
            if sniff(handle.read(1024))[0] is not None:
                return
    raise click.UsageError(f"none of the {len(files)} files in {folder} is of a supported type ({ACCEPTED})")


@cli.command(name="import", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--case", "case_no", help="Case number all these pages belong to, e.g. （2024）浙0803民初1234号.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="OCR worker processes (default: one per core).")
@click.option("--password", help="Password for password-protected PDFs.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Where dossiers go (default HOME/dossiers).")
@click.option("--no-wait", is_flag=True, help="Return once the files are durably accepted.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON on stdout.")
@click.pass_obj
def import_(state: State, paths, case_no, jobs, password, out_dir, no_wait, as_json) -> None:
    """Digitise individual files (in the order given) through the same pipeline.

    \b
    Example:
      edossier import complaint.pdf id-card.jpg --case "（2024）浙0803民初1234号"
    """
    start_early()
    ctx = state.context(jobs)
    stack = files_stack(list(paths), case_no, strict=ctx.settings.classify.strict_case_numbers)
    if stack.case_error:
        raise click.BadParameter(stack.case_error, param_hint="--case")
    _run(ctx, [stack], "import", password, out_dir, no_wait, as_json)


def _client() -> str:
    return f"cli:{getpass.getuser()}"


def _run(ctx, found, kind, password, out_dir, no_wait, as_json) -> None:
    from ingest import batch
    from ingest.checks import check_runtime
    check_runtime(ctx.settings)
    files = sum(len(pile.files) for pile in found)
    log.info("run started: %s of %d files in %d stacks (%s)", kind, files, len(found), " ".join(sys.argv[1:]))
    with _local_workers(ctx, not no_wait, kind):
        submission = batch.submit(ctx, found, kind=kind, client=_client(), password=password)
        if no_wait:
            log.info("run ended: %s accepted %d new files, %d already received; not waiting", kind,
                     submission.files_new, submission.files_known)
            _print_accepted(submission, as_json)
            return
        _watch_and_report(ctx, submission, out_dir, as_json, kind)


@contextmanager
def _local_workers(ctx, wanted: bool, kind: str = "run"):
    """Workers on this machine while the command runs (on the in-process default); Ctrl-C stops them, and the
    same command run again resumes."""
    from ingest.runner import local_runner
    runner = local_runner(ctx) if wanted else None
    if wanted and runner is None and ctx.queue.workers_alive() == 0:
        console.print("[yellow]no worker is running on the queue[/]: the files are accepted and wait until "
                      "`edossier worker` runs on some machine (Ctrl-C stops watching; nothing is lost).")
    try:
        if runner is not None:
            runner.start()
        yield
    except KeyboardInterrupt:
        log.info("run interrupted: %s stopped by the operator; finished pages kept, the rest resumes on rerun", kind)
        console.print("[yellow]interrupted[/]: finished pages are kept; run the same command again to resume.")
        sys.exit(ExitCode.interrupted)
    finally:
        if runner is not None:
            runner.stop()


def _watch_and_report(ctx, submission, out_dir, as_json, kind: str) -> None:
    from ingest import batch
    with _progress_bar() as bar:
        batch.watch(ctx, submission.stack_ids, bar)
    report = batch.report(ctx, submission, out_dir or ctx.settings.home / "dossiers")
    _print_report(report, as_json)
    code = _exit_code(report)
    log.info("run ended: %s, %d new files, %d pages digitised, %d failed, %d quarantined, %d internal errors, "
             "%d documents unrouted; exit %d", kind, report.files_new, report.pages_done, report.pages_failed,
             len(report.quarantined), len(report.incidents), report.unrouted_documents, code)
    sys.exit(code)


def _print_accepted(submission, as_json: bool) -> None:
    data = {"stacks": submission.stack_ids, "files_new": submission.files_new,
            "files_already_known": submission.files_known,
            "duplicates": [{"path": p, "same_as": s} for p, s in submission.duplicates]}
    if as_json:
        out.print_json(data=data)
    else:
        out.print(f"accepted: {submission.files_new} new files, {submission.files_known} already received, "
                  f"{len(submission.duplicates)} duplicates, in stacks {', '.join(map(str, submission.stack_ids))}; "
                  "`edossier serve` or `edossier worker` digitises them, `edossier status` shows progress")


class _progress_bar:
    """Live bar: pages done / total, pages per minute, time remaining."""

    def __enter__(self):
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console)
        self.progress.start()
        self.task, self.started, self.first = None, time.monotonic(), None
        return self

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task(phase, total=total, rate="")
            self.first = done
        minutes = (time.monotonic() - self.started) / 60
        fresh = done - self.first
        rate = f"{fresh / minutes:.1f} pages/min" if fresh and minutes > 0 else ""
        self.progress.update(self.task, completed=done, total=total, rate=rate)

    def __exit__(self, *exc):
        self.progress.stop()
        return False


def _exit_code(report) -> int:
    if report.incidents:
        return ExitCode.internal_error
    if report.quarantined:
        return ExitCode.quarantined
    if report.unrouted_documents:
        return ExitCode.needs_review
    return ExitCode.ok


def _report_dict(report) -> dict:
    return {
        "files_new": report.files_new, "files_already_known": report.files_known,
        "duplicates": [{"path": mask_text(p), "same_as": mask_text(s)} for p, s in report.duplicates],
        "pages_done": report.pages_done, "pages_failed": report.pages_failed,
        "pages_pending": report.pages_pending,
        "documents_in_review": report.review_documents, "documents_unrouted": report.unrouted_documents,
        "quarantined": [{"id": q["id"], "file": mask_text(q["source_path"]), "code": q["error_code"],
                         "reason": mask_text(q["reason"])} for q in report.quarantined],
        "internal_errors": [{"id": i["id"], "job": i["job"], "error": mask_text(i["error"])}
                            for i in report.incidents],
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
              f"{report.pages_failed} failed, {report.pages_pending} pending · documents: "
              f"{report.review_documents} flagged for review, {report.unrouted_documents} not routed to a case")
    for item in report.quarantined:
        out.print(f"[red]quarantined[/] #{item['id']} {mask_text(item['source_path'])}: {mask_text(item['reason'])}")
    for path, same in report.duplicates:
        out.print(f"duplicate: {mask_text(path)} is byte-identical to {mask_text(same)}; not processed again")
    for incident in report.incidents:
        out.print(f"[red]internal error[/] in {incident['job']} {incident['args']}: {mask_text(incident['error'])} "
                  "— the work is left pending (traceback in the log); run the same command again to retry")


# case --------------------------------------------------------------------------------------------------------------
@cli.group(epilog=EXIT_CODES_HELP)
def case() -> None:
    """Open cases and report the stages they reach, as the case-management system does through the API.
    Events may come twice or out of order: nothing is recorded twice, and the earliest time given for a stage
    holds.

    \b
    Example:
      edossier case open "（2024）浙0803民初1234号" --tribunal 民一庭 --parties 张三 --parties 李四
      edossier case event "（2024）浙0803民初1234号" JUDGMENT --at 2026-03-02
    """


@case.command(name="open", epilog=EXIT_CODES_HELP)
@click.argument("case_no")
@click.option("--court", help="The court, e.g. 浙江省嘉兴市南湖区人民法院.")
@click.option("--tribunal", help="The tribunal hearing it, e.g. 民一庭.")
@click.option("--parties", multiple=True, help="A party (give it once per party).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def case_open(state: State, case_no: str, court: str | None, tribunal: str | None, parties: tuple[str, ...],
              as_json: bool) -> None:
    """Open a case; opened again, only the details given are replaced.

    \b
    Example:
      edossier case open "（2024）浙0803民初1234号" --tribunal 民一庭 --parties 张三 --parties 李四
    """
    from ingest.cases import open_case
    result = open_case(state.context(), case_no, court=court, tribunal=tribunal, parties=list(parties),
                       client=_client())
    if as_json:
        out.print_json(data=result)
        return
    out.print(f"{result['case_no']}: {'opened' if result['opened'] else 'already open, details updated'}"
              + (f"; {result['pages_held']} page(s) received for it before are shown with it"
                 if result["opened"] and result["pages_held"] else ""))


@case.command(name="event", epilog=EXIT_CODES_HELP)
@click.argument("case_no")
@click.argument("stage")
@click.option("--at", "at", help="When the stage was reached (2026-03-02 or 2026-03-02T15:30, court time); now "
              "when left out.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def case_event(state: State, case_no: str, stage: str, at: str | None, as_json: bool) -> None:
    """Record that a case reached STAGE (FILING PRETRIAL TRIAL JUDGMENT SERVICE ENFORCEMENT ARCHIVING, or 立案
    审前 庭审 裁判 送达 执行 归档).

    \b
    Example:
      edossier case event "（2024）浙0803民初1234号" JUDGMENT --at 2026-03-02
    """
    from ingest.cases import record_event
    result = record_event(state.context(), case_no, stage, at, _client())
    if as_json:
        out.print_json(data=result)
        return
    out.print(f"{result['case_no']}: {result['stage']} at {result['at']}"
              + ("" if result["changed"] else " (already known: nothing changed)")
              + f"; the case is at {result['stage_now']}")


# receive -----------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("case_no")
@click.option("--type", "type_code", required=True,
              help="What the paper is: a document type's code or Chinese name, e.g. EVIDENCE or 证据材料.")
@click.option("--pages", type=click.IntRange(1, 100_000), required=True, help="Pages handed in.")
@click.option("--from", "handed_in_by", help="Who handed it in (a party, a lawyer, a clerk).")
@click.option("--at", "at", help="When it was received (2026-03-02T15:30, court time); now when left out.")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Where the receipt PDF goes (default: receipt-R-N.pdf here).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def receive(state: State, case_no: str, type_code: str, pages: int, handed_in_by: str | None, at: str | None,
            out_file: Path | None, as_json: bool) -> None:
    """Register paper received for a case and print its receipt (签收单, PDF). Scan the receipt on top of that
    paper (or scan with --receipt R-N): its pages are counted against the receipt, and `edossier status` says
    when pages are missing, extra, or a sheet was scanned twice.

    \b
    Example:
      edossier receive "（2024）浙0803民初1234号" --type EVIDENCE --pages 12 --from 张三 --out r.pdf
    """
    from ingest.cases import receipt_document, receive as register
    ctx = state.context()
    result = register(ctx, case_no, type_code, pages, handed_in_by=handed_in_by, at=at, client=_client())
    out_file = out_file or Path(f"receipt-{result['receipt']}.pdf")
    out_file.write_bytes(receipt_document(ctx, ctx.catalogue.receipt(result["id"])))
    if as_json:
        out.print_json(data=result | {"pdf": str(out_file)})
        return
    out.print(f"receipt {result['receipt']}: {result['case_no']}, {result['type_name']} ({result['type_code']}), "
              f"{result['pages']} pages from {result['handed_in_by'] or '—'} at {result['received_at']} → {out_file}")


# alerts ------------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def alerts(state: State, as_json: bool) -> None:
    """Cases to act on: paper received and not digitised by its deadline (by default the end of the next working
    day, config/stages.yaml and config/holidays.yaml), and cases lacking documents their stage requires.

    \b
    Example:
      edossier alerts
      edossier alerts --json
    """
    from ingest.reports import alerts as find_alerts
    found = find_alerts(state.context(reading=True))
    if as_json:
        out.print_json(data=found)
        return
    if not found:
        out.print("no alerts: all paper received is digitised in time, and every case holds what its stage requires")
        return
    for alert in found:
        head = (f"{alert['case_no']} {alert['receipt']}: overdue since {alert['due'][:16]} "
                f"({alert['overdue_days']} days)" if alert["kind"] == "overdue"
                else f"{alert['case_no']}: documents missing at stage {alert['stage']}")
        out.print(f"[bold]{head}[/]")
        for reason in alert["reasons"]:
            out.print(f"  {reason}")


# correct -----------------------------------------------------------------------------------------------------------
@cli.group(epilog=EXIT_CODES_HELP)
def correct() -> None:
    """Correct what was filed automatically: a document's type, a split, a merge, the page order, a page moved,
    marked for rescan, replaced by its rescan or removed. Documents and pages are named by the ids
    `edossier status CASE --json` shows. Each correction is recorded with who and when, the dossier, status and
    figures update before the command returns, and a later classification never undoes it.

    \b
    Example:
      edossier correct type 12 JUDGMENT
      edossier correct split 12 --at 57
      edossier correct remove 58 --reason "the same sheet scanned twice"
      edossier correct list "（2024）浙0803民初1234号"
    """


def _correction(state: State, kind: str, as_json: bool, **given) -> None:
    from ingest.corrections import correct as record
    result = record(state.context(), kind, _client(), **given)
    if as_json:
        out.print_json(data=result)
        return
    out.print(f"correction {result['id']} ({kind}) recorded in {result['case_no']} by {result['by']}: the dossier, "
              "status and figures are updated")


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")


@correct.command(name="type", epilog=EXIT_CODES_HELP)
@click.argument("document", type=int)
@click.argument("type_code")
@JSON_OPTION
@click.pass_obj
def correct_type(state: State, document: int, type_code: str, as_json: bool) -> None:
    """Give a document its right type (a code or a name from config/taxonomy.yaml).

    \b
    Example:
      edossier correct type 12 JUDGMENT
      edossier correct type 12 民事判决书
    """
    _correction(state, "type", as_json, document=document, type=type_code)


@correct.command(name="split", epilog=EXIT_CODES_HELP)
@click.argument("document", type=int)
@click.option("--at", "page", type=int, required=True, help="The page that starts the new document.")
@JSON_OPTION
@click.pass_obj
def correct_split(state: State, document: int, page: int, as_json: bool) -> None:
    """Split a document in two: a new document starts at the page given.

    \b
    Example:
      edossier correct split 12 --at 57
    """
    _correction(state, "split", as_json, document=document, page=page)


@correct.command(name="merge", epilog=EXIT_CODES_HELP)
@click.argument("document", type=int)
@click.argument("other", type=int)
@JSON_OPTION
@click.pass_obj
def correct_merge(state: State, document: int, other: int, as_json: bool) -> None:
    """Merge two documents of a case: the second one's pages follow the first one's.

    \b
    Example:
      edossier correct merge 12 13
    """
    _correction(state, "merge", as_json, document=document, other=other)


@correct.command(name="reorder", epilog=EXIT_CODES_HELP)
@click.argument("document", type=int)
@click.argument("pages", type=int, nargs=-1, required=True)
@JSON_OPTION
@click.pass_obj
def correct_reorder(state: State, document: int, pages: tuple[int, ...], as_json: bool) -> None:
    """Put a document's pages in this order (every page of it, once).

    \b
    Example:
      edossier correct reorder 12 58 57 59
    """
    _correction(state, "reorder", as_json, document=document, order=list(pages))


@correct.command(name="move", epilog=EXIT_CODES_HELP)
@click.argument("page", type=int)
@click.option("--to-document", type=int, help="The document it belongs to (it goes after its pages).")
@click.option("--to-case", help="The case it belongs to (it becomes a document of its own there).")
@JSON_OPTION
@click.pass_obj
def correct_move(state: State, page: int, to_document: int | None, to_case: str | None, as_json: bool) -> None:
    """Move a page to another document, or to another case.

    \b
    Example:
      edossier correct move 58 --to-document 14
      edossier correct move 58 --to-case "（2024）浙0803民初1235号"
    """
    _correction(state, "move", as_json, page=page, to_document=to_document, to_case=to_case)


@correct.command(name="rescan", epilog=EXIT_CODES_HELP)
@click.argument("page", type=int)
@click.option("--reason", help="What is wrong with it, e.g. 'cut off at the bottom'.")
@JSON_OPTION
@click.pass_obj
def correct_rescan(state: State, page: int, reason: str | None, as_json: bool) -> None:
    """Mark a page to be scanned again: the case is not digitised until its rescan replaces it.

    \b
    Example:
      edossier correct rescan 58 --reason "cut off at the bottom"
    """
    _correction(state, "rescan", as_json, page=page, reason=reason)


@correct.command(name="replace", epilog=EXIT_CODES_HELP)
@click.argument("page", type=int)
@click.option("--by", "by", type=int, required=True, help="The page scanned again.")
@JSON_OPTION
@click.pass_obj
def correct_replace(state: State, page: int, by: int, as_json: bool) -> None:
    """Put a page's rescan in its place in the dossier; the first scan stays in the record.

    \b
    Example:
      edossier correct replace 58 --by 91
    """
    _correction(state, "replace", as_json, page=page, by=by)


@correct.command(name="remove", epilog=EXIT_CODES_HELP)
@click.argument("page", type=int)
@click.option("--reason", required=True, help="Why, e.g. 'the same sheet scanned twice'.")
@JSON_OPTION
@click.pass_obj
def correct_remove(state: State, page: int, reason: str, as_json: bool) -> None:
    """Leave a page out of the dossier (a sheet scanned twice, a page of another matter); it stays in the record.

    \b
    Example:
      edossier correct remove 58 --reason "the same sheet scanned twice"
    """
    _correction(state, "remove", as_json, page=page, reason=reason)


@correct.command(name="list", epilog=EXIT_CODES_HELP)
@click.argument("case_no")
@JSON_OPTION
@click.pass_obj
def correct_list(state: State, case_no: str, as_json: bool) -> None:
    """The corrections made in a case, oldest first: what, by whom, when.

    \b
    Example:
      edossier correct list "（2024）浙0803民初1234号" --json
    """
    from ingest.corrections import history
    found = history(state.context(reading=True), case_no)
    if as_json:
        out.print_json(data=found)
        return
    if not found:
        out.print("no corrections")
    for item in found:
        out.print(f"{item['id']:>4} {item['at']} {item['by']}: {item['kind']} {json.dumps(item['detail'], ensure_ascii=False)}")


# report ------------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--from", "start", metavar="DATE", help="First day counted (YYYY-MM-DD, court time). Default: the start.")
@click.option("--to", "end", metavar="DATE", help="Last day counted (YYYY-MM-DD). Default: today.")
@click.option("--tribunal", help="Only this tribunal's cases (as the case-management system named it).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as an HTML page with charts to this file.")
@click.pass_obj
def report(state: State, start: str | None, end: str | None, tribunal: str | None, as_json: bool,
           html_file: Path | None) -> None:
    """The court's figures over cases opened or closed in a period, per tribunal and court-wide, each with its
    definition: coverage, digitisation rate (cases and pages), timeliness, usability, cataloguing accuracy and the
    single-set archiving rate. Computed from the records alone.

    \b
    Example:
      edossier report --from 2026-01-01 --to 2026-03-31
      edossier report --tribunal 民一庭 --json
      edossier report --html figures.html
    """
    from ingest.reports import court_report
    ctx = state.context(reading=True)
    data = court_report(ctx, start, end, tribunal)
    if html_file is not None:
        from dossier.figures_html import render
        title = f"{ctx.settings.dossier.court or 'Court'} — electronic dossiers"
        html_file.write_text(render(data, title), encoding="utf-8")
    if as_json:                  # thousands of cases: written as it is, not pretty-printed by the console
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    _print_figures(data, html_file)


def _print_figures(data: dict, html_file: Path | None) -> None:
    from dossier.figures import FIGURES
    from dossier.figures_html import percent
    period = data["period"]
    out.print(f"[bold]{data['court']['cases']} cases[/] opened or closed from {period['from'] or 'the start'} to "
              f"{period['to']}" + (f", tribunal {data['tribunal']}" if data["tribunal"] else ""))
    for name in FIGURES:
        ratio, told = data["court"]["figures"][name], data["definitions"][name]
        out.print(f"  [bold]{percent(ratio['value']):>9}[/] {told['name']} ({ratio['numerator']} ÷ "
                  f"{ratio['denominator']})\n            = {told['definition']}", soft_wrap=True)
    table = Table(title="per tribunal")
    table.add_column("tribunal")
    table.add_column("cases")
    for name in FIGURES:
        table.add_column(name.replace("_", " "), overflow="fold")
    for block in data["tribunals"]:
        table.add_row(block["tribunal"] or "(none)", str(block["cases"]),
                      *(percent(block["figures"][n]["value"]) for n in FIGURES))
    out.print(table)
    if html_file is not None:
        out.print(f"HTML report → {html_file}")


# verify ------------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP + "\n\n\b\n10 the record or the stored bytes of the case were changed, or "
             "files of the archive package are missing, altered or not listed")
@click.argument("case_no", metavar="CASE_NO|DIR")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def verify(state: State, case_no: str, as_json: bool) -> None:
    """Check a case's tamper-evident record: recompute its hash-chained audit log entry by entry, and the SHA-256 of
    every stored file, page and dossier volume it names. The first mismatch is named; exit 10 when one is found.

    Given a folder holding manifest.json (an archive package from `edossier archive`), recompute the SHA-256 of
    every file the manifest lists and name the files missing, altered or present but not listed; exit 10 when
    there is one. No catalogue is needed for that: a package is checked wherever it was copied to; where the
    catalogue that made it is at hand, its manifest must also be the one recorded when the package was made.

    \b
    Example:
      edossier verify "（2024）浙0803民初1234号"
      edossier verify /archive/2024/1234
    """
    if Path(case_no).is_dir():
        _verify_package(state, Path(case_no), as_json)
        return
    from dossier.audit import verify_case
    ctx = state.context(reading=True)
    case_no = _normal_case_no(case_no)
    if ctx.catalogue.case(case_no) is None:
        raise NotFound(f"no case {case_no} in the catalogue")
    verdict = verify_case(ctx.catalogue, ctx.blobs, case_no)
    if as_json:
        out.print_json(data=verdict.as_json())
    elif verdict.ok:
        out.print(f"{case_no}: intact — {verdict.entries} audit entries chained, {verdict.blobs} stored files match "
                  "their hashes")
    else:
        out.print(f"{case_no}: NOT intact — {verdict.problem}")
    if not verdict.ok:
        sys.exit(ExitCode.not_intact)


def _against_record(state: State, folder: Path, verdict):
    """Where the catalogue that made the package is at hand, its manifest must be one recorded when a package of
    the case was made: a manifest rewritten to match a changed file is caught there."""
    from dataclasses import replace

    from dossier.package import MANIFEST
    try:
        ctx = state.context(reading=True)
        case_no = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("case_no")
    except (NotFound, OSError, ValueError, AttributeError):
        return verdict
    recorded = [row["manifest_sha256"] for row in ctx.catalogue.archives_of_case(case_no)] if case_no else []
    if not recorded or verdict.manifest_sha256 in recorded:
        return verdict
    finding = (f"{MANIFEST} is not the one recorded when the package of {case_no} was made (sha256 "
               f"{verdict.manifest_sha256}, recorded {', '.join(recorded)})")
    return replace(verdict, findings=(finding, *verdict.findings))


def _verify_package(state: State, folder: Path, as_json: bool) -> None:
    from dossier.package import MANIFEST, verify_package
    if not (folder / MANIFEST).is_file():
        raise NotFound(f"no {MANIFEST} in {folder}: not an archive package (edossier archive CASE_NO --out DIR "
                       "makes one)")
    verdict = _against_record(state, folder, verify_package(folder))
    if as_json:
        data = verdict.as_json()
        out.print_json(data=data | {"package": mask_text(data["package"]), "problem": mask_text(data["problem"] or "")
                                    or None, "findings": [mask_text(f) for f in data["findings"]]})
    elif verdict.ok:
        out.print(mask_text(f"{folder}: intact — the {verdict.checked} files {MANIFEST} lists match their SHA-256, "
                            f"and it lists every file (manifest sha256 {verdict.manifest_sha256})"), markup=False)
    else:
        out.print(mask_text(f"{folder}: NOT intact — {verdict.problem}"), markup=False)
        for finding in verdict.findings[1:]:
            out.print(mask_text(f"  also: {finding}"), markup=False)
    if not verdict.ok:
        sys.exit(ExitCode.not_intact)


# archive -----------------------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("case_no")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="A new or empty folder for the package.")
@click.option("--force", is_flag=True, help="Archive a case that is not closed yet: an operator's decision, "
              "with --reason.")
@click.option("--reason", help="Why a case not closed is archived now (at most 200 characters); printed on "
              "the remarks sheet and kept in the record.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def archive(state: State, case_no: str, out_dir: Path, force: bool, reason: str | None, as_json: bool) -> None:
    """Archive a closed case (一键归档): into DIR, each volume (ZJ.pdf, FJ.pdf when there is internal material) as
    PDF/A-2b with its cover, contents with page ranges and remarks sheet (备考表: every volume's pages, who
    archived it, when), and manifest.json listing every file's SHA-256. The package is recorded with the case
    and in its audit log; `edossier verify DIR` checks it later. A case is closed once it reached the closing
    stage (config/stages.yaml); before that it is archived only with --force and a --reason.

    \b
    Example:
      edossier archive "（2024）浙0803民初1234号" --out /archive/2024/1234
      edossier archive "（2024）浙0803民初1234号" --out /archive/2024/1234 --force --reason "移送上级法院，先行归档"
    """
    from dossier import ghostscript
    from ingest.archive import archive_case
    from ingest.cases import rules
    from ingest.checks import check_runtime
    gs = ghostscript.find()
    ctx = state.context(reading=True)
    case_no = _normal_case_no(case_no)
    if ctx.catalogue.case(case_no) is None:
        raise NotFound(f"no case {case_no} in the catalogue (see `edossier status`)")
    check_runtime(ctx.settings)
    done = archive_case(ctx, case_no, out_dir, actor=_client(), force=force, reason=reason, gs=gs)
    data = done.as_json(rules(ctx.settings.cases).calendar) | {"folder": mask_text(str(done.folder))}
    if as_json:
        out.print_json(data=data)
        return
    _print_archived(data)


def _print_archived(data: dict) -> None:
    how = (f"forced before closing: {data['reason']}" if data["forced"] else f"closed {data['closed_at'][:10]}")
    out.print(mask_text(f"{data['case_no']}: archived to {data['folder']} by {data['actor']} ({how})"), markup=False)
    for item in data["files"]:
        out.print(f"  {item['file']}  {item['size']} bytes  sha256 {item['sha256']}", markup=False)
    out.print(f"  manifest.json  sha256 {data['manifest_sha256']}", markup=False)
    if not data["digitised"]:
        out.print("  the case is not digitised (edossier status CASE_NO says what it lacks): recorded as not archived "
                  "electronically only", markup=False)


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
    ctx = state.context(reading=True)
    case_no = _normal_case_no(case_no) if case_no else None
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
    from dossier.export import copy_out
    from ingest.checks import check_runtime
    ctx = state.context(reading=True)
    case_no = _normal_case_no(case_no)
    if ctx.catalogue.case(case_no) is None:
        raise NotFound(f"no case {case_no} in the catalogue (see `edossier status`)")
    check_runtime(ctx.settings)
    result = copy_out(ctx, case_no, out_dir)
    for volume, path, pages in result.volumes:
        out.print(f"{volume}: {path} ({pages} pages)")
    out.print(f"manifest: {out_dir / 'manifest.json'}")


# quarantine --------------------------------------------------------------------------------------------------------
@cli.group(epilog=EXIT_CODES_HELP, invoke_without_command=True)
@click.pass_context
def quarantine(ctx: click.Context) -> None:
    """Files and pages that could not be digitised, with the reason; retry them once fixed.
    With no sub-command, lists what is open.

    \b
    Example:
      edossier quarantine
      edossier quarantine show 3
      edossier quarantine retry 3 --case "（2024）浙0803民初1234号"
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(quarantine_list)


@quarantine.command(name="list", epilog=EXIT_CODES_HELP)
@click.option("--all", "show_all", is_flag=True, help="Include items already retried or resolved.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def quarantine_list(state: State, show_all: bool, as_json: bool) -> None:
    """List quarantined files.  Example: edossier quarantine list --json"""
    items = state.context(reading=True).catalogue.quarantine_items(None if show_all else "open")
    if as_json:
        out.print_json(data=[_public_item(i) for i in items])
        return
    table = Table(title=f"Quarantine ({len(items)})")
    for column in ("id", "file", "page", "code", "reason", "status"):
        table.add_column(column)
    for i in items:
        table.add_row(str(i["id"]), mask_text(i["name"]), str(i["page_index"] + 1) if i["page_index"] is not None else "",
                      i["error_code"], mask_text(i["reason"]), i["status"])
    out.print(table)


def _normal_case_no(text: str) -> str:
    """A case number as the catalogue writes it (full-width brackets and digits, spaces) whatever was typed."""
    number = parse_case_number(text, strict=False)
    return number.text if number else text.strip()


def _public_item(item: dict) -> dict:
    return {k: (mask_text(v) if k in ("reason", "name", "source_path", "note") and v else v) for k, v in item.items()}


@quarantine.command(name="show", epilog=EXIT_CODES_HELP)
@click.argument("item_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def quarantine_show(state: State, item_id: int, as_json: bool) -> None:
    """Show one quarantined item.  Example: edossier quarantine show 3"""
    item = state.context(reading=True).catalogue.quarantine_item(item_id)
    if item is None:
        raise NotFound(f"no quarantine item {item_id}")
    public = _public_item(item)
    if as_json:
        out.print_json(data=public)
        return
    table = Table(title=f"Quarantine item {item_id}", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in public.items():
        if value is None or value == "":
            continue
        table.add_row(key, _when(value) if key.endswith("_at") and isinstance(value, float) else str(value))
    out.print(table)
    out.print(f"retry it with: edossier quarantine retry {item_id}")


@quarantine.command(name="retry", epilog=EXIT_CODES_HELP)
@click.argument("item_id", type=int)
@click.option("--password", help="Password of a password-protected PDF.")
@click.option("--case", "case_no", help="Re-route the file to this case (e.g. one quarantined as 'unknown case').")
@click.option("--no-wait", is_flag=True, help="Queue it again and return.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON on stdout.")
@click.pass_obj
def quarantine_retry(state: State, item_id: int, password, case_no, no_wait, as_json) -> None:
    """Run a quarantined file or page through the pipeline again.

    \b
    Example:
      edossier quarantine retry 3 --password s3cret
      edossier quarantine retry 7 --case "（2024）浙0803民初1234号"
    """
    start_early()
    from ingest.checks import check_runtime
    from ingest.retry import retry_item
    ctx = state.context()
    check_runtime(ctx.settings)
    with _local_workers(ctx, not no_wait, "quarantine retry"):
        submission = retry_item(ctx, item_id, password=password, case_no=case_no, client=_client())
        if no_wait:
            _print_accepted(submission, as_json)
            return
        _watch_and_report(ctx, submission, None, as_json, "quarantine retry")


# db ----------------------------------------------------------------------------------------------------------------
@cli.group(epilog=EXIT_CODES_HELP)
def db() -> None:
    """The catalogue's layout: kept by migrations, upgraded on purpose when a new version needs it.

    \b
    Example:
      edossier db upgrade
    """


@db.command(name="upgrade", epilog=EXIT_CODES_HELP)
@click.pass_obj
def db_upgrade(state: State) -> None:
    """Bring the catalogue (SQLite or PostgreSQL, from settings) to the layout this version needs. Stop the
    service and workers first; run it once, from any machine.

    \b
    Example:
      edossier db upgrade
      edossier --home /srv/edossier db upgrade
    """
    from storage.catalogue import upgrade_catalogue
    settings = load_settings(state.config, **state.overrides)
    settings.home.mkdir(parents=True, exist_ok=True)
    before, after = upgrade_catalogue(settings.catalogue_url)
    if before == after:
        out.print(f"catalogue already at layout {after}")
    else:
        out.print(f"catalogue upgraded from layout {before or 'none (new)'} to {after}")


# worker / serve / token --------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--queues", help=f"Comma-separated queues to work on (default all: {','.join(QUEUE_NAMES)}).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="Worker processes (default: one per core).")
@click.option("--burst", is_flag=True, help="Stop when no job is left instead of waiting for more.")
@click.pass_obj
def worker(state: State, queues: str | None, jobs: int | None, burst: bool) -> None:
    """Run jobs of the pipeline (inspect, OCR, classify, assemble) from the queue until stopped.

    \b
    Example:
      edossier worker --queues ocr --jobs 2
      edossier worker --burst
      EDOSSIER_QUEUE=redis://10.0.0.5:6379/0 EDOSSIER_CATALOGUE=postgresql+psycopg://edossier@10.0.0.6/edossier \\
        EDOSSIER_BLOBS='s3://edossier?endpoint=http://10.0.0.7:9000' edossier worker
    """
    start_early()
    from ingest.checks import check_runtime
    from ingest.queue import QUEUES
    ctx = state.context(jobs)
    check_runtime(ctx.settings)
    chosen = tuple(q.strip() for q in queues.split(",")) if queues else QUEUES
    unknown = [q for q in chosen if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}",
                                 param_hint="--queues")
    known = {i["id"] for i in ctx.catalogue.incidents("open")}
    if ctx.settings.queue.backend == "redis":
        from ingest.rqueue import work
        size = jobs or ctx.settings.queue.worker_count
        console.print(f"worker on {socket.gethostname()}: {size} processes on {', '.join(chosen)} of the queue at "
                      f"{_redacted(ctx.settings.queue.url)}" + (" (until it is empty)" if burst else " (Ctrl-C stops)"))
        work(ctx, chosen, size, burst)
    else:
        _run_in_process(ctx, chosen, jobs, burst)
    fresh = [i for i in ctx.catalogue.incidents("open") if i["id"] not in known]
    for incident in fresh:
        console.print(f"[red]internal error[/] in {incident['job']} {incident['args']}: "
                      f"{mask_text(incident['error'])} — left pending (traceback in the log)")
    if fresh:
        sys.exit(ExitCode.internal_error)


def _run_in_process(ctx, chosen: tuple[str, ...], jobs: int | None, burst: bool) -> None:
    from ingest.runner import Runner
    runner = Runner(ctx, chosen, jobs)
    console.print(f"worker {runner.id}: {runner.size} processes on {', '.join(chosen)}"
                  + (" (until the queue is empty)" if burst else " (Ctrl-C stops)"))
    try:
        if burst:
            runner.run_burst()
        else:
            runner.loop()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()


def _redacted(url: str) -> str:
    """A server's URL without the password it may carry."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return parts.geturl()


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--host", help="Address to listen on (default from settings: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default from settings: 8440).")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), help="In-process worker processes (default: one per core).")
@click.option("--no-workers", is_flag=True, help="Only accept and serve; run `edossier worker` elsewhere.")
@click.pass_obj
def serve(state: State, host, port, jobs, no_workers) -> None:
    """Run the HTTP service: upload API for scanners, kiosks and other clients, case and page reads,
    quarantine, /healthz, /metrics and the API's documentation at /docs; the filing kiosk at /kiosk and
    the operator console at /console. On the embedded default it
    also runs the workers, so this one command is a working service.

    \b
    Example:
      edossier token create scanner-1 --role device
      edossier serve --host 0.0.0.0 --port 8440
    """
    if not no_workers:
        start_early()
    from ingest.checks import check_runtime
    from ingest.service import run_service
    from kiosk.web import mount
    ctx = state.context(jobs)
    check_runtime(ctx.settings)
    run_service(ctx, host or ctx.settings.service.host, port or ctx.settings.service.port,
                workers=not no_workers, pages=mount)


@cli.group(epilog=EXIT_CODES_HELP)
def token() -> None:
    """Credentials of the service's clients: one per scanner, kiosk, operator or administrator.

    \b
    Example:
      edossier token create scanner-3f --role device
    """


@token.command(name="create", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="device: uploads into its own stacks · operator: reads everything, retries · admin: tokens too.")
@click.pass_obj
def token_create(state: State, name: str, role: str) -> None:
    """Create a token and print it once (only its hash is kept).

    \b
    Example:
      edossier token create scanner-3f --role device
    """
    from ingest.auth import create_token
    secret = create_token(state.context().catalogue, name, role)
    console.print(f"token for {name} ({role}); it is shown only now:")
    out.print(secret)


@token.command(name="list", epilog=EXIT_CODES_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def token_list(state: State, as_json: bool) -> None:
    """List tokens (names, roles, state; never the secrets).  Example: edossier token list --json"""
    _credentials("Tokens", state.context().catalogue.token_list(), "revoked", as_json)


@token.command(name="revoke", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.pass_obj
def token_revoke(state: State, name: str) -> None:
    """Revoke a token at once.  Example: edossier token revoke scanner-3f"""
    if not state.context().catalogue.revoke_token(name):
        raise NotFound(f"no active token named {name}")
    out.print(f"token {name} revoked")


@cli.group(epilog=EXIT_CODES_HELP)
def user() -> None:
    """People who sign in to the console at /console: operators, filing judges, administrators.

    \b
    Example:
      edossier user add zhang.wei --role judge --password-stdin < password.txt
    """


@user.command(name="add", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--role", type=click.Choice(USER_ROLES), required=True,
              help="operator: stacks, review, cases · judge: the filing inbox · admin: all of it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else it is asked).")
@click.pass_obj
def user_add(state: State, name: str, role: str, password_stdin: bool) -> None:
    """Add a user, or give an existing one a new password and role (their sessions end).

    \b
    Example:
      edossier user add li.na --role operator
    """
    from ingest.auth import create_user
    password = sys.stdin.readline().rstrip("\n") if password_stdin else \
        click.prompt("password", hide_input=True, confirmation_prompt=True)
    catalogue = state.context().catalogue
    new = create_user(catalogue, name, role, password)
    catalogue.end_sessions_of("console", name)
    out.print(f"user {name} ({role}) {'added' if new else 'updated'}")


@user.command(name="list", epilog=EXIT_CODES_HELP)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def user_list(state: State, as_json: bool) -> None:
    """List users (names, roles, state; never passwords).  Example: edossier user list --json"""
    _credentials("Users", state.context().catalogue.user_list(), "disabled", as_json)


@user.command(name="disable", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.pass_obj
def user_disable(state: State, name: str) -> None:
    """Disable a user; their sessions end at once.  Example: edossier user disable li.na"""
    if not state.context().catalogue.disable_user(name):
        raise NotFound(f"no active user named {name}")
    out.print(f"user {name} disabled")


def _credentials(title: str, rows: list[dict], ended: str, as_json: bool) -> None:
    """Tokens or users: name, role, when made and when `ended` (revoked, disabled); never a secret."""
    if as_json:
        out.print_json(data=rows)
        return
    table = Table(title=f"{title} ({len(rows)})")
    for column in ("name", "role", "created", ended):
        table.add_column(column)
    for r in rows:
        table.add_row(r["name"], r["role"], _when(r["created_at"]), _when(r[f"{ended}_at"]))
    out.print(table)


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at else ""


# coversheet / samples ----------------------------------------------------------------------------------------------
@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--case", "case_no", required=True, help="Case number, e.g. （2024）浙0803民初1234号.")
@click.option("--type", "type_code", required=True,
              help="Document type: its code or Chinese name from config/taxonomy.yaml, e.g. COMPLAINT or 民事起诉状.")
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
    type_code = _type_code(taxonomy, type_code)
    out_file.write_bytes(coversheet_pdf(number.text, type_code, taxonomy.get(type_code).name, volume))
    out.print(f"separator sheet for {number.text} / {type_code} / {volume}: {out_file}")


def _type_code(taxonomy, given: str) -> str:
    """A document type by its code in any case (complaint, COMPLAINT) or by its Chinese name (民事起诉状)."""
    wanted = given.strip()
    for code in taxonomy.codes:
        if wanted.upper() == code or wanted in taxonomy.get(code).name.split("/"):
            return code
    known = "; ".join(f"{code} {taxonomy.get(code).name}" for code in taxonomy.codes)
    raise click.BadParameter(f"unknown type {given!r}; known types: {known}", param_hint="--type")


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("addresses", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for scripts.")
@click.pass_obj
def devices(state: State, addresses: tuple[str, ...], as_json: bool) -> None:
    """The capture devices declared in the settings (and any ADDRESS given), with their state and capabilities.

    An ADDRESS is sane:NAME, escl:http://HOST:PORT/eSCL, camera:INDEX, camera:FILE or folder:PATH.

    \b
    Example:
      edossier devices
      edossier devices sane:test:0 escl:http://192.168.1.40:8080/eSCL --json
    """
    from devices.registry import describe, resolve
    declared = _declared(state)
    specs = list(declared.values()) + [resolve(a, declared) for a in addresses if a not in declared]
    infos = [describe(spec) for spec in specs]
    if as_json:
        out.print_json(data=[info.as_json() | {"name": spec.name} for spec, info in zip(specs, infos)])
        return
    if not infos:
        console.print("no devices declared: add them under devices.declared in a settings file (see "
                      "config/defaults.yaml), or name an address: edossier devices sane:test:0")
        return
    table = Table("id", "address", "state", "sources", "capabilities")
    for info in infos:
        caps = info.capabilities
        extra = ", ".join(f"{k} {v}" for k, v in caps.items() if k != "sources")
        table.add_row(info.id, info.address, info.state.value + (f" ({info.detail})" if info.detail else ""),
                      ", ".join(caps.get("sources", [])), extra)
    out.print(table)


def _declared(state: State) -> dict:
    from devices.registry import declared_devices
    settings = load_settings(state.config, **state.overrides)
    return declared_devices(settings.devices)


@cli.command(epilog=EXIT_CODES_HELP + "\n\n\b\n8 the scan ended with pages missing or extra · 9 stopped at the device "
             "(jam, cover, empty feeder, busy, offline); the pages scanned are kept.")
@click.option("--device", "device_name", required=True,
              help="A declared device ID, or sane:NAME, escl:http://HOST:PORT/eSCL, camera:INDEX, camera:FILE.")
@click.option("--source", type=click.Choice(["adf", "flatbed"]), help="Feeder or glass (default: the device's).")
@click.option("--case", "case_no", help="Case number the stack belongs to, e.g. （2024）浙0803民初1234号.")
@click.option("--receipt", help="The receipt (签收单) this paper was registered under.")
@click.option("--expect", type=click.IntRange(1, 100_000), help="Pages expected: the session ends by reconciling.")
@click.option("--duplex", is_flag=True, help="Two-sided paper. A device that turns sheets itself scans both sides; "
              "otherwise scan the fronts, turn the stack over, scan the backs: they are filed between the fronts.")
@click.option("--dpi", type=click.IntRange(75, 1200), help="Resolution (default: the device's, else 300).")
@click.option("--mode", type=click.Choice(["color", "gray", "lineart"]), help="Colour mode (default gray).")
@click.option("--volume", type=click.Choice(["ZJ", "FJ"]), help="Volume hint: 正卷 ZJ or 副卷 FJ.")
@click.option("--server", help="Send the pages to a remote `edossier serve` (token from EDOSSIER_TOKEN).")
@click.option("--no-wait", is_flag=True, help="Return when the stack is scanned, without waiting for OCR.")
@click.option("--now", "at_once", is_flag=True, help="Document cameras: capture the page in view at once, without "
              "waiting for it to lie still.")
@click.option("--json", "as_json", is_flag=True, help="Print the session's result as JSON on stdout.")
@click.pass_obj
def scan(state: State, device_name, source, case_no, receipt, expect, duplex, dpi, mode, volume, server, no_wait,
         at_once, as_json) -> None:
    """Scan one stack from a device into the pipeline: each page is filed as it is captured.

    A jam, an open cover, an empty feeder or a busy device stops the feed with a message; the pages already
    scanned are kept and the session resumes at the next sheet once it is cleared. A sheet fed again after
    resuming is recognised and not filed twice. With --expect (or a receipt) the count is reconciled at the end.

    \b
    Example:
      edossier scan --device sane:test:0 --case '（2024）浙0803民初1234号' --expect 10
      edossier scan --device desk-2 --duplex --server https://edossier.court.local:8440
    """
    from devices.base import ScanSettings
    from devices.registry import DEFAULT_SOURCE, UnknownDevice, open_device, resolve
    from ingest import scan as scanning
    from ingest.capture import StackSpec, session_key
    try:
        spec = resolve(device_name, _declared(state))
        device = open_device(spec)
    except UnknownDevice as exc:
        raise click.UsageError(str(exc)) from exc
    if case_no:
        case_no = _normal_case_no(case_no)
    chosen = source or spec.source or DEFAULT_SOURCE[spec.kind]
    info = device.info()
    settings = ScanSettings(source=chosen, dpi=dpi or spec.dpi, mode=mode or spec.mode,
                            duplex=duplex and bool(info.capabilities.get("duplex")), at_once=at_once)
    ctx = None if server else state.context()
    if receipt and ctx is not None:        # the receipt says what the paper is and how many pages it has
        receipt, case_no, expect = _registered(ctx, receipt, case_no, expect)
    plan = scanning.Plan(settings, collate=duplex and not settings.duplex and chosen == "adf", expect=expect,
                         receipt=receipt)
    stack = StackSpec(key=session_key(spec.id), case_no=case_no or spec.case_no, device=spec.id, volume=volume)
    sink = _capture_sink(state, ctx, server)
    with _local_workers(ctx, wanted=ctx is not None and not no_wait, kind="scan") if ctx else _nothing():
        result = scanning.run(device, sink, stack, plan, _DeskOperator(settings.source))
        device.close()
        _deliver(sink, server)
        if ctx is not None and not no_wait:
            _wait_for_stack(ctx, sink.stack.id)
    _print_scan(result, as_json)
    if result.stopped:
        sys.exit(ExitCode.device_stopped)
    sys.exit(ExitCode.count_mismatch if result.reconciled is False else ExitCode.ok)


def _registered(ctx, given: str, case_no: str | None, expect: int | None) -> tuple[str, str, int]:
    """A scan under a receipt: its label, the receipt's case, and its page count unless --expect says otherwise."""
    from dossier.receipts import label, receipt_id
    number = receipt_id(given)
    row = ctx.catalogue.receipt(number) if number is not None else None
    if row is None:
        raise NotFound(f"no receipt {given} (edossier status CASE_NO lists a case's receipts)")
    if case_no and case_no != row["case_no"]:
        raise click.UsageError(f"receipt {label(row['id'])} is for {row['case_no']}, not {case_no}")
    return label(row["id"]), row["case_no"], expect or row["pages"]


@contextmanager
def _nothing():
    yield


@contextmanager
def _interruptible(kind: str):
    """Ctrl-C while sending to a remote service: what is in the local spool goes with the next session."""
    try:
        yield
    except KeyboardInterrupt:
        log.info("%s interrupted by the operator; spooled pages are delivered by the next session", kind)
        console.print("[yellow]interrupted[/]: pages in the local spool are delivered by the next session.")
        sys.exit(ExitCode.interrupted)


def _capture_sink(state: State, ctx, server: str | None):
    import os
    from ingest.capture import LocalSink, RemoteSink
    if not server:
        return LocalSink(ctx, _client())
    token = os.environ.get("EDOSSIER_TOKEN")
    if not token:
        raise click.UsageError("--server needs the device's token in EDOSSIER_TOKEN (edossier token create NAME "
                               "--role device, on the server)")
    settings = load_settings(state.config, **state.overrides)
    spool = settings.devices.spool or settings.home / "spool" / "capture"
    return RemoteSink(server, token, spool)


def _deliver(sink, server: str | None) -> None:
    """A remote session waits until its spool is delivered, saying what waits while the server is away."""
    if not server:
        return
    shown = None
    while not sink.wait(2.0):
        if sink.error and sink.error != shown:
            shown = sink.error
            console.print(f"[yellow]{sink.waiting()} page(s) wait in the local spool[/]: {sink.error}; they are "
                          "delivered when the server answers (Ctrl-C leaves them for the next session)")
    if sink.error:
        raise EdossierError(f"pages stay in the local spool: {sink.error}")


def _wait_for_stack(ctx, stack_id: int) -> None:
    from ingest import batch
    with _progress_bar() as bar:
        batch.watch(ctx, [stack_id], bar)


class _DeskOperator:
    """The operator at the terminal: a live count, and questions when the device needs a hand."""

    def __init__(self, source: str):
        self.source = source

    def captured(self, pages: int, capture) -> None:
        console.print(f"\r{pages} page(s) scanned (sheet {capture.sheet} {capture.side})", end="")

    def trouble(self, error, pages: int) -> bool:
        console.print(f"\n[yellow]{error}[/] — {pages} page(s) scanned so far are kept.")
        return _ask("Resume at the next sheet once cleared? [Y/n]", default=False)

    def turn_over(self, fronts: int) -> bool:
        console.print(f"\n{fronts} front(s) scanned.")
        return _ask("Turn the stack over (last sheet on top) and load it; scan the backs? [Y/n]", default=False)

    def another(self, pages: int) -> bool:
        console.print()
        return _ask("Next sheet in place? [Y/n] (n when the stack is done)", default=False)


def _ask(question: str, default: bool) -> bool:
    """Yes unless the operator says no; with no one at the terminal (end of input), `default`."""
    console.print(question, end=" ")
    line = sys.stdin.readline()
    if not line:
        console.print()
        return default
    return line.strip().lower() not in ("n", "no", "s", "stop")


def _print_scan(result, as_json: bool) -> None:
    if as_json:
        out.print_json(data=result.as_json())
        return
    console.print()
    out.print(f"{result.verdict()} → {result.where}")
    for line in result.rescans:
        out.print(f"  not filed twice: {line}")
    if result.blank_backs:
        out.print(f"  {result.blank_backs} blank backside(s): kept in the record, left out of the dossier")
    if result.stopped:
        out.print(f"  stopped: {result.stopped}")


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("folder")
@click.option("--poll", is_flag=True, help="Poll the folder instead of listening to the system's events: needed on "
              "network mounts (CIFS/NFS), where inotify sees nothing.")
@click.option("--case", "case_no", help="File everything into this case (else a sub-folder named after a case "
              "number files its papers into that case).")
@click.option("--server", help="Send the files to a remote `edossier serve` (token from EDOSSIER_TOKEN).")
@click.option("--once", is_flag=True, help="Take what the folder holds now, then stop (for scripts and schedulers).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per file on stdout, for scripts.")
@click.pass_obj
def watch(state: State, folder: str, poll: bool, case_no: str | None, server: str | None, once: bool,
          as_json: bool) -> None:
    """Watch a hot folder: each complete file dropped into FOLDER (or a declared folder device) is filed, then
    moved to FOLDER/done/; a file that is not a complete scan moves to FOLDER/failed/ with NAME.reason.txt beside
    it. A file is taken once it arrived by a rename, or stayed unchanged for devices.settle_s seconds, and is valid.
    Stopped and started again, it never files a file twice. Ctrl-C stops it.

    \b
    Example:
      edossier watch /srv/scans/inbox
      edossier watch /mnt/mfp-share --poll --server https://edossier.court.local:8440
    """
    import threading
    from devices.hotfolder import HotFolder
    from devices.registry import resolve
    from ingest.watch import watch as watching
    settings = load_settings(state.config, **state.overrides)
    declared = _declared(state)
    spec = declared.get(folder)
    if spec is not None and spec.kind != "folder":
        raise click.UsageError(f"{folder} is a {spec.kind} device: scan it with edossier scan --device {folder}")
    root = Path(spec.target if spec else folder).expanduser()
    if not root.is_dir():
        raise NotFound(f"no folder {root} to watch")
    device = spec.id if spec else f"folder:{root.resolve()}"
    case_no = _normal_case_no(case_no) if case_no else (spec.case_no if spec else None)
    hot = HotFolder(root, poll=poll or bool(spec and spec.poll), settle_s=settings.devices.settle_s,
                    rescan_s=settings.devices.rescan_s).start()
    ctx = None if server else state.context()
    sinks = []

    def make_sink():
        sinks.append(_capture_sink(state, ctx, server))
        return sinks[-1]
    told = _told_json if as_json else _told_line
    if not as_json:
        console.print(f"watching {hot.root} ({'polling' if hot.poll else 'events'}); Ctrl-C stops")
    stop = threading.Event()
    try:
        with _local_workers(ctx, wanted=True, kind="watch") if ctx else _interruptible("watch"):
            outcomes = watching(hot, make_sink, device=device, case_no=case_no, stop=stop, once=once, told=told)
            if ctx is not None and once:
                _wait_for_stacks(ctx, device, outcomes)
    finally:
        stop.set()
        hot.stop()
    for sink in sinks if server else ():       # what went to the spool reaches the server before the command ends
        _deliver(sink, server)
    if any(o.error for o in outcomes):
        sys.exit(ExitCode.internal_error)
    sys.exit(ExitCode.quarantined if any(not o.taken for o in outcomes) else ExitCode.ok)


def _told_line(outcome) -> None:
    if outcome.taken:
        out.print(f"taken: {outcome.file} → {outcome.where}" + (f" ({outcome.case_no})" if outcome.case_no else ""))
    else:
        out.print(f"{'not taken' if outcome.error else 'failed'}: {outcome.file}: {mask_text(outcome.reason)}")


def _told_json(outcome) -> None:
    import json
    data = outcome.as_json()
    data["reason"] = mask_text(data["reason"])
    out.print(json.dumps(data, ensure_ascii=False), soft_wrap=True)


def _wait_for_stacks(ctx, device: str, outcomes) -> None:
    """--once in this data folder: the files taken, and any the folder's earlier runs left unread, are read before
    the command ends."""
    from ingest import batch
    stacks = {ctx.catalogue.stack_by_key(f"capture:{o.key}").id for o in outcomes if o.taken}
    stacks = sorted(stacks | set(ctx.catalogue.unsettled_stacks(device)))
    if stacks:
        with _progress_bar() as bar:
            batch.watch(ctx, stacks, bar)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--seed", default=7, show_default=True, help="Same seed, same pages.")
@click.option("--cases", default=3, show_default=True, type=click.IntRange(2, 50),
              help="How many cases (at least 2: one civil, one enforcement).")
@click.option("--demo", is_flag=True, help="Also put in, on purpose, one damaged scan (it goes to quarantine) and "
                                           "one notice filed in the wrong case's folder (flagged for review).")
def samples(folder: Path, seed: int, cases: int, demo: bool) -> None:
    """Generate a synthetic backlog of court paper (invented parties, valid-checksum fake IDs,
    scan-like degradation) to try the product on.

    \b
    Example:
      edossier samples ./demo-backlog && edossier backlog ./demo-backlog
      edossier samples ./demo-backlog --demo
    """
    from synth.backlog import add_demo_problems, make_backlog
    if folder.exists() and any(folder.iterdir()):
        raise click.UsageError(f"{folder} is not empty: give a new or empty folder for the samples")
    truth = make_backlog(folder, seed=seed, cases=cases)
    out.print(f"synthetic backlog written to {folder}")
    if demo:
        for problem in add_demo_problems(folder, truth):
            out.print(f"on purpose, {problem.kind}: {problem.path} ({problem.note})")


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
