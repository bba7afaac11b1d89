#!/usr/bin/env python3
"""Independent ONNX Runtime engine for Real-ESRGAN PyTorch checkpoints: a yardstick for Upscaler's .safetensors path.

What is independent: the graph is written here from the upstream forward() definitions (basicsr's RRDBNet in
basicsr/archs/rrdbnet_arch.py, Real-ESRGAN's SRVGGNetCompact in realesrgan/archs/srvgg_arch.py), not from
Upscaler's Sources/ nor from the ncnn `.param` graph tools/ncnn_to_onnx.py converts; the weights are read with
numpy alone (a hand-written safetensors parser, not Upscaler's reader nor the `safetensors` package); and the
arithmetic is ONNX Runtime's CPU kernels in fp32 (graph optimizations off, so no Conv+Mul folding). `selfcheck`
also runs a slow plain-numpy forward pass (direct 3x3 convolution in float64, the same formulas) against it.

Tensors travel as raw little-endian float32 in CHW order (3 x H x W in, 3 x H*scale x W*scale out, unclamped).

  run        --weights FILE.npz|FILE.safetensors --input IN.f32 --channels 3 --height H --width W --output OUT.f32
             Builds the graph for the input's static shape, runs it once (intra_op_num_threads=2) and prints
             {"engine":"onnxruntime","arch":..,"scale":..,"input":[C,H,W],"output":[C,H,W],"seconds":..};
             seconds is the InferenceSession.run call alone.
  selfcheck  [--size 16] [--seed 0] [--tolerance 1e-4]
             Checks the pixel (un)shuffle ops on their own against numpy's spelling of PyTorch's formulas, then
             writes random models with tools/export_torch_weights.py (RRDBNet x1/x2/x4: 2 blocks, 16 features,
             growth 8; SRVGGNetCompact: 4 convolutions, 16 features, x4, PReLU and LeakyReLU) into a temp folder
             and compares ONNX Runtime with the numpy forward on a seeded 3 x size x size input. One JSON line per
             case; exits 1 when a difference reaches the tolerance.

Formats and names:
  .npz          name -> array (what export_torch_weights.py random-* writes next to its checkpoint).
  .safetensors  u64 LE header length N, N bytes of JSON {name: {"dtype": F32|F16|BF16, "shape": [..], "data_offsets":
                [b, e]}, "__metadata__": ..}, then little-endian data with offsets counted from the header's end.
  RRDBNet       conv_first (3, 12 or 48 input channels: scale 4, 2, 1 via pixel_unshuffle), body.{i}.rdb{1,2,3}
                .conv{1..5}, conv_body, conv_up1, conv_up2, conv_hr, conv_last; each .weight (OIHW) and .bias.
  SRVGG         body.{2k} convolutions, body.{2k+1}.weight PReLU slopes [num_feat] (absent: LeakyReLU 0.1); the last
                convolution's 3*u*u outputs give the upscale u.

Needs: python3 -m pip install onnxruntime==1.32.0 onnx==1.23.2 numpy   (scripts/setup.sh --test does it)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET, IR_VERSION = 17, 8  # as tools/ncnn_to_onnx.py: every op used here has its current form since opset 13
HERE = os.path.dirname(os.path.abspath(__file__))
Weights = dict  # name -> float32 ndarray


class ModelError(Exception):
    """Weights this engine cannot read or does not recognise."""


# --- Weights


def read_safetensors(path: str) -> Weights:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ModelError(f"{path}: too short for a safetensors header")
    (size,) = struct.unpack("<Q", data[:8])
    if 8 + size > len(data):
        raise ModelError(f"{path}: header length {size} runs past the end of the file")
    header, base, out = json.loads(data[8:8 + size]), 8 + size, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (begin, end) = entry["dtype"], [int(d) for d in entry["shape"]], entry["data_offsets"]
        stored = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}.get(dtype)
        if stored is None:
            raise ModelError(f"{path}: {name} has dtype {dtype}, not F32, F16 or BF16")
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * np.dtype(stored).itemsize or base + end > len(data) or begin < 0:
            raise ModelError(f"{path}: {name} offsets [{begin}, {end}] do not hold {dtype} {shape}")
        raw = np.frombuffer(data, dtype=stored, count=count, offset=base + begin)
        values = (raw.astype(np.uint32) << 16).view(np.float32) if dtype == "BF16" else raw.astype(np.float32)
        out[name] = values.reshape(shape)
    return out


def load_weights(path: str) -> Weights:
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    if path.endswith(".npz"):
        with np.load(path) as z:
            return {name: np.asarray(z[name], dtype=np.float32) for name in z.files}
    raise ModelError(f"{path}: expected a .npz or .safetensors file")


def detect(w: Weights) -> dict[str, Any]:
    """The architecture and its sizes from the tensor names and shapes; every tensor must be used (strict load)."""
    def conv(name: str, cin: int, cout: int) -> list[str]:
        for suffix, shape in ((".weight", (cout, cin, 3, 3)), (".bias", (cout,))):
            if name + suffix not in w or tuple(w[name + suffix].shape) != shape:
                got = list(w[name + suffix].shape) if name + suffix in w else "missing"
                raise ModelError(f"{name}{suffix} should be {list(shape)}, is {got}")
        return [name + ".weight", name + ".bias"]

    if "conv_first.weight" in w:
        feat, in_ch = w["conv_first.weight"].shape[:2]
        scale = {3: 4, 12: 2, 48: 1}.get(in_ch)
        if scale is None:
            raise ModelError(f"conv_first takes {in_ch} channels, not 3, 12 or 48")
        blocks = sum(1 for n in w if re.fullmatch(r"body\.\d+\.rdb1\.conv1\.weight", n))
        grow = w["body.0.rdb1.conv1.weight"].shape[0] if blocks else 0
        used = conv("conv_first", in_ch, feat)
        for b in range(blocks):
            for r in (1, 2, 3):
                for c in range(1, 6):
                    used += conv(f"body.{b}.rdb{r}.conv{c}", feat + (c - 1) * grow, grow if c < 5 else feat)
        for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
            used += conv(name, feat, feat)
        used += conv("conv_last", feat, 3)
        spec = {"arch": "RRDBNet", "scale": scale, "num_block": blocks, "num_feat": feat, "num_grow_ch": grow}
    elif "body.0.weight" in w:
        feat = w["body.0.weight"].shape[0]
        last = max((int(m.group(1)) for m in (re.fullmatch(r"body\.(\d+)\.bias", n) for n in w) if m), default=0)
        num_conv, act = (last - 2) // 2, "prelu" if "body.1.weight" in w else "leakyrelu"
        if last % 2 or num_conv < 0 or f"body.{last}.weight" not in w:
            raise ModelError(f"the last convolution is body.{last}, not body.{{2*num_conv+2}} with a weight")
        out_ch = w[f"body.{last}.weight"].shape[0]
        upscale = int(round((out_ch / 3) ** 0.5))
        if 3 * upscale * upscale != out_ch:
            raise ModelError(f"the last convolution has {out_ch} outputs, not 3*u*u")
        used = conv("body.0", 3, feat)
        for k in range(2, last + 1, 2):
            used += conv(f"body.{k}", feat, out_ch if k == last else feat)
        for k in range(1, last, 2) if act == "prelu" else ():
            if w.get(f"body.{k}.weight", np.empty(0)).shape != (feat,):
                raise ModelError(f"body.{k}.weight (PReLU slopes) should be [{feat}]")
            used.append(f"body.{k}.weight")
        spec = {"arch": "SRVGGNetCompact", "scale": upscale, "num_conv": num_conv, "num_feat": feat, "act": act}
    else:
        raise ModelError("neither RRDBNet (conv_first.weight) nor SRVGGNetCompact (body.0.weight)")
    unused = sorted(set(w) - set(used))
    if unused:
        raise ModelError(f"unexpected tensors: {', '.join(unused[:5])}{' ..' if len(unused) > 5 else ''}")
    return spec


# --- ONNX graph


class Graph:
    def __init__(self, w: Weights) -> None:
        self.w, self.nodes, self.inits, self.count = w, [], [], 0

    def const(self, values: Any, dtype: Any = np.float32) -> str:
        name = f"const{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs: Any) -> str:
        self.count += 1
        out = f"{kind.lower()}{self.count}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def conv(self, x: str, name: str) -> str:
        weight, bias = self.const(self.w[name + ".weight"]), self.const(self.w[name + ".bias"])
        return self.op("Conv", [x, weight, bias], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])

    def lrelu(self, x: str, slope: float = 0.2) -> str:
        return self.op("LeakyRelu", [x], alpha=slope)

    def scaled_add(self, x: str, residual: str) -> str:  # x * 0.2 + residual
        return self.op("Add", [self.op("Mul", [x, self.const(0.2)]), residual])

    def upsample(self, x: str, r: int) -> str:  # F.interpolate(mode="nearest"): source index floor(dst / r)
        return self.op("Resize", [x, "", self.const([1, 1, r, r])], mode="nearest",
                       coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    def pixel_unshuffle(self, x: str, shape: tuple[int, int, int], r: int) -> str:
        c, h, w = shape  # (N, C, H/r, r, W/r, r) -> (N, C, r, r, H/r, W/r) -> (N, C*r*r, H/r, W/r)
        split = self.op("Reshape", [x, self.const([1, c, h // r, r, w // r, r], np.int64)])
        moved = self.op("Transpose", [split], perm=[0, 1, 3, 5, 2, 4])
        return self.op("Reshape", [moved, self.const([1, c * r * r, h // r, w // r], np.int64)])

    def pixel_shuffle(self, x: str, r: int) -> str:  # CRD: out[c, y*r+i, x*r+j] = in[c*r*r + i*r + j, y, x]
        return self.op("DepthToSpace", [x], blocksize=r, mode="CRD")


def build_rrdb(g: Graph, spec: dict[str, Any], shape: tuple[int, int, int]) -> str:
    x = "input"
    if spec["scale"] in (1, 2):
        x = g.pixel_unshuffle(x, shape, 4 // spec["scale"])
    feat = g.conv(x, "conv_first")
    body = feat
    for b in range(spec["num_block"]):
        block_in = body
        for r in (1, 2, 3):
            rdb_in, parts = body, [body]
            for c in range(1, 5):
                cat = parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=1)
                parts.append(g.lrelu(g.conv(cat, f"body.{b}.rdb{r}.conv{c}")))
            body = g.scaled_add(g.conv(g.op("Concat", parts, axis=1), f"body.{b}.rdb{r}.conv5"), rdb_in)
        body = g.scaled_add(body, block_in)
    feat = g.op("Add", [feat, g.conv(body, "conv_body")])
    feat = g.lrelu(g.conv(g.upsample(feat, 2), "conv_up1"))
    feat = g.lrelu(g.conv(g.upsample(feat, 2), "conv_up2"))
    return g.conv(g.lrelu(g.conv(feat, "conv_hr")), "conv_last")


def build_srvgg(g: Graph, spec: dict[str, Any]) -> str:
    out = "input"
    for k in range(0, 2 * spec["num_conv"] + 2, 2):
        out = g.conv(out, f"body.{k}")
        if spec["act"] == "prelu":
            out = g.op("PRelu", [out, g.const(g.w[f"body.{k + 1}.weight"].reshape(1, -1, 1, 1))])
        else:
            out = g.lrelu(out, 0.1)
    out = g.pixel_shuffle(g.conv(out, f"body.{2 * spec['num_conv'] + 2}"), spec["scale"])
    return g.op("Add", [out, g.upsample("input", spec["scale"])])


def make_model(g: Graph, out: str, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> onnx.ModelProto:
    g.nodes.append(helper.make_node("Identity", [out], ["output"]))
    graph = helper.make_graph(g.nodes, "onnx_reference",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *shape])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, *out_shape])],
                              initializer=g.inits)
    model = helper.make_model(graph, producer_name="upscaler onnx_reference",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def run_onnx(model: onnx.ModelProto, x: np.ndarray) -> tuple[np.ndarray, float]:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    start = time.perf_counter()
    (out,) = session.run(["output"], {"input": x[None].astype(np.float32)})
    return out[0], time.perf_counter() - start


def upscale(w: Weights, x: np.ndarray) -> tuple[np.ndarray, dict[str, Any], float]:
    """x: float32 [3, H, W] -> (output [3, H*s, W*s], spec, seconds in InferenceSession.run)."""
    spec, shape, g = detect(w), tuple(x.shape), Graph(w)
    if shape[0] != 3:
        raise ModelError(f"the networks take 3 channels, the input has {shape[0]}")
    step = {1: 4, 2: 2}.get(spec["scale"], 1) if spec["arch"] == "RRDBNet" else 1
    if shape[1] % step or shape[2] % step:
        raise ModelError(f"RRDBNet x{spec['scale']} needs a height and width that are multiples of {step}")
    out = build_rrdb(g, spec, shape) if spec["arch"] == "RRDBNet" else build_srvgg(g, spec)
    out_shape = (3, shape[1] * spec["scale"], shape[2] * spec["scale"])
    y, seconds = run_onnx(make_model(g, out, shape, out_shape), x)
    return y, spec, seconds


# --- Plain numpy forward (float64), from the same formulas


def np_conv(w: Weights, name: str, x: np.ndarray) -> np.ndarray:
    weight, bias = w[name + ".weight"].astype(np.float64), w[name + ".bias"].astype(np.float64)
    _, h, wd = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.repeat(bias[:, None, None], h * wd, axis=1).reshape(-1, h, wd)
    for ky in range(3):
        for kx in range(3):
            out += np.tensordot(weight[:, :, ky, kx], padded[:, ky:ky + h, kx:kx + wd], axes=(1, 0))
    return out


def np_lrelu(x: np.ndarray, slope: Any = 0.2) -> np.ndarray:  # slope: a number, or PReLU's [F, 1, 1]
    return np.where(x >= 0, x, x * slope)


def np_shuffle(x: np.ndarray, r: int, inverse: bool = False) -> np.ndarray:
    """pixel_shuffle: out[c, y*r + i, x*r + j] = in[c*r*r + i*r + j, y, x]; inverse: pixel_unshuffle."""
    c, h, w = x.shape
    out = np.empty((c * r * r, h // r, w // r) if inverse else (c // (r * r), h * r, w * r), x.dtype)
    for ch in range(c if inverse else c // (r * r)):
        for i in range(r):
            for j in range(r):
                if inverse:
                    out[ch * r * r + i * r + j] = x[ch, i::r, j::r]
                else:
                    out[ch, i::r, j::r] = x[ch * r * r + i * r + j]
    return out


def np_nearest(x: np.ndarray, r: int) -> np.ndarray:
    return x.repeat(r, axis=1).repeat(r, axis=2)


def np_forward(w: Weights, x: np.ndarray) -> np.ndarray:
    spec, x = detect(w), x.astype(np.float64)
    if spec["arch"] == "SRVGGNetCompact":
        out = x
        for k in range(0, 2 * spec["num_conv"] + 2, 2):
            out = np_conv(w, f"body.{k}", out)
            if spec["act"] == "prelu":
                out = np_lrelu(out, w[f"body.{k + 1}.weight"].astype(np.float64)[:, None, None])
            else:
                out = np_lrelu(out, 0.1)
        out = np_shuffle(np_conv(w, f"body.{2 * spec['num_conv'] + 2}", out), spec["scale"])
        return out + np_nearest(x, spec["scale"])
    if spec["scale"] in (1, 2):
        x = np_shuffle(x, 4 // spec["scale"], inverse=True)
    feat = body = np_conv(w, "conv_first", x)
    for b in range(spec["num_block"]):
        block_in = body
        for r in (1, 2, 3):
            parts = [body]
            for c in range(1, 5):
                parts.append(np_lrelu(np_conv(w, f"body.{b}.rdb{r}.conv{c}", np.concatenate(parts))))
            body = np_conv(w, f"body.{b}.rdb{r}.conv5", np.concatenate(parts)) * 0.2 + parts[0]
        body = body * 0.2 + block_in
    feat = feat + np_conv(w, "conv_body", body)
    feat = np_lrelu(np_conv(w, "conv_up1", np_nearest(feat, 2)))
    feat = np_lrelu(np_conv(w, "conv_up2", np_nearest(feat, 2)))
    return np_conv(w, "conv_last", np_lrelu(np_conv(w, "conv_hr", feat)))


# --- Command line


def cmd_run(args: argparse.Namespace) -> None:
    data = np.fromfile(args.input, dtype="<f4")
    if data.size != args.channels * args.height * args.width:
        raise ModelError(f"{args.input} holds {data.size} floats, not {args.channels}x{args.height}x{args.width}")
    y, spec, seconds = upscale(load_weights(args.weights), data.reshape(args.channels, args.height, args.width))
    y.astype("<f4").tofile(args.output)
    print(json.dumps({"engine": "onnxruntime", "arch": spec["arch"], "scale": spec["scale"],
                      "input": [args.channels, args.height, args.width], "output": list(y.shape),
                      "seconds": round(seconds, 6)}))


def check_ops(seed: int) -> list[dict[str, Any]]:
    """The shuffle ops alone on random values: ONNX Runtime must equal numpy's spelling of the formulas exactly."""
    rows, rng = [], np.random.default_rng(seed)
    for r in (2, 4):
        for inverse, shape in ((True, (3, 8, 8)), (False, (3 * r * r, 4, 4))):
            x, g = rng.standard_normal(shape).astype(np.float32), Graph({})
            want = np_shuffle(x, r, inverse)
            out = g.pixel_unshuffle("input", shape, r) if inverse else g.pixel_shuffle("input", r)
            got, _ = run_onnx(make_model(g, out, shape, want.shape), x)
            case = f"pixel_{'un' if inverse else ''}shuffle x{r}"
            rows.append({"case": case, "input": list(shape), "max_abs_diff": float(np.abs(got - want).max())})
    return rows


