#!/usr/bin/env python3
"""Independent PyTorch engine for ncnn Real-ESRGAN models: the yardstick for Upscaler's GPU backend.

The ncnn `.param`/`.bin` pair is read here with numpy alone (no ncnn, no Upscaler code) and the graph is
run with stock PyTorch ops (conv2d, cat, interpolate, prelu, pixel_shuffle), so a mistake in our own
reader or kernels cannot hide in the reference too.

Tensors travel as raw little-endian float32 in CHW order (3 x S x S in, 3 x (S*scale) x (S*scale) out).

  run        --param P --bin B --input IN.f32 --size S --output OUT.f32 --precision fp32|fp16
             [--channels 3] [--device cuda|cpu]
             Runs blob "data" -> blob "output", clamps to [0, 1], writes OUT.f32 and prints a JSON line.
  bench      (run's options, --output optional) [--runs 5] [--warmup 1]
             Times each run from the host input to the host output (host->device copy, forward, clamp,
             device->host copy, torch.cuda.synchronize on both sides) and prints one JSON line:
             {"engine":"pytorch","precision":..,"size":..,"runs":[s..],"median":s,"device":".."}.
             With --output, the last run's result is written as `run` would.
  compare    A.f32 B.f32
             8-bit comparison (round(clamp(x, 0, 1) * 255)): {"max_level_diff":..,"identical_pct":..,"psnr_db":..}.
  random-bin --param P --out B.bin [--seed 0]
             An ncnn .bin of seeded random fp32 weights (tag 0) for that param file: weights normal with
             standard deviation 1/sqrt(fan-in), biases uniform in [-0.1, 0.1], PReLU slopes uniform in [0, 0.5].
  inspect    --param P --bin B
             Parses both files (every byte of the .bin must be used) and prints a JSON summary.
  selfcheck  --param P --bin B [--size 16] [--seed 0] [--engine auto|torch|numpy] [--device cpu] [--blob NAME]
             Runs a random input through this interpreter (torch when importable, else a slow numpy
             forward that walks the same graph) and, when the PyPI `ncnn` package is importable,
             through ncnn's CPU path too; prints the largest absolute difference (unclamped) of the output
             or of --blob, and exits 1 when it exceeds --tolerance (default 1e-3).

Formats (they match Sources/Inference/Model/{Network,WeightReader,ParamDictionary}.swift and ncnn):
  .param  "7767517", then "<layer count> <blob count>", then one line per layer:
          `Type name n_in n_out in... out... k=v ...`; a value spelled with '.', 'e' or 'E' is a float,
          else an integer; `-(23300+k)=n,v1,..,vn` is array parameter k.
  .bin    per layer in file order: Convolution weights behind a 4-byte tag (0x01306B47: fp16, padded to
          4 bytes; 0 or 0x0002C056: fp32; 0x000D4B38: int8, refused; other non-zero: 256 fp32 table then
          uint8 indices padded to 4 bytes), then fp32 bias when 5=1 (no tag); PReLU: 0= fp32 slopes (no tag).

Needs numpy for everything and torch for run/bench (the GPU machines have both).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PARAM_MAGIC = "7767517"
INPUT_BLOB = "data"
OUTPUT_BLOB = "output"

TAG_FP16 = 0x01306B47
TAG_FP32_SCALED = 0x0002C056
TAG_INT8 = 0x000D4B38

SUPPORTED = ("Input", "Split", "Concat", "Convolution", "Eltwise", "BinaryOp", "Interp", "PReLU", "PixelShuffle")


class ModelError(Exception):
    """A model file that is malformed or uses something this engine does not implement."""


def fail(message: str) -> "NoReturn":  # noqa: F821 - typing only
    print(f"torch_reference: {message}", file=sys.stderr)
    sys.exit(1)


# ----------------------------------------------------------------------------------------------------------------
# .param
# ----------------------------------------------------------------------------------------------------------------


def _is_float_spelling(text: str) -> bool:
    return any(ch in ".eE" for ch in text)


def parse_layer_params(tokens: list[str], layer: str) -> dict[int, Any]:
    """`k=v` tokens -> {k: int | float | list[float]} (array keys -(23300+k) are stored under k)."""
    params: dict[int, Any] = {}
    for token in tokens:
        key_text, eq, text = token.partition("=")
        try:
            key = int(key_text)
        except ValueError:
            key = None
        if not eq or key is None:
            raise ModelError(f"layer {layer}: parameter '{token}' is not id=value")
        if key <= -23300:
            parts = text.split(",")
            try:
                count = int(parts[0])
                values = [float(p) for p in parts[1:]]
            except ValueError as error:
                raise ModelError(f"layer {layer}: array parameter '{token}' is not numeric") from error
            if count != len(values):
                raise ModelError(f"layer {layer}: array parameter '{token}' has a wrong count")
            params[-key - 23300] = values
        elif _is_float_spelling(text):
            try:
                params[key] = float(np.float32(float(text)))
            except ValueError as error:
                raise ModelError(f"layer {layer}: '{token}' is not a number") from error
        else:
            try:
                params[key] = int(text)
            except ValueError as error:
                raise ModelError(f"layer {layer}: '{token}' is not an integer") from error
    return params


def p_int(params: dict[int, Any], key: int, default: int) -> int:
    value = params.get(key)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)  # toward zero, as the Swift reader does
    return default


def p_float(params: dict[int, Any], key: int, default: float) -> float:
    value = params.get(key)
    if isinstance(value, (int, float)):
        return float(np.float32(value))
    return default


def p_array(params: dict[int, Any], key: int) -> list[float]:
    value = params.get(key)
    return [float(np.float32(v)) for v in value] if isinstance(value, list) else []


@dataclass
class Layer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, Any]
    spec: dict[str, Any] = field(default_factory=dict)
    # Filled by load_weights: "weight" (OIHW float32 ndarray), "bias" (float32 ndarray or None), "slopes".
    weights: dict[str, Any] = field(default_factory=dict)


@dataclass
class Model:
    layers: list[Layer]
    blob_count: int
    input_blob: str
    output_blob: str
    param_path: str = ""
    bin_path: str = ""
    weight_storage: dict[str, int] = field(default_factory=dict)  # "fp16"/"fp32"/"table" -> arrays

    @property
    def input_channels(self) -> int:
        for layer in self.layers:
            if layer.type == "Convolution":
                return layer.spec["in"]
        return 3


def _layer_spec(layer: Layer) -> dict[str, Any]:
    """Validates one layer's parameters (as the Swift reader does) and returns what the engines need."""
    t, name, pr, n_in = layer.type, layer.name, layer.params, len(layer.inputs)

    def unsupported(what: str) -> ModelError:
        return ModelError(f"layer {name} ({t}): unsupported {what}")

    def require_inputs(n: int) -> None:
        if n_in != n:
            raise ModelError(f"layer {name} ({t}) needs {n} input(s), has {n_in}")

    if t in ("Input", "Split"):
        if t == "Split":
            require_inputs(1)
        return {}
    if t == "Concat":
        if n_in < 1:
            raise ModelError(f"layer {name}: Concat needs inputs")
        if p_int(pr, 0, 0) != 0:
            raise unsupported("concat axis")
        return {}
    if t == "Convolution":
        require_inputs(1)
        out = p_int(pr, 0, 0)
        kw = p_int(pr, 1, 0)
        kh = p_int(pr, 11, kw)
        dw = p_int(pr, 2, 1)
        dh = p_int(pr, 12, dw)
        sw = p_int(pr, 3, 1)
        sh = p_int(pr, 13, sw)
        pl = p_int(pr, 4, 0)
        pr_ = p_int(pr, 15, pl)
        pt = p_int(pr, 14, pl)
        pb = p_int(pr, 16, pt)
        count = p_int(pr, 6, 0)
        if out <= 0 or kw <= 0 or kh <= 0 or count <= 0 or count % (out * kw * kh) != 0:
            raise ModelError(f"layer {name}: inconsistent convolution sizes")
        if pl < 0:
            raise unsupported("automatic ('same') padding")
        if p_int(pr, 8, 0) != 0:
            raise unsupported("int8 quantisation")
        if p_int(pr, 19, 0) != 0:
            raise unsupported("dynamic weights")
        if min(sw, sh, dw, dh) < 1 or kw > 64 or kh > 64 or not all(0 <= p <= 64 for p in (pt, pr_, pb)):
            raise ModelError(f"layer {name}: stride and dilation must be at least 1, kernel and padding at most 64")
        act_type = p_int(pr, 9, 0)
        if act_type == 0:
            act = ("none", 0.0)
        elif act_type == 1:
            act = ("relu", 0.0)
        elif act_type == 2:
            slopes = p_array(pr, 10)
            act = ("leaky", slopes[0] if slopes else 0.0)
        else:
            raise unsupported(f"activation type {act_type}")
        return {
            "out": out, "in": count // (out * kw * kh), "kh": kh, "kw": kw, "sh": sh, "sw": sw, "dh": dh, "dw": dw,
            "pad": (pt, pl, pb, pr_), "act": act, "count": count, "bias": p_int(pr, 5, 0) != 0,
        }
    if t == "Eltwise":
        if n_in < 2:
            raise unsupported(f"eltwise with {n_in} input")
        # ncnn's own default op is 0 (product). Real-ESRGAN params always spell it out (0=1).
        op = p_int(pr, 0, 0)
        if op not in (0, 1, 2):
            raise unsupported(f"eltwise op {op}")
        coeffs = p_array(pr, 1)
        if coeffs and len(coeffs) != n_in:
            raise ModelError(f"layer {name}: {len(coeffs)} coefficients for {n_in} inputs")
        return {"op": ("prod", "sum", "max")[op], "coeffs": coeffs}
    if t == "BinaryOp":
        op = p_int(pr, 0, 0)
        if op not in (0, 1, 2):
            raise unsupported(f"binary op type {op}")
        with_scalar = p_int(pr, 1, 0) != 0
        require_inputs(1 if with_scalar else 2)
        return {"op": ("add", "sub", "mul")[op], "scalar": p_float(pr, 2, 0.0) if with_scalar else None}
    if t == "Interp":
        require_inputs(1)
        kind = p_int(pr, 0, 0)
        if kind not in (1, 3):
            raise unsupported(f"interpolation type {kind}")
        if p_int(pr, 5, 0) != 0:
            raise unsupported("dynamic target size")
        spec = {
            "mode": "nearest" if kind == 1 else "bicubic",
            "hs": p_float(pr, 1, 1.0), "ws": p_float(pr, 2, 1.0),
            "oh": p_int(pr, 3, 0), "ow": p_int(pr, 4, 0), "align": p_int(pr, 6, 0) != 0,
        }
        if not (0 < spec["hs"] <= 16 and 0 < spec["ws"] <= 16) or spec["oh"] < 0 or spec["ow"] < 0:
            raise ModelError(f"layer {name}: interpolation scale must be positive")
        return spec
    if t == "PReLU":
        require_inputs(1)
        count = p_int(pr, 0, 0)
        if count <= 0:
            raise ModelError(f"layer {name}: PReLU needs a slope count")
        return {"count": count}
    if t == "PixelShuffle":
        require_inputs(1)
        factor = p_int(pr, 0, 1)
        if not 1 <= factor <= 16:
            raise ModelError(f"layer {name}: bad upscale factor")
        if p_int(pr, 1, 0) != 0:
            raise unsupported("pixel shuffle mode")
        return {"factor": factor}
    raise ModelError(f"layer {name}: unsupported operation '{t}'")


