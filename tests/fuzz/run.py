"""Run every atheris harness in tests/fuzz for a set time.

    python tests/fuzz/run.py [--seconds 60] [--jobs 2] [NAME ...]

NAME is a harness without ``fuzz_`` and ``.py`` (default: all).  Each runs in
its own process against the fastconc found from the repository root, with
its corpus in build/fuzz/<name>/corpus (seeded by the harness itself on the
first run) and crash files in build/fuzz/<name>/.  A harness whose API is not
in the build skips with a message; without atheris (it has wheels for
CPython 3.9-3.13 on x86-64 Linux only) the whole run skips.  Exit status 1
when any harness found a failure; copy its crash file into
tests/fuzz/regressions/<name>/ so the unit suite replays it from then on.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def harnesses() -> list[str]:
    return sorted(os.path.basename(p)[5:-3]
                  for p in glob.glob(os.path.join(HERE, "fuzz_*.py")))


def start(name: str, seconds: int, out_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    work = os.path.join(out_dir, name)
    corpus = os.path.join(work, "corpus")
    os.makedirs(corpus, exist_ok=True)
    log = os.path.join(work, "log")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, os.path.join(HERE, f"fuzz_{name}.py"),
           "--seeds", corpus,
           f"-max_total_time={seconds}", "-timeout=60", "-rss_limit_mb=4096",
           "-max_len=20000", "-print_final_stats=1",
           f"-artifact_prefix={work}{os.sep}", corpus]
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    return proc, log


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "fuzz"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz: skipped: atheris is not installed (wheels exist for "
              "CPython 3.9-3.13 on x86-64 Linux)")
        return 0
    names = args.names or harnesses()
    pending = list(names)
    running: dict[str, tuple[subprocess.Popen[bytes], str, float]] = {}
    results: dict[str, str] = {}
    failed = False
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            proc, log = start(name, args.seconds, args.out)
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
                runs = [ln for ln in text.splitlines() if ln.startswith("Done ")]
                results[name] = "ok: " + (runs[-1] if runs else "finished")
            else:
                failed = True
                results[name] = f"FAILED (exit {rc}), log {log}"
                print(f"---- fuzz_{name} failed; last lines of {log}:")
                print("\n".join(text.splitlines()[-40:]))
                print(f"---- copy the crash file above into "
                      f"tests/fuzz/regressions/{name}/ once understood")
    for name in names:
        print(f"fuzz {name:<10} {results[name]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
