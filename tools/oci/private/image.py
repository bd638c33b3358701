#!/usr/bin/env python3
"""Write one single-platform OCI image layout: blobs, manifest, config and index.json.

    image.py --output DIR --platform linux/amd64|linux/arm64[/v8]
             [--base DIR [--base-ref REF]]
             [--layer LAYER.tar.gz=LAYER.json]...
             [--entrypoint JSON_LIST] [--cmd JSON_LIST] [--env KEY=VALUE]...
             [--user USER] [--workdir DIR] [--exposed-port PORT[/tcp|/udp]]...
             [--label KEY=VALUE]... [--annotation KEY=VALUE]...
             [--created RFC3339] [--history-created-by TEXT]...
             [--stamp-status stable-status.txt [--stamp-label KEY=TEMPLATE]...
              [--stamp-created TEMPLATE]]
             [--ref-name latest] [--digest-out FILE]

--base names an existing layout. Its manifest is the one manifest it holds (nested
indexes are followed), or the one for --platform, optionally narrowed to the
index.json entry named --base-ref. Its layers come first, copied byte for byte, and
its config is the starting point: env, entrypoint, cmd, user, workdir, ports and
labels are inherited and overridden by the flags. As in a Dockerfile, setting
--entrypoint without --cmd clears an inherited Cmd; an empty JSON list clears either.
The manifest gets the annotation org.opencontainers.image.base.digest.

--layer takes a blob and the descriptor layer.py wrote for it; layers are appended in
order. --history-created-by is given once (for every new layer) or once per layer.
--created defaults to SOURCE_DATE_EPOCH if set, else 1970-01-01T00:00:00Z.

--stamp-status is Bazel's stable-status.txt, given only to stamped builds;
--stamp-label and --stamp-created templates name its keys in braces, e.g.
"{STABLE_VERSION}", and override --label and --created.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib
import ocireader

_STATUS_KEY_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")

DEFAULT_CREATED = "1970-01-01T00:00:00Z"
DEFAULT_CREATED_BY = "bazel build"
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_USER_RE = re.compile(rf"^{_NAME}(?::{_NAME})?$")
_PORT_RE = re.compile(r"^([0-9]{1,5})(?:/(tcp|udp))?$")
_RFC3339_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)


@dataclass(frozen=True)
class Layer:
    descriptor: dict[str, Any]  # mediaType, digest, size
    diff_id: str
    source: Path  # The blob file to copy in.


@dataclass(frozen=True)
class Base:
    manifest_digest: str
    layers: list[dict[str, Any]]
    config: dict[str, Any]


# --- validation of flags ---------------------------------------------------------------


def check_user(user: str) -> str:
    if not _USER_RE.match(user):
        raise ocilib.OciError(
            f"invalid --user {user!r}: expected name, uid, uid:gid or name:group "
            "(letters, digits, '_', '.', '-'; at most one ':')"
        )
    return user


def normalize_port(port: str) -> str:
    """ "8080" and "8080/tcp" are the same port; the config always says "8080/tcp"."""
    match = _PORT_RE.match(port)
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise ocilib.OciError(
            f"invalid --exposed-port {port!r}: expected N, N/tcp or N/udp with N in 1..65535"
        )
    return f"{int(match.group(1))}/{match.group(2) or 'tcp'}"


def check_workdir(workdir: str) -> str:
    if not workdir.startswith("/") or "\0" in workdir:
        raise ocilib.OciError(
            f"invalid --workdir {workdir!r}: must be an absolute path"
        )
    return workdir


def parse_string_list(text: str, flag: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ocilib.OciError(f"{flag} expects a JSON list of strings: {e}") from e
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ocilib.OciError(f"{flag} expects a JSON list of strings, got {text!r}")
    return value


def parse_env(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        key, value = ocilib.split_key_value(pair, "--env")
        if "\0" in pair:
            raise ocilib.OciError(f"--env {key}: NUL characters are not allowed")
        out.append((key, value))
    return out


def resolve_created(created: str | None) -> str:
    """The one timestamp of the image: explicit, else SOURCE_DATE_EPOCH, else the epoch."""
    if created is not None:
        if not _RFC3339_RE.match(created):
            raise ocilib.OciError(
                f"invalid --created {created!r}: expected RFC 3339 like 2024-01-02T03:04:05Z"
            )
        try:
            datetime.datetime.fromisoformat(created)
        except ValueError as e:
            raise ocilib.OciError(f"invalid --created {created!r}: {e}") from e
        return created
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return DEFAULT_CREATED
    if not epoch.isdigit():
        raise ocilib.OciError(f"SOURCE_DATE_EPOCH must be an integer, got {epoch!r}")
    moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def history_texts(texts: list[str], layer_count: int) -> list[str]:
    if not texts:
        return [DEFAULT_CREATED_BY] * layer_count
    if len(texts) == 1:
        return texts * layer_count
    if len(texts) != layer_count:
        raise ocilib.OciError(
            f"--history-created-by given {len(texts)} times for {layer_count} layers: "
            "give it once, or once per --layer"
        )
    return texts


def apply_stamp(args: argparse.Namespace) -> None:
    """Expand --stamp-label/--stamp-created from the status file into --label/--created."""
    if not args.stamp_status:
        if args.stamp_label or args.stamp_created:
            raise ocilib.OciError(
                "--stamp-label and --stamp-created need --stamp-status"
            )
        return
    status = {}
    for line in Path(args.stamp_status).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(" ")
        status[key] = value

    def expand(template: str, what: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(1) not in status:
                raise ocilib.OciError(
                    f"{what}: {{{match.group(1)}}} is not a workspace status key; "
                    "is --workspace_status_command=tools/stamping/workspace_status.sh "
                    "set (.bazelrc sets it)?"
                )
            return status[match.group(1)]

        return _STATUS_KEY_RE.sub(one, template)

    for item in args.stamp_label:
        key, template = ocilib.split_key_value(item, "--stamp-label")
        args.label.append(f"{key}={expand(template, f'--stamp-label {key}')}")
    if args.stamp_created:
        args.created = expand(args.stamp_created, "--stamp-created")


# --- inputs ----------------------------------------------------------------------------


def read_layer_arg(arg: str) -> Layer:
    blob, sep, desc_path = arg.rpartition("=")
    if not sep or not blob or not desc_path:
        raise ocilib.OciError(f"--layer expects BLOB=DESCRIPTOR_JSON, got {arg!r}")
    what = f"layer descriptor {desc_path!r}"
    desc = ocilib.parse_descriptor(
        ocilib.load_json_file(desc_path, "layer descriptor"), what
    )
    if desc["mediaType"] not in ocilib.LAYER_MEDIA_TYPES:
        raise ocilib.OciError(
            f"{what}: unsupported layer media type {desc['mediaType']!r}"
        )
    diff_id = ocilib.check_digest(desc.get("diff_id"), f"{what} diff_id")
    clean = ocilib.descriptor(desc["mediaType"], desc["digest"], desc["size"])
    return Layer(clean, diff_id, Path(blob))


def _platform_of(obj: dict[str, Any]) -> ocilib.Platform | None:
    """The platform of a config or descriptor; None if unknown, so it never matches."""
    try:
        return ocilib.Platform.from_json(obj, "base")
    except ocilib.OciError:
        return None  # E.g. attestation manifests ("unknown/unknown").


def _shown(obj: dict[str, Any]) -> str:
    keys = ("os", "architecture", "variant")
    return "/".join(str(obj[k]) for k in keys if obj.get(k))


def load_base(layout: Path, platform: ocilib.Platform, ref: str | None) -> Base:
    what = f"base {str(layout)!r}"
    reader = ocireader.Layout(layout, strict=True)
    descriptors = reader.entries()
    if ref is not None:
        descriptors = [
            d
            for d in descriptors
            if d.get("annotations", {}).get(ocilib.ANNOTATION_REF_NAME) == ref
        ]
        if not descriptors:
            raise ocilib.OciError(f"{what}: no index.json entry has ref name {ref!r}")
    candidates = {d["digest"]: d for d in reader.manifests(descriptors)}
    seen: list[str] = []
    matching: list[Base] = []
    for digest, desc in sorted(candidates.items()):
        declared = desc.get("platform")
        if isinstance(declared, dict) and _platform_of(declared) != platform:
            seen.append(_shown(declared))  # Skipped unread: its blobs may be absent.
            continue
        manifest = reader.json(desc, what)
        config_desc = ocilib.parse_descriptor(manifest.get("config"), f"{what} config")
        config = reader.json(config_desc, what)
        seen.append(_shown(config))
        if _platform_of(config) == platform:
            matching.append(Base(digest, _base_layers(manifest, config, what), config))
    if len(matching) != 1:
        raise ocilib.OciError(
            f"{what}: expected exactly one manifest for {platform}, found {len(matching)} "
            f"(the base has: {', '.join(sorted(seen)) or 'none'}; "
            "narrow it with --base-ref)"
        )
    return matching[0]


def _base_layers(
    manifest: dict[str, Any], config: dict[str, Any], what: str
) -> list[Any]:
    layers = []
    for i, item in enumerate(manifest.get("layers", [])):
        desc = ocilib.parse_descriptor(item, f"{what} layer {i}")
        media_type = ocilib.DOCKER_TO_OCI_LAYER.get(
            desc["mediaType"], desc["mediaType"]
        )
        if media_type not in ocilib.LAYER_MEDIA_TYPES:
            raise ocilib.OciError(
                f"{what}: layer {i} has unsupported media type {media_type!r}"
            )
        layers.append(ocilib.descriptor(media_type, desc["digest"], desc["size"]))
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    if len(diff_ids) != len(layers):
        raise ocilib.OciError(
            f"{what}: config lists {len(diff_ids)} diff_ids for {len(layers)} layers"
        )
    return layers


# --- config ----------------------------------------------------------------------------


def apply_runtime_config(
    runtime: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """The "config" object of the image config: inherited values overridden by flags."""
    runtime = dict(runtime)
    if args.env:
        runtime["Env"] = _merge_env(runtime.get("Env") or [], parse_env(args.env))
    if args.entrypoint is not None:
        _set_list(
            runtime, "Entrypoint", parse_string_list(args.entrypoint, "--entrypoint")
        )
        if args.cmd is None:
            runtime.pop(
                "Cmd", None
            )  # Docker semantics: a new entrypoint drops the old Cmd.
    if args.cmd is not None:
        _set_list(runtime, "Cmd", parse_string_list(args.cmd, "--cmd"))
    if args.user is not None:
        runtime["User"] = check_user(args.user)
    if args.workdir is not None:
        runtime["WorkingDir"] = check_workdir(args.workdir)
    if args.exposed_port:
        ports = dict(runtime.get("ExposedPorts") or {})
        ports.update({normalize_port(p): {} for p in args.exposed_port})
        runtime["ExposedPorts"] = ports
    if args.label:
        labels = dict(runtime.get("Labels") or {})
        labels.update(ocilib.split_key_value(kv, "--label") for kv in args.label)
        runtime["Labels"] = labels
    return runtime


def _merge_env(base: list[str], overrides: list[tuple[str, str]]) -> list[str]:
    """Override by key in place, append new keys, so the order stays stable."""
    merged = {item.partition("=")[0]: item for item in base}
    merged.update((key, f"{key}={value}") for key, value in overrides)
    return list(merged.values())


def _set_list(runtime: dict[str, Any], key: str, value: list[str]) -> None:
    if value:
        runtime[key] = value
    else:
        runtime.pop(key, None)


def build_config(
    base: Base | None,
    platform: ocilib.Platform,
    args: argparse.Namespace,
    new_layers: list[Layer],
    created: str,
) -> dict[str, Any]:
    config = copy.deepcopy(base.config) if base else {}
    config.pop("variant", None)
    config.update(platform.to_json())
    config["created"] = created
    config["config"] = apply_runtime_config(config.get("config") or {}, args)
    base_diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
    config["rootfs"] = {
        "type": "layers",
        "diff_ids": base_diff_ids + [layer.diff_id for layer in new_layers],
    }
    texts = history_texts(args.history_created_by, len(new_layers))
    history = list(config.get("history") or [])
    history += [{"created": created, "created_by": text} for text in texts]
    if history:
        config["history"] = history
    return config


# --- main ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="image.py", description="Write one OCI image layout."
    )
    p.add_argument("--output", required=True, help="layout directory to write")
    p.add_argument("--platform", required=True, help="linux/amd64 or linux/arm64[/v8]")
    p.add_argument("--base", help="OCI layout of the base image")
    p.add_argument("--base-ref", help="ref name in the base's index.json to start from")
    p.add_argument(
        "--layer", action="append", default=[], help="BLOB=DESCRIPTOR (repeatable)"
    )
    p.add_argument("--entrypoint", help='JSON list, e.g. ["/usr/bin/python3"]')
    p.add_argument("--cmd", help="JSON list")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--user", help="name, uid, uid:gid or name:group")
    p.add_argument("--workdir", help="absolute working directory")
    p.add_argument(
        "--exposed-port", action="append", default=[], help="N, N/tcp or N/udp"
    )
    p.add_argument(
        "--label", action="append", default=[], help="config label KEY=VALUE"
    )
    p.add_argument(
        "--annotation", action="append", default=[], help="manifest annotation"
    )
    p.add_argument(
        "--created", help="RFC 3339 time (default: SOURCE_DATE_EPOCH or 1970)"
    )
    p.add_argument(
        "--history-created-by", action="append", default=[], help="history text"
    )
    p.add_argument("--stamp-status", help="Bazel's stable-status.txt (stamped builds)")
    p.add_argument(
        "--stamp-label", action="append", default=[], help="KEY=TEMPLATE (stamped)"
    )
    p.add_argument("--stamp-created", help="template for --created (stamped)")
    p.add_argument("--ref-name", default="latest", help="ref name in index.json")
    p.add_argument("--digest-out", help="write the manifest digest here")
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    apply_stamp(args)
    # Validate everything cheap before copying any blob.
    platform = ocilib.Platform.parse(args.platform)
    ocilib.check_ref_name(args.ref_name)
    annotations = dict(
        ocilib.split_key_value(kv, "--annotation") for kv in args.annotation
    )
    created = resolve_created(args.created)
    new_layers = [read_layer_arg(arg) for arg in args.layer]
    history_texts(args.history_created_by, len(new_layers))
    apply_runtime_config({}, args)

    out = Path(args.output)
    ocilib.init_layout(out)
    base = None
    if args.base:
        base = load_base(Path(args.base), platform, args.base_ref)
        for desc in base.layers:
            src = ocilib.blob_path(Path(args.base), desc["digest"])
            ocilib.copy_blob(src, out, desc["digest"], desc["size"], "base layer")
        annotations.setdefault(ocilib.ANNOTATION_BASE_DIGEST, base.manifest_digest)
    elif args.base_ref:
        raise ocilib.OciError("--base-ref needs --base")
    for layer in new_layers:
        d = layer.descriptor
        ocilib.copy_blob(layer.source, out, d["digest"], d["size"], "layer")

    config = build_config(base, platform, args, new_layers, created)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": ocilib.MEDIA_TYPE_MANIFEST,
        "config": ocilib.write_json_blob(out, ocilib.MEDIA_TYPE_CONFIG, config),
        "layers": (base.layers if base else [])
        + [layer.descriptor for layer in new_layers],
    }
    if annotations:
        manifest["annotations"] = annotations
    manifest_desc = ocilib.write_json_blob(out, ocilib.MEDIA_TYPE_MANIFEST, manifest)
    ref = {ocilib.ANNOTATION_REF_NAME: args.ref_name}
    ocilib.finish_layout(
        out, [{**manifest_desc, "platform": platform.to_json(), "annotations": ref}]
    )
    if args.digest_out:
        ocilib.write_file(args.digest_out, manifest_desc["digest"].encode("ascii"))


if __name__ == "__main__":
    ocilib.run_main(main)
