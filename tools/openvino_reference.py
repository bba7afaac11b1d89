#!/usr/bin/env python3
"""Second independent reference engine for Upscaler: runs an ncnn model on OpenVINO's CPU plugin (PyPI `openvino`).

The ncnn `.param`/`.bin` pair is converted in memory to ONNX by tools/ncnn_to_onnx.py (numpy and the `onnx`
package, no ncnn) and compiled for "CPU" with OpenVINO's defaults, except INFERENCE_NUM_THREADS = --threads and,
with --precision f32, INFERENCE_PRECISION_HINT = f32. OpenVINO's default precision on a CPU with bf16 support
(AVX512_BF16, AMX) is bf16, so the default is the fast path OpenVINO ships with and f32 the like-for-like one.
The model is reshaped to the input's static shape before compiling.

Tensors travel as raw little-endian float32 in CHW order, as in tools/ncnn_reference.py.

  run   --param P --bin B --input IN.f32 --channels C --height H --width W --output OUT.f32 [--threads 2]
        [--pad P [--extra-rows R --extra-cols C]] [--precision f32|default]
        Runs input "data" -> output "output", clamps to [0, 1], writes OUT.f32 and prints
        {"channels": .., "height": .., "width": ..}. Precision defaults to f32 here: run exists to compare outputs.
  bench --param P --bin B --input IN.f32 --channels C --height H --width W [--threads 2] [--runs 3] [--warmup 1]
        [--precision default|f32]
        Times InferRequest.infer (one request, the model compiled once) and prints
        {"runs": [s, ...], "median": s, "threads": n, "openvino_version": "..", "precision": "default|f32",
         "execution_precision": ".."}; execution_precision is the compiled model's INFERENCE_PRECISION_HINT
        (bf16 or f32), the precision OpenVINO settled on.

Needs: python3 -m pip install openvino==2026.4.1 onnx==1.23.2 numpy   (scripts/setup.sh --test does it)
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np
import openvino as ov

import ncnn_to_onnx

PRECISIONS = ("default", "f32")


def compile_model(
    param: str, bin_path: str, shape: tuple[int, int, int], threads: int, precision: str
) -> "ov.CompiledModel":
    onnx_model = ncnn_to_onnx.load_or_exit(param, bin_path)
    core = ov.Core()
    model = core.read_model(onnx_model.SerializeToString(), b"")
    model_channels = model.input(ncnn_to_onnx.INPUT_BLOB).get_partial_shape()[1].get_length()
    if model_channels != shape[0]:
        sys.exit(f"openvino_reference: model takes {model_channels} channels, input has {shape[0]}")
    model.reshape({ncnn_to_onnx.INPUT_BLOB: [1, *shape]})
    config: dict[str, object] = {"INFERENCE_NUM_THREADS": threads}
    if precision == "f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    return core.compile_model(model, "CPU", config)


def read_input(path: str, channels: int, height: int, width: int) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    expected = channels * height * width
    if data.size != expected:
        sys.exit(
            f"openvino_reference: {path} holds {data.size} floats, expected {expected} "
            f"({channels}x{height}x{width} CHW)"
        )
    return np.ascontiguousarray(data.reshape(1, channels, height, width).astype(np.float32))


def infer(request: "ov.InferRequest", tensor: np.ndarray) -> np.ndarray:
    # infer copies the output into a fresh array, as ncnn_reference's extract does.
    return request.infer({ncnn_to_onnx.INPUT_BLOB: tensor})[ncnn_to_onnx.OUTPUT_BLOB]


def cmd_run(args: argparse.Namespace) -> None:
    tensor = read_input(args.input, args.channels, args.height, args.width)
    pad, rows, cols = args.pad, args.extra_rows, args.extra_cols
    if pad > 0 or rows > 0 or cols > 0:
        # Border context the same way upstream's pre_pad does it: mirror without repeating the edge pixel. The extra
        # rows and columns below and to the right are the ones Upscaler's tiler adds to reach a fast extent.
        tensor = np.ascontiguousarray(
            np.pad(tensor, ((0, 0), (0, 0), (pad, pad + rows), (pad, pad + cols)), mode="reflect")
        )
    compiled = compile_model(args.param, args.bin, tensor.shape[1:], args.threads, args.precision)
    out = infer(compiled.create_infer_request(), tensor)[0]
    scale = out.shape[1] // tensor.shape[2]
    top = pad * scale
    out = np.clip(out[:, top : top + args.height * scale, top : top + args.width * scale], 0.0, 1.0)
    out.astype("<f4").tofile(args.output)
    c, h, w = out.shape
    print(json.dumps({"channels": c, "height": h, "width": w}))


def cmd_bench(args: argparse.Namespace) -> None:
    if args.runs < 1:
        sys.exit("openvino_reference: --runs must be at least 1")
    tensor = read_input(args.input, args.channels, args.height, args.width)
    compiled = compile_model(args.param, args.bin, tensor.shape[1:], args.threads, args.precision)
    request = compiled.create_infer_request()
    for _ in range(args.warmup):
        infer(request, tensor)
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        infer(request, tensor)
        runs.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "runs": runs,
                "median": statistics.median(runs),
                "threads": args.threads,
                "openvino_version": ov.get_version(),
                "precision": args.precision,
                "execution_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
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
    run.add_argument(
        "--pad", type=int, default=0, help="reflection padding added around the input, cropped from the output"
    )
    run.add_argument("--extra-rows", type=int, default=0, help="more reflected rows below the padding, also cropped")
    run.add_argument("--extra-cols", type=int, default=0, help="more reflected columns right of the padding, also cropped")
    run.add_argument("--precision", choices=PRECISIONS, default="f32", help="f32 (default) or OpenVINO's default")
    run.set_defaults(func=cmd_run)

    bench = sub.add_parser("bench", help="time infer() over several runs")
    common(bench)
    bench.add_argument("--runs", type=int, default=3)
    bench.add_argument("--warmup", type=int, default=1)
    bench.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="default",
        help="OpenVINO's default (bf16 where the CPU has it) or f32",
    )
    bench.set_defaults(func=cmd_bench)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
