"""Run the test suites of python-xxhash and blake3-py against fastconc.

Each peer's tests come from its sdist on PyPI, fetched at run time with
pip (``pip download --no-deps --no-binary``) for the version of the peer
that is installed, kept in a cache outside the sources (build/borrowed-sdists,
or $FASTCONC_BORROWED_CACHE) and unpacked into a temporary directory: never
copied into this repository.  In front of them, ``import xxhash`` and
``import blake3`` resolve to a thin shim written in that directory: a
module of the peer's layout whose names are fastconc's own objects
(``xxhash.xxh64 is fastconc.xxh64``, ``blake3.blake3 is fastconc.blake3``).
The shim adds only what is no hashing: version strings and python-xxhash's
``algorithms_available`` set.

The tests known to fail, and why each is out of scope, are listed in
EXPECTED below.  The run fails when any other test fails, and also when a
listed test passes (so the list stays true).  When PyPI cannot be reached
the run says so loudly and exits 0: the suites cannot be had, which is not
a fastconc failure.  The last line is JSON with the counts of each suite
(tests/borrowed/test_hash_suites.py holds them to a floor).

    python3 tests/borrowed/run_hash_suites.py [xxhash] [blake3]   # make borrowed-hash
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# test id (pytest's, relative to the sdist's tests/) -> why it fails with
# fastconc and is out of scope.
EXPECTED: dict[str, dict[str, str]] = {
    "xxhash": {
        "test_fastcall.py::TestFastcallErrors::test_unknown_keyword_input":
            "python-xxhash 4 refuses input=, its 3.x name for data; "
            "fastconc accepts both on purpose (issue 23 asks for input=), "
            "so code written for either version works",
    },
    "blake3": {
        "test_blake3.py::test_positional_only_arguments":
            "blake3-py refuses data= by keyword; fastconc accepts it, as "
            "hashlib's constructors do (deliberately lenient, documented)",
        "test_blake3.py::test_context_must_be_str":
            "blake3-py refuses a bytes derive_key_context; fastconc takes "
            "str or bytes (deliberately lenient, documented)",
        "test_blake3.py::test_int_array_fails":
            "blake3-py refuses a buffer whose items are not bytes "
            "(array('i')); fastconc hashes any C-contiguous buffer's bytes, "
            "as hashlib does (deliberately lenient, documented)",
    },
}

# Files not run at all, and why.
SKIPPED_FILES: dict[str, dict[str, str]] = {
    "xxhash": {
        "test_interpreters.py":
            "sub-interpreters: fastconc declares them unsupported (its "
            "pool threads use PyGILState, which serves the main "
            "interpreter only)",
        "test_stubs_pyright.py":
            "type-checks python-xxhash's own .pyi with pyright in its "
            "source tree; fastconc's stubs are checked by mypy.stubtest",
    },
    "blake3": {},
}

XXHASH_SHIM = '''\
"""python-xxhash's module layout over fastconc (tests/borrowed)."""
import fastconc
from fastconc import (
    xxh32, xxh32_digest, xxh32_hexdigest, xxh32_intdigest,
    xxh64, xxh64_digest, xxh64_hexdigest, xxh64_intdigest,
    xxh3_64, xxh3_64_digest, xxh3_64_hexdigest, xxh3_64_intdigest,
    xxh3_128, xxh3_128_digest, xxh3_128_hexdigest, xxh3_128_intdigest,
    xxh128, xxh128_digest, xxh128_hexdigest, xxh128_intdigest,
)

VERSION = fastconc.__version__
XXHASH_VERSION = fastconc.info()["backends"]["xxh64"].split()[1]
algorithms_available = {"xxh32", "xxh64", "xxh3_64", "xxh128", "xxh3_128"}
algorithms_guaranteed = algorithms_available
'''

BLAKE3_SHIM = '''\
"""blake3-py's module layout over fastconc (tests/borrowed)."""
import fastconc
from fastconc import blake3

__version__ = fastconc.__version__
'''

# blake3-py is built by maturin, which cannot say its metadata without
# fetching Rust crates (no network here but PyPI): pip downloads the sdist
# with this stand-in for the build backend, which only names the package.
# Nothing is built from the sdist; only its tests are read.
STUB_BACKEND = '''\
import os


