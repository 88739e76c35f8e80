#!/usr/bin/env bash
# Build a free-threaded CPython 3.13 (--disable-gil) from Debian's source
# package of python3.13 and cache the install outside the clone, so that
# fastconc can be built and tested without the GIL (issue 27).
#
#   tests/ft/build_python.sh          # prints the install prefix on stdout
#   tests/ft/build_python.sh --tsan   # same interpreter built with TSan
#   tests/ft/build_python.sh --cached # the prefix if already built, else
#                                     # nothing and status 1 (no build)
#
# The source comes from a deb-src entry for Debian trixie written to a
# sources file of this script's own (with its own package lists, so the
# machine's apt state is not touched).  apt cannot check the release
# signature here, so that one entry is marked [trusted=yes]; in its place
# the upstream tarball is checked against the sha256 pinned below and the
# script stops on a mismatch.  Only the upstream tarball is used (Debian's
# patches are not applied).
#
# The install goes to ~/.cache/fastconc/cpython-3.13.5t-<sha[:12]>[-tsan]/
# (FASTCONC_CACHE overrides ~/.cache/fastconc); a stamp file there records
# the tarball hash and the configure flags, and a run that finds a matching
# stamp does nothing.  The build is staged with DESTDIR and moved into
# place at the end, so an interrupted build leaves no half install behind.
# Progress goes to stderr, the prefix alone to stdout.
set -euo pipefail

