"""Imports every module of the standard library; run inside the image.

    python3.13 -c "$(cat walk.py)" SKIP...

Walks the standard library's directories (the pure-Python one and
lib-dynload, where the interpreter finds them on sys.path) the way
pkgutil.walk_packages does, importing each module and, for a package, walking
its __path__ once it has imported; the modules built into the interpreter
are imported too. Names given as arguments are not imported, nor is anything
below them. Everything runs in this one process, as a service would import
it. The last line printed is one JSON object:

    {"imported": [...], "failed": {name: "ExceptionType: message"},
     "skipped": [names found but not imported, because an argument names them]}

A package that fails to import is reported once: what is below it cannot be
walked.
"""

import importlib
import json
import os
import pkgutil
import sys
import sysconfig

skip = frozenset(sys.argv[1:])
imported, failed, skipped = [], {}, []


def is_skipped(name):
    parts = name.split(".")
    return any(".".join(parts[:n]) in skip for n in range(1, len(parts) + 1))


def try_import(name):
    try:
        module = importlib.import_module(name)
    except BaseException as error:  # SystemExit counts too: nothing may exit
        failed[name] = f"{type(error).__name__}: {error}"
        return None
    imported.append(name)
    return module


def walk(path, prefix):
    for info in sorted(pkgutil.iter_modules(path, prefix), key=lambda i: i.name):
        if is_skipped(info.name):
            skipped.append(info.name)
            continue
        module = try_import(info.name)
        if module is not None and info.ispkg:
            walk(getattr(module, "__path__", []), info.name + ".")


stdlib = os.path.realpath(sysconfig.get_path("stdlib"))
roots = [
    entry
    for entry in sys.path
    if entry and os.path.realpath(entry).startswith(stdlib) and os.path.isdir(entry)
]
for name in sorted(sys.builtin_module_names):
    if name not in sys.modules and not is_skipped(name):
        try_import(name)
walk(roots, "")
print(json.dumps({"imported": imported, "failed": failed, "skipped": skipped}))
