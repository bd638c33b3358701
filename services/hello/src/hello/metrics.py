"""Prometheus metrics in the text exposition format 0.0.4, standard library only.

Counters, gauges and histograms keyed by label values; every metric has its own
lock so that request threads can update them while /metrics renders.
"""

from __future__ import annotations

import math
import threading

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request latency in seconds: fine steps where a healthy service lives, coarse
# ones to show how bad a bad tail is.
DEFAULT_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

LabelValues = tuple[str, ...]


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()):
        self.name = name
        self.help_text = help_text
        self.labelnames = labelnames
        self._lock = threading.Lock()

    def _key(self, labels: LabelValues) -> LabelValues:
        if len(labels) != len(self.labelnames):
            raise ValueError(
                f"{self.name} takes labels {self.labelnames}, got {len(labels)} values"
            )
        return tuple(str(value) for value in labels)

    def header(self) -> list[str]:
        return [
            f"# HELP {self.name} {escape_help(self.help_text)}",
            f"# TYPE {self.name} {self.kind}",
        ]

    def samples(self) -> list[str]:
        raise NotImplementedError


class _Scalar(_Metric):
    """A number per label set: the common part of counters and gauges."""

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()):
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}
        if not labelnames:
            # An unlabelled metric exists from the start, at zero.
            self._values[()] = 0

    def _add(self, amount: float, labels: LabelValues) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [
            f"{self.name}{format_labels(self.labelnames, key)} {format_value(value)}"
            for key, value in items
        ]


class Counter(_Scalar):
    kind = "counter"

    def inc(self, *labels: str, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self._add(amount, labels)


class Gauge(_Scalar):
    kind = "gauge"

    def inc(self, *labels: str, amount: float = 1) -> None:
        self._add(amount, labels)

    def dec(self, *labels: str, amount: float = 1) -> None:
        self._add(-amount, labels)

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value


class _HistogramData:
    __slots__ = ("bucket_counts", "count", "total")

    def __init__(self, size: int):
        self.bucket_counts = [0] * size  # per bucket, not cumulative
        self.count = 0
        self.total = 0.0


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: tuple[str, ...] = (),
        buckets: tuple[float, ...] = DEFAULT_BUCKETS,
    ):
        if "le" in labelnames:
            raise ValueError("'le' is reserved for histogram buckets")
        if list(buckets) != sorted(set(buckets)) or math.inf in buckets:
            raise ValueError("buckets must be increasing and finite")
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(float(bound) for bound in buckets)
        self._data: dict[LabelValues, _HistogramData] = {}

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        index = _bucket_index(self.buckets, value)
        with self._lock:
            data = self._data.get(key)
            if data is None:
                data = self._data[key] = _HistogramData(len(self.buckets) + 1)
            data.bucket_counts[index] += 1
            data.count += 1
            data.total += value

    def samples(self) -> list[str]:
        with self._lock:
            snapshot = [
                (key, list(data.bucket_counts), data.count, data.total)
                for key, data in sorted(self._data.items())
            ]
        lines = []
        bounds = [*self.buckets, math.inf]
        for key, counts, count, total in snapshot:
            cumulative = 0
            for bound, in_bucket in zip(bounds, counts):
                cumulative += in_bucket
                labels = format_labels(
                    (*self.labelnames, "le"), (*key, format_value(bound))
                )
                lines.append(f"{self.name}_bucket{labels} {cumulative}")
            plain = format_labels(self.labelnames, key)
            lines.append(f"{self.name}_sum{plain} {format_value(total)}")
            lines.append(f"{self.name}_count{plain} {count}")
        return lines


def _bucket_index(bounds: tuple[float, ...], value: float) -> int:
    """Index of the first bucket whose upper bound (inclusive) holds value."""
    for index, bound in enumerate(bounds):
        if value <= bound:
            return index
    return len(bounds)  # the +Inf bucket


class Registry:
    """The set of metrics one /metrics page shows, in registration order."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []
        self._lock = threading.Lock()

    def register(self, metric: _Metric) -> None:
        with self._lock:
            if any(known.name == metric.name for known in self._metrics):
                raise ValueError(f"metric {metric.name} is already registered")
            self._metrics.append(metric)

    def counter(
        self, name: str, help_text: str, labelnames: tuple[str, ...] = ()
    ) -> Counter:
        metric = Counter(name, help_text, labelnames)
        self.register(metric)
        return metric

    def gauge(
        self, name: str, help_text: str, labelnames: tuple[str, ...] = ()
    ) -> Gauge:
        metric = Gauge(name, help_text, labelnames)
        self.register(metric)
        return metric

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: tuple[str, ...] = (),
        buckets: tuple[float, ...] = DEFAULT_BUCKETS,
    ) -> Histogram:
        metric = Histogram(name, help_text, labelnames, buckets)
        self.register(metric)
        return metric

    def render(self) -> str:
        with self._lock:
            metrics = list(self._metrics)
        lines: list[str] = []
        for metric in metrics:
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "".join(line + "\n" for line in lines)


def format_labels(names: tuple[str, ...], values: LabelValues) -> str:
    if not names:
        return ""
    pairs = ",".join(
        f'{name}="{escape_label_value(value)}"' for name, value in zip(names, values)
    )
    return "{" + pairs + "}"


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return repr(value)


def escape_label_value(value: str) -> str:
    # The format defines exactly these three escapes inside label values.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