VERSION=3.13.5
TARBALL=python3.13_${VERSION}.orig.tar.xz
SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
MIRROR=${FASTCONC_TRIXIE_MIRROR:-http://deb.debian.org/debian}
JOBS=${FASTCONC_FT_JOBS:-2}
# What the build needs from Debian.  ssl/_hashlib (pip), zlib, lzma, bz2
# (stdlib codecs our tests compare against), ctypes (libffi), readline is
# only for the interactive prompt; sqlite is not needed.  xz-utils unpacks
# the tarball.
BUILD_DEPS="gcc make pkg-config xz-utils libssl-dev zlib1g-dev liblzma-dev
libbz2-dev libffi-dev libreadline-dev"

# --disable-test-modules: CPython's own test suite (Lib/test and its C
# modules) is neither built nor installed nor byte-compiled: we do not run
# it, and it is a good part of the install time.
CONFIGURE_FLAGS="--disable-gil --with-ensurepip=install --disable-test-modules"
SUFFIX=
CACHED_ONLY=0
if [ "${1:-}" = "--cached" ]; then
    # tools/build_wheels.sh: the interpreter for a cp313t wheel, if any
    CACHED_ONLY=1
elif [ "${1:-}" = "--tsan" ]; then
    # CPython's own TSan option (the interpreter and every extension built
    # by it then run under TSan): for make tsan-ft, outside CI
    CONFIGURE_FLAGS="$CONFIGURE_FLAGS --with-thread-sanitizer"
    SUFFIX=-tsan
elif [ -n "${1:-}" ]; then
    echo "usage: $0 [--tsan | --cached]" >&2
    exit 2
fi

CACHE=${FASTCONC_CACHE:-$HOME/.cache/fastconc}
PREFIX=$CACHE/cpython-${VERSION}t-${SHA256:0:12}$SUFFIX
STAMP_TEXT="tarball $TARBALL sha256 $SHA256
configure $CONFIGURE_FLAGS"

log() { echo "build_python: $*" >&2; }

stamp_ok() {
    [ -f "$PREFIX/.fastconc-stamp" ] &&
        [ "$(head -n 2 "$PREFIX/.fastconc-stamp")" = "$STAMP_TEXT" ] &&
        [ -x "$PREFIX/bin/python3.13t" ]
}

if stamp_ok; then
    [ "$CACHED_ONLY" = 1 ] || log "cached: $PREFIX"
    echo "$PREFIX"
    exit 0
fi
[ "$CACHED_ONLY" = 0 ] || exit 1

mkdir -p "$CACHE"
# one build at a time per install (two make runs side by side wait here)
exec 9>"$PREFIX.lock"
flock 9
if stamp_ok; then
    log "cached (built by another run meanwhile): $PREFIX"
    echo "$PREFIX"
    exit 0
fi

# Debian packages the build needs, installed when missing.
missing=
for p in $BUILD_DEPS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    log "installing Debian packages:$missing"
    sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    # shellcheck disable=SC2086
    $sudo apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            $missing >&2
fi

start=$(date +%s)
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# apt with a sources file and package lists of its own: one deb-src entry,
# and signature checks off for that entry alone.
mkdir -p "$work/apt/lists/partial" "$work/apt/parts" "$work/src"
echo "deb-src [trusted=yes] $MIRROR trixie main" >"$work/apt/trixie-src.list"
APT_OPTS=(-o "Dir::Etc::SourceList=$work/apt/trixie-src.list"
    -o "Dir::Etc::SourceParts=$work/apt/parts"
    -o "Dir::State::Lists=$work/apt/lists"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root")
log "fetching python3.13's source package from Debian trixie"
apt-get "${APT_OPTS[@]}" -qq update >&2
(cd "$work/src" &&
    apt-get "${APT_OPTS[@]}" -qq source --download-only python3.13 >&2)
if [ ! -f "$work/src/$TARBALL" ]; then
    log "no $TARBALL in trixie's python3.13 (a new upstream release?);" \
        "update VERSION and SHA256 in $0"
    ls "$work/src" >&2
    exit 1
fi
got=$(sha256sum "$work/src/$TARBALL" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
    log "REFUSING $TARBALL: sha256 $got, expected $SHA256"
    exit 1
fi
log "$TARBALL sha256 OK"

tar -C "$work" -xJf "$work/src/$TARBALL"
cd "$work/Python-$VERSION"
log "configure $CONFIGURE_FLAGS (log: build.log)"
# under bash the generated config.status is broken here: /bin/sh it is
# shellcheck disable=SC2086
if ! CONFIG_SHELL=/bin/sh /bin/sh ./configure --prefix="$PREFIX" \
    $CONFIGURE_FLAGS >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    exit 1
fi
t_make=$(date +%s)
log "make -j$JOBS (configure took $((t_make - start)) s)"
if ! make -j"$JOBS" >>"$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log" >&2
    exit 1
fi
# the stdlib modules that the build skipped, as make prints them
grep -A3 -E "necessary bits|Failed to build|could not be built" \
    "$work/build.log" >&2 || true
t_install=$(date +%s)
log "make install (make took $((t_install - t_make)) s)"
if ! make install DESTDIR="$work/stage" >>"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    exit 1
fi

if [ -n "$SUFFIX" ]; then
    # CPython's own list of the races TSan reports in the interpreter that
    # are known and harmless (make tsan-ft passes it to TSan)
    mkdir -p "$work/stage$PREFIX/share/fastconc"
    cp Tools/tsan/suppressions_free_threading.txt \
        "$work/stage$PREFIX/share/fastconc/tsan_suppressions.txt"
fi

# What pip and our tests need must be there, and the GIL must be off.
stagepy="$work/stage$PREFIX/bin/python3.13t"
PYTHONHOME="$work/stage$PREFIX" "$stagepy" -c '
import sys, sysconfig
import ssl, _hashlib, zlib, lzma, bz2, ctypes
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "not free-threaded"
assert not sys._is_gil_enabled(), "GIL is on"
' >&2

rm -rf "$PREFIX"
mv "$work/stage$PREFIX" "$PREFIX"
end=$(date +%s)
log "install took $((end - t_install)) s"
printf '%s\nbuilt %s in %d s (make -j%s)\n' "$STAMP_TEXT" \
    "$(date -u +%FT%TZ)" $((end - start)) "$JOBS" >"$PREFIX/.fastconc-stamp"
log "built $PREFIX in $((end - start)) s"
echo "$PREFIX"
