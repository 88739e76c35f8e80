# make test  - install what is missing (Debian packages, pip), run the suite
# make bench - same set-up, then the side-by-side benchmark
PYTHON ?= python3
APT_PACKAGES = pkg-config gcc libssl-dev zlib1g-dev libzstd-dev liblz4-dev \
	libxxhash-dev libisal-dev libdeflate-dev gzip pigz zstd lz4 xxhash
# Our own C compiles with -Wall -Wextra -Werror here (see setup.py).
export FASTCONC_WERROR ?= 1
PYTEST_ARGS ?=

.PHONY: deps build test bench clean

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'

# In-place build for development (no install).
build:
	$(PYTHON) setup.py -q build_ext --inplace

test: deps
	$(PYTHON) -m pytest -q -ra $(PYTEST_ARGS) tests

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
