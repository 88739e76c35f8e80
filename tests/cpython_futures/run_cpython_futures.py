"""Run CPython's own concurrent.futures tests against fastconc.

The test files are not copied here: they are loaded at run time from the
running interpreter's ``test`` package (``test.test_concurrent_futures``, a
package on 3.12+ and a single module before).  Before they are imported,
``concurrent.futures.ThreadPoolExecutor`` is replaced by
``fastconc.ThreadPoolExecutor``, so every thread-pool test class (whose
``executor_type`` is read at import) runs ours.  Only the thread-pool
classes and the Future tests are run; the process-pool ones test another
executor.

Usage: python tests/cpython_futures/run_cpython_futures.py [-v] [-k PATTERN]
Exit status 0 when every selected test passed, 2 when the interpreter does
not ship the tests.
"""
import argparse
import importlib
import os
import pkgutil
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Tests that cannot pass for a reason unrelated to public behaviour:
# (test id suffix, reason).
SKIPS = [
    # Runs the stdlib executor in a child interpreter ("from
    # concurrent.futures import ThreadPoolExecutor" in a subprocess), so it
    # would not test ours; tests/test_executor_exit.py covers exit for ours.
]


def _patch() -> None:
    import concurrent.futures
    import concurrent.futures.thread

    import fastconc

    concurrent.futures.ThreadPoolExecutor = fastconc.ThreadPoolExecutor
    concurrent.futures.thread.ThreadPoolExecutor = fastconc.ThreadPoolExecutor


def _modules():
    try:
        pkg = importlib.import_module("test.test_concurrent_futures")
    except ImportError:
        return None
    if not hasattr(pkg, "__path__"):
        return [pkg]
    mods = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("test_"):
            mods.append(importlib.import_module(
                "test.test_concurrent_futures." + info.name))
    return mods


def _selected(cls: type) -> bool:
    name = cls.__name__
    return name.startswith("ThreadPool") or name == "FutureTests"


def _iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _iter_tests(t)
        else:
            yield t


def build_suite(pattern=None):
    mods = _modules()
    if mods is None:
        return None
    import fastconc

    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for mod in mods:
        for name in dir(mod):
            obj = getattr(mod, name)
            if not (isinstance(obj, type)
                    and issubclass(obj, unittest.TestCase)
                    and _selected(obj)):
                continue
            if getattr(obj, "executor_type", fastconc.ThreadPoolExecutor) \
                    is not fastconc.ThreadPoolExecutor:
                raise SystemExit(f"{obj.__name__} does not use fastconc's "
                                 f"executor: the patch came too late")
            for test in loader.loadTestsFromTestCase(obj):
                tid = test.id()
                if pattern and pattern not in tid:
                    continue
                for suffix, reason in SKIPS:
                    if tid.endswith(suffix):
                        setattr(test, test._testMethodName,
                                unittest.skip(reason)(
                                    getattr(test, test._testMethodName)))
                suite.addTest(test)
    return suite


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", "--pattern", default=None)
    args = ap.parse_args(argv)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    _patch()
    suite = build_suite(args.pattern)
    if suite is None:
        print(f"Python {sys.version.split()[0]} does not ship "
              f"test.test_concurrent_futures")
        return 2
    n = suite.countTestCases()
    print(f"Python {sys.version.split()[0]}: {n} CPython concurrent.futures "
          f"tests against fastconc.ThreadPoolExecutor", flush=True)
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1,
                                     stream=sys.stdout).run(suite)
    return 0 if result.wasSuccessful() and n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
