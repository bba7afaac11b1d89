#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis, from the OpenAPI document the server itself serves: every operation,
# JSON, raw and multipart bodies, valid and invalid data, with a token. Every check schemathesis has must pass:
# no server error, every status, content type, header and body as the document states them.
#
#   tools/fuzz_api.sh [EXAMPLES]     (default 400 per operation; UPSCALER_BIN picks the executable)
#   tools/fuzz_api.sh --install      (only installs schemathesis; scripts/setup.sh --test does, beside the build)
#
# It runs `upscaler api` (no model, so jobs stay queued: the API is what is tried) on a free loopback port with its
# own data folder, limits loosened so that the fuzzer's own volume is not what answers. schemathesis and the
# hypothesis it was released with are pinned, in a virtualenv under the cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${UPSCALER_CACHE:-$HOME/.cache/upscaler}/schemathesis-3.39.16"
if [[ ! -f "$venv/installed" ]]; then
    echo "fuzz_api: installing schemathesis 3.39.16 into $venv"
    # The marker is written last, so an interrupted install is never taken for a finished one. (A virtualenv cannot
    # be moved into place: its scripts name its own path.)
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==3.39.16" "hypothesis==6.124.7"
    touch "$venv/installed"
fi
[[ "${1:-}" != --install ]] || exit 0

examples="${1:-400}"
bin="${UPSCALER_BIN:-.build-test/release/upscaler}"
[[ -x "$bin" ]] || { echo "fuzz_api: no executable at $bin (build first: scripts/test.sh builds it)" >&2; exit 1; }

data="$(mktemp -d)"
log="$data/server.log"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="fuzz-token-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
VALID_TOKENS="$token" "$bin" api --data-dir "$data/data" --port "$port" --rate-limit off --max-queue 1000000 \
    --max-jobs-per-token 1000000 --wait-timeout 0 --log-level error > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done

# Readiness answers 503 by design in an api without a worker, so it is left out. One schemathesis process keeps one
# core busy (its --workers are threads under one interpreter lock, and with more than one the examples an operation
# gets vary from run to run), so the operations run in two processes side by side, one worker each: the two POSTs,
# with their bodies, and the other twelve, about even in time (54 and 60 s here, against 93-113 s for all in one).
# Each operation gets its examples from the same seed, with no example database, so every run sends the same requests.
shard() {
    local name="$1"
    shift
    "$venv/bin/st" run "http://127.0.0.1:$port/openapi.json" --experimental=openapi-3.1 \
        --base-url "http://127.0.0.1:$port" -H "Authorization: Bearer $token" --checks all \
        --exclude-path /health/ready --hypothesis-max-examples "$examples" --hypothesis-seed 1 \
        --hypothesis-database none --hypothesis-suppress-health-check all --cassette-path "$data/$name.yaml" \
        --no-color "$@" > "$data/$name.log" 2>&1
}
# Hypothesis keeps its caches in the data folder, not in the working tree.
export HYPOTHESIS_STORAGE_DIRECTORY="$data/hypothesis"
shard posts --include-method POST &
posts=$!
shard others --exclude-method POST &
others=$!
status=0 requests=0
for name in posts others; do
    shard_status=0
    wait "${!name}" || shard_status=$?
    echo "fuzz_api: the $name shard"
    # A failing shard's whole log (its failures come before the summary); a passing one's summary.
    if ((shard_status)); then
        cat "$data/$name.log"
        status=$shard_status
    else
        sed -n '/SUMMARY/,$p' "$data/$name.log"
    fi
    sent=$(grep -c '^- id:' "$data/$name.yaml" 2>/dev/null) || sent=0  # no cassette when st could not start
    requests=$((requests + sent))
done
echo "fuzz_api: $requests requests sent; schemathesis exit status $status"
if ! kill -0 $server 2>/dev/null; then echo "fuzz_api: the server died" >&2; cat "$log" >&2; exit 1; fi
exit "$status"