def cmd_selfcheck(args: argparse.Namespace) -> None:
    rows, failed = check_ops(args.seed), False
    for row in rows:
        failed |= row["max_abs_diff"] != 0.0
        print(json.dumps({**row, "ok": row["max_abs_diff"] == 0.0}))
    rrdb = ["random-rrdb", "--num-block", "2", "--num-feat", "16", "--num-grow", "8"]
    srvgg = ["random-srvgg", "--num-conv", "4", "--num-feat", "16", "--upscale", "4"]
    cases = [("rrdb-x1", rrdb + ["--scale", "1"], "fp32"), ("rrdb-x2", rrdb + ["--scale", "2"], "fp16"),
             ("rrdb-x4", rrdb + ["--scale", "4"], "bf16"), ("srvgg-prelu", srvgg, "fp32"),
             ("srvgg-leakyrelu", srvgg, "fp32")]
    x = np.random.default_rng(args.seed).random((3, args.size, args.size), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="onnx_reference.") as tmp:
        for i, (case, command, dtype) in enumerate(cases):
            path = os.path.join(tmp, case + ".safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "export_torch_weights.py"), *command, "--out", path,
                            "--seed", str(args.seed + i), "--dtype", dtype], check=True, stdout=subprocess.DEVNULL)
            written, parsed = load_weights(path + ".npz"), read_safetensors(path)
            if sorted(written) != sorted(parsed) or any(not np.array_equal(written[n], parsed[n]) for n in written):
                raise ModelError(f"{path}: the safetensors parser disagrees with the .npz the exporter wrote")
            if case.endswith("leakyrelu"):
                parsed = {n: v for n, v in parsed.items() if not re.fullmatch(r"body\.\d*[13579]\.weight", n)}
            got, spec, seconds = upscale(parsed, x)
            diff = float(np.abs(got - np_forward(parsed, x)).max())
            failed |= not diff < args.tolerance
            print(json.dumps({"case": case, **spec, "dtype": dtype, "input": list(x.shape), "output": list(got.shape),
                              "max_abs_output": float(np.abs(got).max()), "max_abs_diff": diff,
                              "ok": diff < args.tolerance, "seconds": round(seconds, 6)}))
    sys.exit(1 if failed else 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--weights", required=True, help=".npz or .safetensors with upstream names")
    p.add_argument("--input", required=True, help="raw little-endian float32 CHW tensor")
    for flag in ("channels", "height", "width"):
        p.add_argument(f"--{flag}", type=int, required=True)
    p.add_argument("--output", required=True, help="where to write the raw float32 CHW output (unclamped)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("selfcheck")
    p.add_argument("--size", type=int, default=16, help="input height and width (a multiple of 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.set_defaults(func=cmd_selfcheck)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ModelError, OSError, ValueError, KeyError) as error:
        sys.exit(f"onnx_reference: {error}")


if __name__ == "__main__":
    main()