def read_param(path: str) -> Model:
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines()]
    except OSError as error:
        raise ModelError(f"cannot read {path}: {error}") from error
    lines_iter = iter(lines)
    magic = next(lines_iter, "").strip()
    if magic != PARAM_MAGIC:
        raise ModelError(f"{path} is not an ncnn param file (no {PARAM_MAGIC} magic)")
    counts = next(lines_iter, "").split()
    if len(counts) != 2 or not all(c.isdigit() for c in counts) or int(counts[0]) <= 0 or int(counts[1]) <= 0:
        raise ModelError(f"{path}: second line must be '<layer count> <blob count>'")
    layer_count, blob_count = int(counts[0]), int(counts[1])
    layers: list[Layer] = []
    produced: set[str] = set()
    for line in lines_iter:
        tokens = line.split()
        if not tokens:
            continue
        try:
            n_in, n_out = int(tokens[2]), int(tokens[3])
        except (IndexError, ValueError):
            raise ModelError(f"{path}: malformed layer line '{line[:80]}'") from None
        if n_in < 0 or n_out < 0 or len(tokens) < 4 + n_in + n_out:
            raise ModelError(f"{path}: malformed layer line '{line[:80]}'")
        ltype, name = tokens[0], tokens[1]
        if (ltype == "Input") != (n_in == 0) or (ltype != "Input" and n_out < 1):
            raise ModelError(f"{path}: layer {name} ({ltype}) has {n_in} inputs and {n_out} outputs")
        if ltype == "Input" and any(l.type == "Input" for l in layers):
            raise ModelError(f"{path}: more than one Input layer")
        inputs = tokens[4:4 + n_in]
        outputs = tokens[4 + n_in:4 + n_in + n_out]
        for blob in inputs:
            if blob not in produced:
                raise ModelError(f"{path}: layer {name} reads blob {blob} before any layer writes it")
        produced.update(outputs)
        layer = Layer(ltype, name, inputs, outputs, parse_layer_params(tokens[4 + n_in + n_out:], name))
        layer.spec = _layer_spec(layer)
        layers.append(layer)
    if len(layers) != layer_count:
        raise ModelError(f"{path} declares {layer_count} layers but has {len(layers)}")
    input_layer = next((l for l in layers if l.type == "Input"), None)
    if input_layer is None or not input_layer.outputs:
        raise ModelError(f"{path} has no Input layer")
    output = OUTPUT_BLOB if OUTPUT_BLOB in produced else (layers[-1].outputs[0] if layers[-1].outputs else input_layer.outputs[0])
    return Model(layers, blob_count, input_layer.outputs[0], output, param_path=path)


