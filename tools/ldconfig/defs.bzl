"""Public API of the loader cache: /etc/ld.so.cache for a root made of tars.

    load("//tools/ldconfig:defs.bzl", "ld_so_cache")

See README.md here; images/distroless.bzl gives the python3 bases one.
"""

load("//tools/ldconfig/private:ld_so_cache.bzl", _ld_so_cache = "ld_so_cache")

ld_so_cache = _ld_so_cache
