"""The scrape side (wsgi_service.prometheus) against prometheus_client itself.

The page is written by our loop over prometheus_client's families; these
tests hold it to prometheus_client's own exposition.choose_encoder and
generate_latest, byte for byte, for every Accept header a scraper sends, and
to the page prometheus_client's Counter, Histogram, Gauge and Info made
before counting moved out of them. They also check what importing costs:
nothing of prometheus_client before the first scrape, and never ssl,
urllib.request or http.server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import prometheus_client
import pytest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
)
from prometheus_client.exposition import choose_encoder as client_choose_encoder
from prometheus_client.exposition import generate_latest
from wsgi_service import metrics as service_metrics
from wsgi_service import prometheus
from wsgi_service.buildinfo import BuildInfo
from wsgi_service.metrics import Metrics

# What scrapers send: Prometheus 3 (its default scrape_protocols), Prometheus
# 2, curl and browsers, and headers that name versions and escapings.
ACCEPT_HEADERS = [
    "",
    "*/*",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,"
    "*/*;q=0.1",
    "application/openmetrics-text",
    "application/openmetrics-text; version=1.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=dots",
    "application/openmetrics-text; version=1.0.0; escaping=values",
    "application/openmetrics-text; version=1.0.0; escaping=nonsense",
    "text/plain",
    "text/plain; version=0.0.4",
    "text/plain; version=1.0.0",
    "text/plain; version=1.0.0; escaping=allow-utf-8",
    "text/plain; version=1.0.0; escaping=underscores",
    "text/plain;version=1.0.0;escaping=dots,application/openmetrics-text",
    "garbage;;;,=,version",
]


def static_registry() -> CollectorRegistry:
    """Every kind of family prometheus_client writes, with awkward names, label
    values and help texts; nothing that changes between two scrapes."""
    registry = CollectorRegistry()
    metrics = Metrics("sample_service", BuildInfo("1.2.3", "abc"), registry, False)
    metrics.observe_request("/", 200, 0.003)
    metrics.observe_request("/items/{item_id}", 404, 12.0)
    metrics.observe_request('quote " back \\ new\nline', 500, 0.5)
    metrics.count_dropped_connection("shed")
    metrics.count_open_connections(lambda: 7)
    counter = Counter("jobs", "Jobs\\ done.\nTwo lines.", ("kind",), registry=registry)
    counter.labels("ünïcode").inc(3)
    Gauge("temperature_celsius", "A gauge.", registry=registry).set(-3.5e-7)
    histogram = Histogram(
        "size_bytes", "A histogram.", buckets=(1e3, 1e9), registry=registry
    )
    histogram.observe(12345678.0)
    Summary("latency", "A summary.", registry=registry).observe(0.25)
    Info("deploy", "An info.", registry=registry).info({"region": "eu-1"})
    Enum("phase", "An enum.", states=["a", "b"], registry=registry).state("b")
    Gauge(
        "dotted.name", "A UTF-8 metric name.", ("label.with.dots",), registry=registry
    )
    return registry


@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
def test_page_and_content_type_are_prometheus_clients(accept: str) -> None:
    registry = static_registry()
    encode, content_type = client_choose_encoder(accept)
    ours, our_type = prometheus.render(registry, accept)
    assert our_type == content_type
    assert ours == encode(registry)


def test_text_format_is_generate_latests_for_every_escaping() -> None:
    registry = static_registry()
    for escaping in ("underscores", "allow-utf-8", "dots", "values"):
        expected = generate_latest(registry, escaping=escaping)
        assert prometheus.generate_text(registry, escaping) == expected, escaping


def test_a_version_that_is_not_numbers_gets_the_text_format() -> None:
    # prometheus_client's own comparison raises TypeError here (a 500).
    body, content_type = prometheus.render(
        static_registry(),
        "text/plain; version=1.x, application/openmetrics-text;version=a.b",
    )
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert b"http_requests_total" in body


def test_the_page_is_the_one_prometheus_clients_metric_objects_wrote() -> None:
    """The families, names, labels, order and values that Counter, Histogram,
    Gauge and Info gave before counting moved into Metrics."""
    observations = [("/", 200, 0.0004), ("/x", 404, 0.3), ("/", 200, 2.0)]
    ours = Metrics("svc", BuildInfo("1.0", "r1"), CollectorRegistry(), False)
    for route, status, seconds in observations:
        ours.observe_request(route, status, seconds)
    ours.count_dropped_connection("header_timeout")
    ours.count_open_connections(lambda: 3)
    ours.in_flight.inc()

    prometheus_client.disable_created_metrics()
    try:
        registry = CollectorRegistry()
        names = service_metrics
        requests = Counter(*names.REQUESTS, ("route", "status"), registry=registry)
        duration = Histogram(
            *names.DURATION,
            ("route",),
            buckets=names.DURATION_BUCKETS,
            registry=registry,
        )
        in_flight = Gauge(*names.IN_FLIGHT, registry=registry)
        connections = Gauge(*names.CONNECTIONS_OPEN, registry=registry)
        dropped = Counter(*names.CONNECTIONS_DROPPED, ("reason",), registry=registry)
        info = Info("svc_build", names.BUILD_INFO_HELP, registry=registry)
        for route, status, seconds in observations:
            requests.labels(route, str(status)).inc()
            duration.labels(route).observe(seconds)
        dropped.labels("header_timeout").inc()
        connections.set_function(lambda: 3)
        in_flight.inc()
        info.info({"version": "1.0", "revision": "r1"})
        before = generate_latest(registry)
    finally:
        prometheus_client.enable_created_metrics()
    assert ours.render()[0] == before


def test_the_default_page_has_the_process_platform_and_gc_families() -> None:
    metrics = Metrics("svc", BuildInfo())
    page = metrics.render()[0].decode()
    for family in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_collections_total",
        "http_requests_in_flight",
        "svc_build_info",
    ):
        assert f"\n# TYPE {family} " in page, family


def test_the_same_metrics_cannot_be_registered_twice() -> None:
    registry = CollectorRegistry()
    Metrics("svc", BuildInfo(), registry, False)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Metrics("svc", BuildInfo(), registry, False)


def run_python(code: str) -> dict[str, object]:
    """Run code in a fresh interpreter with this test's sys.path; it prints JSON."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PYTHONPATH": ":".join(p for p in sys.path if p)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


