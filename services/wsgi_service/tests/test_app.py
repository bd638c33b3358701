"""Unit tests of ServiceApp (through the test service's app), called directly
with hand-made environs: the standard routes, checks, errors, request ids,
the access log and the metrics."""

from __future__ import annotations

import io
import json
import re
import threading

import pytest
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from sample_service.app import create_app
from service_testing import Harness, call, make_environ, make_harness
from wsgi_service import buildinfo
from wsgi_service.accesslog import BATCH_SECONDS, Logger, format_time
from wsgi_service.buildinfo import BuildInfo, BuildInfoError, load_build_info
from wsgi_service.metrics import CONTENT_TYPE, Metrics

# --- health, readiness, version ---------------------------------------------------


def test_healthz(harness: Harness) -> None:
    reply = harness.request("/healthz")
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


def test_readyz_turns_503_when_shutdown_begins(harness: Harness) -> None:
    assert harness.request("/readyz").status == 200
    assert harness.state.begin_shutdown() is True
    reply = harness.request("/readyz")
    assert (reply.status, reply.json()) == (503, {"status": "shutting_down"})
    assert harness.state.begin_shutdown() is False
    # Liveness is unaffected: the process is still healthy while it drains.
    assert harness.request("/healthz").status == 200


def test_version_placeholders() -> None:
    reply = make_harness(
        create_app, build_info=load_build_info("/nonexistent/build_info.json")
    ).request("/version")
    assert reply.status == 200
    assert reply.json() == {
        "version": "0.0.0-dev",
        "revision": "unknown",
        "build_time": "1970-01-01T00:00:00Z",
    }


def test_version_from_build_info_file(tmp_path) -> None:
    path = tmp_path / "build_info.json"
    path.write_text(
        json.dumps(
            {
                "version": "1.2.3",
                "revision": "0123456789abcdef",
                "build_time": "2024-05-01T12:00:00Z",
                "builder": "ignored",
            }
        )
    )
    reply = make_harness(create_app, build_info=load_build_info(path)).request(
        "/version"
    )
    assert reply.json() == {
        "version": "1.2.3",
        "revision": "0123456789abcdef",
        "build_time": "2024-05-01T12:00:00Z",
    }


def test_build_info_missing_or_empty_keys_use_placeholders(tmp_path) -> None:
    path = tmp_path / "build_info.json"
    path.write_text('{"version": "2.0.0", "revision": "", "build_time": null}')
    assert load_build_info(path) == BuildInfo(
        version="2.0.0", revision="unknown", build_time="1970-01-01T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b'["1.0"]', "expected a JSON object"),
        (b'{"version": 1}', "'version' must be a string"),
        (b'{"revision": ["a"]}', "'revision' must be a string"),
    ],
)
def test_malformed_build_info_is_an_error(
    tmp_path, content: bytes, problem: str
) -> None:
    path = tmp_path / "build_info.json"
    path.write_bytes(content)
    with pytest.raises(BuildInfoError) as caught:
        load_build_info(path)
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)


def test_build_info_path_is_in_the_service_package() -> None:
    import os

    import sample_service

    path = buildinfo.path_in_package("sample_service")
    assert os.path.dirname(path) == os.path.dirname(sample_service.__file__)
    assert os.path.basename(path) == "build_info.json"
    with pytest.raises(BuildInfoError, match="not an importable package"):
        buildinfo.path_in_package("no_such_package_here")


# --- errors: 404, 405, 413, 414, 500 ---------------------------------------------


@pytest.mark.parametrize(
    "path", ["/nope", "/healthz/", "/HEALTHZ", "//", "", "/metrics/x"]
)
def test_unknown_path_is_404(harness: Harness, path: str) -> None:
    reply = harness.request(path)
    assert reply.status == 404
    assert reply.json() == {"error": "not_found", "detail": "no such path"}


