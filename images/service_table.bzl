"""The schema of the table of services (services.bzl), and what is derived from it.

    service(name, library, module, port, labels, ...)   one entry, checked
    request(method, path, status, ...)                 a request that exercises it
    VARIANTS                                           the images of every service
    service_image_names(services)                      every image, checked for clashes
    image_list(name, services)                         the list the release reads (JSON)
    service_facts(entry)                               what a test or tool runs it with
    service_facts_file(name, services)                 those of every entry (JSON)

Loaded by images/ (the images, //images:push, the list) and by tests/structure
and tests/smoke (their tests), so it loads nothing itself: no package that
only needs the table depends on the Debian or PyPI repositories.
"""

load("@bazel_skylib//rules:write_file.bzl", "write_file")

# The images of every service: NAME + suffix -> the base each is built on (a
# per-architecture image in //images; {name} is the service: a slim base holds
# only what that service imports). service.bzl builds them.
VARIANTS = {
    "": "python3",
    "_debug": "python3_debug",
    "_slim": "{name}_python3_slim",
}

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_MODULE_CHARS = _NAME_CHARS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ."
_METHOD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

def _only(text, chars):
    return bool(text) and not [c for c in text.elems() if c not in chars]

def _check_strings(where, field, value):
    if type(value) != "dict" or [v for kv in value.items() for v in kv if type(v) != "string"]:
        fail("{}: {} must be a dict of strings, got {}".format(where, field, repr(value)))

def request(method, path, status, json = None, headers = {}, body = None, content_type = None):
    """One request a service answers, and the answer it must give.

    The slim build sends METHOD PATH to the service while recording what it
    imports (any answer but a 5xx will do; the body is not sent); the smoke
    tests send it to the running image and check the answer.

    Args:
        method: "GET", "POST", ...
        path: the request target, query included, e.g. "/?name=Ada".
        status: the HTTP status expected.
        json: the JSON body expected (the whole body, compared as data), or
            None to check only the status and the headers.
        headers: headers the answer must carry, with these values.
        body: the request body the smoke test sends, or None for none.
        content_type: the Content-Type the smoke test sends with the body,
            e.g. "application/json", or None for none.
    Returns:
        The request, as a dict (it is written into the smoke tests' JSON).
    """
    where = "request({}, {})".format(repr(method), repr(path))
    if type(method) != "string" or not _only(method, _METHOD_CHARS):
        fail("{}: method must be an upper-case HTTP method, e.g. \"GET\"".format(where))
    if type(path) != "string" or not path.startswith("/") or [c for c in path.elems() if c in " \t\r\n"]:
        fail("{}: path must start with / and hold no whitespace, e.g. \"/?name=Ada\"".format(where))
    if type(status) != "int" or status < 100 or status > 599:
        fail("{}: status must be an HTTP status code (100-599), got {}".format(where, repr(status)))
    _check_strings(where, "headers", headers)
    if body != None and type(body) != "string":
        fail("{}: body must be a string or None".format(where))
    if content_type != None and (type(content_type) != "string" or body == None):
        fail("{}: content_type must be a string, and needs a body to describe".format(where))
    return {
        "body": body,
        "content_type": content_type,
        "headers": headers,
        "json": json,
        "method": method,
        "path": path,
        "status": status,
    }

