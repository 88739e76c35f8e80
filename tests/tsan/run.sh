#!/usr/bin/env bash
# The native pool (src/core/pool.c needs no Python) built on its own with
# ThreadSanitizer and driven by tests/tsan/pool_stress.c: several callers,
# nested and cancelled batches, back-to-back batches that meet spinning
# helpers; once with the spin off and once with the default.  A race
# report (TSan exits 66) or a chunk that ran twice or never fails the step.
#
#   tests/tsan/run.sh [SECONDS per run, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-gcc}
out=build/tsan
mkdir -p "$out"
"$CC" -std=c11 -D_GNU_SOURCE -fsanitize=thread -O1 -g \
    -Wall -Wextra -Werror -Isrc \
    src/core/pool.c tests/tsan/pool_stress.c -o "$out/pool_stress" -lpthread
for spin in 0 100; do
    echo "tsan: pool_stress with FASTCONC_SPIN_US=$spin"
    FASTCONC_SPIN_US=$spin TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
        timeout 300 "$out/pool_stress" "${1:-3}"
done
