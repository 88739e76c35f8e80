import os
import random

import pytest

import fastconc


@pytest.fixture
def rng():
    return random.Random(int(os.environ.get("FASTCONC_TEST_SEED", "1234")))


@pytest.fixture(params=fastconc._core._simd_levels())
def simd_level(request):
    """Run a test once per SIMD level this CPU can run (down to portable)."""
    old = fastconc._core._get_simd_level()
    fastconc._core._set_simd_level(request.param)
    try:
        yield request.param
    finally:
        fastconc._core._set_simd_level(old)


@pytest.fixture
def simd_portable():
    """Pin the portable kernels (slow, for tests that need long calls)."""
    old = fastconc._core._get_simd_level()
    fastconc._core._set_simd_level("portable")
    try:
        yield
    finally:
        fastconc._core._set_simd_level(old)