@pytest.mark.parametrize(
    "method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"]
)
@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/version", "/metrics"])
def test_wrong_method_is_405_with_allow(
    harness: Harness, method: str, path: str
) -> None:
    reply = harness.request(path, method=method)
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"
    assert reply.json()["error"] == "method_not_allowed"


def test_a_route_answers_the_methods_it_names(harness: Harness) -> None:
    reply = harness.request("/echo", method="POST", body=b"12345")
    assert (reply.status, reply.json()) == (200, {"received": 5})
    for method in ("GET", "HEAD", "PUT"):
        reply = harness.request("/echo", method=method)
        assert (reply.status, reply.headers["allow"]) == (405, "POST"), method
        if method != "HEAD":
            assert reply.json()["detail"] == "this path allows POST"
    assert harness.request("/things/x", method="DELETE").status == 200
    reply = harness.request("/things/x", method="POST")
    assert reply.headers["allow"] == "GET, HEAD, DELETE"


@pytest.mark.parametrize(
    ("path", "status", "params"),
    [
        ("/things/abc", 200, {"name": "abc"}),
        ("/things/%7Bname%7D", 200, {"name": "%7Bname%7D"}),
        ("/things/", 404, None),
        ("/things/a/b", 404, None),
        ("/things", 404, None),
        ("/things/{name}", 200, {"name": "{name}"}),
    ],
)
def test_template_routes_match_one_segment(
    harness: Harness, path: str, status: int, params: dict | None
) -> None:
    reply = harness.request(path)
    assert reply.status == status
    if params is not None:
        assert reply.json() == params


def test_template_routes_are_counted_by_template(harness: Harness) -> None:
    for name in ("a", "b", "c"):
        harness.request(f"/things/{name}")
    assert (
        harness.sample("http_requests_total", route="/things/{name}", status="200") == 3
    )
    records = [r for r in harness.log_records() if r["msg"] == "request"]
    assert [r["path"] for r in records] == ["/things/a", "/things/b", "/things/c"]
    assert {r["route"] for r in records} == {"/things/{name}"}


def test_request_body_reads_content_length_bytes(harness: Harness) -> None:
    reply = harness.request("/echo", method="POST", body=b"abcdef", CONTENT_LENGTH="3")
    assert reply.json() == {"received": 3}
    assert harness.request("/echo", method="POST").json() == {"received": 0}


def test_unknown_path_with_wrong_method_is_404(harness: Harness) -> None:
    assert harness.request("/nope", method="POST").status == 404


def test_body_over_the_limit_is_413(harness: Harness) -> None:
    assert harness.request("/", CONTENT_LENGTH="1024").status == 200
    reply = harness.request("/", method="POST", CONTENT_LENGTH="1025")
    assert reply.status == 413
    assert reply.json()["error"] == "content_too_large"
    assert harness.request("/healthz", CONTENT_LENGTH="9" * 5000).status == 413


def test_invalid_content_length_is_400(harness: Harness) -> None:
    for value in ("abc", "-1", "1.5", " 5"):
        reply = harness.request("/", CONTENT_LENGTH=value)
        assert reply.status == 400, value
        assert "Content-Length" in reply.json()["detail"]


def test_long_request_target_is_414(harness: Harness) -> None:
    limit = harness.app.app.max_url_length
    assert limit == 2048
    ok = "/?name=a&pad=" + "x" * (limit - len("/?name=a&pad="))
    assert len(ok) == limit
    assert harness.request("/", REQUEST_URI=ok).status == 200
    reply = harness.request("/", REQUEST_URI=ok + "x")
    assert reply.status == 414
    assert reply.json()["error"] == "uri_too_long"
    # Without REQUEST_URI (not every server sets it) the path and query count.
    assert harness.request("/nope" + "x" * limit).status == 414
    assert harness.request("/", query="pad=" + "x" * limit).status == 414


