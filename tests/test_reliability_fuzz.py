"""Replay the fuzz harnesses of tests/fuzz inside the unit suite, without
atheris: every saved failure under tests/fuzz/regressions/<name>/, the
corpus kept in tests/fuzz/corpus/<name>/ (what make fuzz found that adds
coverage), each harness's own seeds, and a few hundred random inputs
(fixed seed)."""
import importlib
import os
import random
import sys

import pytest

FUZZ_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz")
REGRESSIONS = os.path.join(FUZZ_DIR, "regressions")
CORPUS = os.path.join(FUZZ_DIR, "corpus")
NAMES = sorted(f[5:-3] for f in os.listdir(FUZZ_DIR)
               if f.startswith("fuzz_") and f.endswith(".py"))

# Saved inputs that still fail, with the bug they show.  Remove an entry when
# the bug is fixed (the test then guards the fix).
# Regressions whose bug is still open (none now: the adler32 empty-input
# start value and gzip's reserved FLG bits are fixed).
KNOWN_BUGS: dict[str, str] = {}


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
def test_corpus(name):
    d = os.path.join(CORPUS, name)
    files = sorted(os.listdir(d)) if os.path.isdir(d) else []
    if not files:
        pytest.skip(f"no corpus kept for {name}")
    # FASTCONC_CORPUS_EVERY=N replays every Nth file only (a fixed subset:
    # the ASan run, where the compress corpus alone took minutes; the
    # plain unit run and make fuzz replay all of it).
    files = files[::max(1, int(os.environ.get("FASTCONC_CORPUS_EVERY", "1")))]
    mod = harness(name)
    for f in files:
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()
        try:
            mod.test_one_input(data)
        except Exception as exc:
            raise AssertionError(f"corpus/{name}/{f}: {exc}") from exc


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NAMES)
def test_seeds_and_random_inputs(name):
    mod = harness(name)
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
