"""What tests/packaging/check_wheel.sh runs against an installed wheel.

  smoke.py expect DIR    with the build machine's Python, outside any
                         namespace: write DIR/data.bin and DIR/expect.json,
                         the known answers (published vectors from
                         tests/vectors, and for a larger buffer hashlib,
                         zlib and the xxhash, blake3 and crc32c packages)
  smoke.py check DIR     with a venv's Python where only the wheel is
                         installed: the GIL still off after the import on
                         a free-threaded build, every codec round trip
                         with threads=2, every digest family against
                         DIR's answers, the
                         checksums' check values, one version everywhere,
                         and the six libraries mapped from the wheel only
  smoke.py side-by-side hashlib-first|fastconc-first
                         hashlib/_ssl (the system libcrypto) and fastconc
                         (its own copy) in one process, imported in the
                         given order: both copies loaded, digests agree

Exit status 0 means every check passed; a failure raises.  Only the
standard library is needed in the venv.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import random
import subprocess
import sys
import threading
import zlib

VECTORS = pathlib.Path(__file__).resolve().parent.parent / "vectors"
EVP = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256",
       "sha3_512", "blake2b", "blake2s"]
XXH = ["xxh32", "xxh64", "xxh3_64", "xxh3_128"]
XXH_SIZE = {"xxh32": 4, "xxh64": 8, "xxh3_64": 8, "xxh3_128": 16}
# The libraries the wheel carries (sonames' stems).
BUNDLED = ("libcrypto", "libzstd", "liblz4", "libxxhash", "libisal",
           "libdeflate")
# Checksum check values: the CRC catalogue's "123456789" for CRC-32 and
# CRC-32C, and Adler-32 of the same string.
CHECK_VALUES = {"crc32": 0xCBF43926, "crc32c": 0xE3069283,
                "adler32": 0x091E01DE}
BIG = (1 << 20) + 3


def xxh_buffer() -> bytes:
    """The xxHash sanity buffer described in tests/vectors/xxhash_kat.json."""
    spec = json.loads((VECTORS / "xxhash_kat.json").read_text())["buffer"]
    out, gen = bytearray(), spec["prime32"]
    for _ in range(spec["length"]):
        out.append(gen >> 56)
        gen = (gen * spec["prime64"]) % 2**64
    return bytes(out)


def expect(outdir: pathlib.Path) -> None:
    import hashlib

    import crc32c
    import xxhash

    import blake3

    xbuf = xxh_buffer()
    big = random.Random(20).randbytes(BIG)
    (outdir / "data.bin").write_bytes(xbuf + big)
    bigspan = [len(xbuf), len(xbuf) + BIG]
    cases: list[dict[str, object]] = []
    for v in json.loads((VECTORS / "hash_kat.json").read_text())["vectors"]:
        cases.append({"alg": v["alg"], "text": v["msg"],
                      "repeat": v.get("repeat", 1), "hex": v["hex"]})
    for v in json.loads((VECTORS / "xxhash_kat.json").read_text())["vectors"]:
        cases.append({"alg": v["alg"], "span": [0, v["len"]],
                      "seed": v["seed"], "int": v["int"]})
    for alg in EVP:
        cases.append({"alg": alg, "span": bigspan,
                      "hex": hashlib.new(alg, big).hexdigest()})
    for alg in XXH:
        ref = getattr(xxhash, alg)(big, seed=1)
        cases.append({"alg": alg, "span": bigspan, "seed": 1,
                      "int": ref.hexdigest()})
    for text in ("", "abc"):
        cases.append({"alg": "blake3", "text": text, "repeat": 1,
                      "hex": blake3.blake3(text.encode()).hexdigest()})
    cases.append({"alg": "blake3", "span": bigspan,
                  "hex": blake3.blake3(big).hexdigest()})
    sums = {"crc32": zlib.crc32(big), "adler32": zlib.adler32(big),
            "crc32c": crc32c.crc32c(big)}
    (outdir / "expect.json").write_text(json.dumps(
        {"cases": cases, "big": bigspan, "checksums": sums}, indent=1))


def mapped_libraries() -> dict[str, set[str]]:
    """stem -> the paths of that library mapped in this process."""
    found: dict[str, set[str]] = {}
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split(None, 5)[-1].strip()
            name = os.path.basename(path)
            for stem in BUNDLED:
                if name.startswith(stem + "-") or name.startswith(stem + ".so"):
                    found.setdefault(stem, set()).add(path)
    return found


def check(datadir: pathlib.Path) -> None:
    import sysconfig

    import fastconc

    # A free-threaded interpreter (a cp3XYt wheel): importing fastconc left
    # the GIL off (CPython turns it back on, with a warning, for a module
    # that does not declare Py_MOD_GIL_NOT_USED).
    if (sysconfig.get_config_var("Py_GIL_DISABLED")
            and "PYTHON_GIL" not in os.environ):
        assert not sys._is_gil_enabled(), "importing fastconc enabled the GIL"

    here = pathlib.Path(sys.prefix).resolve()
    pkg = pathlib.Path(fastconc.__file__).resolve().parent
    assert here in pkg.parents, f"fastconc from {pkg}, not from the venv {here}"
    libs_dir = pkg.parent / "fastconc.libs"

    # One version everywhere.
    version = importlib.metadata.version("fastconc")
    assert fastconc.__version__ == version, (fastconc.__version__, version)
    assert fastconc._core.__version__ == version
    assert fastconc.info()["version"] == version
    for cmd in ([sys.executable, "-I", "-m", "fastconc", "--version"],
                [os.path.join(os.path.dirname(sys.executable), "fastconc"),
                 "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == f"fastconc {version}", (cmd, out.stdout)

    want = json.loads((datadir / "expect.json").read_text())
    blob = (datadir / "data.bin").read_bytes()

    # Every digest family against known answers, through several paths.
    seen = set()
    for case in want["cases"]:
        alg = case["alg"]
        seen.add(alg)
        if "span" in case:
            a, b = case["span"]
            data = blob[a:b]
        else:
            data = case["text"].encode() * case["repeat"]
        kw = {"seed": case["seed"]} if "seed" in case else {}
        if "int" in case:
            digest = int(case["int"], 16).to_bytes(XXH_SIZE[alg], "big")
            assert fastconc.new(alg, data, **kw).intdigest() == int(case["int"], 16)
        else:
            digest = bytes.fromhex(case["hex"])
        assert fastconc.digest(alg, data, **kw) == digest, (alg, len(data))
        h = fastconc.new(alg, **kw)
        for i in range(0, len(data), 100_003):
            h.update(data[i:i + 100_003])
        assert h.digest() == digest, (alg, len(data), "update")
        assert fastconc.hash_many(alg, [data] * 3, threads=2, **kw) == [digest] * 3
        if alg == "blake3":
            assert fastconc.blake3(data, threads=2).digest() == digest
    missing = set(fastconc.algorithms_available) - seen
    assert not missing, f"no known answer checked for {sorted(missing)}"

    # Checksums: check values, and a large buffer split over 2 threads.
    for name, value in CHECK_VALUES.items():
        assert getattr(fastconc, name)(b"123456789") == value, name
    a, b = want["big"]
    for name, value in want["checksums"].items():
        assert getattr(fastconc, name)(blob[a:b], threads=2) == value, name

    # Every codec, round trip with threads=2 on a buffer large enough to be
    # split, and the stdlib reading the zlib-family output.
    rng = random.Random(7)
    words = [bytes(rng.choices(b"abcdefghij klmnop", k=rng.randint(2, 9)))
             for _ in range(500)]
    data = b" ".join(rng.choices(words, k=2_000_000))[:9 << 20]
    import gzip  # reads every member of a multi-member stream

    readers = {"zlib": zlib.decompress,
               "deflate": lambda c: zlib.decompress(c, -15),
               "gzip": gzip.decompress}
    assert set(fastconc.codecs_available) >= {"zlib", "deflate", "gzip",
                                               "zstd", "lz4"}
    for codec in fastconc.codecs_available:
        packed = fastconc.compress(data, codec, threads=2)
        assert len(packed) < len(data) // 2, codec
        assert fastconc.decompress(packed, codec, threads=2) == data, codec
        if codec in readers:
            assert readers[codec](packed) == data, codec
        small = fastconc.compress(b"hello " * 100, codec)
        assert fastconc.decompress(small, codec) == b"hello " * 100, codec

    # The wheel was built with every backend.
    backends = " ".join(str(v) for v in fastconc.info()["backends"].values())
    assert "isa-l" in backends and "libdeflate" in backends, backends

    # And the libraries in use are the wheel's own copies.
    for stem, paths in mapped_libraries().items():
        for path in paths:
            assert pathlib.Path(path).parent == libs_dir, (stem, path)
    assert set(mapped_libraries()) == set(BUNDLED), mapped_libraries()
    print(f"smoke: fastconc {version} from {pkg}: every check passed")


def side_by_side(order: str) -> None:
    if order == "hashlib-first":
        import _hashlib
        import hashlib
        import ssl

        hashlib.sha256(b"x").digest()
        import fastconc
    elif order == "fastconc-first":
        import fastconc

        fastconc.sha256(b"x").digest()
        import _hashlib
        import hashlib
        import ssl
    else:
        raise SystemExit(f"unknown order {order!r}")
    # hashlib really runs on OpenSSL here, and _ssl works.
    assert hashlib.sha256.__name__ == "openssl_sha256", hashlib.sha256
    assert _hashlib.get_fips_mode() in (0, 1)
    ctx = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert len(ssl.RAND_bytes(16)) == 16

    # Two libcrypto copies in the process: the system's and the wheel's.
    pkg = pathlib.Path(fastconc.__file__).resolve().parent
    crypto = mapped_libraries()["libcrypto"]
    ours = {p for p in crypto if pathlib.Path(p).parent == pkg.parent / "fastconc.libs"}
    assert ours and crypto - ours, f"expected both copies mapped: {crypto}"

    rng = random.Random(3)
    sizes = [0, 1, 63, 64, 65, 1000, 4096, (1 << 20) + 7]
    inputs = [rng.randbytes(n) for n in sizes]
    algs = [a for a in EVP if a in hashlib.algorithms_available]

    def compare(rounds: int) -> None:
        for _ in range(rounds):
            for alg in algs:
                for data in inputs:
                    want = hashlib.new(alg, data).digest()
                    assert fastconc.digest(alg, data) == want, (alg, len(data))
                    h1, h2 = hashlib.new(alg), fastconc.new(alg)
                    for i in range(0, len(data), 777):
                        h1.update(data[i:i + 777])
                        h2.update(data[i:i + 777])
                    assert h1.digest() == h2.digest() == want, (alg, len(data))
                assert fastconc.hash_many(alg, inputs, threads=2) == [
                    hashlib.new(alg, d).digest() for d in inputs], alg

    # Both copies busy at once, from several threads.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            compare(2)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    print(f"side-by-side ({order}): hashlib (system libcrypto) and fastconc "
          f"(its own) agree on {len(algs)} algorithms")


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "expect":
        expect(pathlib.Path(argv[1]))
    elif len(argv) == 2 and argv[0] == "check":
        check(pathlib.Path(argv[1]))
    elif len(argv) == 2 and argv[0] == "side-by-side":
        side_by_side(argv[1])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
