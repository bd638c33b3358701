"""Public API of the release tooling.

    load("//tools/release:defs.bzl", "stamp_json")

stamp_json: a JSON file of workspace-status values (a service's build_info.json)
that exists only in stamped builds. Rules that stamp other outputs use
STAMP_ATTRS and maybe_stamp from stamping.bzl.
"""

load("//tools/release/private:stamp_json.bzl", _stamp_json = "stamp_json")

stamp_json = _stamp_json
