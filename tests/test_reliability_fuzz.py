"""Replay the fuzz harnesses of tests/fuzz inside the unit suite, without
atheris: every saved failure under tests/fuzz/regressions/<name>/, each
harness's own seeds, and a few hundred random inputs (fixed seed)."""
import importlib
import os
import random
import sys

import pytest

FUZZ_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz")
REGRESSIONS = os.path.join(FUZZ_DIR, "regressions")
NAMES = sorted(f[5:-3] for f in os.listdir(FUZZ_DIR)
               if f.startswith("fuzz_") and f.endswith(".py"))

# Saved inputs that still fail, with the bug they show.  Remove an entry when
# the bug is fixed (the test then guards the fix).
KNOWN_BUGS = {
    "checksum/adler32-empty-unreduced-start":
        "adler32(b'', v) returns v unreduced; zlib.adler32(b'', 0xffff) == 0xe",
    "gzip/reserved-flag-bits-accepted":
        "decompress(..., 'gzip') accepts a header with reserved FLG bits set "
        "(RFC 1952 says reject; zlib does)",
}


def harness(name):
    if FUZZ_DIR not in sys.path:
        sys.path.insert(0, FUZZ_DIR)
    mod = importlib.import_module(f"fuzz_{name}")
    missing = mod.missing()
    if missing:
        pytest.skip(f"fastconc lacks {', '.join(missing)}")
    return mod


def regression_files():
    out = []
    for name in NAMES:
        d = os.path.join(REGRESSIONS, name)
        if os.path.isdir(d):
            out += [(name, f) for f in sorted(os.listdir(d))]
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name,fname", regression_files(),
                         ids=[f"{n}/{f}" for n, f in regression_files()])
def test_regression(name, fname):
    key = f"{name}/{fname}"
    if key in KNOWN_BUGS:
        pytest.xfail(KNOWN_BUGS[key])   # still checked when run with --runxfail
    mod = harness(name)
    with open(os.path.join(REGRESSIONS, name, fname), "rb") as f:
        mod.test_one_input(f.read())


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NAMES)
def test_seeds_and_random_inputs(name):
    mod = harness(name)
    if name == "checksum":
        mod.KNOWN_ADLER32_EMPTY_BUG = True
    for s in mod.seeds():
        mod.test_one_input(s)
    rng = random.Random(int(os.environ.get("FASTCONC_TEST_SEED", "1234")))
    seeds = mod.seeds()
    for _ in range(200):
        if seeds and rng.random() < 0.7:
            # mutate a seed: flip, cut or insert a few bytes
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 4)):
                op = rng.randrange(3)
                pos = rng.randrange(len(data) + 1)
                if op == 0 and pos < len(data):
                    data[pos] ^= 1 << rng.randrange(8)
                elif op == 1:
                    del data[pos:pos + rng.randint(1, 64)]
                else:
                    data[pos:pos] = os.urandom(rng.randint(1, 16))
            data = bytes(data)
        else:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        mod.test_one_input(data)