# ----------------------------------------------------------------------------------------------------------------
# .bin
# ----------------------------------------------------------------------------------------------------------------


class BinReader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.offset = 0
        self.name = name
        self.storage: dict[str, int] = {}

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def _take(self, count: int, what: str) -> bytes:
        if count < 0 or count > self.remaining:
            raise ModelError(f"{self.name} ends early while reading {what}")
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def raw(self, count: int, what: str) -> np.ndarray:
        """`count` fp32 values, no tag."""
        return np.frombuffer(self._take(4 * count, what), dtype="<f4").astype(np.float32)

    def tagged(self, count: int, what: str) -> np.ndarray:
        (tag,) = np.frombuffer(self._take(4, what), dtype="<u4")
        tag = int(tag)
        if tag == TAG_FP16:
            kind = "fp16"
            chunk = self._take((count * 2 + 3) & ~3, what)
            values = np.frombuffer(chunk[:count * 2], dtype="<f2").astype(np.float32)
        elif tag == TAG_INT8:
            raise ModelError(f"{self.name}: int8 weights for {what} are not supported")
        elif tag in (0, TAG_FP32_SCALED):
            kind = "fp32"
            values = self.raw(count, what)
        else:
            kind = "table"
            table = self.raw(256, what)
            chunk = self._take((count + 3) & ~3, what)
            values = table[np.frombuffer(chunk[:count], dtype=np.uint8)]
        self.storage[kind] = self.storage.get(kind, 0) + 1
        return values


