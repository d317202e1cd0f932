"""Worker processes are forked from a fork server that has imported the pipeline once: never from a process with
threads and open database connections (a fork can copy a held lock into the child), and without every worker
importing OCR, PDF and database libraries anew. Commands that run workers start it first thing."""
from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver

PRELOAD = ["ingest.runner"]


def context():
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(PRELOAD)
    return mp


def start_early() -> None:
    """Start the fork server now, so it imports the pipeline while this process does the same."""
    context()
    forkserver.ensure_running()
