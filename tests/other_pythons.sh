#!/usr/bin/env bash
# Build fastconc for other CPython versions and run a quick part of the
# suite on each: the README promises 3.9 to 3.13, the main run uses one.
#
#   tests/other_pythons.sh 3.9 3.13
#
# Each version gets a venv and a copy of the tree, built in place, under
# build/py-X.Y; the versions run side by side (one core each) and their
# logs are printed in order.  A version with no interpreter here (neither pyenv's nor pythonX.Y
# on PATH) is reported as skipped, loudly, and does not fail the step.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TESTS="tests/test_checksum.py tests/test_checksum_simd.py
tests/test_hash_kat.py tests/test_hash_compat.py tests/test_hash_many.py
tests/test_blake3.py tests/test_codec_oneshot.py tests/test_codec_stream.py
tests/test_executor.py tests/test_pmap.py tests/test_pool_spin.py"
DEPS="pytest pytest-timeout hypothesis numpy crc32c xxhash zstandard lz4
blake3 psutil typing_extensions setuptools wheel"

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
    "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check $DEPS
    cd "$dir/tree"
    "$dir/venv/bin/python" setup.py -q build_ext --inplace
    "$dir/venv/bin/python" -c \
        "import fastconc, sys; print(sys.version.split()[0], fastconc._core.__file__)"
    # shellcheck disable=SC2086
    "$dir/venv/bin/python" -m pytest -q -p no:cacheprovider \
        -m "not slow and not bigmem and not bench" $TESTS
}

pids=()
versions=()
for v in "$@"; do
    py=$(find_python "$v")
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
