#!/usr/bin/env bash
# Checks the Vulkan GPU backend on a GPU machine against an independent PyTorch engine (tools/torch_reference.py).
#
# The GPU machines have CUDA, PyTorch, numpy and Pillow but none of our Debian packages and no network, and they
# receive only a copy of the work tree (64 MiB in all, ignored folders carried by name). So the work is split:
#
#   scripts/gpu-check.sh pack [DIR] [--no-build]     here, on the development machine
#       Builds upscaler-gpu-bench (swift build -c release --product upscaler-gpu-bench --static-swift-stdlib
#       --scratch-path .build-gpu; shaderc is linked into it statically) and fills DIR (default .gpu-pack,
#       git-ignored) with: the executable (debug info stripped) and any shared library it needs that a bare machine
#       lacks; Debian's libvulkan1 .deb (apt-get download: the Vulkan loader, which the engine opens at run time)
#       and libglvnd's .debs (libglvnd0, libglx0 and their kin: NVIDIA's Vulkan driver, libGLX_nvidia, links
#       libGLdispatch, and without it vkCreateInstance fails, as it did on the first H200 run);
#       the realesr-animevideov3 model, the realesrgan-x4plus param and, when the pack stays under 60 MiB with it,
#       its weights (else the run makes seeded random weights for it); the astronaut photo as raw float32 CHW, a
#       centre crop at the x4plus size and that crop upsized with Lanczos by Pillow to the animevideov3 size
#       (GPU_CHECK_SIZES, default 512 and 1024); copies of tools/torch_reference.py and of this script.
#       --no-build packs .build-gpu's executable as it is or, when there is none, a development build's
#       (.build-dev or .build; not static, so its Swift runtime libraries travel too) with a warning.
#       The executable, the libraries and the inputs are stored xz-compressed (the run unpacks them): a static
#       Swift executable that imports Foundation carries ICU's data and is tens of MiB, a few once compressed.
#       Prints the size of each file and the total, and fails above 62 MiB. A missing executable (no such
#       product yet, or a failed build) is reported and the rest is packed anyway; the exit status is then 1.
#
#   scripts/gpu-check.sh run [DIR]                   there, from the repo root where DIR travelled
#       Unpacks the .xz files in place and the .debs into DIR/root (never into /), points LD_LIBRARY_PATH at it
#       and at DIR, uses the NVIDIA Vulkan ICD when no other NVIDIA ICD is registered, prints `nvidia-smi -L` and
#       the Vulkan devices our bench sees, then for realesrgan-x4plus and realesr-animevideov3 at the pack's sizes
#       times our engine and PyTorch in fp32 and fp16 (--runs 5 --warmup 1) and compares our outputs with
#       PyTorch's fp32 output on 8-bit values. Ends with one markdown table, also written to $OUT/gpu-check.md
#       (with the raw results in $OUT/gpu-check.json, logs in $OUT/gpu-check-logs/ and small PNG crops of the
#       outputs) when $OUT is set. A failing step prints one line and the next runs. Fits in about 8 minutes:
#       steps stop being started once GPU_CHECK_BUDGET seconds (default 420) are spent, and no step runs longer
#       than 150 s.
#
# Environment: UPSCALER_MODELS_DIR / XDG_DATA_HOME (models, as `upscaler models` finds them), UPSCALER_CACHE
# (default ~/.cache/upscaler; fixtures in $UPSCALER_CACHE/fixtures from scripts/setup.sh --test),
# GPU_CHECK_SIZES ("X4PLUS ANIMEVIDEOV3" input sizes; pack writes inputs of those sizes and records them in
# DIR/pack.txt, which run follows unless GPU_CHECK_SIZES is set there too), GPU_CHECK_BUDGET, GPU_CHECK_RUNS
# (default 5), GPU_CHECK_TILE (passed as --tile to our bench), GPU_CHECK_DEVICE (our --device, default gpu),
# GPU_CHECK_VK_DEBUG=1 (Vulkan loader messages into the logs), GPU_CHECK_TORCH_DEVICE (default cuda).
# A dry run without a GPU, on Mesa's lavapipe (slow: keep the sizes tiny) and a CPU PyTorch:
#   GPU_CHECK_SIZES="16 32" scripts/gpu-check.sh pack --no-build
#   PATH=/path/to/torch-venv/bin:$PATH GPU_CHECK_TORCH_DEVICE=cpu scripts/gpu-check.sh run
set -euo pipefail

