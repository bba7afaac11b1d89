#!/usr/bin/env python3
"""Independent reference engine for Upscaler: runs an ncnn model with the PyPI `ncnn` package.

Golden outputs and speed baselines come from here, never from our own engine. It uses ncnn's
default CPU path (Vulkan off, every other option left at ncnn's default).

Tensors travel as raw little-endian float32 in CHW order, the layout ncnn's Mat holds.

  run   --param P --bin B --input IN.f32 --channels C --height H --width W --output OUT.f32 [--threads 2]
        [--pad P [--extra-rows R --extra-cols C]]
        Runs blob "data" -> blob "output", clamps to [0, 1], writes OUT.f32 and prints
        {"channels": .., "height": .., "width": ..}.
  bench --param P --bin B --input IN.f32 --channels C --height H --width W [--threads 2] [--runs 3] [--warmup 1]
        Times Extractor.extract (a new extractor per run, the net loaded once) and prints
        {"runs": [s, ...], "median": s, "threads": n, "ncnn_version": ".."}.

Needs: python3 -m pip install ncnn==1.0.20261020 numpy   (scripts/setup.sh --test does it)
"""

import argparse
import json
import statistics
import sys
import time

import ncnn
import numpy as np

INPUT_BLOB = "data"
OUTPUT_BLOB = "output"


def load_net(param: str, bin_path: str, threads: int) -> "ncnn.Net":
    net = ncnn.Net()
    # Options must be set before the model is loaded: ncnn picks layer implementations at load time.
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    if net.load_param(param) != 0:
        sys.exit(f"ncnn_reference: cannot load param file {param}")
    if net.load_model(bin_path) != 0:
        sys.exit(f"ncnn_reference: cannot load bin file {bin_path}")
    return net


def read_input(path: str, channels: int, height: int, width: int) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    expected = channels * height * width
    if data.size != expected:
        sys.exit(
            f"ncnn_reference: {path} holds {data.size} floats, expected {expected} "
            f"({channels}x{height}x{width} CHW)"
        )
    return np.ascontiguousarray(data.reshape(channels, height, width).astype(np.float32))


def extract(net: "ncnn.Net", tensor: np.ndarray) -> np.ndarray:
    # The extractor takes its options (threads included) from net.opt.
    ex = net.create_extractor()
    if ex.input(INPUT_BLOB, ncnn.Mat(tensor)) != 0:
        sys.exit(f"ncnn_reference: model has no input blob '{INPUT_BLOB}'")
    ret, out = ex.extract(OUTPUT_BLOB)
    if ret != 0:
        sys.exit(f"ncnn_reference: extract('{OUTPUT_BLOB}') failed with {ret}")
    # np.array copies, so the result outlives the extractor's blob memory.
    return np.array(out, dtype=np.float32)


def cmd_run(args: argparse.Namespace) -> None:
    net = load_net(args.param, args.bin, args.threads)
    tensor = read_input(args.input, args.channels, args.height, args.width)
    pad, rows, cols = args.pad, args.extra_rows, args.extra_cols
    height, width = tensor.shape[1], tensor.shape[2]
    if pad > 0 or rows > 0 or cols > 0:
        # Border context the same way upstream's pre_pad does it: mirror without repeating the edge pixel. The extra
        # rows and columns below and to the right are the ones Upscaler's tiler adds to reach a fast extent.
        tensor = np.ascontiguousarray(
            np.pad(tensor, ((0, 0), (pad, pad + rows), (pad, pad + cols)), mode="reflect"))
    out = extract(net, tensor)
    if out.ndim != 3:
        sys.exit(f"ncnn_reference: output has shape {out.shape}, expected CHW")
    scale = out.shape[1] // tensor.shape[1]
    top = pad * scale
    out = np.ascontiguousarray(out[:, top : top + height * scale, top : top + width * scale])
    np.clip(out, 0.0, 1.0, out=out)
    out.astype("<f4").tofile(args.output)
    c, h, w = out.shape
    print(json.dumps({"channels": c, "height": h, "width": w}))


def cmd_bench(args: argparse.Namespace) -> None:
    if args.runs < 1:
        sys.exit("ncnn_reference: --runs must be at least 1")
    net = load_net(args.param, args.bin, args.threads)
    tensor = read_input(args.input, args.channels, args.height, args.width)
    for _ in range(args.warmup):
        extract(net, tensor)
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        extract(net, tensor)
        runs.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "runs": runs,
                "median": statistics.median(runs),
                "threads": args.threads,
                "ncnn_version": ncnn.__version__,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--param", required=True, help="ncnn .param file")
        p.add_argument("--bin", required=True, help="ncnn .bin file")
        p.add_argument("--input", required=True, help="raw little-endian float32 CHW tensor")
        p.add_argument("--channels", type=int, required=True)
        p.add_argument("--height", type=int, required=True)
        p.add_argument("--width", type=int, required=True)
        p.add_argument("--threads", type=int, default=2)

    run = sub.add_parser("run", help="run the model once and write the output tensor")
    common(run)
    run.add_argument("--output", required=True, help="where to write the raw float32 CHW output")
    run.add_argument("--pad", type=int, default=0, help="reflection padding added around the input, cropped from the output")
    run.add_argument("--extra-rows", type=int, default=0, help="more reflected rows below the padding, also cropped")
    run.add_argument("--extra-cols", type=int, default=0, help="more reflected columns right of the padding, also cropped")
    run.set_defaults(func=cmd_run)

    bench = sub.add_parser("bench", help="time extract() over several runs")
    common(bench)
    bench.add_argument("--runs", type=int, default=3)
    bench.add_argument("--warmup", type=int, default=1)
    bench.set_defaults(func=cmd_bench)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
