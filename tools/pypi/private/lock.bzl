"""Reads requirements_lock.txt (the format of tools/pypi/private/lockfile.py) in Starlark.

Each distribution is `NAME==VERSION [; MARKER] \\`, its `--hash` lines, then
`# via A, B` (what requires it) and one `# wheel PLATFORM: URL#sha256=HASH`
per wheel. Other comments are ignored; anything else fails, naming the line.
"""

REQUIREMENTS_IN = "-r requirements.in"

def bazel_name(name):
    """`Typing-Extensions` -> `typing_extensions`: PEP 503, with `_` for Bazel."""
    return name.lower().replace("-", "_").replace(".", "_")

def parse_lock(text, path):
    """Parses a lock; fails, naming `path` and the line, on what the format does not allow.

    Args:
        text: the lock's contents.
        path: the lock's path, for messages.

    Returns:
        A list of structs (name, version, via, wheels: {platform: struct(url,
        sha256, filename)}), one per distribution. A distribution whose
        `--hash` values are not the sha256 of its wheels fails.
    """
    pins = []
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        where = "{}:{}".format(path, number)
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            if current:
                pins.append(_finish(current))
            spec = line.removesuffix("\\").strip().partition(" ; ")[0]
            name, sep, version = spec.partition("==")
            if not sep or not name or not version:
                fail("{}: expected NAME==VERSION, got {}".format(where, repr(line)))
            current = struct(name = name, version = version, via = [], wheels = {}, hashes = {}, where = where)
            continue
        body = line.strip().removesuffix("\\").strip()
        if current == None:
            fail("{}: {} before the first requirement".format(where, repr(body)))
        if body.startswith("--hash=sha256:"):
            current.hashes[body.removeprefix("--hash=sha256:")] = True
        elif body.startswith("# via "):
            current.via.extend(body.removeprefix("# via ").split(", "))
        elif body.startswith("# wheel "):
            platform, sep, rest = body.removeprefix("# wheel ").partition(": ")
            url, sep2, sha256 = rest.partition("#sha256=")
            if not sep or not sep2 or len(sha256) != 64:
                fail("{}: expected '# wheel PLATFORM: URL#sha256=HASH', got {}".format(where, repr(body)))
            current.wheels[platform] = struct(url = url, sha256 = sha256, filename = url.rpartition("/")[2])
        elif not body.startswith("#"):
            fail("{}: unexpected line {}".format(where, repr(body)))
    if current:
        pins.append(_finish(current))
    return pins

def _finish(pin):
    wheel_hashes = {w.sha256: True for w in pin.wheels.values()}
    if sorted(wheel_hashes.keys()) != sorted(pin.hashes.keys()):
        fail("{}: {}: the --hash values are not the sha256 of its `# wheel` lines; regenerate the lock".format(pin.where, pin.name))
    if not pin.wheels:
        fail("{}: {} has no `# wheel` line; regenerate the lock".format(pin.where, pin.name))
    return struct(name = pin.name, version = pin.version, via = pin.via, wheels = pin.wheels)