usage() {
    echo "usage: scripts/gpu-check.sh pack [DIR] [--no-build] | run [DIR]" >&2
}

say() { echo "gpu-check: $*"; }
die() { echo "gpu-check: error: $*" >&2; exit 1; }

mode="${1:-}"
if [[ -z "$mode" ]]; then usage; exit 2; fi
shift
dir=""
no_build=0
for arg in "$@"; do
    case "$arg" in
        --no-build) no_build=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "gpu-check: unknown option '$arg'" >&2; usage; exit 2 ;;
        *) if [[ -n "$dir" ]]; then usage; exit 2; fi; dir="$arg" ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${dir:-.gpu-pack}"

PRODUCT=upscaler-gpu-bench
SCRATCH=.build-gpu
MIB=1048576
PACK_LIMIT_MIB=62
X4PLUS_BIN_LIMIT_MIB=60
MARKER=pack.txt

mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

# check_sizes "X4PLUS ANIMEVIDEOV3": the two input sizes, positive integers, or the script stops.
check_sizes() {
    [[ "$1" =~ ^[[:space:]]*[1-9][0-9]*[[:space:]]+[1-9][0-9]*[[:space:]]*$ ]] \
        || die "sizes must be two positive integers, \"X4PLUS ANIMEVIDEOV3\" (got \"$1\")"
}

# xz FILE...: replaces each FILE by FILE.xz (python's lzma, so no xz tool is needed on either side).
xz_files() {
    python3 - "$@" <<'PY'
import lzma, os, sys

for path in sys.argv[1:]:
    with open(path, "rb") as src, lzma.open(path + ".xz", "wb", preset=6) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.chmod(path + ".xz", 0o644)
    os.remove(path)
PY
}