HEAVY = ("ssl", "_ssl", "urllib.request", "http.server", "http.client", "wsgiref")


def test_counting_imports_nothing_and_a_scrape_no_tls_or_http_clients() -> None:
    found = run_python(f"""
        import json, sys
        from wsgi_service.buildinfo import BuildInfo
        from wsgi_service.metrics import Metrics
        metrics = Metrics("svc", BuildInfo())
        metrics.observe_request("/", 200, 0.01)
        before = sorted(m for m in sys.modules if m.startswith("prometheus_client"))
        page, _ = metrics.render("application/openmetrics-text; version=1.0.0")
        page_text, _ = metrics.render()
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print(json.dumps({{"before": before, "heavy": heavy,
                           "exposition": "prometheus_client.exposition" in sys.modules,
                           "page": page_text.decode()}}))
        """)
    assert found["before"] == []
    assert found["heavy"] == []
    assert found["exposition"] is False
    assert 'http_requests_total{route="/",status="200"} 1.0' in str(found["page"])


def test_an_app_that_imports_prometheus_client_gets_all_of_it() -> None:
    """After a scrape loaded the parts, the package's own names still work,
    and they are the same objects the page is written from."""
    found = run_python("""
        import json, sys
        from wsgi_service.buildinfo import BuildInfo
        from wsgi_service.metrics import Metrics
        metrics = Metrics("svc", BuildInfo())
        metrics.render()
        import prometheus_client
        from prometheus_client import Counter, generate_latest
        from prometheus_client.registry import CollectorRegistry
        registry = CollectorRegistry()
        Counter("mine", "Mine.", registry=registry).inc()
        print(json.dumps({
            "same": prometheus_client.CollectorRegistry is CollectorRegistry
                    and type(metrics.registry) is CollectorRegistry,
            "page": generate_latest(registry).decode(),
            "exposition": "prometheus_client.exposition" in sys.modules,
        }))
        """)
    assert found["same"] is True
    assert "mine_total 1.0" in str(found["page"])
    assert found["exposition"] is True


def test_an_app_that_imported_prometheus_client_first_is_left_alone() -> None:
    found = run_python("""
        import json
        import prometheus_client
        from wsgi_service.buildinfo import BuildInfo
        from wsgi_service.metrics import Metrics
        page, content_type = Metrics("svc", BuildInfo()).render()
        print(json.dumps({"ok": b"svc_build_info" in page, "type": content_type}))
        """)
    assert found == {"ok": True, "type": "text/plain; version=0.0.4; charset=utf-8"}
