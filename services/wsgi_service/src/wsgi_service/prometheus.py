"""The scrape side of the metrics: prometheus_client, imported at the first scrape.

`import prometheus_client` runs the package's __init__, which imports
prometheus_client.exposition, and with it ssl (OpenSSL and libzstd: 3.2 MB
of a slim image), urllib.request, http.server, wsgiref and gzip: 24 of the
27 ms the package takes to import, for push gateways and HTTP servers that
a WSGI service never uses. What /metrics needs has none of that: the
registry, the metric families, the process, platform and GC collectors, and
the OpenMetrics writer. So this module imports those submodules without
running the package's __init__ (load()), and writes the text format itself
with prometheus_client's own helpers (generate_text(), choose_encoder()):
the loop of exposition.generate_latest and exposition.choose_encoder, whose
bytes and content types the tests compare with prometheus_client's for every
Accept header a Prometheus server sends.

An app that imports prometheus_client itself gets the whole package as
usual: the first name it asks of the package runs the real __init__ (which
reuses the submodules already loaded), and from then on this module is
served by that package too.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType
    from typing import Any

    from wsgi_service.metrics import Metrics

PACKAGE = "prometheus_client"
# What the scrape path uses, by submodule.
_SUBMODULES = (
    "metrics_core",
    "registry",
    "utils",
    "process_collector",
    "platform_collector",
    "gc_collector",
    "openmetrics.exposition",
)
_lock = threading.RLock()
_loaded: dict[str, ModuleType] = {}


def load() -> dict[str, ModuleType]:
    """prometheus_client's submodules the scrape path uses, by name."""
    if not _loaded:
        with _lock:
            _package()
            modules = {
                name: importlib.import_module(f"{PACKAGE}.{name}")
                for name in _SUBMODULES
            }
            _loaded.update(modules)
    return _loaded


def _package() -> ModuleType:
    """The prometheus_client package: the real one if anybody imported it,
    else a package module whose __init__ runs only when a name of the
    package itself (not a submodule) is asked for."""
    found = sys.modules.get(PACKAGE)
    if found is not None:
        return found
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        raise ImportError(f"{PACKAGE} is not installed as a package")
    package = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> Any:
        # `from . import values` inside the package asks for a submodule:
        # AttributeError lets the import system load it as a submodule.
        if name.startswith("__") or _is_submodule(name):
            raise AttributeError(name)
        with _lock:
            if package.__dict__.pop("__getattr__", None) is not None:
                spec.loader.exec_module(package)  # the real __init__
        return package.__dict__[name] if name in package.__dict__ else _missing(name)

    package.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[PACKAGE] = package
    return package