def load_model(param_path: str, bin_path: str) -> Model:
    model = read_param(param_path)
    try:
        with open(bin_path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise ModelError(f"cannot read {bin_path}: {error}") from error
    reader = BinReader(data, bin_path)
    for layer in model.layers:
        s = layer.spec
        if layer.type == "Convolution":
            w = reader.tagged(s["count"], f"weights of {layer.name}")
            layer.weights["weight"] = w.reshape(s["out"], s["in"], s["kh"], s["kw"])
            layer.weights["bias"] = reader.raw(s["out"], f"bias of {layer.name}") if s["bias"] else None
        elif layer.type == "PReLU":
            layer.weights["slopes"] = reader.raw(s["count"], f"slopes of {layer.name}")
    if reader.remaining != 0:
        raise ModelError(f"{bin_path} has {reader.remaining} bytes more than {param_path} uses")
    model.bin_path = bin_path
    model.weight_storage = reader.storage
    return model


def random_bin(model: Model, seed: int) -> bytes:
    """Seeded random weights for `model`'s layers, written as fp32 (tag 0) in ncnn's .bin layout."""
    rng = np.random.default_rng(seed)
    parts: list[bytes] = []
    for layer in model.layers:
        s = layer.spec
        if layer.type == "Convolution":
            fan_in = s["in"] * s["kh"] * s["kw"]
            w = rng.standard_normal(s["count"], dtype=np.float32) / np.float32(math.sqrt(fan_in))
            parts.append(np.uint32(0).tobytes())
            parts.append(w.astype("<f4").tobytes())
            if s["bias"]:
                parts.append(rng.uniform(-0.1, 0.1, s["out"]).astype("<f4").tobytes())
        elif layer.type == "PReLU":
            parts.append(rng.uniform(0.0, 0.5, s["count"]).astype("<f4").tobytes())
    return b"".join(parts)


# ----------------------------------------------------------------------------------------------------------------
# Shapes and interpolation indices (shared by both engines)
# ----------------------------------------------------------------------------------------------------------------


def interp_output_size(spec: dict[str, Any], h: int, w: int) -> tuple[int, int]:
    oh, ow = spec["oh"], spec["ow"]
    if oh == 0 or ow == 0:  # ncnn: either missing -> both from the scales, in float32
        oh = int(np.float32(h) * np.float32(spec["hs"]))
        ow = int(np.float32(w) * np.float32(spec["ws"]))
    return oh, ow


def nearest_indices(size_in: int, size_out: int, fixed_out: int, scale: float) -> np.ndarray:
    """ncnn's nearest source index: floor(o * step), step = in/out for a fixed size, else 1/scale (float32)."""
    step = np.float32(size_in) / np.float32(size_out) if fixed_out else np.float32(1.0) / np.float32(scale)
    o = np.arange(size_out, dtype=np.float32)
    return np.minimum((o * step).astype(np.int64), size_in - 1)


def cubic_taps(size_in: int, size_out: int, fixed_out: int, scale: float, align: bool) -> tuple[np.ndarray, np.ndarray]:
    """Keys' cubic (a = -0.75) taps as ncnn places them: (indices [out, 4] clamped to the edge, weights [out, 4]).

    Source position: o * (in-1)/(out-1) with align corners, else (o + 0.5) * step - 0.5 where step is in/out for a
    fixed output size and 1/scale when the size came from the scale (they differ when in * scale is not whole).
    """
    o = np.arange(size_out, dtype=np.float64)
    if align:
        pos = o * ((size_in - 1) / (size_out - 1)) if size_out > 1 else np.zeros_like(o)
    else:
        step = size_in / size_out if fixed_out else 1.0 / float(np.float32(scale))
        pos = (o + 0.5) * step - 0.5
    pos = pos.astype(np.float32).astype(np.float64)
    base = np.floor(pos)
    t = pos - base
    a = -0.75

    def near(d: np.ndarray) -> np.ndarray:
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d: np.ndarray) -> np.ndarray:
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    weights = np.stack([far(1 + t), near(t), near(1 - t), far(2 - t)], axis=1).astype(np.float32)
    idx = np.clip(base[:, None].astype(np.int64) + np.arange(-1, 3)[None, :], 0, size_in - 1)
    return idx, weights


def last_uses(model: Model) -> dict[str, int]:
    """For each blob, the index of the last layer reading it (so engines can drop it afterwards)."""
    last: dict[str, int] = {}
    for i, layer in enumerate(model.layers):
        for blob in layer.inputs:
            last[blob] = i
    return last