def test_unexpected_exception_is_500_and_logged(harness: Harness) -> None:
    reply = harness.request("/fail", headers={"X-Request-ID": "trace-500"})
    assert reply.status == 500
    assert reply.json() == {
        "error": "internal_error",
        "detail": "the server failed to answer this request",
    }
    assert b"boom" not in reply.body  # no internals leak to the client
    errors = [r for r in harness.log_records() if r["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["msg"] == "unhandled exception"
    assert errors[0]["request_id"] == "trace-500"
    assert errors[0]["error"] == "RuntimeError: boom in fail"
    assert "Traceback" in errors[0]["traceback"]
    assert "fail" in errors[0]["traceback"]
    # The app keeps serving, and counts the failure.
    assert harness.request("/healthz").status == 200
    assert harness.sample("http_requests_total", route="/fail", status="500") == 1
    assert harness.sample("http_requests_in_flight") == 0


# --- HEAD ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/", "name=Ann", 200),
        ("/healthz", "", 200),
        ("/readyz", "", 200),
        ("/version", "", 200),
        ("/metrics", "", 200),
        ("/nope", "", 404),
        ("/bad", "", 400),
    ],
)
def test_head_is_get_without_body(
    harness: Harness, path: str, query: str, status: int
) -> None:
    head = harness.request(path, method="HEAD", query=query)
    get = harness.request(path, query=query)
    assert head.status == get.status == status
    assert head.body == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    if path != "/metrics":  # the metrics page changes with every request
        assert head.headers["content-length"] == str(len(get.body))


# --- X-Request-ID ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["abc", "0123456789abcdef0123456789abcdef", "a-b_c.d:e", "x" * 128],
)
def test_sane_request_id_is_echoed(harness: Harness, value: str) -> None:
    reply = harness.request("/", headers={"X-Request-ID": value})
    assert reply.headers["x-request-id"] == value
    assert harness.log_records()[-1]["request_id"] == value


@pytest.mark.parametrize(
    "value",
    ["", "x" * 129, "has space", "semi;colon", "new\nline", "caf\u00e9", '"quoted"'],
)
def test_bad_request_id_is_replaced(harness: Harness, value: str) -> None:
    reply = harness.request("/", headers={"X-Request-ID": value})
    generated = reply.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert harness.log_records()[-1]["request_id"] == generated


