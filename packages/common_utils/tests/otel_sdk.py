"""OpenTelemetry's SDK for the tests that look at spans and metrics: installed once per process.

The global tracer and meter providers can be set once per process, so the first test that asks
installs them and every later one shares them; each test clears the exporter first. A tracer
provider set earlier by other tests' fixtures is kept, and this exporter added to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass(frozen=True)
class Telemetry:
    """The in-memory span exporter and metric reader of this process."""

    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self, *, name_prefix: str = "") -> list[ReadableSpan]:
        """The finished spans whose name starts with ``name_prefix``, in the order they ended."""
        return [s for s in self.spans.get_finished_spans() if s.name.startswith(name_prefix)]

    def counter(self, name: str) -> dict[frozenset[tuple[str, object]], float]:
        """The points of counter ``name`` (cumulative), by their attributes."""
        data = self.metrics.get_metrics_data()
        points: dict[frozenset[tuple[str, object]], float] = {}
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            key = frozenset((point.attributes or {}).items())
                            points[key] = point.value  # type: ignore[union-attr]
        return points


_installed: list[Telemetry] = []


def install() -> Telemetry:
    """Install the SDK's providers (once) and return the in-memory exporter and reader."""
    if _installed:
        return _installed[0]
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    telemetry = Telemetry(spans=exporter, metrics=reader)
    _installed.append(telemetry)
    return telemetry
