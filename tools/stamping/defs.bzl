"""Stamping: what `--stamp` (a release) writes into outputs.

    load("//tools/stamping:defs.bzl", "STAMP_ATTRS", "maybe_stamp", "stamp_json")

- stamp_json: a JSON file of workspace-status values (a service's
  build_info.json) that exists only in stamped builds.
- STAMP_ATTRS and maybe_stamp: for rules that stamp their own outputs (oci_image's
  stamp_labels): add the attributes, and read ctx.info_file only when stamped.

The values come from workspace_status.sh (git revision, `git describe` version,
commit time), so stamped builds of one commit are reproducible too.
"""

load("//tools/stamping/private:stamp_json.bzl", _stamp_json = "stamp_json")
load("//tools/stamping/private:stamping.bzl", _STAMP_ATTRS = "STAMP_ATTRS", _maybe_stamp = "maybe_stamp")

STAMP_ATTRS = _STAMP_ATTRS
maybe_stamp = _maybe_stamp
stamp_json = _stamp_json