def _is_submodule(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{PACKAGE}.{name}") is not None
    except (ImportError, ValueError):
        return False


def _missing(name: str) -> Any:
    raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")


# The registry ----------------------------------------------------------------


def new_registry() -> Any:
    return load()["registry"].CollectorRegistry()


def register(metrics: Metrics, registry: Any, process_collectors: bool) -> Any:
    """Register the service's metrics (and, if asked, the collectors
    prometheus_client registers by default) in registry; returns it."""
    modules = load()
    if process_collectors:
        for collector in (
            modules["process_collector"].PROCESS_COLLECTOR,
            modules["platform_collector"].PLATFORM_COLLECTOR,
            modules["gc_collector"].GC_COLLECTOR,
        ):
            registry.register(collector)
    registry.register(ServiceCollector(metrics, modules["metrics_core"]))
    return registry


class ServiceCollector:
    """metrics' counts as the families prometheus_client's Counter, Histogram,
    Gauge and Info would report (created series disabled)."""

    def __init__(self, metrics: Metrics, core: ModuleType) -> None:
        from wsgi_service import metrics as m

        self._metrics = metrics
        self._core = core
        self._m = m
        self._bounds = [_go_float(b) for b in m.DURATION_BUCKETS] + ["+Inf"]

    def describe(self) -> list[Any]:
        # Names only, so a registry refuses the same metrics twice.
        return list(self._families(None))

    def collect(self) -> Iterator[Any]:
        return self._families(dict(self._metrics.snapshot()))

    def _families(self, values: dict[str, Any] | None) -> Iterator[Any]:
        core, m = self._core, self._m
        requests = core.CounterMetricFamily(*m.REQUESTS, labels=("route", "status"))
        duration = core.HistogramMetricFamily(*m.DURATION, labels=("route",))
        in_flight = core.GaugeMetricFamily(*m.IN_FLIGHT)
        connections = core.GaugeMetricFamily(*m.CONNECTIONS_OPEN)
        dropped = core.CounterMetricFamily(*m.CONNECTIONS_DROPPED, labels=("reason",))
        info = self._metrics.build_info
        build = core.InfoMetricFamily(
            f"{self._metrics.service}_build", m.BUILD_INFO_HELP
        )
        if values is not None:
            for (route, status), count in values["requests"].items():
                requests.add_metric((route, status), count)
            for route, (counts, total) in values["duration"].items():
                duration.add_metric((route,), list(zip(self._bounds, counts)), total)
            in_flight.add_metric((), values["in_flight"])
            connections.add_metric((), values["connections_open"])
            for reason, count in values["connections_dropped"].items():
                dropped.add_metric((reason,), count)
            build.add_metric((), {"version": info.version, "revision": info.revision})
        yield from (requests, duration, in_flight, connections, dropped, build)


def _go_float(value: float) -> str:
    return load()["utils"].floatToGoString(value)


# The page ---------------------------------------------------------------------


def render(registry: Any, accept: str) -> tuple[bytes, str]:
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


def choose_encoder(accept: str) -> tuple[Callable[[Any], bytes], str]:
    """exposition.choose_encoder: OpenMetrics for a scraper whose Accept asks
    for it (Prometheus 2.5+ does), the text format otherwise."""
    modules = load()
    om = modules["openmetrics.exposition"]
    parse_version = modules["utils"].parse_version
    for accepted in accept.split(","):
        tokens = accepted.split(";")
        kind = tokens[0].strip()
        if kind == "application/openmetrics-text":
            version, escaping = _parameters(tokens, om)
            if not version:
                return _bind(om.generate_latest, om.UNDERSCORES, "1.0.0"), (
                    om.CONTENT_TYPE_LATEST
                )
            if _at_least_1(parse_version(version)):
                return _bind(om.generate_latest, escaping, version), (
                    f"application/openmetrics-text; version={version};"
                    f" charset=utf-8; escaping={escaping}"
                )
        elif kind == "text/plain":
            version, escaping = _parameters(tokens, om)
            if version and _at_least_1(parse_version(version)):
                return _bind(generate_text, escaping), (
                    f"text/plain; version=1.0.0; charset=utf-8; escaping={escaping}"
                )
    return _bind(generate_text, om.UNDERSCORES), (
        "text/plain; version=0.0.4; charset=utf-8"
    )


def _at_least_1(version: tuple[int | str, ...]) -> bool:
    """version >= 1.0.0; a version that is not numbers (a hostile Accept
    header: prometheus_client's own comparison raises TypeError) is not."""
    try:
        return version >= (1, 0, 0)
    except TypeError:
        return False


def _bind(function: Callable[..., bytes], *args: str) -> Callable[[Any], bytes]:
    return lambda registry: function(registry, *args)


def _parameters(tokens: list[str], om: ModuleType) -> tuple[str, str]:
    """The version (or "") and the escaping scheme an Accept entry names."""
    version, escaping = "", om.UNDERSCORES
    found_version = found_escaping = False
    for token in tokens:
        if "=" not in token:
            continue
        key, value = token.strip().split("=", 1)
        if key == "version" and not found_version:
            version, found_version = value, True
        elif key == "escaping" and not found_escaping:
            known = (om.ALLOWUTF8, om.UNDERSCORES, om.DOTS, om.VALUES)
            escaping = value if value in known else om.UNDERSCORES
            found_escaping = True
    return version, escaping


def generate_text(registry: Any, escaping: str) -> bytes:
    """exposition.generate_latest: the Prometheus text format of registry."""
    om = load()["openmetrics.exposition"]
    go_float = load()["utils"].floatToGoString
    output: list[str] = []

    def sample_line(sample: Any) -> str:
        labels = ",".join(
            '{}="{}"'.format(
                om.escape_label_name(k, escaping),
                om._escape(v, om.ALLOWUTF8, False),
            )
            for k, v in sorted(sample.labels.items())
        )
        stamp = ""
        if sample.timestamp is not None:
            stamp = f" {int(float(sample.timestamp) * 1000):d}"
        name = om.escape_metric_name(sample.name, escaping)
        value = go_float(sample.value)
        if escaping != om.ALLOWUTF8 or om._is_valid_legacy_metric_name(sample.name):
            labels = f"{{{labels}}}" if labels else ""
            return f"{name}{labels} {value}{stamp}\n"
        return f"{{{name}{',' if labels else ''}{labels}}} {value}{stamp}\n"

    def header(name: str, kind: str, documentation: str) -> None:
        name = om.escape_metric_name(name, escaping)
        help_text = documentation.replace("\\", r"\\").replace("\n", r"\n")
        output.append(f"# HELP {name} {help_text}\n")
        output.append(f"# TYPE {name} {kind}\n")

    for metric in registry.collect():
        name, kind = _text_name_and_type(metric.name, metric.type)
        header(name, kind, metric.documentation)
        extra: dict[str, list[str]] = {}
        for sample in metric.samples:
            for suffix in ("_created", "_gsum", "_gcount"):
                if sample.name == metric.name + suffix:
                    # OpenMetrics' own series, as gauges after the family.
                    extra.setdefault(suffix, []).append(sample_line(sample))
                    break
            else:
                output.append(sample_line(sample))
        for suffix, lines in sorted(extra.items()):
            header(metric.name + suffix, "gauge", metric.documentation)
            output.extend(lines)
    return "".join(output).encode("utf-8")


# OpenMetrics family types, as the text format names them.
_TEXT_TYPES = {
    "counter": ("_total", "counter"),
    "info": ("_info", "gauge"),
    "stateset": ("", "gauge"),
    "gaugehistogram": ("", "histogram"),
    "unknown": ("", "untyped"),
}


def _text_name_and_type(name: str, kind: str) -> tuple[str, str]:
    suffix, text_kind = _TEXT_TYPES.get(kind, ("", kind))
    return name + suffix, text_kind
