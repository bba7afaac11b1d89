#!/usr/bin/env bash
# Sets everything up (idempotent: a no-op after the first time) and runs the upscaler with the given arguments.
# Usage: scripts/run.sh upscale photo.jpg -o photo-4x.png [--scale 2] [--model realesrgan-x4plus-anime] ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >&2
bin="$(swift build -c release --show-bin-path)/upscaler"
cd "$OLDPWD"
exec "$bin" "$@"
