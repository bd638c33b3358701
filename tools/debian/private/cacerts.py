"""Generate /etc/ssl/certs/ca-certificates.crt from the ca-certificates package.

    cacerts.py --data-tar ca-certificates.data.tar --output ca-certificates.crt
               [--extra-cert local.crt ...]

No maintainer script runs in a distroless image, so update-ca-certificates
never builds the bundle; this does what it does on a fresh install: every
certificate under usr/share/ca-certificates/mozilla/ is enabled (the default
/etc/ca-certificates.conf lists them all, sorted bytewise), and each is
appended in that order, a newline added where a file lacks the final one.
--extra-cert files follow in the order given, as update-ca-certificates
appends /usr/local/share/ca-certificates last: the way to trust a
corporate or test CA. The output depends only on the inputs.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path

MOZILLA_DIR = "usr/share/ca-certificates/mozilla/"


class CacertsError(Exception):
    """Input that does not yield a bundle; the message names the file."""


def mozilla_certificates(data_tar: Path) -> dict[str, bytes]:
    """The package's mozilla/*.crt files, by their path under
    usr/share/ca-certificates (as ca-certificates.conf names them)."""
    certificates: dict[str, bytes] = {}
    try:
        with tarfile.open(data_tar, mode="r:") as archive:
            for member in archive:
                path = member.name.removeprefix("./")
                if is_mozilla_certificate(path) and member.isfile():
                    content = archive.extractfile(member)
                    if content is not None:
                        certificates[
                            path.removeprefix("usr/share/ca-certificates/")
                        ] = content.read()
    except tarfile.TarError as error:
        raise CacertsError(f"{data_tar}: not an uncompressed tar: {error}") from None
    if not certificates:
        raise CacertsError(
            f"{data_tar}: no {MOZILLA_DIR}*.crt: is it ca-certificates' data tar?"
        )
    return certificates


def is_mozilla_certificate(path: str) -> bool:
    name = path.removeprefix(MOZILLA_DIR)
    return path.startswith(MOZILLA_DIR) and "/" not in name and name.endswith(".crt")


def with_final_newline(certificate: bytes) -> bytes:
    # update-ca-certificates adds a missing final newline (Debian #635570),
    # or two PEM blocks would run together.
    return (
        certificate
        if certificate.endswith(b"\n") or not certificate
        else certificate + b"\n"
    )


def bundle(certificates: dict[str, bytes], extra: list[bytes]) -> bytes:
    # Bytewise order of the paths: what `sort` in the C locale gives.
    ordered = [
        certificates[path] for path in sorted(certificates, key=lambda p: p.encode())
    ]
    return b"".join(with_final_newline(c) for c in ordered + extra)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-tar",
        required=True,
        type=Path,
        help="ca-certificates' data tar (uncompressed)",
    )
    parser.add_argument(
        "--output", required=True, type=Path, help="the bundle to write"
    )
    parser.add_argument(
        "--extra-cert",
        action="append",
        type=Path,
        default=[],
        help="a PEM file appended after the package's (repeat)",
    )
    args = parser.parse_args(argv)
    try:
        certificates = mozilla_certificates(args.data_tar)
        extra = [path.read_bytes() for path in args.extra_cert]
        args.output.write_bytes(bundle(certificates, extra))
    except (CacertsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