def service(name, library, module, port, labels, requests, routes, stamp_labels = {}, app = None, layers = [], env = {}, deploy_env = {}, volumes = [], jobs = {}):
    """One entry of the table: a service and everything that is particular to it.

    Args:
        name: the service's name, which names its images (NAME, NAME_debug,
            NAME_slim) and their repositories in a registry; lower case, digits, _.
        library: its py_library, what the images ship (taken for each image's
            platform, so compiled dependencies are the platform's own), e.g.
            "//services/hello:hello_lib". Its py_binary (`bazel run
            //services/NAME`) is the service's own business.
        module: the package `python -m` runs in the images, e.g. "hello"; it
            names the service at run time (the Server header, the
            MODULE_build_info metric), so it is what main.run is given.
        port: the port it listens on (PORT, and the image's exposed port).
        labels: org.opencontainers.image.* labels of its images.
        requests: request(...) rows that exercise the service's own endpoints
            (the library's /healthz, /readyz, /version and /metrics are
            exercised for every service): the slim build sends them, the smoke
            tests check the answers.
        routes: the paths its app serves itself (the routes given to
            ServiceApp), which the metrics must count by name.
        app: for an app not written on the library's framework (Flask,
            Django, any WSGI callable): its name as waitress-serve and
            gunicorn take it, "package.module:application" or
            "package.module:create_app()" (a factory called with no
            arguments); `module` is then its package, and the images run
            `python -m wsgi_service` with WSGI_APP set to it. Without it, the
            images run `python -m MODULE`.
        layers: oci_layer targets every image of the service adds on top of
            its code, e.g. a Django project's collected static files
            ("//services/notes:static_layer"); the probe runs with them.
        env: variables of its images' environment, e.g. where a volume holds
            its database ({"NOTES_DATABASE": "/data/notes.sqlite3"}).
        deploy_env: what a deployment must give it and the image must not
            carry (a Secret's SECRET_KEY, the site's ALLOWED_HOSTS), with
            values for tests: the build-time probe and the smoke tests give
            them. Never in the images.
        volumes: directories a deployment mounts writable (the root is
            read-only), e.g. ["/data"]: the probe gives it an empty one, the
            smoke tests a fresh directory owned by the image's user.
        jobs: commands of the images a deployment runs to their end before
            the service serves (a Kubernetes Job), name -> [module, args...]
            for `python -m`, e.g. {"migrate": ["notes", "migrate",
            "--no-input"]}: the probe and the smoke tests run each first, on
            the same volumes, and it must exit 0 (the slim image keeps what
            it imports).
        stamp_labels: labels taken from the workspace status in stamped builds
            (--stamp), e.g. {"org.opencontainers.image.version": "{STABLE_VERSION}"};
            stamped images are also `created` at the commit time. Unstamped
            builds use `labels` alone.
    Returns:
        The entry, a struct.
    """
    where = "service {}".format(repr(name))
    if type(name) != "string" or not _only(name, _NAME_CHARS) or name[0] in "0123456789_":
        fail("{}: name must be lower case letters, digits and _, starting with a letter".format(where))
    if type(library) != "string" or not (library.startswith("//") or library.startswith("@")):
        fail("{}: library must be the label of its py_library, e.g. \"//services/{}:{}_lib\"".format(where, name, name))
    if type(module) != "string" or not _only(module, _MODULE_CHARS) or [p for p in module.split(".") if not p or p[0] in "0123456789"]:
        fail("{}: module must be a Python package name, e.g. \"{}\"".format(where, name))
    if type(port) != "int" or port < 1 or port > 65535:
        fail("{}: port must be a TCP port (1-65535), got {}".format(where, repr(port)))
    _check_strings(where, "labels", labels)
    _check_strings(where, "stamp_labels", stamp_labels)
    if type(requests) != "list" or not requests or [r for r in requests if type(r) != "dict"]:
        fail("{}: requests must be a non-empty list of request(...) rows".format(where))
    if type(routes) != "list" or [r for r in routes if type(r) != "string" or not r.startswith("/")]:
        fail("{}: routes must be a list of paths, e.g. [\"/\"]".format(where))
    if type(layers) != "list" or [layer for layer in layers if type(layer) != "string" or not (layer.startswith("//") or layer.startswith(":") or layer.startswith("@"))]:
        fail("{}: layers must be a list of labels of oci_layer targets".format(where))
    _check_strings(where, "env", env)
    _check_strings(where, "deploy_env", deploy_env)
    for variable in deploy_env:
        if variable in env:
            fail("{}: {} is in both env and deploy_env; a deployment's own values are never in the image".format(where, variable))
    if type(volumes) != "list" or [v for v in volumes if type(v) != "string" or not v.startswith("/") or v == "/" or v.endswith("/") or v.startswith("/app")]:
        fail("{}: volumes must be a list of absolute directories outside /app, e.g. [\"/data\"]".format(where))
    if type(jobs) != "dict" or [j for j, argv in jobs.items() if not _only(j, _NAME_CHARS) or type(argv) != "list" or not argv or [a for a in argv if type(a) != "string" or not a or [c for c in a.elems() if c in " \t\r\n"]]]:
        fail("{}: jobs must be a dict of name -> [module, args...] without spaces, e.g. {{\"migrate\": [\"{}\", \"migrate\"]}}".format(where, module))
    for job, argv in jobs.items():
        if not _only(argv[0], _MODULE_CHARS + "_"):
            fail("{}: job {}: {} is not a module to run with python -m".format(where, repr(job), repr(argv[0])))
    if app != None:
        target, sep, attribute = app.partition(":") if type(app) == "string" else ("", "", "")
        names = attribute.removesuffix("()").split(".")
        if not sep or not _only(target, _MODULE_CHARS) or [n for n in names if not _only(n, _MODULE_CHARS + "_") or "." in n or n[0] in "0123456789"]:
            fail("{}: app must name a WSGI app, e.g. \"{}:application\" or \"{}:create_app()\"".format(where, module, module))
        if target.split(".")[0] != module:
            fail("{}: app {} is not in module {}; module must be the app's package".format(where, repr(app), repr(module)))
    return struct(
        name = name,
        library = library,
        module = module,
        port = port,
        labels = labels,
        stamp_labels = stamp_labels,
        requests = requests,
        routes = routes,
        app = app,
        layers = layers,
        env = env,
        deploy_env = deploy_env,
        volumes = volumes,
        jobs = jobs,
        # What `python -m` runs in the images, and what it is told.
        run_module = "wsgi_service" if app else module,
        run_env = {"WSGI_APP": app} if app else {},
    )

