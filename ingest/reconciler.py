"""The catalogue is the truth, a queue only a to-do list: workers compare the two now and then and queue again what
the catalogue says is unfinished and no queue holds. At once when the queue says it lost its contents (Redis
restarted without persistence); otherwise every `queue.reconcile_every_s`, by one worker of the whole installation
at a time (a lease in the catalogue)."""
from __future__ import annotations

import logging
import time
import uuid

from ingest import pipeline

log = logging.getLogger("edossier.reconciler")

LOOK_EVERY_S = 2.0          # how often a worker asks the queue whether it forgot
ASK_LEASE_EVERY_S = 30.0    # how often it asks whether a periodic reconciliation is due


class Reconciler:
    def __init__(self, ctx):
        self.ctx = ctx
        self.next_look = self.next_lease = 0.0
        self.owed = False           # the queue forgot, and the reconciliation has not succeeded yet

    def tick(self) -> int:
        """Reconcile if it is time; answers how many jobs were queued again."""
        now = time.monotonic()
        if now < self.next_look:
            return 0
        self.next_look = now + LOOK_EVERY_S
        try:
            if self.ctx.queue.forgot():
                log.warning("the queue holds no record of earlier work (a new Redis, or one restarted without "
                            "persistence); queueing the catalogue's unfinished work again")
                self.owed = True
            if not self.owed and not self._periodic_due(now):
                return 0
            queued = pipeline.reconcile(self.ctx)
            self.owed = False
            return queued
        except Exception:  # the queue or the catalogue unreachable for now: the next look tries again
            log.warning("could not reconcile the queue with the catalogue now; trying again soon", exc_info=True)
            return 0

    def _periodic_due(self, now: float) -> bool:
        """Whether this worker does the periodic reconciliation now: the lease lasts a period, so whoever takes it
        does it once for the whole installation."""
        if now < self.next_lease:
            return False
        every = self.ctx.settings.queue.reconcile_every_s
        self.next_lease = now + min(ASK_LEASE_EVERY_S, every / 4)
        return self.ctx.catalogue.take_lease("reconcile", uuid.uuid4().hex, every)