def prepare_metadata_for_build_wheel(metadata_directory,
                                     config_settings=None):
    name = "{name}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, name))
    with open(os.path.join(metadata_directory, name, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\\nName: {name}\\n"
                "Version: {version}\\n")
    return name
'''


def cache_dir() -> str:
    return os.environ.get("FASTCONC_BORROWED_CACHE") or os.path.join(
        ROOT, "build", "borrowed-sdists")


def download_sdist(peer: str, version: str) -> str | None:
    """The path of the peer's sdist in the cache, downloaded with pip when
    missing; None when pip could not get it."""
    cache = cache_dir()
    tarball = os.path.join(cache, f"{peer}-{version}.tar.gz")
    if os.path.exists(tarball):
        return tarball
    os.makedirs(cache, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fastconc-sdist-{peer}-") as d:
        env = dict(os.environ)
        if peer == "blake3":
            stub = os.path.join(d, "stub-backend")
            os.makedirs(os.path.join(stub, "maturin"))
            with open(os.path.join(stub, "maturin", "__init__.py"),
                      "w") as f:
                f.write(STUB_BACKEND.format(name=peer, version=version))
            env["PYTHONPATH"] = stub
        out = os.path.join(d, "out")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--no-binary", ":all:", "--disable-pip-version-check",
               "-d", out, f"{peer}=={version}"]
        # The installed build tools first (seconds); pip's isolated build
        # environment (setuptools fetched from PyPI) when they do not do.
        log = ""
        for isolation in ([] if peer == "blake3" else [True]) + [False]:
            extra = [] if isolation else ["--no-build-isolation"]
            proc = subprocess.run([*cmd[:4], *extra, *cmd[4:]],
                                  capture_output=True, text=True, env=env,
                                  timeout=600, check=False)
            log += proc.stdout[-2000:] + proc.stderr[-2000:]
            got = [n for n in os.listdir(out)] if os.path.isdir(out) else []
            if proc.returncode == 0 and got:
                os.replace(os.path.join(out, got[0]), tarball + ".part")
                os.replace(tarball + ".part", tarball)
                return tarball
        sys.stderr.write(log)
    return None


def unpack_tests(tarball: str, dest: str) -> str:
    """The sdist's tests/ directory, unpacked under dest."""
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers()
                   if "/tests/" in m.name and m.isfile()
                   and not m.name.startswith("/") and ".." not in m.name]
        tar.extractall(dest, members=members)  # noqa: S202 - checked above
    top = {m.name.split("/")[0] for m in members}
    if len(top) != 1:
        raise RuntimeError(f"{tarball}: no single top directory with tests/")
    return os.path.join(dest, top.pop(), "tests")


def run_suite(peer: str, keep: bool, counts: dict[str, object]) -> int:
    try:
        version = importlib.metadata.version(peer)
    except importlib.metadata.PackageNotFoundError:
        print(f"==== {peer}: SKIPPED LOUDLY: {peer} is not installed, so no "
              "version to fetch the tests of (pip install fastconc[peers])")
        counts[peer] = "skipped: not installed"
        return 0
    tarball = download_sdist(peer, version)
    if tarball is None:
        print(f"==== {peer}: SKIPPED LOUDLY: could not download the {peer} "
              f"{version} sdist from PyPI (see above); its suite did not run")
        counts[peer] = "skipped: no sdist"
        return 0
    tmp = tempfile.mkdtemp(prefix=f"fastconc-borrowed-{peer}-")
    tests = unpack_tests(tarball, tmp)
    shim = os.path.join(tmp, "shim", peer)
    os.makedirs(shim)
    with open(os.path.join(shim, "__init__.py"), "w") as f:
        f.write(XXHASH_SHIM if peer == "xxhash" else BLAKE3_SHIM)
    report = os.path.join(tmp, "report.xml")
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([os.path.dirname(shim), ROOT]),
               PYTHONDONTWRITEBYTECODE="1")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "no:randomly", "--rootdir", tests, "-o", "addopts=",
            "-W", "ignore::pytest.PytestUnknownMarkWarning",
            f"--junitxml={report}"]
    if importlib.util.find_spec("pytest_benchmark") is not None:
        # python-xxhash's benchmark tests: each body once, not timed.
        args.append("--benchmark-disable")
    for name in SKIPPED_FILES[peer]:
        args += ["--ignore", os.path.join(tests, name)]
    print(f"==== {peer} {version}: its own tests against fastconc "
          f"(shim: {shim})", flush=True)
    proc = subprocess.run([*args, tests], cwd=tests, env=env, check=False,
                          capture_output=True, text=True, timeout=3000)
    if not os.path.exists(report):
        print(proc.stdout[-6000:])
        print(proc.stderr[-3000:])
        counts[peer] = "error: no report"
        return 1
    failed, passed, skipped = parse_junit(report)
    counts[peer] = {"version": version, "passed": passed,
                    "failed": len(failed), "skipped": skipped}
    expected = EXPECTED[peer]
    unexpected = sorted(set(failed) - set(expected))
    now_passing = sorted(set(expected) - set(failed))
    print(f"{peer}: {passed} passed, {len(failed)} failed, {skipped} skipped")
    for name, why in SKIPPED_FILES[peer].items():
        print(f"  not run: {name}: {why}")
    for name in sorted(failed):
        why = expected.get(name, "UNEXPECTED")
        print(f"  failed: {name}: {why}")
    rc = 0
    if unexpected or proc.returncode not in (0, 1):
        print(proc.stdout[-6000:])
        print(proc.stderr[-3000:])
        rc = 1
    if now_passing:
        print(f"  listed as failing but passed (update EXPECTED): "
              f"{now_passing}")
        rc = 1
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


def parse_junit(path: str) -> tuple[list[str], int, int]:
    """(failed test ids, passed count, skipped count) from pytest's junit
    XML."""
    import xml.etree.ElementTree as ET
    failed: list[str] = []
    passed = skipped = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname", "")
        parts = cls.split(".")
        # classname: "test_file" or "test_file.Class"
        mod = parts[0] + ".py"
        test_id = "::".join([mod, *parts[1:], case.get("name", "")])
        if case.find("failure") is not None or \
                case.find("error") is not None:
            failed.append(test_id)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return failed, passed, skipped


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("peers", nargs="*", help="xxhash, blake3 (default: both)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    opts = ap.parse_args()
    rc = 0
    counts: dict[str, object] = {}
    for peer in opts.peers or ["xxhash", "blake3"]:
        if peer not in EXPECTED:
            ap.error(f"unknown suite {peer!r}")
        rc |= run_suite(peer, opts.keep, counts)
    print(json.dumps({"borrowed_suites": "failed" if rc else "ok",
                      "counts": counts}))
    return rc


if __name__ == "__main__":
    sys.exit(main())
