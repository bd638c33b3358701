"""Public API of the ABI check: would every ELF file of an image load on its platform?

    load("//tools/abi_check:defs.bzl", "abi_check")

See README.md here; images/service.bzl checks every service image with it.
"""

load("//tools/abi_check/private:abi_check.bzl", _abi_check = "abi_check")

abi_check = _abi_check
