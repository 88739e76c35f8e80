#!/usr/bin/env bash
# Build fastconc._core with AddressSanitizer + UndefinedBehaviorSanitizer in
# a copy of the tree (build/asan/tree; the in-place .so other steps use is
# never touched) and run pytest there with the sanitizer runtime preloaded.
#
#   tests/asan/run.sh                 the default subset (see ASAN_DEFAULT)
#   tests/asan/run.sh tests/test_x.py other pytest arguments instead
#   tests/asan/run.sh --script tests/soak/soak.py ARGS...
#                                     a script of the tree instead of pytest
#                                     (make soak)
# ASAN_EXTRA_OPTIONS is appended to ASAN_OPTIONS (later options win), e.g.
# detect_leaks=1:leak_check_at_exit=0 for a script that runs LeakSanitizer
# itself at a point of its choosing (the soak run does).
#
# Any sanitizer report fails the run: ASan aborts the process at the first
# error, UBSan is compiled with -fno-sanitize-recover and halt_on_error=1.
# Leaks: LeakSanitizer is off inside the interpreter (CPython frees little
# at exit, so every run would "leak"); leaks are caught by
# tests/test_reliability_leaks.py instead, which this run includes.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
# The real interpreter, not a wrapper script (pyenv shims are bash: the
# preloaded runtime must not run them).
PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
CC=${CC:-gcc}
root=$PWD
tree=$root/build/asan/tree

# The subset: every test file, minus tests needing > 4 GiB (ASan's shadow
# memory and -O1 make them minutes long) and those marked slow; the stress
# tests run 5 s instead of 30 s.  Also left out: the peers' borrowed suites
# (tests/borrowed: python-xxhash's alone took 4.5 minutes here, and each C
# path they reach is one our own tests reach), test_gil_policy.py (it
# counts GIL hand-offs over long portable-kernel calls: a question of
# policy, not of memory), test_bench.py (it times the kernels that
# their own tests run here: its quick run alone takes a minute without
# ASan) and the two command-line suites (test_hash_cli.py,
# test_codec_cli.py: some 400 child processes, each starting the sanitizer
# runtime, to drive library calls the other tests make).  Shortened here:
# the leak loops (150 rounds instead of 400: the unit run checks the heap
# bound at full length; here they drive the error and interruption paths
# under the sanitizers) and the fuzz corpus replay (every third file: a
# compress input that opens an lz4 stream costs 50x its plain time under
# ASan, whose allocator maps and faults in every large block afresh).
# About 12 minutes on 2 cores.
ASAN_DEFAULT=(tests -m "not bigmem and not slow" --ignore=tests/borrowed
              --ignore=tests/test_gil_policy.py --ignore=tests/test_bench.py
              --ignore=tests/test_hash_cli.py --ignore=tests/test_codec_cli.py)
export FASTCONC_LEAK_ROUNDS=${FASTCONC_LEAK_ROUNDS:-150}
export FASTCONC_CORPUS_EVERY=${FASTCONC_CORPUS_EVERY:-3}

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all"
export FASTCONC_CFLAGS="$sanitize -fno-omit-frame-pointer -g -O1"
export FASTCONC_WERROR=${FASTCONC_WERROR:-1}

rm -rf "$tree"
mkdir -p "$tree"
# Only what the build and the tests need; no compiled objects.
cp -a setup.py pyproject.toml README.md src fastconc tests "$tree"/
[ -d vectors ] && cp -a vectors "$tree"/
rm -f "$tree"/fastconc/*.so
echo "asan: building in $tree"
(cd "$tree" && CC=$CC "$PYTHON" setup.py -q build_ext --inplace \
    >build.log 2>&1) || { tail -50 "$tree/build.log"; exit 1; }

libasan=$($CC -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "asan: $CC has no libasan.so" >&2
    exit 1
fi
# The runtime must come first in the process, before the interpreter's own
# allocations; PYTHONMALLOC=malloc sends every object through ASan so a
# use-after-free of a Python object is seen too.
export LD_PRELOAD=$libasan
export PYTHONMALLOC=malloc
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=0:exitcode=99:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=0:halt_on_error=1:print_summary=1${ASAN_EXTRA_OPTIONS:+:$ASAN_EXTRA_OPTIONS}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=98:suppressions=$root/tests/asan/ubsan.supp
export FASTCONC_STRESS_SECONDS=${FASTCONC_STRESS_SECONDS:-5}
export FASTCONC_ASAN=1
# Published vectors next to the real clone, not the copy.
[ -d "$root/../shared" ] && export FASTCONC_SHARED=${FASTCONC_SHARED:-$(cd "$root/.." && pwd)/shared}

script=
if [ "${1:-}" = --script ]; then
    script=$2
    shift 2
elif [ $# -eq 0 ]; then
    set -- "${ASAN_DEFAULT[@]}"
fi
cd "$tree"
# The tree's own fastconc (with the sanitized .so) comes first on sys.path.
export PYTHONPATH=$tree
"$PYTHON" -c 'import fastconc, sys; sys.exit(0 if fastconc.__file__.startswith(sys.argv[1]) else 1)' "$tree" \
    || { echo "asan: the sanitized fastconc is not the one imported" >&2; exit 1; }
# Canary: the runtime is live and a report fails the process (a heap
# overflow made through ctypes; memmove is checked by ASan's interceptor).
set +e
"$PYTHON" -c '
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
p = libc.malloc(16)
ctypes.memmove(p, b"x" * 32, 32)
' >/dev/null 2>&1
rc=$?
set -e
if [ $rc -ne 99 ]; then
    echo "asan: canary overflow was not reported (exit $rc): sanitizer not active" >&2
    exit 1
fi
if [ -n "$script" ]; then
    echo "asan: $script $*"
    exec "$PYTHON" "$script" "$@"
fi
echo "asan: pytest $*"
exec "$PYTHON" -m pytest -q -ra -p no:cacheprovider "$@"
