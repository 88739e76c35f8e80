"""Run every atheris harness in tests/fuzz for a set time.

    python tests/fuzz/run.py [--seconds 60] [--jobs 2] [--merge] [NAME ...]
    python tests/fuzz/run.py --merge-only [NAME ...]

NAME is a harness without ``fuzz_`` and ``.py`` (default: all).  Each runs in
its own process.  With clang on the PATH the extension is first built with
``-fsanitize=fuzzer-no-link`` in build/fuzz/tree (the in-place .so is left
alone), so that libFuzzer is guided by the C code's coverage as well as by
fastconc's Python code (see _common.py); without clang, or with
--no-native, the harnesses use the in-place build and see Python coverage
only.

Corpus: libFuzzer writes what it finds to build/fuzz/<name>/corpus (seeded
by the harness itself on the first run) and also reads the corpus kept in
the repository, tests/fuzz/corpus/<name>/.  --merge (make fuzz) then folds
the inputs that add coverage into the repository's corpus with libFuzzer's
-merge=1, keeping only files up to MERGE_MAX_LEN bytes and each harness's
corpus under CORPUS_CAP bytes (smallest first); commit what it adds.  The
unit suite replays the repository corpus (tests/test_reliability_fuzz.py).

Crash files go to build/fuzz/<name>/.  A harness whose API is not in the
build skips with a message; without atheris (wheels for CPython 3.9-3.13 on
x86-64 Linux only) the whole run skips.  Exit status 1 when any harness
found a failure; copy its crash file into tests/fuzz/regressions/<name>/
(named after the defect) so the unit suite replays it from then on.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REPO_CORPUS = os.path.join(HERE, "corpus")
# Inputs kept in the repository's corpus: at most this long, and per
# harness at most CORPUS_CAP bytes in all (about 10 harnesses: ~3 MB).
MERGE_MAX_LEN = 8192
CORPUS_CAP = 300_000


def harnesses() -> list[str]:
    return sorted(os.path.basename(p)[5:-3]
                  for p in glob.glob(os.path.join(HERE, "fuzz_*.py")))


def build_native(out_dir: str) -> str | None:
    """Build the extension with clang's fuzzer instrumentation in
    out_dir/tree; returns the tree, or None (with the reason printed)."""
    clang = shutil.which("clang")
    if clang is None:
        print("fuzz: no clang: the harnesses see fastconc's Python coverage "
              "only (apt-get install clang for the C code's)")
        return None
    tree = os.path.join(out_dir, "tree")
    os.makedirs(tree, exist_ok=True)
    # Fresh copies of the sources with their times kept, so that an
    # unchanged file is not compiled again.
    for name in ("src", "fastconc"):
        keep = glob.glob(os.path.join(tree, "fastconc", "*.so")) if name == "fastconc" else []
        saved = {p: open(p, "rb").read() for p in keep}
        shutil.rmtree(os.path.join(tree, name), ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, name), os.path.join(tree, name),
                        ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        for p, blob in saved.items():
            with open(p, "wb") as f:
                f.write(blob)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(os.path.join(ROOT, name), tree)
    env = dict(os.environ, CC=clang, LDSHARED=f"{clang} -shared",
               FASTCONC_WERROR="0",
               FASTCONC_CFLAGS="-fsanitize=fuzzer-no-link -g")
    log = os.path.join(out_dir, "build.log")
    t0 = time.monotonic()
    with open(log, "wb") as f:
        rc = subprocess.call([sys.executable, "setup.py", "-q", "build_ext",
                              "--inplace"], cwd=tree, stdout=f,
                             stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        with open(log, "rb") as f:
            tail = f.read().decode("utf-8", "replace").splitlines()[-20:]
        print("fuzz: the instrumented build failed (log " + log + "):\n  " +
              "\n  ".join(tail) + "\nfuzz: going on with Python coverage only")
        return None
    # The harnesses load atheris' libFuzzer first, then the extension
    # (_common.import_fastconc): check that this works here.
    probe = ("import os, sys\n"
             "f = sys.getdlopenflags()\n"
             "sys.setdlopenflags(f | os.RTLD_GLOBAL)\n"
             "import atheris.core_with_libfuzzer\n"
             "sys.setdlopenflags(f)\n"
             "import fastconc\n"
             "assert fastconc.__file__.startswith(sys.argv[1]), fastconc.__file__\n")
    r = subprocess.run([sys.executable, "-c", probe, tree], cwd=tree,
                       env=dict(os.environ, PYTHONPATH=tree),
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("fuzz: the instrumented build does not load with atheris' "
              "libFuzzer:\n  " + "\n  ".join(r.stderr.splitlines()[-5:]) +
              "\nfuzz: going on with Python coverage only")
        return None
    print(f"fuzz: instrumented build in {tree} "
          f"({time.monotonic() - t0:.0f} s)")
    return tree


def wrapper(name: str, out_dir: str) -> str:
    """A shell script that starts the harness with this Python: what
    libFuzzer runs as argv[0] when it starts a child (-merge)."""
    path = os.path.join(out_dir, name, "harness.sh")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec '{sys.executable}' "
                f"'{os.path.join(HERE, f'fuzz_{name}.py')}' \"$@\"\n")
    os.chmod(path, 0o755)
    return path


def harness_env(tree: str | None, name: str = "",
                out_dir: str = "") -> dict[str, str]:
    env = dict(os.environ)
    if name:
        env["FASTCONC_FUZZ_ARGV0"] = wrapper(name, out_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (tree or ROOT, env.get("PYTHONPATH", "")) if p)
    if tree:
        env["FASTCONC_FUZZ_NATIVE"] = "1"
    else:
        env.pop("FASTCONC_FUZZ_NATIVE", None)
    return env


def start(name: str, seconds: int, out_dir: str,
          tree: str | None) -> tuple[subprocess.Popen[bytes], str]:
    work = os.path.join(out_dir, name)
    corpus = os.path.join(work, "corpus")
    os.makedirs(corpus, exist_ok=True)
    kept = os.path.join(REPO_CORPUS, name)
    log = os.path.join(work, "log")
    cmd = [sys.executable, os.path.join(HERE, f"fuzz_{name}.py"),
           "--seeds", corpus,
           f"-max_total_time={seconds}", "-timeout=60", "-rss_limit_mb=4096",
           "-max_len=20000", "-print_final_stats=1",
           f"-artifact_prefix={work}{os.sep}", corpus]
    if os.path.isdir(kept):
        cmd.append(kept)
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                env=harness_env(tree))
    return proc, log


def summary(text: str) -> str:
    """Executions, rate and coverage from libFuzzer's final lines."""
    runs = re.findall(r"^Done (\d+) runs in (\d+) second", text, re.M)
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    if not runs:
        return "finished"
    n, secs = int(runs[-1][0]), max(int(runs[-1][1]), 1)
    out = f"{n} execs in {secs} s ({n / secs:.0f}/s)"
    if cov:
        out += f", cov {cov[-1][0]} ft {cov[-1][1]} corpus {cov[-1][2]}"
    return out


