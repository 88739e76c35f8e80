"""simd/dispatch.c's choice for a given CPU, through the private
_core._simd_pick(features, level) (which changes nothing): each kernel is
chosen only where the CPU has every instruction set its file was compiled
for."""
import pytest

import fastconc

pick = fastconc._core._simd_pick

# An AVX-512 server's features (everything the probe knows).
ALL = ["sse2", "ssse3", "sse4.1", "sse4.2", "pclmulqdq", "avx", "avx2",
       "bmi2", "avx512f", "avx512bw", "avx512vl", "vpclmulqdq", "sha",
       "vaes", "avx512vnni"]
# setup.py compiles every *_avx2, *_vpclmul and *_avx512* file with -mbmi2.
WIDE = ("avx2", "avx512", "vpclmul")


def _wide(choice):
    return [f"{k}={v}" for k, v in choice.items()
            if isinstance(v, str) and any(w in v for w in WIDE)]


@pytest.mark.parametrize("level", ["avx2", "avx512"])
def test_wide_kernels_with_every_feature(level):
    choice = pick(ALL, level)
    assert choice["xxh"] == level
    assert choice["blake3"].startswith(level)
    assert choice["adler32"].startswith(level)
    assert "vpclmul" in choice["crc32"]


@pytest.mark.parametrize("level", ["avx2", "avx512"])
def test_no_bmi2_no_wide_kernel(level):
    # AVX2 without BMI2 exists (some virtual CPUs mask it): a kernel built
    # with -mbmi2 could fault there with an illegal instruction.
    choice = pick([f for f in ALL if f != "bmi2"], level)
    assert _wide(choice) == []
    assert choice["xxh"] == "sse2"
    assert choice["crc32"].startswith("pclmul")


def test_portable_and_bad_arguments():
    assert _wide(pick([], "portable")) == []
    assert pick([], "portable")["sha256_pair"] is False
    with pytest.raises(ValueError):
        pick(["bmi3"], "avx2")
    with pytest.raises(ValueError):
        pick(ALL, "avx1024")
    with pytest.raises(TypeError):
        pick([1], "avx2")
