#!/usr/bin/env bash
# The packaging check, run by `make test-wheel` right after `make wheel`
# (dist/ holds the sdist and the repaired wheel for $WHEEL_PYTHON,
# build/wheel-raw the wheel before auditwheel):
#
#  audit       auditwheel show: a manylinux tag, no external library; inside,
#              the six libraries; outside only the C runtime and zlib
#  hidden      the wheel installs into a new venv with pip --no-index and
#              nothing else, and in a private mount namespace where the
#              system's libcrypto, libzstd, liblz4, libxxhash, libisal and
#              libdeflate are covered by /dev/null it passes smoke.py check:
#              every codec round trip with threads=2, every digest family
#              against known answers, the checksums' check values, one
#              version everywhere, the libraries mapped from the wheel
#  raw-fails   the same in a venv with the unrepaired wheel FAILS: the
#              hiding is real
#  visible     smoke.py check outside the namespace too
#  side-by-side  hashlib/_ssl (system libcrypto) and fastconc (its own) in
#              one process, each import order: both loaded, digests agree
#  sdist       the sdist holds every file under src/ and what the build
#              needs besides
#  floor       with the oldest setuptools pyproject.toml admits for this
#              Python (tools/build_requires.py --floor), in a venv:
#              an sdist with the same files, and a wheel built from it in a
#              clean temporary folder that imports (at -O0, to be quick)
#  no-libs     a build with PKG_CONFIG_LIBDIR on an empty folder fails with
#              one message naming the seven libraries, their packages and
#              one apt-get command for them all
#
# Every step runs; the failures are named at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/packaging
# PYTHON runs the tools (auditwheel, the known answers: it has the test
# extras); WHEEL_PYTHON is the interpreter whose wheel is checked.
PYTHON=${PYTHON:-python3}
WHEEL_PYTHON=${WHEEL_PYTHON:-$PYTHON}
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

# Internal: inside `unshare -m`, cover FILEs with /dev/null and run the
# smoke check with PY.
if [ "${1:-}" = "--in-namespace" ]; then
    py=$2 datadir=$3
    shift 3
    for f in "$@"; do
        mount --bind /dev/null "$f" || exit 99
    done
    cd /
    exec "$py" -I "$HERE/smoke.py" check "$datadir"
fi

# pkg-config name -> Debian package: what the no-libs message must name.
LIBS="libcrypto:libssl-dev zlib:zlib1g-dev libzstd:libzstd-dev liblz4:liblz4-dev
libxxhash:libxxhash-dev libisal:libisal-dev libdeflate:libdeflate-dev"
STEMS="libcrypto libzstd liblz4 libxxhash libisal libdeflate"

