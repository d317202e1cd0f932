"""Errors the product reports: each carries an exit code or a quarantine code and a message that says what to do."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the `edossier` command (documented in README and --help)."""
    ok = 0
    internal_error = 1
    usage = 2
    quarantined = 3          # the run finished, but some files or pages were quarantined
    needs_review = 4         # the run finished; some documents need a person (unrouted or low confidence)
    bad_settings = 5
    missing_dependency = 6
    not_found = 7            # the case, quarantine item or path named does not exist
    count_mismatch = 8       # a scan session ended with pages missing or extra against what was expected
    device_stopped = 9       # a scan session was stopped at a device condition (pages scanned are kept)
    not_intact = 10          # verify found a case's record or its stored bytes changed
    interrupted = 130


class EdossierError(Exception):
    """Base of errors that stop a command; `exit_code` says how the process ends."""
    exit_code = ExitCode.internal_error


class MissingDependency(EdossierError):
    exit_code = ExitCode.missing_dependency


class NotFound(EdossierError):
    exit_code = ExitCode.not_found


class InputRejected(EdossierError):
    """A received file or page that cannot be digitised as it is; it goes to quarantine with `code` and `reason`."""
    code = "rejected"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PasswordProtected(InputRejected):
    code = "encrypted"

    def __init__(self, wrong_password: bool = False):
        super().__init__("password-protected PDF: the password given is wrong; retry with the right --password"
                         if wrong_password else
                         "password-protected PDF: supply the password (quarantine retry ID --password …) "
                         "or an unlocked copy")


class DamagedFile(InputRejected):
    code = "damaged"


class TruncatedFile(InputRejected):
    code = "truncated"


class UnsupportedType(InputRejected):
    code = "unsupported_type"


class TooLarge(InputRejected):
    code = "too_large"


class DecompressionBomb(InputRejected):
    code = "pixel_limit"


class EmptyDocument(InputRejected):
    code = "empty"


class TimedOut(InputRejected):
    code = "timeout"


class UnknownCase(InputRejected):
    code = "unknown_case"


class OcrFailed(InputRejected):
    code = "ocr_failed"


class QueueUnavailable(EdossierError):
    """The job queue's server cannot be reached now. What was to be queued is recorded in the catalogue already:
    the reconciler queues it once the server is back, so a caller may acknowledge durable work regardless."""
