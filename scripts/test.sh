#!/usr/bin/env bash
# Sets up (with test helpers and fixtures) and runs the whole test suite in release mode.
# Usage: scripts/test.sh [swift test options, e.g. --filter ModelStore]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --test

export UPSCALER_CACHE="${UPSCALER_CACHE:-$HOME/.cache/upscaler}"
export UPSCALER_FIXTURES="$UPSCALER_CACHE/fixtures"
# The command-line tests run the real executable built alongside the tests.
# shellcheck source=scripts/test-build-flags.sh
source scripts/test-build-flags.sh
UPSCALER_BIN="$(swift build "${test_build_flags[@]}" --show-bin-path)/upscaler"
export UPSCALER_BIN
# setup.sh --test started PostgreSQL with this role and database; the store and multi-process tests use it.
export UPSCALER_TEST_DATABASE_URL="${UPSCALER_TEST_DATABASE_URL:-postgres://upscaler_test:upscaler_test@127.0.0.1:5432/upscaler_test}"

# setup.sh --test has built the tests with these flags; --skip-build keeps swift test from compiling
# everything again with its own slightly different flags.
exec swift test "${test_build_flags[@]}" --skip-build "$@"
