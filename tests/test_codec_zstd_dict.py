"""zstd dictionaries: train_zstd_dict() on small JSON records, ZstdDict,
and zstd_dict= on every zstd entry point (one-shot, batch, streams;
open() passes it through: tests/test_open_wiring.py), checked
against the zstd command and zstandard both ways."""
import json
import pickle
import random
import shutil
import subprocess
import threading

import pytest

import fastconc

try:
    import zstandard
except ImportError:     # a test extra; without it only its checks skip
    zstandard = None
needs_zstandard = pytest.mark.skipif(zstandard is None,
                                     reason="zstandard not installed")

FIRST = ["Ana", "Bilal", "Chiara", "Dmitri", "Esther", "Fatou", "Goran",
         "Hiroshi", "Ines", "Jakub", "Kwame", "Lucia", "Mateo", "Nadia"]
LAST = ["Okafor", "Petrov", "Quispe", "Rossi", "Sato", "Tanaka", "Usman",
        "Varga", "Weber", "Xu", "Yilmaz", "Zhou"]
CITIES = ["Accra", "Bergen", "Cusco", "Dakar", "Essen", "Fukuoka", "Graz",
          "Hanoi", "Izmir", "Jaipur"]
EVENTS = ["login", "logout", "purchase", "refund", "view", "search",
          "add_to_cart", "password_reset"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (iPhone; CPU "
          "iPhone OS 17_0 like Mac OS X)", "curl/8.5.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"]


def record(rnd: random.Random, i: int) -> bytes:
    """One event of a web shop's log, as an API would return it: the same
    keys, varied values (some records carry optional fields)."""
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    rec = {
        "id": 100000 + i,
        "event": rnd.choice(EVENTS),
        "ts": f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T"
              f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:"
              f"{rnd.randint(0, 59):02d}.{rnd.randint(0, 999):03d}Z",
        "user": {"name": f"{first} {last}",
                 "email": f"{first.lower()}.{last.lower()}"
                          f"{rnd.randint(1, 999)}@example.org",
                 "tier": rnd.choice(["free", "plus", "pro"])},
        "geo": {"city": rnd.choice(CITIES),
                "lat": round(rnd.uniform(-60, 70), 4),
                "lon": round(rnd.uniform(-180, 180), 4)},
        "session": "%032x" % rnd.getrandbits(128),
        "agent": rnd.choice(AGENTS),
    }
    if rec["event"] in ("purchase", "refund", "add_to_cart"):
        rec["cart"] = [{"sku": f"SKU-{rnd.randint(1000, 9999)}",
                        "qty": rnd.randint(1, 5),
                        "price": round(rnd.uniform(1, 300), 2)}
                       for _ in range(rnd.randint(1, 4))]
    if rnd.random() < 0.3:
        rec["referrer"] = rnd.choice(["https://search.example/?q=shoes",
                                      "https://news.example/article/42",
                                      None])
    return json.dumps(rec, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def records():
    rnd = random.Random(20240601)
    train = [record(rnd, i) for i in range(3000)]
    test = [record(rnd, i) for i in range(3000, 4000)]
    return train, test


@pytest.fixture(scope="module")
def zdict(records):
    return fastconc.train_zstd_dict(records[0], 16 << 10)


def test_dictionary_makes_small_records_smaller(records, zdict):
    _, test = records
    raw = sum(map(len, test))
    plain = sum(map(len, fastconc.compress_many(test, "zstd")))
    with_dict = sum(map(len, fastconc.compress_many(test, "zstd",
                                                    zstd_dict=zdict)))
    print(f"\n{len(test)} JSON records, {raw} bytes: zstd-3 {plain} bytes "
          f"without a dictionary, {with_dict} with a "
          f"{len(zdict)}-byte one ({plain / with_dict:.2f}x smaller)")
    assert with_dict < plain * 0.6
    # Each record on its own too (not only the sum).
    smaller = sum(len(fastconc.compress(r, zstd_dict=zdict)) <
                  len(fastconc.compress(r)) for r in test)
    assert smaller > len(test) * 0.95


def test_zstd_dict_object(zdict):
    assert 1000 < len(zdict) <= 16 << 10
    assert zdict.dict_id != 0 and not zdict.is_raw
    if zstandard is not None:
        assert zdict.dict_id == zstandard.ZstdCompressionDict(
            zdict.dict_content).dict_id()
    assert f"dict_id={zdict.dict_id}" in repr(zdict)
    again = fastconc.ZstdDict(zdict.dict_content)
    assert again.dict_id == zdict.dict_id
    assert again.dict_content == zdict.dict_content
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(zdict)
    with pytest.raises(ValueError, match="not a zstd dictionary"):
        fastconc.ZstdDict(b"just some bytes")
    with pytest.raises(ValueError):
        fastconc.ZstdDict(zdict.dict_content[:12])     # tables cut short
    with pytest.raises(TypeError):
        fastconc.ZstdDict("text")
    with pytest.raises(ValueError, match="empty"):
        fastconc.ZstdDict(b"", is_raw=True)


def _entry_points(d):
    """compress/decompress pairs through every zstd entry point."""
    def stream_c(data):
        c = fastconc.Compressor("zstd", zstd_dict=d)
        return c.compress(data) + c.flush()

    def stream_c_mt(data):
        c = fastconc.Compressor("zstd", 19, threads=2, zstd_dict=d)
        return c.compress(data) + c.flush()

    def stream_d(data):
        dec = fastconc.Decompressor(zstd_dict=d)
        out = dec.decompress(data)
        assert dec.eof
        return out

    return {
        "oneshot": (lambda b: fastconc.compress(b, zstd_dict=d),
                    lambda b: fastconc.decompress(b, zstd_dict=d)),
        "oneshot threads": (
            lambda b: fastconc.compress(b, "zstd", 1, threads=2,
                                        zstd_dict=d),
            lambda b: fastconc.decompress(b, "zstd", threads=2,
                                          zstd_dict=d)),
        "slow level": (lambda b: fastconc.compress(b, "zstd", 12,
                                                   zstd_dict=d),
                       lambda b: fastconc.decompress(b, zstd_dict=d)),
        "batch": (lambda b: fastconc.compress_many([b], zstd_dict=d)[0],
                  lambda b: fastconc.decompress_many([b], zstd_dict=d)[0]),
        "stream": (stream_c, stream_d),
        "stream mt": (stream_c_mt, stream_d),
    }


@pytest.mark.parametrize("as_bytes", [False, True])
def test_round_trip_every_entry_point(records, zdict, as_bytes):
    d = zdict.dict_content if as_bytes else zdict
    _, test = records
    one = test[7]
    many = b"\n".join(test)          # several frames with threads
    zd = zstandard and zstandard.ZstdDecompressor(
        dict_data=zstandard.ZstdCompressionDict(zdict.dict_content))
    for name, (comp, decomp) in _entry_points(d).items():
        for data in (one, many, b""):
            packed = comp(data)
            assert decomp(packed) == data, name
            # Every frame says which dictionary it needs.
            if data and zstandard is not None:
                assert zstandard.get_frame_parameters(
                    packed).dict_id == zdict.dict_id, name
                with zd.stream_reader(packed,
                                      read_across_frames=True) as r:
                    assert r.read() == data, name
    # Mixed items: the dictionary serves the zstd ones, the others
    # ignore it.
    items = [fastconc.compress(one, zstd_dict=d),
             fastconc.compress(one, "gzip"),
             fastconc.compress(one, "lz4")]
    assert fastconc.decompress_many(items, zstd_dict=d) == [one] * 3
    assert fastconc.decompress(items[1], zstd_dict=d) == one


@needs_zstandard
def test_zstandard_both_ways(records, zdict):
    train, test = records
    zc = zstandard.ZstdCompressor(
        level=5, dict_data=zstandard.ZstdCompressionDict(zdict.dict_content))
    for r in test[:50]:
        assert fastconc.decompress(zc.compress(r), zstd_dict=zdict) == r
    # A dictionary trained by zstandard serves fastconc.
    theirs = zstandard.train_dictionary(8 << 10, train)
    for r in test[:50]:
        packed = fastconc.compress(r, zstd_dict=theirs.as_bytes())
        dctx = zstandard.ZstdDecompressor(dict_data=theirs)
        assert dctx.decompress(packed) == r


@pytest.mark.skipif(shutil.which("zstd") is None, reason="no zstd command")
def test_zstd_command_both_ways(records, zdict, tmp_path):
    _, test = records
    dpath = tmp_path / "dict"
    dpath.write_bytes(zdict.dict_content)
    data = b"\n".join(test[:200])
    ours = fastconc.compress(data, zstd_dict=zdict)
    p = subprocess.run(["zstd", "-dc", "-D", str(dpath)], input=ours,
                       capture_output=True)
    assert p.returncode == 0 and p.stdout == data
    p = subprocess.run(["zstd", "-c", "-19", "-D", str(dpath)], input=data,
                       capture_output=True)
    assert p.returncode == 0
    assert fastconc.decompress(p.stdout, zstd_dict=zdict) == data
    # The zstd tool's trainer makes dictionaries fastconc reads.
    sdir = tmp_path / "samples"
    sdir.mkdir()
    for i, r in enumerate(test):
        (sdir / f"{i}.json").write_bytes(r)
    tpath = tmp_path / "trained"
    p = subprocess.run(["zstd", "--train", "-q", "-r", str(sdir), "-o",
                        str(tpath), "--maxdict=8192"], capture_output=True)
    assert p.returncode == 0, p.stderr
    theirs = fastconc.ZstdDict(tpath.read_bytes())
    assert fastconc.decompress(fastconc.compress(data, zstd_dict=theirs),
                               zstd_dict=theirs) == data


def test_wrong_or_missing_dictionary(records, zdict):
    train, test = records
    other = fastconc.train_zstd_dict(train[::-1][:1500], 4096)
    packed = fastconc.compress(test[0], zstd_dict=zdict)
    for d in (None, other):
        with pytest.raises(fastconc.DecompressionError,
                           match="dictionary") as info:
            fastconc.decompress(packed, zstd_dict=d)
        assert "zstd" in str(info.value) and "offset" in str(info.value)
        with pytest.raises(fastconc.DecompressionError, match="dictionary"):
            fastconc.Decompressor(zstd_dict=d).decompress(packed)
        with pytest.raises(fastconc.DecompressionError, match="dictionary"):
            fastconc.decompress_many([packed], zstd_dict=d)


def test_raw_content_dictionary(records):
    _, test = records
    raw = fastconc.ZstdDict(b"".join(test[:40]), is_raw=True)
    assert raw.is_raw and raw.dict_id == 0
    packed = fastconc.compress(test[50], zstd_dict=raw)
    assert fastconc.decompress(packed, zstd_dict=raw) == test[50]
    assert len(packed) < len(fastconc.compress(test[50]))
    # zstandard's raw-content dictionary of the same bytes, both ways.
    if zstandard is None:
        return
    theirs = zstandard.ZstdCompressionDict(
        raw.dict_content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    assert zstandard.ZstdDecompressor(dict_data=theirs).decompress(
        packed) == test[50]
    packed = zstandard.ZstdCompressor(dict_data=theirs).compress(test[51])
    assert fastconc.decompress(packed, zstd_dict=raw) == test[51]
    for call in (fastconc.Compressor, fastconc.Decompressor):
        assert call("zstd", zstd_dict=raw) is not None
    c = fastconc.Compressor("zstd", zstd_dict=raw)
    packed = c.compress(test[52]) + c.flush()
    d = fastconc.Decompressor("zstd", zstd_dict=raw)
    assert d.decompress(packed) == test[52] and d.eof
    assert fastconc.decompress_many(
        fastconc.compress_many(test[:20], zstd_dict=raw),
        zstd_dict=raw) == test[:20]


def test_argument_errors(zdict):
    for codec in ("gzip", "zlib", "deflate", "lz4"):
        with pytest.raises(ValueError, match="zstd_dict"):
            fastconc.compress(b"a", codec, zstd_dict=zdict)
        with pytest.raises(ValueError, match="zstd_dict"):
            fastconc.compress_many([b"a"], codec, zstd_dict=zdict)
        with pytest.raises(ValueError, match="zstd_dict"):
            fastconc.decompress(fastconc.compress(b"a", codec), codec,
                                zstd_dict=zdict)
        with pytest.raises(ValueError, match="zstd_dict"):
            fastconc.Compressor(codec, zstd_dict=zdict)
        with pytest.raises(ValueError, match="zstd_dict"):
            fastconc.Decompressor(codec, zstd_dict=zdict)
    for bad in (3, "text", [b"x"]):
        with pytest.raises(TypeError, match="zstd_dict"):
            fastconc.compress(b"a", zstd_dict=bad)
    with pytest.raises(ValueError, match="not a zstd dictionary"):
        fastconc.decompress(fastconc.compress(b"a"), zstd_dict=b"junk")


def test_training_errors(records):
    train, _ = records
    for few in ([], [b"x"], [b"a" * 100] * 3, train[:5]):
        with pytest.raises(ValueError, match="sample"):
            fastconc.train_zstd_dict(few, 4096)
    with pytest.raises(ValueError, match="size"):
        fastconc.train_zstd_dict(train, 100)
    with pytest.raises(TypeError):
        fastconc.train_zstd_dict(train, "4096")
    with pytest.raises(TypeError):
        fastconc.train_zstd_dict(["text"] * 1000, 4096)
    with pytest.raises(TypeError):
        fastconc.train_zstd_dict(train)


def test_one_dictionary_shared_by_threads(records, zdict):
    # Eight threads compress with the one object at different levels at
    # once: each level's digested form is made once and shared.
    _, test = records
    d = fastconc.ZstdDict(zdict.dict_content)
    barrier = threading.Barrier(8)
    errors = []

    def work(k):
        try:
            barrier.wait()
            level = (1, 3, 9, -3)[k % 4]
            for r in test[k::8][:60]:
                packed = fastconc.compress(r, "zstd", level, zstd_dict=d)
                assert fastconc.decompress(packed, zstd_dict=d) == r
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
