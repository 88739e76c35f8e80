"""Shared pieces of the atheris harnesses in tests/fuzz.

Each harness ``fuzz_<name>.py`` defines ``test_one_input(data: bytes)`` and
``seeds() -> list[bytes]`` and ends with ``main(...)``.  Inputs are decoded
with :class:`Input` (not atheris' FuzzedDataProvider) so that a crash file
replays the same way without atheris: ``tests/test_reliability_fuzz.py``
runs every file under ``tests/fuzz/regressions/<name>/`` through the
harness on each test run, and ``python fuzz_x.py --replay FILE...`` does the
same by hand.

A harness whose API is not in this build prints why and exits 0.

Coverage: atheris instruments fastconc's Python code; run.py also builds
the C extension with clang's ``-fsanitize=fuzzer-no-link`` (in
build/fuzz/tree) and sets FASTCONC_FUZZ_NATIVE=1, so that libFuzzer sees
the C code's edges and comparisons too.  The extension's coverage hooks
are then libFuzzer's, which atheris carries in its core_with_libfuzzer
module: that module is loaded with RTLD_GLOBAL before the extension, and
Setup() is told to use it.

Failure = any exception other than the ones the API documents for bad input
(or a crash, hang or sanitizer report).  A wrong result raises
``AssertionError``.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))


class Input:
    """Reads values from the front of a fuzz input; past the end every read
    gives zeros / empty, so any byte string is a valid input."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def uint(self, nbytes: int) -> int:
        raw = self.data[self.pos:self.pos + nbytes]
        self.pos += len(raw)
        return int.from_bytes(raw, "little")

    def below(self, n: int) -> int:
        """An int in [0, n)."""
        if n <= 1:
            return 0
        nbytes = (n.bit_length() + 7) // 8
        return self.uint(nbytes) % n

    def flag(self) -> bool:
        return bool(self.uint(1) & 1)

    def pick(self, seq: Sequence[object]) -> object:
        return seq[self.below(len(seq))]

    def take(self, n: int) -> bytes:
        raw = self.data[self.pos:self.pos + n]
        self.pos += len(raw)
        return raw

    def rest(self) -> bytes:
        return self.take(self.remaining())


NATIVE = os.environ.get("FASTCONC_FUZZ_NATIVE") == "1"


def import_fastconc() -> object:
    """Import fastconc, with its Python code instrumented for atheris'
    coverage feedback when atheris is there (and its C code's hooks bound
    to libFuzzer when NATIVE)."""
    try:
        import atheris
    except ImportError:
        import fastconc
        return fastconc
    if NATIVE:
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | os.RTLD_GLOBAL)
        try:
            import atheris.core_with_libfuzzer  # noqa: F401
        finally:
            sys.setdlopenflags(flags)
    with atheris.instrument_imports(include=["fastconc"]):
        import fastconc
    return fastconc


def take_option(name: str, default: str) -> str:
    """Remove ``name VALUE`` from sys.argv (libFuzzer must not see it)."""
    argv = sys.argv
    if name in argv:
        i = argv.index(name)
        value = argv[i + 1]
        del argv[i:i + 2]
        return value
    return default


def skip(reason: str) -> None:
    """The API this harness fuzzes is absent from this build: say so, exit 0."""
    print(f"fuzz: skipped: {reason}")
    sys.exit(0)


def require(module: object, *names: str) -> None:
    missing = [n for n in names if not hasattr(module, n)]
    if missing:
        skip("fastconc has no " + ", ".join(missing) + " in this build")


def split_points(inp: Input, n: int, max_pieces: int = 8) -> list[int]:
    """Random cut points for a buffer of n bytes (sorted, may repeat: an
    empty piece is a legal call too)."""
    pieces = inp.below(max_pieces + 1)
    cuts = sorted(inp.below(n + 1) for _ in range(pieces))
    return [0, *cuts, n]


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def write_seeds(corpus: str, seeds: list[bytes]) -> None:
    os.makedirs(corpus, exist_ok=True)
    if os.listdir(corpus):
        return
    for i, s in enumerate(seeds):
        with open(os.path.join(corpus, f"seed-{i:03d}"), "wb") as f:
            f.write(s)


def replay(test_one_input: Callable[[bytes], None], paths: list[str]) -> int:
    files: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p))
        else:
            files.append(p)
    for path in files:
        with open(path, "rb") as f:
            test_one_input(f.read())
    print(f"fuzz: replayed {len(files)} input(s)")
    return 0


def main(test_one_input: Callable[[bytes], None],
         seeds: Callable[[], list[bytes]]) -> None:
    """``fuzz_x.py [--replay FILE...] | [--seeds DIR] [libFuzzer args]``."""
    argv = sys.argv
    if len(argv) > 1 and argv[1] == "--replay":
        sys.exit(replay(test_one_input, argv[2:]))
    if len(argv) > 2 and argv[1] == "--seeds":
        write_seeds(argv[2], seeds())
        del argv[1:3]
    try:
        import atheris
    except ImportError:
        skip("atheris is not installed (pip install atheris; x86-64 Linux, "
             "CPython 3.9-3.13)")
    # libFuzzer runs argv[0] itself for -merge (and -fork): a script is not
    # a program, so run.py hands a wrapper that starts it.
    argv0 = os.environ.get("FASTCONC_FUZZ_ARGV0")
    if argv0:
        argv[0] = argv0
    if NATIVE:
        atheris.Setup(argv, test_one_input, internal_libfuzzer=True)
    else:
        atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