# unxz_files FILE.xz...: writes FILE beside each FILE.xz unless it is already there; keeps the .xz.
unxz_files() {
    python3 - "$@" <<'PY'
import lzma, os, shutil, sys

for path in sys.argv[1:]:
    target = path[:-3]
    if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(path):
        continue
    with lzma.open(path, "rb") as src, open(target + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(target + ".part", target)
    print(f"gpu-check: unpacked {os.path.basename(target)} ({os.path.getsize(target) / 1048576:.2f} MiB)")
PY
}

# ---------------------------------------------------------------------------------------------------------------
# pack (development machine)
# ---------------------------------------------------------------------------------------------------------------

models_dir() {
    if [[ -n "${UPSCALER_MODELS_DIR:-}" ]]; then
        echo "$UPSCALER_MODELS_DIR"
    elif [[ "${XDG_DATA_HOME:-}" == /* ]]; then
        echo "$XDG_DATA_HOME/upscaler/models"
    else
        echo "$HOME/.local/share/upscaler/models"
    fi
}

# Libraries a bare Linux machine with a C++ runtime has; anything else the executable links must travel with it.
BASE_LIBS='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|ld-linux-x86-64\.so\.2|libgcc_s\.so\.1|libstdc\+\+\.so\.6|libresolv\.so\.2)$'

pack() {
    local problems=0
    if [[ -e "$dir" && ! -f "$dir/$MARKER" && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
        die "$dir exists, is not empty and is not a pack (no $MARKER); not touching it"
    fi
    local sizes="${GPU_CHECK_SIZES:-512 1024}" x4_size av3_size
    check_sizes "$sizes"
    read -r x4_size av3_size <<<"$sizes"
    sizes="$x4_size $av3_size"
    rm -rf "$dir"
    mkdir -p "$dir/models" "$dir/inputs"
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT

    # 1. The executable.
    local bin="$SCRATCH/release/$PRODUCT" built=0 other
    if ((no_build)); then
        for other in .build-dev .build; do
            if [[ ! -x "$bin" && -x "$other/release/$PRODUCT" ]]; then
                say "warning: no $bin; packing $other/release/$PRODUCT instead (not built with" \
                    "--static-swift-stdlib: its Swift runtime libraries travel with it)"
                bin="$other/release/$PRODUCT"
            fi
        done
        if [[ -x "$bin" ]]; then
            say "--no-build: using $bin as it is"
            built=1
        else
            say "--no-build: no executable at $bin; the pack will lack $PRODUCT"
        fi
    elif ! grep -q "\"$PRODUCT\"" Package.swift; then
        say "Package.swift has no product \"$PRODUCT\" yet; not building, the pack will lack it"
    else
        say "building: swift build -c release --product $PRODUCT --static-swift-stdlib --scratch-path $SCRATCH"
        if swift build -c release --product "$PRODUCT" --static-swift-stdlib --scratch-path "$SCRATCH" >"$tmp/build.log" 2>&1; then
            bin="$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/$PRODUCT"
            built=1
        else
            say "build of $PRODUCT failed ($(grep -m1 -E 'error:' "$tmp/build.log" || tail -n1 "$tmp/build.log")); the pack will lack it"
            cp "$tmp/build.log" "$dir/build.log"
        fi
    fi
    if ((built)) && [[ ! -x "$bin" ]]; then
        say "the build reported success but $bin is missing; the pack will lack it"
        built=0
    fi
    if ((built)); then
        if ! strip --strip-debug -o "$dir/$PRODUCT" "$bin" 2>/dev/null; then
            cp "$bin" "$dir/$PRODUCT"
        fi
        chmod +x "$dir/$PRODUCT"
        say "$PRODUCT: $(mib "$(stat -c %s "$bin")") MiB built, $(mib "$(stat -c %s "$dir/$PRODUCT")") MiB without debug info"
        local glibc
        glibc="$(objdump -T "$dir/$PRODUCT" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1 || true)"
        say "$PRODUCT needs ${glibc:-an unknown} glibc or newer on the GPU machine"
        local name path deps
        deps="$(ldd "$dir/$PRODUCT" 2>&1 || true)"
        if grep -qE 'not a dynamic executable|statically linked' <<<"$deps"; then deps=""; fi
        while read -r name path; do
            [[ -n "$name" ]] || continue
            if [[ "$name" =~ $BASE_LIBS ]]; then continue; fi
            if [[ -z "$path" || ! -f "$path" ]]; then
                say "$PRODUCT needs $name, which is not found here either"
                problems=1
                continue
            fi
            cp -L "$path" "$dir/$name"
            say "$PRODUCT links $name: packed ($(mib "$(stat -c %s "$dir/$name")") MiB)"
        done < <(awk '/=>/ { print $1, $3; next } NF { print $1, "" }' <<<"$deps" | sed 's|^/[^ ]*/||')
    else
        problems=1
    fi

    # 2. The Vulkan loader and libglvnd, as Debian's packages (unpacked on the GPU machine with dpkg -x).
    local debs=(libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2) name
    if ! (cd "$tmp" && apt-get download "${debs[@]}" >/dev/null 2>"$tmp/apt.err"); then
        say "apt-get download ${debs[*]} failed; updating the package lists and trying again"
        local sudo=()
        if ((EUID != 0)); then sudo=(sudo); fi
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
        (cd "$tmp" && apt-get download "${debs[@]}" >/dev/null 2>"$tmp/apt.err") || true
    fi
    for name in "${debs[@]}"; do
        local deb
        deb="$(find "$tmp" -maxdepth 1 -name "${name}_*.deb" | head -n1)"
        if [[ -n "$deb" ]]; then
            mv "$deb" "$dir/"
            say "packed $(basename "$deb")"
        else
            say "could not download $name ($(tail -n1 "$tmp/apt.err" 2>/dev/null)); the pack lacks it"
            problems=1
        fi
    done

    # 3. Input images: raw float32 CHW in [0, 1].
    local fixtures="${UPSCALER_FIXTURES:-${UPSCALER_CACHE:-$HOME/.cache/upscaler}/fixtures}"
    if [[ -f "$fixtures/astronaut.png" ]]; then
        python3 - "$fixtures/astronaut.png" "$dir/inputs" "$x4_size" "$av3_size" <<'PY' || { say "writing the inputs failed"; problems=1; }
import sys
import numpy as np
from PIL import Image

src, out, small, large = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
img = Image.open(src).convert("RGB")
w, h = img.size
if min(w, h) < small:
    sys.exit(f"{src} is {w}x{h}, smaller than {small}x{small}")
left, top = (w - small) // 2, (h - small) // 2
crop = img.crop((left, top, left + small, top + small))
inputs = {f"astronaut-{large}.f32": crop.resize((large, large), Image.Resampling.LANCZOS),
          f"astronaut-{small}.f32": crop}
for name, im in inputs.items():
    chw = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
    np.ascontiguousarray(chw, dtype="<f4").tofile(f"{out}/{name}")
PY
    else
        say "no $fixtures/astronaut.png (scripts/setup.sh --test writes it); the pack lacks the inputs"
        problems=1
    fi

    # 4. Tools.
    cp tools/torch_reference.py scripts/gpu-check.sh "$dir/"

    # 5. Compress what compresses well: the executable, libraries and inputs (the model weights, fp16, hardly do).
    local exe_sha=missing big=() f
    if [[ -f "$dir/$PRODUCT" ]]; then exe_sha="$(sha256sum "$dir/$PRODUCT" | cut -d' ' -f1)"; fi
    for f in "$dir/$PRODUCT" "$dir"/lib*.so* "$dir"/inputs/*.f32; do
        if [[ -f "$f" ]]; then big+=("$f"); fi
    done
    if ((${#big[@]})); then
        say "compressing ${#big[@]} files with xz"
        xz_files "${big[@]}" || { say "compressing failed"; problems=1; }
    fi

    # 6. Models: animevideov3 whole, the x4plus param, and the x4plus weights if they fit.
    local models m
    models="$(models_dir)"
    for m in realesr-animevideov3.param realesr-animevideov3.bin realesrgan-x4plus.param; do
        if [[ -f "$models/$m" ]]; then
            cp "$models/$m" "$dir/models/"
        else
            say "no $models/$m (\`upscaler models fetch\` installs it); the pack lacks it"
            problems=1
        fi
    done
    local x4_weights=missing
    if [[ -f "$models/realesrgan-x4plus.bin" ]]; then
        local without with
        without="$(du -sb "$dir" | cut -f1)"
        with=$((without + $(stat -c %s "$models/realesrgan-x4plus.bin")))
        if ((with <= X4PLUS_BIN_LIMIT_MIB * MIB)); then
            cp "$models/realesrgan-x4plus.bin" "$dir/models/"
            x4_weights=real
        else
            x4_weights=random
            say "realesrgan-x4plus.bin would make the pack $(mib "$with") MiB (over $X4PLUS_BIN_LIMIT_MIB):" \
                "left out; the run makes seeded random weights for it (torch_reference.py random-bin)"
        fi
    else
        x4_weights=random
        say "no $models/realesrgan-x4plus.bin; the run makes seeded random weights for it"
    fi
    # Each packed model must parse and use its .bin to the last byte.
    local p
    for p in "$dir"/models/*.param; do
        [[ -e "$p" ]] || continue
        if [[ -f "${p%.param}.bin" ]]; then
            python3 "$dir/torch_reference.py" inspect --param "$p" --bin "${p%.param}.bin" >/dev/null \
                || { say "$(basename "$p") with its .bin does not parse"; problems=1; }
        fi
    done

    # 7. What is in the pack.
    {
        echo "gpu-check pack"
        echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
        echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
        echo "executable: $exe_sha ($bin)"
        echo "sizes: $sizes"
        echo "x4plus_weights: $x4_weights"
    } >"$dir/$MARKER"

    say "pack $dir:"
    local total
    (cd "$dir" && find . -type f -printf '%s %P\n' | sort -rn | while read -r size file; do
        printf '  %8s MiB  %s\n' "$(mib "$size")" "$file"
    done)
    total="$(du -sb "$dir" | cut -f1)"
    say "total $(mib "$total") MiB (limit $PACK_LIMIT_MIB MiB; the work tree travels too)"
    say "on the GPU machine: scripts/gpu-check.sh run $dir   (carry \"$dir\" with the work tree)"
    if ((total > PACK_LIMIT_MIB * MIB)); then
        die "the pack is $(mib "$total") MiB, over $PACK_LIMIT_MIB MiB"
    fi
    if ((problems)); then
        say "the pack is incomplete (see the lines above)"
        exit 1
    fi
}

# ---------------------------------------------------------------------------------------------------------------
# run (GPU machine)
# ---------------------------------------------------------------------------------------------------------------

BUDGET="${GPU_CHECK_BUDGET:-420}"
RUNS="${GPU_CHECK_RUNS:-5}"
STEP_CAP=150
started=$SECONDS
logs=""
work=""

elapsed() { echo $((SECONDS - started)); }

# step NAME OUTFILE CMD...: runs CMD with a timeout, stdout to OUTFILE, stderr to the log. On failure prints one
# line and returns 1; never exits the script.
step() {
    local name="$1" outfile="$2"
    shift 2
    local left=$((BUDGET - (SECONDS - started)))
    if ((left < 20)); then
        say "[$(elapsed)s] $name: skipped, the ${BUDGET}s budget is spent"
        return 1
    fi
    local limit=$((left < STEP_CAP ? left : STEP_CAP))
    local log="$logs/${name// /_}.log" rc=0
    local t0=$SECONDS
    timeout -k 5 "$limit" "$@" >"$outfile" 2>"$log" || rc=$?
    if ((rc != 0)); then
        local why
        why="$(grep -v '^[[:space:]]*$' "$log" | tail -n1 | cut -c1-200)"
        if ((rc == 124 || rc == 137)); then why="timed out after ${limit}s"; fi
        say "[$(elapsed)s] $name: failed (exit $rc): ${why:-no message}"
        rm -f "$outfile"
        return 1
    fi
    say "[$(elapsed)s] $name: ok in $((SECONDS - t0))s: $(grep '^{' "$outfile" | tail -n1 | cut -c1-200)"
}

unpack_deb() {
    local deb="$1" dest="$2"
    if command -v dpkg >/dev/null; then
        dpkg -x "$deb" "$dest"
        return
    fi
    # No dpkg: a .deb is an ar archive holding data.tar.*.
    python3 - "$deb" "$dest" <<'PY'
import io, sys, tarfile

deb, dest = sys.argv[1], sys.argv[2]
data = open(deb, "rb").read()
assert data[:8] == b"!<arch>\n", "not an ar archive"
pos = 8
while pos + 60 <= len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            try:
                tar.extractall(dest, filter="data")
            except TypeError:  # a Python without extraction filters
                tar.extractall(dest)
        break
    pos += 60 + size + (size & 1)
else:
    sys.exit("no data.tar in " + deb)
PY
}

setup_vulkan() {
    local deb found=0
    for deb in "$dir"/*.deb; do
        [[ -f "$deb" ]] || continue
        found=1
        if [[ -e "$dir/root/.${deb##*/}" ]]; then
            say "$(basename "$deb") already unpacked in $dir/root"
        elif unpack_deb "$deb" "$dir/root" && touch "$dir/root/.${deb##*/}"; then
            say "unpacked $(basename "$deb") into $dir/root"
        else
            say "unpacking $(basename "$deb") failed; relying on the system's copy"
        fi
    done
    if ((!found)); then say "no .deb in $dir; relying on a system Vulkan loader and libglvnd"; fi
    local paths="$dir/root/usr/lib/x86_64-linux-gnu:$dir" d
    # The NVIDIA ICD's library (libGLX_nvidia.so.0) lives here in CUDA containers.
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
        if [[ -d "$d" && ":${LD_LIBRARY_PATH:-}:" != *":$d:"* ]]; then paths="$paths:$d"; fi
    done
    export LD_LIBRARY_PATH="$paths${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

    local nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [[ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]]; then
        say "Vulkan ICD given by the environment: ${VK_DRIVER_FILES:-$VK_ICD_FILENAMES}"
    else
        local registered=() f
        for d in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/etc/vulkan/icd.d; do
            for f in "$d"/*.json; do [[ -e "$f" ]] && registered+=("$f"); done
        done
        if ((${#registered[@]})) && grep -qil nvidia "${registered[@]}"; then
            say "Vulkan ICDs registered: ${registered[*]}"
        elif [[ -f "$nvidia_icd" ]]; then
            export VK_DRIVER_FILES="$nvidia_icd" VK_ICD_FILENAMES="$nvidia_icd"
            say "no NVIDIA Vulkan ICD registered (${registered[*]:-none}); VK_DRIVER_FILES=$nvidia_icd" \
                "($(grep -o '"library_path"[^,}]*' "$nvidia_icd" | head -n1))"
        else
            say "no NVIDIA Vulkan ICD found (registered: ${registered[*]:-none}; no $nvidia_icd)"
        fi
    fi
    if [[ "${GPU_CHECK_VK_DEBUG:-0}" == 1 ]]; then export VK_LOADER_DEBUG=error,warn,driver; fi
}

run() {
    [[ -d "$dir" ]] || die "no pack at $dir (make it with scripts/gpu-check.sh pack, carry it with the work tree)"
    dir="$(cd "$dir" && pwd)"
    if ! touch "$dir/.writable" 2>/dev/null; then
        local copy
        copy="$(mktemp -d)"
        cp -r "$dir/." "$copy/"
        say "$dir is read-only; working on a copy in $copy"
        dir="$copy"
    fi
    work="$dir/work"
    mkdir -p "$work"
    if [[ -n "${OUT:-}" ]]; then
        logs="$OUT/gpu-check-logs"
    else
        logs="$work/logs"
    fi
    mkdir -p "$logs"
    rm -f "$work"/*.json "$work"/*.f32  # nothing from an earlier run may pass for this one's
    if [[ -f "$dir/$MARKER" ]]; then sed 's/^/gpu-check: pack: /' "$dir/$MARKER"; fi
    local sizes x4_size av3_size
    sizes="${GPU_CHECK_SIZES:-$(sed -n 's/^sizes: //p' "$dir/$MARKER" 2>/dev/null)}"
    sizes="${sizes:-512 1024}"
    check_sizes "$sizes"
    read -r x4_size av3_size <<<"$sizes"
    sizes="$x4_size $av3_size"
    say "sizes: realesrgan-x4plus $x4_size px, realesr-animevideov3 $av3_size px"

    local packed=() f
    for f in "$dir"/*.xz "$dir"/inputs/*.xz; do
        if [[ -f "$f" ]]; then packed+=("$f"); fi
    done
    if ((${#packed[@]})); then
        if ! unxz_files "${packed[@]}"; then
            say "unpacking the .xz files with python failed; trying xz"
            xz -dkf "${packed[@]}" || say "unpacking the .xz files failed"
        fi
    fi
    if [[ -f "$dir/$PRODUCT" ]]; then chmod +x "$dir/$PRODUCT"; fi

    setup_vulkan
    if command -v nvidia-smi >/dev/null; then
        say "GPUs:"
        nvidia-smi -L 2>&1 | sed 's/^/  /' || say "nvidia-smi -L failed"
    else
        say "no nvidia-smi here"
    fi
    say "glibc: $(ldd --version 2>/dev/null | head -n1)"

    local tref="$dir/torch_reference.py"
    [[ -f "$tref" ]] || tref=tools/torch_reference.py
    local bench="$dir/$PRODUCT" have_bench=1
    if [[ ! -x "$bench" ]]; then
        say "no $PRODUCT in the pack: our engine's steps are skipped"
        have_bench=0
    elif ldd "$bench" 2>/dev/null | grep -q 'not found'; then
        say "$PRODUCT lacks libraries here: $(ldd "$bench" | grep 'not found' | awk '{print $1}' | tr '\n' ' ')"
    fi
    if ((have_bench)); then
        say "Vulkan devices our bench sees:"
        timeout 60 "$bench" --devices 2>&1 | sed 's/^/  /' || say "$PRODUCT --devices failed"
    fi
    local torch_info
    torch_info="$(python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available" if torch.cuda.is_available() else "NOT available")' 2>&1 | tail -n1)" || true
    say "PyTorch: $torch_info"

    # realesrgan-x4plus weights: real when they travelled, else seeded random ones made here.
    local x4bin="$dir/models/realesrgan-x4plus.bin" x4_weights=real
    if [[ ! -f "$x4bin" ]]; then
        x4_weights="random (seed 0)"
        x4bin="$work/realesrgan-x4plus-random.bin"
        if [[ ! -f "$x4bin" ]]; then
            step "random weights for realesrgan-x4plus" "$work/random-bin.out" \
                python3 "$tref" random-bin --param "$dir/models/realesrgan-x4plus.param" --out "$x4bin" --seed 0 || true
        fi
    fi

    local cases=("realesrgan-x4plus $x4_size $dir/inputs/astronaut-$x4_size.f32 $x4bin"
                 "realesr-animevideov3 $av3_size $dir/inputs/astronaut-$av3_size.f32 $dir/models/realesr-animevideov3.bin")
    local tdev="${GPU_CHECK_TORCH_DEVICE:-cuda}"
    local tile_args=()
    if [[ -n "${GPU_CHECK_TILE:-}" ]]; then tile_args=(--tile "$GPU_CHECK_TILE"); fi
    local c model size input weights param prec
    for c in "${cases[@]}"; do
        read -r model size input weights <<<"$c"
        param="$dir/models/$model.param"
        if [[ ! -f "$param" || ! -f "$weights" || ! -f "$input" ]]; then
            say "$model at $size px: skipped, missing $( [[ -f "$param" ]] || echo "$param ")$( [[ -f "$weights" ]] || echo "$weights ")$( [[ -f "$input" ]] || echo "$input")"
            continue
        fi
        local common=(--param "$param" --bin "$weights" --input "$input" --size "$size" --runs "$RUNS" --warmup 1)
        # PyTorch fp32 first: it is the reference every comparison needs.
        step "pytorch fp32 $model $size" "$work/$model-pytorch-fp32.json" \
            python3 "$tref" bench "${common[@]}" --precision fp32 --device "$tdev" --output "$work/$model-pytorch-fp32.f32" || true
        for prec in fp32 fp16; do
            if ((have_bench)); then
                step "ours $prec $model $size" "$work/$model-ours-$prec.json" \
                    "$bench" "${common[@]}" --output "$work/$model-ours-$prec.f32" --precision "$prec" \
                    --device "${GPU_CHECK_DEVICE:-gpu}" "${tile_args[@]}" || true
            fi
        done
        step "pytorch fp16 $model $size" "$work/$model-pytorch-fp16.json" \
            python3 "$tref" bench "${common[@]}" --precision fp16 --device "$tdev" --output "$work/$model-pytorch-fp16.f32" || true
        local ref="$work/$model-pytorch-fp32.f32" which
        for which in ours-fp32 ours-fp16 pytorch-fp16; do
            [[ -f "$work/$model-$which.json" && -f "$work/$model-$which.f32" ]] || continue
            if [[ ! -f "$ref" ]]; then
                say "compare $which $model: skipped, no PyTorch fp32 output"
                continue
            fi
            step "compare $which $model" "$work/$model-$which.cmp.json" \
                python3 "$tref" compare "$work/$model-$which.f32" "$ref" || true
        done
    done

    table "$x4_weights" "$sizes"
}

# Renders the results as markdown (stdout, and $OUT/gpu-check.md + .json when $OUT is set).
table() {
    local x4_weights="$1" sizes="$2" device
    device="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n1)" || true
    python3 - "$work" "$x4_weights" "${device:-unknown GPU}" "$RUNS" "$(elapsed)" "${OUT:-}" "$sizes" <<'PY' || say "writing the table failed"
import json, os, sys

work, x4_weights, device, runs, elapsed, out = sys.argv[1:7]
x4_size, av3_size = (int(v) for v in sys.argv[7].split())
cases = [("realesrgan-x4plus", x4_size), ("realesr-animevideov3", av3_size)]
rows = [("ours", "fp16", "upscaler-vulkan"), ("ours", "fp32", "upscaler-vulkan"),
        ("pytorch", "fp16", "pytorch"), ("pytorch", "fp32", "pytorch")]


def load(path):
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


results = {}
lines = [
    f"GPU check on {device}: median of {runs} runs after 1 warm-up, host input to host output.",
    f"realesrgan-x4plus weights: {x4_weights}. Differences are on 8-bit values against PyTorch fp32.",
    "",
    "| model | input | engine | precision | median s | runs s | tile | max level diff | identical % | PSNR dB |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for model, size in cases:
    for who, prec, engine in rows:
        bench = load(f"{work}/{model}-{who}-{prec}.json")
        cmp = None if (who, prec) == ("pytorch", "fp32") else load(f"{work}/{model}-{who}-{prec}.cmp.json")
        results[f"{model}/{who}/{prec}"] = {"bench": bench, "compare": cmp}
        if bench:
            median = f"{bench.get('median'):.4f}" if isinstance(bench.get("median"), (int, float)) else "?"
            runs_s = " ".join(f"{r:.4f}" for r in bench.get("runs", []) if isinstance(r, (int, float)))
            tile = str(bench.get("tile", "—"))
        else:
            median, runs_s, tile = "no result", "", "—"
        if (who, prec) == ("pytorch", "fp32"):
            diff = ("reference", "", "")
        elif cmp:
            diff = (str(cmp["max_level_diff"]), f"{cmp['identical_pct']:.2f}", str(cmp["psnr_db"]))
        else:
            diff = ("—", "—", "—")
        lines.append(f"| {model} | {size}² | {engine} | {prec} | {median} | {runs_s} | {tile} | " + " | ".join(diff) + " |")
devices = sorted({r["bench"]["device"] for r in results.values() if r["bench"] and r["bench"].get("device")})
if devices:
    lines += ["", "Devices reported: " + "; ".join(devices) + f". Whole check: {elapsed} s."]
text = "\n".join(lines)
print()
print(text)
if out:
    with open(os.path.join(out, "gpu-check.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "gpu-check.json"), "w") as f:
        json.dump(results, f, indent=1)
    # Small crops of each output (the middle 256 x 256 at most) to look at.
    try:
        import numpy as np
        from PIL import Image

        for model, size in cases:
            side = size * 4
            for who, prec, _ in rows:
                path = f"{work}/{model}-{who}-{prec}.f32"
                if not os.path.exists(path):
                    continue
                a = np.fromfile(path, dtype="<f4")
                if a.size != 3 * side * side:
                    continue
                c = min(256, side)
                lo = (side - c) // 2
                a = a.reshape(3, side, side)[:, lo:lo + c, lo:lo + c]
                img = np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
                Image.fromarray(img).save(os.path.join(out, f"crop-{model}-{who}-{prec}.png"))
    except Exception as error:  # crops are a convenience; the table is what matters
        print(f"gpu-check: crops not written: {error}")
PY
}

case "$mode" in
    pack) pack ;;
    run)
        if ((no_build)); then usage; exit 2; fi
        run
        ;;
    -h|--help) usage ;;
    *) echo "gpu-check: unknown mode '$mode'" >&2; usage; exit 2 ;;
esac