version=$("$PYTHON" -c 'exec(open("fastconc/_version.py").read()); print(__version__)')
tag=$("$WHEEL_PYTHON" -c 'import sys, sysconfig
ft = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
print("cp%d%d%s" % (sys.version_info[0], sys.version_info[1], ft))')
sdist=$ROOT/dist/fastconc-$version.tar.gz
wheel=$(ls "$ROOT"/dist/fastconc-"$version"-*-"$tag"-manylinux_*.whl 2>/dev/null | head -1)
raw=$(ls "$ROOT"/build/wheel-raw/"$tag"/fastconc-*.whl 2>/dev/null | head -1)
if [ -z "$wheel" ] || [ -z "$raw" ] || [ ! -f "$sdist" ]; then
    echo "check_wheel: run 'make wheel' first (no $tag wheel or sdist for $version)"
    exit 1
fi
tmp=$(mktemp -d /tmp/fastconc-pack.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "check_wheel: $wheel"

step_audit() {
    "$PYTHON" "$HERE/audit.py" "$wheel"
}

# A new venv with only the given wheel, from no index.
make_venv() {
    "$WHEEL_PYTHON" -m venv "$1" &&
        "$1/bin/python" -m pip install -q --no-index "$2" &&
        "$1/bin/python" -m pip list --format=freeze | grep -i '^fastconc=='
}

# The real paths of the system's copies of the six libraries: those the
# unrepaired module resolves to and those in the loader's cache.
hidden_files() {
    mkdir -p "$tmp/rawso"
    (cd "$tmp/rawso" && "$PYTHON" -m zipfile -e "$raw" .) || return 1
    {
        ldd "$tmp"/rawso/fastconc/_core*.so | awk '$3 ~ /^\// { print $3 }'
        ldconfig -p | awk '{ print $NF }'
    } | grep -E "/($(echo $STEMS | tr ' ' '|'))\.so" | xargs -r readlink -f | sort -u
}

prepare() {
    make_venv "$tmp/venv" "$wheel" >/dev/null || return 1
    make_venv "$tmp/venv-raw" "$raw" >/dev/null || return 1
    "$PYTHON" "$HERE/smoke.py" expect "$tmp" || return 1
    mapfile -t HIDE < <(hidden_files)
    local stem
    for stem in $STEMS; do
        printf '%s\n' "${HIDE[@]}" | grep -q "/$stem\.so" || {
            echo "no system copy of $stem found to hide"; return 1; }
    done
    echo "hiding: ${HIDE[*]}"
}

step_hidden() {
    unshare -m --propagation private "$HERE/check_wheel.sh" --in-namespace \
        "$tmp/venv/bin/python" "$tmp" "${HIDE[@]}"
}

step_raw_fails() {
    local out rc
    out=$(unshare -m --propagation private "$HERE/check_wheel.sh" --in-namespace \
        "$tmp/venv-raw/bin/python" "$tmp" "${HIDE[@]}" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 99 ]; then
        echo "$out"
        echo "the unrepaired wheel passed (or the mounts failed, rc=$rc): the hiding is not real"
        return 1
    fi
    if ! grep -qE "($(echo $STEMS | tr ' ' '|'))[^ ]*\.so[^ ]*: file too short" <<<"$out"; then
        echo "$out"
        echo "the unrepaired wheel failed, but not on a hidden library"
        return 1
    fi
    echo "unrepaired wheel, as expected: $(grep -E 'file too short' <<<"$out" | tail -1)"
}

step_visible() {
    (cd / && "$tmp/venv/bin/python" -I "$HERE/smoke.py" check "$tmp")
}

step_side_by_side() {
    local order
    for order in hashlib-first fastconc-first; do
        (cd / && "$tmp/venv/bin/python" -I "$HERE/smoke.py" side-by-side "$order") ||
            return 1
    done
}

# Every file under src/ and the other files the build needs are in the sdist.
step_sdist() {
    "$PYTHON" - "$sdist" <<'EOF'
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as tf:
    top = tf.getnames()[0].split("/")[0]
    names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
want = {"README.md", "LICENSE", "setup.py", "pyproject.toml", "MANIFEST.in",
        "fastconc/py.typed", "fastconc/_core.pyi", "fastconc/_version.py",
        "fastconc/__init__.py", "src/simd/cksum_gen_consts.py"}
for d, _, files in os.walk("src"):
    want |= {os.path.join(d, f) for f in files
             if not f.endswith((".pyc", ".o", ".so"))}
missing = sorted(want - names)
assert not missing, f"{top}: missing {missing}"
headers = [n for n in names if n.endswith(".h")]
print(f"sdist: {top} holds all {len(want)} files checked ({len(headers)} headers)")
EOF
}

# The oldest setuptools pyproject.toml admits builds the sdist and a wheel.
step_floor() {
    local floor ver
    ver=$("$WHEEL_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    floor=$("$PYTHON" tools/build_requires.py --floor "$ver") || return 1
    grep -q '^setuptools==' <<<"$floor" || { echo "no setuptools floor: $floor"; return 1; }
    echo "Python $ver: $(tr '\n' ' ' <<<"$floor")"
    { "$WHEEL_PYTHON" -m venv "$tmp/floor" &&
        "$tmp/floor/bin/python" -m pip install -q $floor build &&
        "$tmp/floor/bin/python" -m build --sdist --no-isolation \
            --outdir "$tmp/floor-dist" .; } >"$tmp/floor-sdist.log" 2>&1 || {
        cat "$tmp/floor-sdist.log"; return 1; }
    local fsdist
    fsdist=$(ls "$tmp"/floor-dist/fastconc-*.tar.gz)
    "$PYTHON" - "$sdist" "$fsdist" <<'EOF' || return 1
import sys, tarfile
def files(path):
    with tarfile.open(path) as tf:
        return {n.split("/", 1)[1] for n in tf.getnames()
                if "/" in n and ".egg-info" not in n}
a, b = files(sys.argv[1]), files(sys.argv[2])
assert a == b, f"only in dist/: {sorted(a - b)}; only with the floor: {sorted(b - a)}"
EOF
    FASTCONC_CFLAGS=-O0 FASTCONC_REQUIRE_ALL=1 "$tmp/floor/bin/python" -m pip wheel \
        -q --no-deps --no-build-isolation -w "$tmp/floor-wheel" "$fsdist" \
        >"$tmp/floor-wheel.log" 2>&1 || { cat "$tmp/floor-wheel.log"; return 1; }
    "$tmp/floor/bin/python" -m pip install -q --no-index "$tmp"/floor-wheel/*.whl &&
        (cd / && "$tmp/floor/bin/python" -I -c '
import fastconc, importlib.metadata as m
assert fastconc.__version__ == m.version("fastconc")
assert fastconc.crc32(b"123456789") == 0xCBF43926
assert fastconc.decompress(fastconc.compress(b"x" * 1000, "zstd")) == b"x" * 1000
print("floor wheel: fastconc", fastconc.__version__, "imports and works")')
}

step_no_libs() {
    mkdir -p "$tmp/empty-pc"
    local log=$tmp/no-libs.log pair name deb apt
    if env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR="$tmp/empty-pc" \
        "$WHEEL_PYTHON" -m pip wheel --no-deps --no-build-isolation \
        -w "$tmp/no-libs" "$sdist" >"$log" 2>&1; then
        echo "the build succeeded without any library"; return 1
    fi
    [ "$(grep -c 'fastconc build error' "$log")" = 1 ] || {
        cat "$log"; echo "not exactly one error message"; return 1; }
    grep -q 'error: command\|fatal error' "$log" && {
        cat "$log"; echo "the build went on to compile"; return 1; }
    apt=$(grep 'apt-get install' "$log")
    [ "$(wc -l <<<"$apt")" = 1 ] || { cat "$log"; echo "not one apt-get line"; return 1; }
    for pair in $LIBS; do
        name=${pair%%:*} deb=${pair#*:}
        grep -qE "^[ |]*$name +\(package $deb" "$log" || {
            cat "$log"; echo "$name ($deb) not named"; return 1; }
        grep -qw -- "$deb" <<<"$apt" || {
            cat "$log"; echo "$deb not in the apt-get line"; return 1; }
    done
    sed -n '/fastconc build error/,/PKG_CONFIG_PATH/p' "$log"
}

failed=()
run_step() {
    local name=$1 t0=$SECONDS
    echo "---- $name"
    if "step_${name//-/_}"; then
        echo "---- $name: ok ($((SECONDS - t0)) s)"
    else
        echo "---- $name: FAILED ($((SECONDS - t0)) s)"
        failed+=("$name")
    fi
}

# The floor step builds a wheel of its own: it runs alongside the others.
(run_step floor >"$tmp/floor.out" 2>&1; [ "${#failed[@]}" -eq 0 ]) &
floor_pid=$!
run_step audit
echo "---- prepare (venvs, known answers, files to hide)"
if prepare; then
    run_step hidden
    run_step raw-fails
    run_step visible
    run_step side-by-side
else
    failed+=(prepare)
fi
run_step sdist
run_step no-libs
wait $floor_pid || failed+=(floor)
cat "$tmp/floor.out"
if [ ${#failed[@]} -gt 0 ]; then
    echo "check_wheel: FAILED: ${failed[*]}"
    exit 1
fi
echo "check_wheel: all steps passed"
