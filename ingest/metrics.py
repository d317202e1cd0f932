"""Prometheus text for /metrics, read from the queue and the catalogue at scrape time (so every process serving it
tells the same figures): queue depth per queue, pages by state, open quarantine and incidents, page latency."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

LATENCY_BUCKETS = (5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


class _CatalogueCollector:
    def __init__(self, ctx):
        self.ctx = ctx

    def collect(self):
        depth = GaugeMetricFamily("edossier_queue_depth", "Jobs waiting, per queue", labels=["queue"])
        for queue, count in self.ctx.queue.depths().items():
            depth.add_metric([queue], count)
        yield depth
        yield GaugeMetricFamily("edossier_workers_alive", "Workers, on any machine, that said lately they are alive",
                                value=self.ctx.queue.workers_alive())
        counts = self.ctx.catalogue.counts()
        pages = CounterMetricFamily("edossier_pages", "Pages by state", labels=["state"])
        for state in ("done", "failed"):
            pages.add_metric([state], counts[f"pages_{state}"])
        yield pages
        yield GaugeMetricFamily("edossier_pages_pending", "Pages waiting to be digitised",
                                value=counts["pages_pending"])
        yield GaugeMetricFamily("edossier_quarantine_open", "Quarantined items an operator has not settled",
                                value=counts["quarantined"])
        yield GaugeMetricFamily("edossier_incidents_open", "Internal errors holding work back",
                                value=len(self.ctx.catalogue.incidents("open")))
        yield _latency(*self.ctx.catalogue.latency_histogram(LATENCY_BUCKETS))


def _latency(within: list[int], total: float, count: int) -> HistogramMetricFamily:
    buckets = [(str(float(bound)), n) for bound, n in zip(LATENCY_BUCKETS, within)] + [("+Inf", count)]
    return HistogramMetricFamily("edossier_page_latency_seconds", "Seconds from a page's receipt to its outcome",
                                 buckets=buckets, sum_value=total)


def metrics_text(ctx) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_CatalogueCollector(ctx))
    return generate_latest(registry).decode("utf-8")
