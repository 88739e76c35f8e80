"""Published known-answer vectors (NIST SHA-1/SHA-2/SHA-3, RFC 1321 MD5,
RFC 7693 BLAKE2, the xxHash project's sanity values) through every entry
point, and for xxHash through every SIMD path this CPU can run."""
import json
import pathlib

import pytest

import fastconc

VEC = pathlib.Path(__file__).parent / "vectors"
HASH_KAT = json.loads((VEC / "hash_kat.json").read_text())["vectors"]
XXH = json.loads((VEC / "xxhash_kat.json").read_text())


def _msg(v):
    return v["msg"].encode() * v.get("repeat", 1)


def _xxh_buffer():
    b = XXH["buffer"]
    out, gen = bytearray(), b["prime32"]
    for _ in range(b["length"]):
        out.append(gen >> 56)
        gen = (gen * b["prime64"]) % 2**64
    return bytes(out)


XBUF = _xxh_buffer()


def _ids(v):
    return f"{v['alg']}-{len(_msg(v)) if 'msg' in v else v['len']}"


@pytest.mark.parametrize("v", HASH_KAT, ids=_ids)
def test_evp_vectors(v, tmp_path):
    msg, want = _msg(v), bytes.fromhex(v["hex"])
    assert fastconc.new(v["alg"], msg).digest() == want
    assert getattr(fastconc, v["alg"])(msg).hexdigest() == v["hex"]
    assert fastconc.digest(v["alg"], msg) == want
    assert fastconc.digest(v["alg"], msg, release_gil=False) == want
    assert fastconc.hash_many(v["alg"], [msg, msg]) == [want, want]
    h = fastconc.new(v["alg"])
    for i in range(0, len(msg), 7):
        h.update(msg[i:i + 7])
    assert h.digest() == want
    p = tmp_path / "f"
    p.write_bytes(msg)
    assert fastconc.hash_file(v["alg"], p) == want
    assert fastconc.hash_files(v["alg"], [p, str(p)]) == [want, want]


@pytest.mark.parametrize("v", XXH["vectors"], ids=_ids)
def test_xxhash_vectors(v, simd_level):
    data = XBUF[:v["len"]]
    want_int = int(v["int"], 16)
    size = {"xxh32": 4, "xxh64": 8, "xxh3_64": 8, "xxh3_128": 16}[v["alg"]]
    want = want_int.to_bytes(size, "big")
    seed = v["seed"]
    h = fastconc.new(v["alg"], data, seed=seed)
    assert h.intdigest() == want_int
    assert h.digest() == want
    assert getattr(fastconc, v["alg"])(data, seed).digest() == want
    assert fastconc.digest(v["alg"], data, seed=seed) == want
    assert fastconc.hash_many(v["alg"], [data], seed=seed) == [want]
    s = fastconc.new(v["alg"], seed=seed)
    for i in range(0, len(data), 13):
        s.update(data[i:i + 13])
    assert s.intdigest() == want_int