# ----------------------------------------------------------------------------------------------------------------
# Engines
# ----------------------------------------------------------------------------------------------------------------


class GraphEngine:
    """Walks the graph in file order (a topological order), dropping blobs after their last reader."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.last = last_uses(model)

    def forward(self, x: Any, output: str | None = None) -> Any:
        model = self.model
        want = output or model.output_blob
        blobs: dict[str, Any] = {model.input_blob: x}
        for i, layer in enumerate(model.layers):
            if layer.type == "Input":
                continue
            ins = [blobs[b] for b in layer.inputs]
            out = getattr(self, "op_" + layer.type)(layer, ins)
            for b in layer.inputs:
                if self.last.get(b) == i and b != want:
                    blobs.pop(b, None)
            for b in layer.outputs:
                blobs[b] = out
            del ins
            if want in blobs:
                return blobs[want]
        if want not in blobs:
            raise ModelError(f"no blob named {want}")
        return blobs[want]

    def op_Split(self, layer: Layer, ins: list[Any]) -> Any:
        return ins[0]


class TorchEngine(GraphEngine):
    """The reference: stock PyTorch ops, batch of 1, NCHW, fp32 (TF32 off) or fp16."""

    def __init__(self, model: Model, device: str, precision: str) -> None:
        super().__init__(model)
        import torch
        import torch.nn.functional as F

        self.torch, self.F = torch, F
        self.device = torch.device(device)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.params: dict[str, dict[str, Any]] = {}
        for layer in model.layers:
            prepared = {}
            for key, value in layer.weights.items():
                if value is not None:
                    prepared[key] = torch.from_numpy(np.ascontiguousarray(value)).to(self.device, self.dtype)
            self.params[layer.name] = prepared
        self.nearest_index: dict[tuple[int, int, int, int], tuple[Any, Any]] = {}

    def op_Concat(self, layer: Layer, ins: list[Any]) -> Any:
        return self.torch.cat(ins, dim=1)

    def op_Convolution(self, layer: Layer, ins: list[Any]) -> Any:
        s, p, F = layer.spec, self.params[layer.name], self.F
        x = ins[0]
        pt, pl, pb, pr = s["pad"]
        if pt == pb and pl == pr:
            padding = (pt, pl)
        else:
            x = F.pad(x, (pl, pr, pt, pb))
            padding = (0, 0)
        y = F.conv2d(x, p["weight"], p.get("bias"), stride=(s["sh"], s["sw"]), padding=padding,
                     dilation=(s["dh"], s["dw"]))
        kind, slope = s["act"]
        if kind == "relu":
            y = F.relu(y)
        elif kind == "leaky":
            y = F.leaky_relu(y, negative_slope=slope)
        return y

    def op_Eltwise(self, layer: Layer, ins: list[Any]) -> Any:
        op, coeffs = layer.spec["op"], layer.spec["coeffs"]
        if op == "sum":
            if not coeffs:
                y = ins[0]
                for x in ins[1:]:
                    y = y + x
                return y
            y = ins[0] * coeffs[0]
            for x, c in zip(ins[1:], coeffs[1:]):
                y = y + x * c
            return y
        y = ins[0]
        for x in ins[1:]:
            y = y * x if op == "prod" else self.torch.maximum(y, x)
        return y

    def op_BinaryOp(self, layer: Layer, ins: list[Any]) -> Any:
        op, scalar = layer.spec["op"], layer.spec["scalar"]
        a = ins[0]
        b = scalar if scalar is not None else ins[1]
        return a + b if op == "add" else (a - b if op == "sub" else a * b)

    def op_Interp(self, layer: Layer, ins: list[Any]) -> Any:
        s, x = layer.spec, ins[0]
        h, w = x.shape[2], x.shape[3]
        oh, ow = interp_output_size(s, h, w)
        fixed = s["oh"] != 0 and s["ow"] != 0
        if s["mode"] == "bicubic":
            if s["align"] or fixed or (np.float32(oh) / np.float32(h) == np.float32(s["hs"])
                                       and np.float32(ow) / np.float32(w) == np.float32(s["ws"])):
                # torch places samples at in/out steps, as ncnn does here.
                return self.F.interpolate(x, size=(oh, ow), mode="bicubic", align_corners=s["align"])
            return self._cubic_gather(x, h, w, oh, ow, s)
        iy = nearest_indices(h, oh, fixed, s["hs"])
        ix = nearest_indices(w, ow, fixed, s["ws"])
        if oh % h == 0 and ow % w == 0 and np.array_equal(iy, np.arange(oh) // (oh // h)) \
                and np.array_equal(ix, np.arange(ow) // (ow // w)):
            # Integer factor: ncnn's indices are exactly torch's nearest (floor(o / k)).
            return self.F.interpolate(x, size=(oh, ow), mode="nearest")
        key = (h, w, oh, ow)
        if key not in self.nearest_index:
            self.nearest_index[key] = (self.torch.from_numpy(iy).to(self.device),
                                       self.torch.from_numpy(ix).to(self.device))
        ty, tx = self.nearest_index[key]
        return x.index_select(2, ty).index_select(3, tx)

    def _cubic_gather(self, x: Any, h: int, w: int, oh: int, ow: int, s: dict[str, Any]) -> Any:
        """Bicubic with ncnn's 1/scale steps (in * scale not whole): four index_selects per axis, weighted."""
        torch = self.torch
        for axis, n_in, n_out, scale in ((2, h, oh, s["hs"]), (3, w, ow, s["ws"])):
            idx, wts = cubic_taps(n_in, n_out, False, scale, False)
            shape = [1, 1, 1, 1]
            shape[axis] = n_out
            acc = None
            for k in range(4):
                ti = torch.from_numpy(np.ascontiguousarray(idx[:, k])).to(self.device)
                tw = torch.from_numpy(np.ascontiguousarray(wts[:, k])).to(self.device, x.dtype).reshape(shape)
                term = x.index_select(axis, ti) * tw
                acc = term if acc is None else acc + term
            x = acc
        return x

    def op_PReLU(self, layer: Layer, ins: list[Any]) -> Any:
        return self.F.prelu(ins[0], self.params[layer.name]["slopes"])

    def op_PixelShuffle(self, layer: Layer, ins: list[Any]) -> Any:
        return self.F.pixel_shuffle(ins[0], layer.spec["factor"])


