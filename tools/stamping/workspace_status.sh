#!/usr/bin/env bash
# Bazel's --workspace_status_command (set in .bazelrc): the values stamped
# builds (--stamp, --config=release) write into images and build_info.json.
#
# Only STABLE_ keys, each a function of the commit and never of the clock, the
# host or the user, so two stamped builds of one commit are byte-identical and
# cache hits for each other. (Bazel's own BUILD_TIMESTAMP, BUILD_HOST and
# BUILD_USER are never read by any rule here.)
#
#   STABLE_VERSION             `git describe --tags` without a leading "v", e.g.
#                              1.2.3 or 1.2.3-4-gabc1234; -dirty if files changed;
#                              0.0.0-N-gREV when no tag exists
#   STABLE_GIT_REVISION        the full commit hash
#   STABLE_BUILD_TIME          the commit time, RFC 3339 UTC
#   STABLE_SOURCE_DATE_EPOCH   the commit time, seconds since the epoch
#
# STAMP_VERSION, STAMP_GIT_REVISION and STAMP_BUILD_EPOCH override them: the
# release tool passes the values of the real checkout to the copy it rebuilds
# (which has no .git). Without git or .git, and with no override, the values are
# the unstamped placeholders (0.0.0-dev, unknown, the epoch). This script never
# fails: a failing status command would fail every build.
set -u

git_() { git -c safe.directory='*' "$@" 2>/dev/null; }

revision="${STAMP_GIT_REVISION:-}"
version="${STAMP_VERSION:-}"
epoch="${STAMP_BUILD_EPOCH:-}"

if command -v git >/dev/null 2>&1 && git_ rev-parse --verify -q HEAD >/dev/null; then
  [ -n "$revision" ] || revision="$(git_ rev-parse HEAD)"
  [ -n "$epoch" ] || epoch="$(git_ log -1 --format=%ct HEAD)"
  if [ -z "$version" ]; then
    if described="$(git_ describe --tags --dirty)"; then
      version="${described#v}"
    else
      version="0.0.0-$(git_ rev-list --count HEAD)-g$(git_ rev-parse --short=7 HEAD)"
      # --dirty as describe would say it (git diff-index: tracked files only).
      git_ update-index -q --refresh >/dev/null
      git_ diff-index --quiet HEAD -- || version="$version-dirty"
    fi
  fi
fi

case "$epoch" in
  '' | *[!0-9]*) epoch=0 ;;
esac
build_time="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)"

echo "STABLE_VERSION ${version:-0.0.0-dev}"
echo "STABLE_GIT_REVISION ${revision:-unknown}"
echo "STABLE_BUILD_TIME $build_time"
echo "STABLE_SOURCE_DATE_EPOCH $epoch"
