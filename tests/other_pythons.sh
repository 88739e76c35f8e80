#!/usr/bin/env bash
# Build fastconc for other CPython versions and run a quick part of the
# suite on each: the README promises 3.9 to 3.13, the main run uses one.
#
#   tests/other_pythons.sh 3.9 3.13
#   tests/other_pythons.sh 3.13t=/path/to/bin/python3.13t
#
# Each version gets a venv and a copy of the tree, built in place, under
# build/py-X.Y; the versions run side by side (one core each) and their
# logs are printed in order.  A version with no interpreter here (neither pyenv's nor pythonX.Y
# on PATH) is reported as skipped, loudly, and does not fail the step.
# NAME=PATH names an interpreter directly (make ft passes the free-threaded
# build of tests/ft/build_python.sh that way).
#
# On a free-threaded interpreter (Py_GIL_DISABLED) the run also: installs
# the optional test packages one by one, as wheels only, and goes on
# without those that have none for it (their tests skip); checks that
# importing fastconc leaves the GIL disabled with PYTHON_GIL unset (CPython
# re-enables it, with a warning, for a module that does not declare
# Py_MOD_GIL_NOT_USED); then runs the suite with PYTHON_GIL=0, plus the
# thread stress tests ($FT_TESTS).
#
# OTHER_PYTHONS_TESTS and OTHER_PYTHONS_FT_TESTS replace the two test
# selections; PYTEST_TSAN_OPTIONS becomes TSAN_OPTIONS for pytest alone
# (make tsan-ft).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TESTS=${OTHER_PYTHONS_TESTS:-"tests/test_checksum.py tests/test_checksum_simd.py
tests/test_hash_kat.py tests/test_hash_compat.py tests/test_hash_many.py
tests/test_blake3.py tests/test_codec_oneshot.py tests/test_codec_stream.py
tests/test_executor.py tests/test_pmap.py tests/test_pool_spin.py"}
DEPS="pytest pytest-timeout hypothesis numpy crc32c xxhash zstandard lz4
blake3 psutil typing_extensions setuptools wheel"
# free-threaded runs: what must install, and what may be missing
FT_DEPS="pytest pytest-timeout hypothesis typing_extensions setuptools wheel"
FT_OPTIONAL="numpy crc32c xxhash zstandard lz4 blake3 psutil"
FT_TESTS=${OTHER_PYTHONS_FT_TESTS-"tests/test_freethreading.py
tests/test_hash_threads.py tests/test_codec_open.py"}

find_python() {
    local v=$1 root
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for p in "$root"/versions/"$v".*/bin/python"$v"; do
        [ -x "$p" ] && { echo "$p"; return; }
    done
    command -v "python$v" || true
}

one() {
    local v=$1 py=$2 dir="$ROOT/build/py-$1"
    set -e
    rm -rf "$dir"
    mkdir -p "$dir/tree"
    # a copy of the source tree (tests find README.md, src/ and the package
    # beside them), built in place for $v; an extension built for another
    # version carries another ABI tag and is ignored by this one
    cp -r "$ROOT"/{setup.py,pyproject.toml,README.md,src,fastconc,tests} \
        "$dir/tree/"
    "$py" -m venv "$dir/venv"
    local vpy="$dir/venv/bin/python" pip ft tests=$TESTS report=
    pip="$vpy -m pip install -q --disable-pip-version-check"
    ft=$("$vpy" -c 'import sysconfig
print(int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))')
    if [ "$ft" = 1 ]; then
        $pip --only-binary :all: $FT_DEPS
        for d in $FT_OPTIONAL; do
            $pip --only-binary :all: "$d" ||
                echo "==== $v: no $d for this interpreter, its tests skip"
        done
        tests="$TESTS $FT_TESTS"
        report=-rs      # say which tests skipped, and why
    else
        $pip $DEPS
    fi
    cd "$dir/tree"
    "$vpy" setup.py -q build_ext --inplace
    if [ "$ft" = 1 ]; then
        # RuntimeWarning as an error: CPython warns when a module makes it
        # turn the GIL back on
        env -u PYTHON_GIL "$vpy" -W error::RuntimeWarning -c '
import sys, fastconc, fastconc._core
assert not sys._is_gil_enabled(), "importing fastconc enabled the GIL"
print("GIL disabled after import fastconc")'
        export PYTHON_GIL=0
    fi
    # make tsan-ft: TSan's options for the tests alone (pip and the build
    # run with reports off)
    if [ -n "${PYTEST_TSAN_OPTIONS:-}" ]; then
        export TSAN_OPTIONS=$PYTEST_TSAN_OPTIONS
    fi
    "$vpy" -c \
        "import fastconc, sys; print(sys.version.split()[0], fastconc._core.__file__)"
    # shellcheck disable=SC2086
    "$vpy" -m pytest -q -p no:cacheprovider $report \
        -m "not slow and not bigmem and not bench" $tests
}

pids=()
versions=()
for v in "$@"; do
    if [ "${v#*=}" != "$v" ]; then
        py=${v#*=}
        v=${v%%=*}
        [ -x "$py" ] || py=
    else
        py=$(find_python "$v")
    fi
    if [ -z "$py" ]; then
        echo "==== Python $v: SKIPPED, no interpreter found (pyenv or python$v)"
        continue
    fi
    mkdir -p build
    one "$v" "$py" >"build/py-$v.log" 2>&1 &
    pids+=($!)
    versions+=("$v")
done

failed=
for i in "${!pids[@]}"; do
    v=${versions[$i]}
    if wait "${pids[$i]}"; then
        rc=ok
    else
        rc=FAILED
        failed="$failed $v"
    fi
    echo "==== Python $v: $rc"
    tail -n 25 "build/py-$v.log"
done
if [ -n "$failed" ]; then
    echo "other Pythons failed:$failed"
    exit 1
fi
