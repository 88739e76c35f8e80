# make test  - install what is missing (Debian packages, pip), then run, in
#              order: the unit suite, lint (ruff, mypy --strict, stubtest),
#              the ASan/UBSan run, the pool under TSan, the short fuzz
#              runs, and a quick part of the suite built for CPython 3.9
#              and 3.13
# make bench - same set-up, then the side-by-side benchmark
# make asan / make fuzz / make lint - one part on its own (no set-up)
# make soak  - every kind of call from 8 threads for SOAK_MINUTES under
#              ASan, with cancellation and Ctrl-C injected (not in CI)
PYTHON ?= python3
APT_PACKAGES = pkg-config gcc libssl-dev zlib1g-dev libzstd-dev liblz4-dev \
	libxxhash-dev libisal-dev libdeflate-dev gzip pigz zstd lz4 xxhash \
	b3sum libtsan2 clang
# Our own C compiles with -Wall -Wextra -Werror here (see setup.py).
export FASTCONC_WERROR ?= 1
PYTEST_ARGS ?=

.PHONY: deps build test unit lint asan tsan fuzz fuzz-ci soak other-pythons bench clean

# ASan run: which tests (a fast subset, see tests/asan/run.sh) and flags.
ASAN_TESTS ?=
# Fuzzing: seconds per harness (make fuzz) and in CI (make test).  CI runs
# 10 harnesses 2 at a time after a clang build of ~30 s: about 4 min.
FUZZ_SECONDS ?= 300
FUZZ_CI_SECONDS ?= 40
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
TEST_STEPS = unit lint asan tsan fuzz-ci other-pythons
test: deps
	@failed=; for step in $(TEST_STEPS); do \
		echo "==== make $$step"; \
		$(MAKE) --no-print-directory $$step || failed="$$failed $$step"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi

unit:
	$(PYTHON) -m pytest -q -ra $(PYTEST_ARGS) tests
	$(MAKE) test-cpython-futures

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