class NumpyEngine(GraphEngine):
    """A slow float32 numpy forward over the same graph, for machines without torch (tests only)."""

    def __init__(self, model: Model) -> None:
        super().__init__(model)

    def op_Concat(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(ins, axis=0)

    def op_Convolution(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        s, x = layer.spec, ins[0]
        w, b = layer.weights["weight"], layer.weights["bias"]
        pt, pl, pb, pr = s["pad"]
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr)))
        ekh, ekw = s["dh"] * (s["kh"] - 1) + 1, s["dw"] * (s["kw"] - 1) + 1
        win = np.lib.stride_tricks.sliding_window_view(x, (ekh, ekw), axis=(1, 2))
        win = win[:, ::s["sh"], ::s["sw"], ::s["dh"], ::s["dw"]]  # C, OH, OW, KH, KW
        c, oh, ow = win.shape[:3]
        cols = np.ascontiguousarray(win.transpose(1, 2, 0, 3, 4)).reshape(oh * ow, -1)
        y = (cols @ w.reshape(s["out"], -1).T).T.reshape(s["out"], oh, ow)
        if b is not None:
            y = y + b[:, None, None]
        kind, slope = s["act"]
        if kind == "relu":
            y = np.maximum(y, 0)
        elif kind == "leaky":
            y = np.where(y > 0, y, y * np.float32(slope))
        return y.astype(np.float32, copy=False)

    def op_Eltwise(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        op, coeffs = layer.spec["op"], layer.spec["coeffs"]
        if op == "sum":
            cs = coeffs or [1.0] * len(ins)
            return sum(np.float32(c) * x for c, x in zip(cs, ins)).astype(np.float32)
        y = ins[0]
        for x in ins[1:]:
            y = y * x if op == "prod" else np.maximum(y, x)
        return y

    def op_BinaryOp(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        op, scalar = layer.spec["op"], layer.spec["scalar"]
        a = ins[0]
        b = np.float32(scalar) if scalar is not None else ins[1]
        return (a + b if op == "add" else (a - b if op == "sub" else a * b)).astype(np.float32)

    def op_Interp(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        s, x = layer.spec, ins[0]
        h, w = x.shape[1], x.shape[2]
        oh, ow = interp_output_size(s, h, w)
        if s["mode"] == "nearest":
            fixed = s["oh"] != 0 and s["ow"] != 0
            return x[:, nearest_indices(h, oh, fixed, s["hs"])][:, :, nearest_indices(w, ow, fixed, s["ws"])]
        fixed = s["oh"] != 0 and s["ow"] != 0
        iy, wy = cubic_taps(h, oh, fixed, s["hs"], s["align"])
        ix, wx = cubic_taps(w, ow, fixed, s["ws"], s["align"])
        rows = np.einsum("cokw,ok->cow", x[:, iy, :], wy)  # C, OH, W
        return np.einsum("chok,ok->cho", rows[:, :, ix], wx).astype(np.float32)

    def op_PReLU(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        x, slopes = ins[0], layer.weights["slopes"]
        k = slopes[:, None, None] if slopes.size > 1 else slopes[0]
        return np.where(x > 0, x, x * k).astype(np.float32)

    def op_PixelShuffle(self, layer: Layer, ins: list[np.ndarray]) -> np.ndarray:
        r, x = layer.spec["factor"], ins[0]
        c, h, w = x.shape
        return x.reshape(c // (r * r), r, r, h, w).transpose(0, 3, 1, 4, 2).reshape(c // (r * r), h * r, w * r)


# ----------------------------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------------------------


def read_input(path: str, channels: int, size: int) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    if data.size != channels * size * size:
        fail(f"{path} holds {data.size} floats, expected {channels * size * size} ({channels}x{size}x{size} CHW)")
    return np.ascontiguousarray(data.reshape(channels, size, size).astype(np.float32))


def write_output(path: str, out: np.ndarray) -> None:
    np.ascontiguousarray(out, dtype="<f4").tofile(path)


def setup_torch(device: str):
    try:
        import torch
    except ImportError:
        fail("PyTorch is not installed here (run/bench need it; inspect, compare, random-bin and selfcheck do not)")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            fail("CUDA is not available to PyTorch (use --device cpu to run on the CPU)")
        # fp32 must be fp32: no TF32 in cuDNN convolutions or cuBLAS. Only the legacy setters are used: mixing them
        # with the newer fp32_precision API makes torch refuse to read the flags back.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    return torch


def device_name(torch: Any, device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return "cpu"


def load_or_die(param: str, bin_path: str) -> Model:
    try:
        return load_model(param, bin_path)
    except ModelError as error:
        fail(str(error))


class Runner:
    """One host-to-host pass: upload, forward, clamp, download."""

    def __init__(self, model: Model, device: str, precision: str) -> None:
        self.torch = setup_torch(device)
        self.device = device
        self.engine = TorchEngine(model, device, precision)

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            self.torch.cuda.synchronize()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(image).to(self.engine.device).to(self.engine.dtype).unsqueeze(0)
            y = self.engine.forward(x)
            return y[0].float().clamp_(0.0, 1.0).cpu().numpy()


def cmd_run(args: argparse.Namespace) -> None:
    model = load_or_die(args.param, args.bin)
    image = read_input(args.input, args.channels, args.size)
    runner = Runner(model, args.device, args.precision)
    out = runner(image)
    runner.sync()
    write_output(args.output, out)
    print(json.dumps({"engine": "pytorch", "precision": args.precision, "size": args.size,
                      "output_shape": list(out.shape), "device": device_name(runner.torch, args.device)}))


def cmd_bench(args: argparse.Namespace) -> None:
    model = load_or_die(args.param, args.bin)
    image = read_input(args.input, args.channels, args.size)
    runner = Runner(model, args.device, args.precision)
    out = None
    for _ in range(args.warmup):
        out = runner(image)
    runner.sync()
    runs = []
    for _ in range(args.runs):
        runner.sync()
        start = time.perf_counter()
        out = runner(image)
        runner.sync()
        runs.append(time.perf_counter() - start)
    if args.output and out is not None:
        write_output(args.output, out)
    torch = runner.torch
    tf32 = None
    if args.device.startswith("cuda"):
        try:
            tf32 = bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)
        except RuntimeError:
            tf32 = "unknown"
    print(json.dumps({
        "engine": "pytorch", "precision": args.precision, "size": args.size,
        "runs": [round(r, 6) for r in runs], "median": round(statistics.median(runs), 6) if runs else None,
        "device": device_name(torch, args.device), "torch": torch.__version__, "tf32": tf32,
        "warmup": args.warmup,
    }))


def to_levels(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.int16)


def compare_arrays(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    la, lb = to_levels(a), to_levels(b)
    diff = np.abs(la - lb)
    mse = float(np.mean((la.astype(np.float64) - lb) ** 2))
    psnr = float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
    return {
        "max_level_diff": int(diff.max()) if diff.size else 0,
        "identical_pct": round(100.0 * float(np.mean(diff == 0)), 4) if diff.size else 100.0,
        "psnr_db": "inf" if math.isinf(psnr) else round(psnr, 3),
        "values": int(la.size),
    }


def cmd_compare(args: argparse.Namespace) -> None:
    a = np.fromfile(args.a, dtype="<f4")
    b = np.fromfile(args.b, dtype="<f4")
    if a.size != b.size:
        fail(f"{args.a} holds {a.size} floats but {args.b} holds {b.size}")
    if a.size == 0:
        fail(f"{args.a} is empty")
    print(json.dumps(compare_arrays(a, b)))


def cmd_random_bin(args: argparse.Namespace) -> None:
    try:
        model = read_param(args.param)
    except ModelError as error:
        fail(str(error))
    data = random_bin(model, args.seed)
    with open(args.out, "wb") as f:
        f.write(data)
    print(json.dumps({"bin": args.out, "bytes": len(data), "seed": args.seed}))


def summary(model: Model) -> dict[str, Any]:
    types: dict[str, int] = {}
    for layer in model.layers:
        types[layer.type] = types.get(layer.type, 0) + 1
    weights = sum(int(l.weights["weight"].size) + (int(l.weights["bias"].size) if l.weights.get("bias") is not None else 0)
                  for l in model.layers if l.type == "Convolution")
    weights += sum(int(l.weights["slopes"].size) for l in model.layers if l.type == "PReLU")
    return {"param": model.param_path, "bin": model.bin_path, "layers": len(model.layers), "blobs": model.blob_count,
            "types": types, "parameters": weights, "weight_storage": model.weight_storage,
            "input_blob": model.input_blob, "output_blob": model.output_blob, "input_channels": model.input_channels,
            "scale": scale_factor(model)}


def scale_factor(model: Model, probe: int = 8) -> int | None:
    """Output/input size ratio by shape inference alone (no weights touched)."""
    shapes: dict[str, tuple[int, int, int]] = {model.input_blob: (model.input_channels, probe, probe)}
    for layer in model.layers:
        if layer.type == "Input":
            continue
        ins = [shapes[b] for b in layer.inputs]
        c, h, w = ins[0]
        s = layer.spec
        if layer.type == "Concat":
            out = (sum(i[0] for i in ins), h, w)
        elif layer.type == "Convolution":
            ekh, ekw = s["dh"] * (s["kh"] - 1) + 1, s["dw"] * (s["kw"] - 1) + 1
            pt, pl, pb, pr = s["pad"]
            out = (s["out"], (h + pt + pb - ekh) // s["sh"] + 1, (w + pl + pr - ekw) // s["sw"] + 1)
        elif layer.type == "Interp":
            out = (c, *interp_output_size(s, h, w))
        elif layer.type == "PixelShuffle":
            r = s["factor"]
            out = (c // (r * r), h * r, w * r)
        else:
            out = ins[0]
        for b in layer.outputs:
            shapes[b] = out
    out = shapes.get(model.output_blob)
    if out is None or out[1] % probe or out[1] != out[2]:
        return None
    return out[1] // probe


def cmd_inspect(args: argparse.Namespace) -> None:
    model = load_or_die(args.param, args.bin)
    print(json.dumps(summary(model)))


def cmd_selfcheck(args: argparse.Namespace) -> None:
    model = load_or_die(args.param, args.bin)
    rng = np.random.default_rng(args.seed)
    image = rng.random((model.input_channels, args.size, args.size), dtype=np.float32)
    engine = args.engine
    if engine == "auto":
        try:
            import torch  # noqa: F401
            engine = "torch"
        except ImportError:
            engine = "numpy"
    start = time.perf_counter()
    if engine == "torch":
        runner = Runner(model, args.device, "fp32")
        with runner.torch.inference_mode():
            x = runner.torch.from_numpy(image).to(runner.engine.device).unsqueeze(0)
            ours = runner.engine.forward(x, args.blob)[0].float().cpu().numpy()
    else:
        ours = NumpyEngine(model).forward(image, args.blob)
    ours_s = time.perf_counter() - start
    result: dict[str, Any] = {"engine": engine, "size": args.size, "output_shape": list(ours.shape),
                              "seconds": round(ours_s, 3)}
    try:
        import ncnn
    except ImportError:
        result["ncnn"] = "not installed"
        print(json.dumps(result))
        return
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 2
    if net.load_param(args.param) != 0 or net.load_model(args.bin) != 0:
        fail("ncnn cannot load the model")
    ex = net.create_extractor()
    ex.input(INPUT_BLOB, ncnn.Mat(image))
    ret, mat = ex.extract(args.blob or model.output_blob)
    if ret != 0:
        fail(f"ncnn extract failed with {ret}")
    ref = np.array(mat, dtype=np.float32)
    result["ncnn"] = ncnn.__version__
    if ref.shape != ours.shape:
        result["error"] = f"shape {list(ours.shape)} vs ncnn {list(ref.shape)}"
        print(json.dumps(result))
        sys.exit(1)
    # Unclamped, so values outside [0, 1] count too; the 8-bit figures are on the clamped outputs.
    result["max_abs_diff"] = float(np.max(np.abs(ref - ours)))
    result["max_abs_value"] = float(np.max(np.abs(ref)))
    result["levels"] = compare_arrays(ours, ref)
    print(json.dumps(result))
    if result["max_abs_diff"] > args.tolerance:
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--param", required=True)
        p.add_argument("--bin", required=True)

    def run_args(p: argparse.ArgumentParser, output_required: bool) -> None:
        model_args(p)
        p.add_argument("--input", required=True)
        p.add_argument("--size", type=int, required=True)
        p.add_argument("--channels", type=int, default=3)
        p.add_argument("--output", required=output_required)
        p.add_argument("--precision", choices=("fp32", "fp16"), required=True)
        p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")

    p = sub.add_parser("run", help="one forward pass")
    run_args(p, True)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("bench", help="timed forward passes")
    run_args(p, False)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("compare", help="8-bit comparison of two raw float32 outputs")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("random-bin", help="seeded random weights for a param file")
    p.add_argument("--param", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_random_bin)
    p = sub.add_parser("inspect", help="parse a model and print a summary")
    model_args(p)
    p.set_defaults(func=cmd_inspect)
    p = sub.add_parser("selfcheck", help="compare this interpreter with ncnn's CPU path on a small input")
    model_args(p)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine", choices=("auto", "torch", "numpy"), default="auto")
    p.add_argument("--device", default="cpu")
    p.add_argument("--tolerance", type=float, default=1e-3)
    p.add_argument("--blob", help="compare this blob instead of the output")
    p.set_defaults(func=cmd_selfcheck)

    args = parser.parse_args(argv)
    if getattr(args, "runs", 1) < 1 or getattr(args, "warmup", 0) < 0:
        fail("--runs must be at least 1 and --warmup at least 0")
    if getattr(args, "size", 1) < 1:
        fail("--size must be positive")
    args.func(args)


if __name__ == "__main__":
    main()