def service_facts(entry):
    """What a test or a tool needs to run an entry's images, as JSON-able data.

    Its module, app, port, routes and requests, and what a deployment gives
    it: deploy_env (a Secret's values, test values here), volumes (mounted
    writable) and jobs (run to their end first, e.g. a migration).

    Args:
        entry: one entry of the table (service()).
    Returns:
        A dict, the same for the same entry.
    """
    return {
        "app": entry.app,
        "deploy_env": entry.deploy_env,
        "jobs": entry.jobs,
        "module": entry.module,
        "port": entry.port,
        "requests": entry.requests,
        "routes": entry.routes,
        "volumes": entry.volumes,
    }

def service_facts_file(name, services, **kwargs):
    """NAME.json: {service name: service_facts(entry)} for every entry of the table.

    Args:
        name: target name; the file is NAME.json.
        services: the table (services.bzl's SERVICES).
        **kwargs: passed to write_file (visibility, ...).
    """
    write_file(
        name = name,
        out = name + ".json",
        content = [json.encode_indent(
            {entry.name: service_facts(entry) for entry in services},
            indent = "  ",
        ), ""],
        **kwargs
    )

def service_image_names(services):
    """Every image of every service, checked: two must not have the same name.

    A service named "hello_debug" would clash with hello's debug image.

    Args:
        services: the table (services.bzl's SERVICES).
    Returns:
        {image name: (service entry, variant suffix)}, in table order.
    """
    images = {}
    for entry in services:
        for variant in VARIANTS:
            image = entry.name + variant
            if image in images:
                fail("services.bzl: {} and {} both make an image named {}; rename one".format(
                    repr(images[image][0].name),
                    repr(entry.name),
                    image,
                ))
            images[image] = (entry, variant)
    return images

def _slim_report(entry, variant):
    if variant != "_slim":
        return {}
    return {"slim_report": "//{}:{}_report".format(native.package_name(), VARIANTS[variant].format(name = entry.name))}

def image_list(name, services, **kwargs):
    """NAME: `NAME.json`, every image the table makes, for tools that release them.

    The format (read by tools/release/image_list.py):

        {"images": [{"name": "hello", "service": "hello", "variant": ""}, ...,
                    {"name": "hello_slim", ..., "slim_report": "//images:hello_python3_slim_report"}]}

    `name` is the image's target in this package (and its repository name);
    `variant` is its suffix in VARIANTS ("" for the production image);
    `slim_report`, for slim images, the target of what their runtime kept and
    left out on each architecture (slim.bzl), for the release's VEX.

    Args:
        name: target name; the file is NAME.json.
        services: the table (services.bzl's SERVICES).
        **kwargs: passed to write_file (visibility, ...).
    """
    images = [
        dict(
            {"name": image, "service": entry.name, "variant": variant},
            **_slim_report(entry, variant)
        )
        for image, (entry, variant) in service_image_names(services).items()
    ]
    write_file(
        name = name,
        out = name + ".json",
        content = [json.encode_indent({"images": images}, indent = "  "), ""],
        **kwargs
    )