def test_request_id_is_generated_and_unique(harness: Harness) -> None:
    ids = {harness.request("/healthz").headers["x-request-id"] for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_error_responses_carry_request_id(harness: Harness) -> None:
    reply = harness.request("/nope", headers={"X-Request-ID": "req-404"})
    assert reply.headers["x-request-id"] == "req-404"


# --- access log -----------------------------------------------------------------


def test_access_log_line(harness: Harness) -> None:
    harness.request("/", query="name=Eve", headers={"X-Request-ID": "r1"})
    lines = harness.log_stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert list(record)[:3] == ["time", "level", "msg"]
    assert record["level"] == "info"
    assert record["msg"] == "request"
    assert record["method"] == "GET"
    assert record["path"] == "/"
    assert record["route"] == "/"
    assert record["status"] == 200
    assert record["bytes"] == len(b'{"message":"Hello, Eve!"}')
    assert record["request_id"] == "r1"
    assert record["remote"] == "192.0.2.7"
    assert isinstance(record["duration_ms"], float)
    assert record["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    assert "name=Eve" not in lines[0]  # query strings may carry personal data


def test_access_log_one_line_per_request_even_for_hostile_paths(
    harness: Harness,
) -> None:
    harness.request('/a\nb\r\x1b[31m"x\u2028', method="GET")
    harness.request("/", method="HEAD")
    lines = harness.log_stream.getvalue().splitlines()
    assert len(lines) == 2
    assert all(line.isascii() for line in lines)
    assert json.loads(lines[0])["path"] == '/a\nb\r\x1b[31m"x\u2028'
    assert json.loads(lines[1])["bytes"] == 0  # HEAD sends no body


def test_access_log_text_format() -> None:
    harness = make_harness(create_app, fmt="text")
    harness.request("/healthz", headers={"X-Request-ID": "t1"})
    harness.request("/a b")
    first, second = harness.log_stream.getvalue().splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO request method=GET path=/healthz "
        r"route=/healthz status=200 duration_ms=[0-9.e-]+ bytes=15 request_id=t1 "
        r"remote=192\.0\.2\.7",
        first,
    )
    assert 'path="/a b"' in second


def test_logger_levels_and_broken_stream() -> None:
    stream = io.StringIO()
    log = Logger(stream, "warning", "json", clock=lambda: 0.25)
    log.info("hidden")
    log.warning("shown", n=1)
    assert stream.getvalue() == (
        '{"time":"1970-01-01T00:00:00.250Z","level":"warning","msg":"shown","n":1}\n'
    )
    stream.close()
    log.error("nowhere to go")  # must not raise


def test_background_logger_keeps_every_line_in_order() -> None:
    stream = io.StringIO()
    log = Logger(stream, "info", "json", background=True)

    def write(thread: int) -> None:
        for n in range(200):
            log.info("line", thread=thread, n=n)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(records) == 8 * 200
    for t in range(8):
        assert [r["n"] for r in records if r["thread"] == t] == list(range(200))
    # After close, a line is written by the thread that logs it, at once.
    log.warning("after close")
    assert json.loads(stream.getvalue().splitlines()[-1])["msg"] == "after close"
    log.close()  # twice is fine


class _WritersStream(io.StringIO):
    """A stream that notes which thread made each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: list[str] = []

    def write(self, text: str) -> int:
        self.writers.append(threading.current_thread().name)
        return super().write(text)


def test_background_logger_writes_from_its_own_thread() -> None:
    # A request thread only queues its line: the write(2) is the writer's.
    stream = _WritersStream()
    log = Logger(stream, "info", "json", background=True)
    try:
        log.info("soon")
        deadline = time.monotonic() + 5
        while "soon" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert json.loads(stream.getvalue())["msg"] == "soon"
        assert stream.writers == ["log-writer"]
    finally:
        log.close()
    sync = _WritersStream()
    Logger(sync, "info", "json").info("now")
    assert sync.writers == [threading.current_thread().name]


def test_background_logger_writes_a_burst_in_few_writes() -> None:
    # The writer waits BATCH_SECONDS for more lines once one is queued, so
    # that under load one write (and one turn at the interpreter lock)
    # carries many requests' lines, not one each.
    # The lines come apart, as requests do: each sleep lets the writer run.
    stream = _WritersStream()
    log = Logger(stream, "info", "json", background=True)
    try:
        started = time.monotonic()
        for n in range(50):
            log.info("burst", n=n)
            time.sleep(0.0001)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        numbers = [json.loads(line)["n"] for line in stream.getvalue().splitlines()]
        assert numbers == list(range(50))
        # One write per BATCH_SECONDS at most while they came, and the last.
        most = int(elapsed / BATCH_SECONDS) + 2
        assert 1 <= len(stream.writers) <= most, (len(stream.writers), elapsed)
    finally:
        log.close()


def test_format_time() -> None:
    assert format_time(1714564800.0) == "2024-05-01T12:00:00.000Z"
    assert format_time(1714564800.9999) == "2024-05-01T12:00:00.999Z"


# --- metrics --------------------------------------------------------------------

SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse_exposition(text: str) -> tuple[dict[str, str], dict[str, str], list]:
    """Strict enough parser of format 0.0.4: (help, type, samples)."""
    assert text.endswith("\n")
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    samples = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert name not in helps
            helps[name] = doc
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge", "histogram")
            assert name in helps, "HELP comes before TYPE"
            types[name] = kind
        else:
            match = SAMPLE.match(line)
            assert match, f"bad sample line: {line!r}"
            raw = match["labels"] or ""
            labels = {
                k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                for k, v in LABEL.findall(raw)
            }
            assert "".join(m.group(0) for m in LABEL.finditer(raw)) == raw
            base = re.sub(r"_(bucket|sum|count)$", "", match["name"])
            family = match["name"] if match["name"] in types else base
            assert family in types, f"sample before its TYPE: {line!r}"
            samples.append((match["name"], labels, float(match["value"])))
    return helps, types, samples


def value_of(samples: list, name: str, **labels: str) -> float:
    found = [v for n, lab, v in samples if n == name and lab == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


APP_FAMILIES = {
    "http_requests_total": "counter",
    "http_request_duration_seconds": "histogram",
    "http_requests_in_flight": "gauge",
    "http_connections_open": "gauge",
    "http_connections_dropped_total": "counter",
    "sample_service_build_info": "gauge",
}
# prometheus_client's process, platform and GC collectors: what dashboards
# for Python services read.
STANDARD_FAMILIES = {
    "process_start_time_seconds": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "python_info": "gauge",
    "python_gc_collections_total": "counter",
}


def test_metrics_page_format_and_counts(harness: Harness) -> None:
    for _ in range(3):
        harness.request("/")
    harness.request("/bad")
    harness.request("/healthz", method="POST")
    harness.request("/wp-admin")
    harness.request("/.env")
    reply = harness.request("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"] == CONTENT_TYPE
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    helps, types, samples = parse_exposition(reply.body.decode("utf-8"))
    assert APP_FAMILIES.items() <= types.items()
    assert STANDARD_FAMILIES.items() <= types.items()
    assert all(helps[name] for name in types)

    assert value_of(samples, "http_requests_total", route="/", status="200") == 3
    assert value_of(samples, "http_requests_total", route="/bad", status="400") == 1
    assert value_of(samples, "http_requests_total", route="/healthz", status="405") == 1
    # Unknown paths collapse into one label value: bounded cardinality.
    assert (
        value_of(samples, "http_requests_total", route="unmatched", status="404") == 2
    )
    routes = {lab["route"] for n, lab, _ in samples if n == "http_requests_total"}
    assert routes == {"/", "/bad", "/healthz", "unmatched"}
    # No `_created` series: they would double the page.
    assert not [name for name in types if name.endswith("_created")]

    # The scrape itself is in flight while the page renders.
    assert value_of(samples, "http_requests_in_flight") == 1
    start = value_of(samples, "process_start_time_seconds")
    assert time.time() - 3600 < start <= time.time()
    assert (
        value_of(
            samples,
            "sample_service_build_info",
            version="0.0.0-dev",
            revision="unknown",
        )
        == 1
    )


def test_metrics_negotiate_openmetrics(harness: Harness) -> None:
    reply = harness.request(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.body.endswith(b"# EOF\n")


def test_histogram_buckets_are_cumulative(harness: Harness) -> None:
    for _ in range(4):
        harness.request("/healthz")
    harness.request("/version")
    _, _, samples = parse_exposition(harness.request("/metrics").body.decode())
    for route, expected in (("/healthz", 4), ("/version", 1)):
        buckets = [
            (lab["le"], v)
            for n, lab, v in samples
            if n == "http_request_duration_seconds_bucket" and lab["route"] == route
        ]
        assert buckets[-1][0] == "+Inf"
        bounds = [float(le) for le, _ in buckets]
        assert bounds == sorted(bounds)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "buckets must be cumulative"
        count = value_of(samples, "http_request_duration_seconds_count", route=route)
        assert counts[-1] == count == expected
        total = value_of(samples, "http_request_duration_seconds_sum", route=route)
        assert 0 <= total < 5


def test_in_flight_gauge_counts_concurrent_requests(harness: Harness) -> None:
    inside = threading.Event()
    release = threading.Event()

    def slow_start_response(status, headers, exc_info=None):
        # start_response runs while the request is still in the app.
        inside.set()
        assert release.wait(10)

    worker = threading.Thread(
        target=lambda: list(harness.app(make_environ("/healthz"), slow_start_response))
    )
    worker.start()
    try:
        assert inside.wait(10)
        _, _, samples = parse_exposition(harness.request("/metrics").body.decode())
        assert value_of(samples, "http_requests_in_flight") == 2
    finally:
        release.set()
        worker.join(10)
    assert harness.sample("http_requests_in_flight") == 0


def test_histogram_observation_lands_in_right_bucket() -> None:
    metrics = Metrics("sample_service", BuildInfo(), CollectorRegistry(), False)
    # A bucket counts what is at most its bound: 0.001 is in le="0.001".
    for seconds in (0.0004, 0.001, 0.003, 0.5, 7.0, 11.0):
        metrics.observe_request("/", 200, seconds)
    lines = [
        line
        for line in metrics.render()[0].decode().splitlines()
        if line.startswith("http_request_duration_seconds")
    ]
    assert lines == [
        'http_request_duration_seconds_bucket{le="0.001",route="/"} 2.0',
        'http_request_duration_seconds_bucket{le="0.0025",route="/"} 2.0',
        'http_request_duration_seconds_bucket{le="0.005",route="/"} 3.0',
        'http_request_duration_seconds_bucket{le="0.01",route="/"} 3.0',
        'http_request_duration_seconds_bucket{le="0.025",route="/"} 3.0',
        'http_request_duration_seconds_bucket{le="0.05",route="/"} 3.0',
        'http_request_duration_seconds_bucket{le="0.1",route="/"} 3.0',
        'http_request_duration_seconds_bucket{le="0.25",route="/"} 3.0',
        'http_request_duration_seconds_bucket{le="0.5",route="/"} 4.0',
        'http_request_duration_seconds_bucket{le="1.0",route="/"} 4.0',
        'http_request_duration_seconds_bucket{le="2.5",route="/"} 4.0',
        'http_request_duration_seconds_bucket{le="5.0",route="/"} 4.0',
        'http_request_duration_seconds_bucket{le="10.0",route="/"} 5.0',
        'http_request_duration_seconds_bucket{le="+Inf",route="/"} 6.0',
        'http_request_duration_seconds_count{route="/"} 6.0',
        'http_request_duration_seconds_sum{route="/"} 18.5044',
    ]


def test_label_values_are_escaped() -> None:
    metrics = Metrics("sample_service", BuildInfo(), CollectorRegistry(), False)
    metrics.observe_request('say "hi"\\\n', 200, 0.01)
    text = metrics.render()[0].decode()
    assert 'http_requests_total{route="say \\"hi\\"\\\\\\n",status="200"} 1.0\n' in text
    _, _, samples = parse_exposition(text)
    assert (
        "http_requests_total",
        {"route": 'say "hi"\\\n', "status": "200"},
        1.0,
    ) in samples


def test_metric_misuse_is_rejected() -> None:
    registry = CollectorRegistry()
    counter = Counter("c_total", "doc", ("a",), registry=registry)
    with pytest.raises(ValueError):
        counter.labels()  # missing label
    with pytest.raises(ValueError):
        counter.labels("x").inc(-1)
    with pytest.raises(ValueError):
        Counter("c_total", "again", registry=registry)
    with pytest.raises(ValueError):
        Histogram("h", "doc", buckets=(1.0, 0.5), registry=registry)
    with pytest.raises(ValueError):
        # One registry per service: its metrics cannot be registered twice.
        Metrics("sample_service", BuildInfo(), registry)
        Metrics("sample_service", BuildInfo(), registry)


def test_metrics_are_thread_safe() -> None:
    metrics = Metrics("sample_service", BuildInfo(), CollectorRegistry())

    def work() -> None:
        for _ in range(2000):
            metrics.observe_request("/x", 200, 0.01)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    _, _, samples = parse_exposition(metrics.render()[0].decode())
    assert value_of(samples, "http_requests_total", route="/x", status="200") == 16000
    assert value_of(samples, "http_request_duration_seconds_count", route="/x") == 16000


def test_app_calls_start_response_once_with_str_headers(harness: Harness) -> None:
    reply = call(harness.app, make_environ("/version"))
    assert all(isinstance(v, str) for v in reply.headers.values())
    assert reply.headers["x-content-type-options"] == "nosniff"