def cap_corpus(path: str) -> None:
    """Keep the smallest files up to CORPUS_CAP bytes in all."""
    files = sorted((os.path.getsize(os.path.join(path, f)), f)
                   for f in os.listdir(path))
    total = 0
    for size, f in files:
        total += size
        if total > CORPUS_CAP:
            os.remove(os.path.join(path, f))


def merge(name: str, out_dir: str, tree: str | None) -> str:
    """Fold build/fuzz/<name>/corpus into tests/fuzz/corpus/<name>."""
    found = os.path.join(out_dir, name, "corpus")
    kept = os.path.join(REPO_CORPUS, name)
    os.makedirs(kept, exist_ok=True)
    if not os.path.isdir(found):
        return "nothing to merge"
    before = len(os.listdir(kept))
    log = os.path.join(out_dir, name, "merge.log")
    cmd = [sys.executable, os.path.join(HERE, f"fuzz_{name}.py"),
           "-merge=1", f"-max_len={MERGE_MAX_LEN}", "-timeout=60",
           "-rss_limit_mb=4096", kept, found]
    with open(log, "wb") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT,
                             env=harness_env(tree, name, out_dir))
    if rc != 0:
        return f"merge FAILED (exit {rc}), log {log}"
    # libFuzzer names merged files by their SHA-1; drop what is too long
    # (-max_len only cuts what the fuzzer reads) and keep under the cap.
    for f in os.listdir(kept):
        if os.path.getsize(os.path.join(kept, f)) > MERGE_MAX_LEN:
            os.remove(os.path.join(kept, f))
    cap_corpus(kept)
    files = os.listdir(kept)
    size = sum(os.path.getsize(os.path.join(kept, f)) for f in files)
    return f"corpus {before} -> {len(files)} files ({size} bytes)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "fuzz"))
    ap.add_argument("--no-native", action="store_true",
                    help="use the in-place build (Python coverage only)")
    ap.add_argument("--merge", action="store_true",
                    help="then fold new coverage into tests/fuzz/corpus")
    ap.add_argument("--merge-only", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz: skipped: atheris is not installed (wheels exist for "
              "CPython 3.9-3.13 on x86-64 Linux)")
        return 0
    names = args.names or harnesses()
    os.makedirs(args.out, exist_ok=True)
    tree = None if args.no_native else build_native(args.out)
    if args.merge_only:
        for name in names:
            print(f"fuzz {name:<10} {merge(name, args.out, tree)}")
        return 0
    pending = list(names)
    running: dict[str, tuple[subprocess.Popen[bytes], str, float]] = {}
    results: dict[str, str] = {}
    failed = False
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            proc, log = start(name, args.seconds, args.out, tree)
            running[name] = (proc, log, time.monotonic())
        time.sleep(0.5)
        for name, (proc, log, t0) in list(running.items()):
            rc = proc.poll()
            if rc is None and time.monotonic() - t0 > args.seconds + 300:
                proc.kill()     # a hang libFuzzer's own -timeout missed
                rc = proc.wait()
            if rc is None:
                continue
            del running[name]
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if rc == 0 and "fuzz: skipped" in text:
                results[name] = "skipped: " + text.split("fuzz: skipped: ", 1)[1].split("\n")[0]
            elif rc == 0:
                results[name] = "ok: " + summary(text)
            else:
                failed = True
                results[name] = f"FAILED (exit {rc}), log {log}"
                print(f"---- fuzz_{name} failed; last lines of {log}:")
                print("\n".join(text.splitlines()[-40:]))
                print(f"---- copy the crash file above into "
                      f"tests/fuzz/regressions/{name}/ once understood")
    for name in names:
        print(f"fuzz {name:<10} {results[name]}")
    if args.merge:
        for name in names:
            if results[name].startswith("ok"):
                print(f"fuzz {name:<10} {merge(name, args.out, tree)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
