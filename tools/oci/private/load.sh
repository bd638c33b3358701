#!/bin/sh
# Loads an image tarball into podman or docker and tags it; the engine side of oci_load.
#
#   load.sh --tarball FILE --image-id sha256:... --platform OS/ARCH [--engine podman|docker] [NAME:TAG]...
#
# Run by load.py, or on the host by tools/bazel when Bazel runs in the build
# root (the engine is the host's). POSIX sh and the engine's own command line
# only, so it runs on any host. Without --engine: podman if it is installed,
# else docker. Every failure says which engine, what it said and what to do.
set -eu

say() { printf 'load: %s\n' "$*" >&2; }
fail() {
  say "$@"
  exit 1
}

tarball="" image_id="" platform="" engine=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tarball) tarball="$2"; shift 2 ;;
    --image-id) image_id="$2"; shift 2 ;;
    --platform) platform="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    --) shift; break ;;
    -*) fail "unknown option $1" ;;
    *) break ;;
  esac
done
[ -f "$tarball" ] || fail "no image tarball at '$tarball'"

if [ -z "$engine" ]; then
  for candidate in podman docker; do
    if command -v "$candidate" >/dev/null 2>&1; then
      engine="$candidate"
      break
    fi
  done
  [ -n "$engine" ] || fail "neither podman nor docker is installed on this machine, so there is" \
    "nothing to load the image into. Install one (Debian: sudo apt-get install podman)," \
    "or load the tarball yourself: bazel build TARGET --output_groups=tarball, then podman load -i FILE."
fi
case "$engine" in
  podman | docker) ;;
  *) fail "unknown engine '$engine': use --engine podman or --engine docker" ;;
esac
command -v "$engine" >/dev/null 2>&1 ||
  fail "$engine is not installed on this machine (it is not on PATH). Install it, or leave out --engine to use whichever engine is installed."

# An engine that is installed but cannot be reached fails here, with its own
# words, before anything is loaded.
if ! said="$("$engine" version 2>&1 >/dev/null)"; then
  case "$engine:$said" in
    docker:*"ermission denied"*)
      fail "docker is installed, but this user may not open its socket (docker said: $said)." \
        "Add yourself to the docker group (sudo usermod -aG docker \"\$USER\", then log in again), or use --engine podman." ;;
    docker:*"Cannot connect"* | docker:*"Is the docker daemon running"* | docker:*"connect: no such file"* | docker:*"connection refused"*)
      fail "docker is installed, but its daemon is not running (docker said: $said)." \
        "Start it (sudo systemctl start docker), or use --engine podman." ;;
    podman:*"Cannot connect to Podman"* | podman:*"unable to connect"*)
      fail "podman is installed, but the Podman service it is set up to use is not running (podman said: $said)." \
        "Start it (podman machine start, or systemctl --user start podman.socket), or use --engine docker." ;;
    *)
      fail "$engine is installed, but '$engine version' failed: $said" ;;
  esac
fi

"$engine" load -q -i "$tarball" >/dev/null || fail "$engine load -i $tarball failed (see its message above)."
tags=""
for tag in "$@"; do
  "$engine" tag "$image_id" "$tag" || fail "$engine tag $image_id $tag failed (see its message above)."
  tags="${tags:+$tags, }$tag"
done
printf 'Loaded %s (%s, ID %s) into %s.\n' "${tags:-the image}" "$platform" "$image_id" "$engine"
