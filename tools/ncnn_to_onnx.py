#!/usr/bin/env python3
"""Converts an ncnn Real-ESRGAN model (`.param` + `.bin`) to an equivalent ONNX graph, for the OpenVINO reference.

The ncnn files are read with numpy alone and the graph is written with the `onnx` package's helper API, so
tools/openvino_reference.py runs the very weights that ncnn and Upscaler run, through an engine that shares no
code with either. It covers the layers of the models this project ships: RRDBNet (realesrgan-x4plus and
-x4plus-anime) and SRVGGNetCompact (realesr-animevideov3, x2 or x4). Anything else is refused by name.

The graph takes input "data" (1 x C x H x W float32, H and W dynamic) and gives output "output", unclamped.

  convert --param P --bin B --output M.onnx
          Writes the ONNX model and prints {"nodes": .., "initializers": .., "weights": ..} as a JSON line.
  check   --param P --bin B [--size 48] [--seed 0] [--threads 2] [--tolerance 1e-4]
          Runs one seeded random input (uniform in [0, 1), C x size x size) through the converted graph on
          OpenVINO's CPU plugin in f32 and through ncnn's CPU path (the PyPI `ncnn` package), prints
          {"max_abs_diff": .., "shape": [..], "openvino_version": "..", "ncnn_version": ".."} and exits 1
          when the largest absolute difference exceeds --tolerance.

Formats:
  .param  "7767517", then "<layer count> <blob count>", then one line per layer:
          `Type name n_in n_out in... out... k=v ...`; a value spelled with '.', 'e' or 'E' is a float, else an
          integer; `-(23300+k)=n,v1,..,vn` is array parameter k.
  .bin    per layer in file order: Convolution weights behind a 4-byte tag (0: fp32, 0x01306B47: fp16 padded
          to 4 bytes; other tags are refused), then fp32 bias when 5=1 (no tag); PReLU: 0= fp32 slopes (no tag).
          Every byte must be used.

Needs: onnx and numpy to convert; openvino and ncnn too for check (scripts/setup.sh --test installs them).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PARAM_MAGIC = "7767517"
INPUT_BLOB = "data"
OUTPUT_BLOB = "output"
TAG_FP32 = 0
TAG_FP16 = 0x01306B47

# Opset 17 with IR version 8: every op used here has had its current form since then, and OpenVINO's ONNX
# frontend reads it. onnx's own default IR version follows its release and can be newer than a reader accepts.
OPSET = 17
IR_VERSION = 8


class ModelError(Exception):
    """A model file that is malformed or uses something this converter does not implement."""


@dataclass
class Layer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, Any]


def _parse_value(text: str) -> int | float:
    return float(text) if any(ch in ".eE" for ch in text) else int(text)


def parse_param(path: str) -> list[Layer]:
    with open(path, encoding="utf-8") as f:
        lines = [line.split() for line in f if line.strip()]
    if not lines or lines[0] != [PARAM_MAGIC]:
        raise ModelError(f"{path}: not an ncnn param file (first line must be {PARAM_MAGIC})")
    try:
        layer_count, _ = (int(v) for v in lines[1])
    except (IndexError, ValueError) as error:
        raise ModelError(f"{path}: second line must be '<layer count> <blob count>'") from error
    if len(lines) - 2 != layer_count:
        raise ModelError(f"{path}: header says {layer_count} layers, file has {len(lines) - 2}")

    layers = []
    for tokens in lines[2:]:
        try:
            kind, name, n_in, n_out = tokens[0], tokens[1], int(tokens[2]), int(tokens[3])
        except (IndexError, ValueError) as error:
            raise ModelError(f"{path}: malformed layer line '{' '.join(tokens)}'") from error
        blobs = tokens[4 : 4 + n_in + n_out]
        if len(blobs) != n_in + n_out:
            raise ModelError(f"{path}: layer {name} lists fewer blobs than {n_in} in + {n_out} out")
        params: dict[int, Any] = {}
        for token in tokens[4 + n_in + n_out :]:
            key_text, _, value = token.partition("=")
            try:
                key = int(key_text)
                if key <= -23300:
                    count, *values = value.split(",")
                    if int(count) != len(values):
                        raise ValueError
                    params[-key - 23300] = [_parse_value(v) for v in values]
                else:
                    params[key] = _parse_value(value)
            except ValueError as error:
                raise ModelError(f"{path}: layer {name}: malformed parameter '{token}'") from error
        layers.append(Layer(kind, name, blobs[:n_in], blobs[n_in:], params))
    return layers


class WeightReader:
    """Reads the .bin in ncnn's load order; `finish` checks that nothing is left over."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = np.fromfile(path, dtype=np.uint8)
        self.offset = 0

    def _take(self, size: int, what: str) -> np.ndarray:
        if self.offset + size > self.data.size:
            raise ModelError(
                f"{self.path}: {what} needs {size} bytes at offset {self.offset}, "
                f"file has {self.data.size} bytes: the .bin does not match the .param"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def raw_fp32(self, count: int, what: str) -> np.ndarray:
        return self._take(4 * count, what).view("<f4").astype(np.float32)

    def tagged(self, count: int, what: str) -> np.ndarray:
        tag = int(self._take(4, f"{what} tag").view("<u4")[0])
        if tag == TAG_FP32:
            return self.raw_fp32(count, what)
        if tag == TAG_FP16:
            padded = (2 * count + 3) // 4 * 4
            return self._take(padded, what)[: 2 * count].view("<f2").astype(np.float32)
        raise ModelError(
            f"{self.path}: {what} has storage tag 0x{tag:08X}; only fp32 (0) and fp16 (0x{TAG_FP16:08X}) are supported"
        )

    def finish(self) -> None:
        if self.offset != self.data.size:
            raise ModelError(
                f"{self.path}: the .param uses {self.offset} bytes of weights, the file has {self.data.size}: "
                "the .bin does not match the .param"
            )


class Converter:
    def __init__(self, weights: WeightReader) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        # ncnn blob -> ONNX tensor; Split outputs alias their input instead of copying it.
        self.tensor: dict[str, str] = {}
        # ONNX tensor -> channel count (None until a consumer pins it, as a convolution does for the input).
        self.channels: dict[str, int | None] = {}

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def source(self, layer: Layer, blob: str) -> str:
        if blob not in self.tensor:
            raise ModelError(f"layer {layer.name} reads blob '{blob}' before any layer writes it")
        return self.tensor[blob]

    def sources(self, layer: Layer, count: int | None = None) -> list[str]:
        if count is not None and len(layer.inputs) != count:
            raise ModelError(f"layer {layer.name} ({layer.type}) needs {count} input(s), has {len(layer.inputs)}")
        return [self.source(layer, blob) for blob in layer.inputs]

    def pin_channels(self, layer: Layer, tensor: str, expected: int) -> None:
        known = self.channels[tensor]
        if known is None:
            self.channels[tensor] = expected
        elif known != expected:
            raise ModelError(f"layer {layer.name} ({layer.type}) expects {expected} channels, its input has {known}")

    def emit(
        self, layer: Layer, op: str, inputs: list[str], channels: int | None, node_name: str = "", **attrs: Any
    ) -> None:
        """Adds the node that writes the layer's single output blob."""
        if len(layer.outputs) != 1:
            raise ModelError(f"layer {layer.name} ({layer.type}) needs 1 output, has {len(layer.outputs)}")
        out = layer.outputs[0]
        self.nodes.append(helper.make_node(op, inputs, [out], name=node_name or layer.name, **attrs))
        self.tensor[out] = out
        self.channels[out] = channels

    def unsupported(self, layer: Layer, what: str) -> ModelError:
        return ModelError(f"layer {layer.name} ({layer.type}): unsupported {what}")

    # One method per ncnn layer type, named after it; `convert` dispatches on the type name.

    def Input(self, layer: Layer) -> None:
        for blob in layer.outputs:
            self.tensor[blob] = blob
            channels = layer.params.get(2, 0)
            self.channels[blob] = channels if isinstance(channels, int) and channels > 0 else None

    def Split(self, layer: Layer) -> None:
        (src,) = self.sources(layer, 1)
        for blob in layer.outputs:
            self.tensor[blob] = src

    def Convolution(self, layer: Layer) -> None:
        (src,) = self.sources(layer, 1)
        p = layer.params
        out_ch, kw = p.get(0, 0), p.get(1, 0)
        kh = p.get(11, kw)
        dw = p.get(2, 1)
        dh = p.get(12, dw)
        sw = p.get(3, 1)
        sh = p.get(13, sw)
        pad_left = p.get(4, 0)
        pad_right = p.get(15, pad_left)
        pad_top = p.get(14, pad_left)
        pad_bottom = p.get(16, pad_top)
        count = p.get(6, 0)
        if min(out_ch, kw, kh, count) <= 0 or count % (out_ch * kw * kh) != 0:
            raise ModelError(f"layer {layer.name}: weight count 6={count} does not fit {out_ch} outputs of {kh}x{kw}")
        if min(pad_left, pad_right, pad_top, pad_bottom) < 0:
            raise self.unsupported(layer, "automatic ('same') padding")
        if p.get(18, 0) != 0:
            raise self.unsupported(layer, "non-zero pad value")
        if p.get(8, 0) != 0:
            raise self.unsupported(layer, "int8 quantisation")
        if p.get(19, 0) != 0:
            raise self.unsupported(layer, "dynamic weights")
        activation = p.get(9, 0)
        if activation not in (0, 1, 2):
            raise self.unsupported(layer, f"fused activation type {activation}")
        in_ch = count // (out_ch * kw * kh)
        self.pin_channels(layer, src, in_ch)

        weight = self.weights.tagged(count, f"layer {layer.name} weights").reshape(out_ch, in_ch, kh, kw)
        inputs = [src, self.constant(f"{layer.name}.weight", weight)]
        if p.get(5, 0):
            bias = self.weights.raw_fp32(out_ch, f"layer {layer.name} bias")
            inputs.append(self.constant(f"{layer.name}.bias", bias))
        attrs = dict(
            kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw], pads=[pad_top, pad_left, pad_bottom, pad_right]
        )
        if activation == 0:
            self.emit(layer, "Conv", inputs, out_ch, **attrs)
            return
        conv_out = f"{layer.name}.conv"
        self.nodes.append(helper.make_node("Conv", inputs, [conv_out], name=conv_out, **attrs))
        if activation == 1:
            self.emit(layer, "Relu", [conv_out], out_ch, node_name=f"{layer.name}.act")
        else:
            slopes = p.get(10, [0.0])
            self.emit(layer, "LeakyRelu", [conv_out], out_ch, node_name=f"{layer.name}.act", alpha=float(slopes[0]))

    def PReLU(self, layer: Layer) -> None:
        (src,) = self.sources(layer, 1)
        count = layer.params.get(0, 0)
        if count <= 0:
            raise ModelError(f"layer {layer.name}: PReLU needs 0= slope count")
        slopes = self.weights.raw_fp32(count, f"layer {layer.name} slopes")
        if count > 1:
            self.pin_channels(layer, src, count)
            slopes = slopes.reshape(count, 1, 1)
        self.emit(layer, "PRelu", [src, self.constant(f"{layer.name}.slope", slopes)], self.channels[src])

    def Concat(self, layer: Layer) -> None:
        srcs = self.sources(layer)
        axis = layer.params.get(0, 0)
        # ncnn's axes leave out the batch: 0 is channels. Negative axes count from the end in both.
        onnx_axis = axis + 1 if axis >= 0 else axis
        channels = None
        if onnx_axis in (1, -3):
            counts = [self.channels[s] for s in srcs]
            channels = None if None in counts else sum(counts)
        self.emit(layer, "Concat", srcs, channels, axis=onnx_axis)

    def _same_channels(self, layer: Layer, srcs: list[str]) -> int | None:
        known = {self.channels[s] for s in srcs} - {None}
        if len(known) > 1:
            raise ModelError(f"layer {layer.name} ({layer.type}) combines inputs of {sorted(known)} channels")
        channels = known.pop() if known else None
        if channels is not None:
            for s in srcs:
                self.pin_channels(layer, s, channels)
        return channels

    def Eltwise(self, layer: Layer) -> None:
        srcs = self.sources(layer)
        op = layer.params.get(0, 0)
        coeffs = layer.params.get(1, [])
        if op not in (0, 1, 2):
            raise self.unsupported(layer, f"eltwise op {op}")
        if coeffs and len(coeffs) != len(srcs):
            raise ModelError(f"layer {layer.name}: {len(coeffs)} coefficients for {len(srcs)} inputs")
        channels = self._same_channels(layer, srcs)
        if op == 1 and coeffs:
            scaled = []
            for i, (src, coeff) in enumerate(zip(srcs, coeffs)):
                if coeff == 1:
                    scaled.append(src)
                    continue
                name = f"{layer.name}.scaled{i}"
                factor = self.constant(f"{layer.name}.coeff{i}", np.array(coeff, dtype=np.float32))
                self.nodes.append(helper.make_node("Mul", [src, factor], [name], name=name))
                scaled.append(name)
            srcs = scaled
        if op == 0:
            # ONNX Mul takes two inputs; Sum and Max take any number.
            for i in range(len(srcs) - 2):
                name = f"{layer.name}.prod{i}"
                self.nodes.append(helper.make_node("Mul", srcs[:2], [name], name=name))
                srcs = [name, *srcs[2:]]
        self.emit(layer, ("Mul", "Sum", "Max")[op], srcs, channels)

    def BinaryOp(self, layer: Layer) -> None:
        op = layer.params.get(0, 0)
        if op not in (0, 1, 2, 3):
            raise self.unsupported(layer, f"binary op type {op}")
        onnx_op = ("Add", "Sub", "Mul", "Div")[op]
        if layer.params.get(1, 0):
            (src,) = self.sources(layer, 1)
            scalar = self.constant(f"{layer.name}.b", np.array(layer.params.get(2, 0.0), dtype=np.float32))
            self.emit(layer, onnx_op, [src, scalar], self.channels[src])
            return
        srcs = self.sources(layer, 2)
        self.emit(layer, onnx_op, srcs, self._same_channels(layer, srcs))

    def Interp(self, layer: Layer) -> None:
        (src,) = self.sources(layer, 1)
        p = layer.params
        if p.get(0, 0) != 1:
            raise self.unsupported(layer, f"resize type {p.get(0, 0)} (only 1, nearest)")
        if p.get(3, 0) or p.get(4, 0) or p.get(5, 0):
            raise self.unsupported(layer, "fixed or dynamic output size")
        hs, ws = float(p.get(1, 1.0)), float(p.get(2, 1.0))
        if hs <= 0 or ws <= 0:
            raise ModelError(f"layer {layer.name}: scale factors must be positive")
        scales = self.constant(f"{layer.name}.scales", np.array([1.0, 1.0, hs, ws], dtype=np.float32))
        # ncnn's nearest reads source pixel floor(dst / scale): ONNX's asymmetric mapping rounded down.
        self.emit(
            layer, "Resize", [src, "", scales], self.channels[src],
            mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor",
        )

    def PixelShuffle(self, layer: Layer) -> None:
        (src,) = self.sources(layer, 1)
        factor, mode = layer.params.get(0, 1), layer.params.get(1, 0)
        if mode not in (0, 1):
            raise self.unsupported(layer, f"pixel shuffle mode {mode}")
        channels = self.channels[src]
        if channels is not None and channels % (factor * factor) != 0:
            raise ModelError(f"layer {layer.name}: {channels} channels do not split into {factor}x{factor} blocks")
        # Mode 0 is PyTorch's pixel_shuffle (channel-major: ONNX CRD); mode 1 is TensorFlow's (DCR).
        self.emit(
            layer, "DepthToSpace", [src], None if channels is None else channels // (factor * factor),
            blocksize=factor, mode="CRD" if mode == 0 else "DCR",
        )

    SUPPORTED = ("Input", "Split", "Convolution", "PReLU", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle")


def convert(param: str, bin_path: str) -> onnx.ModelProto:
    """The ONNX model equivalent to an ncnn model; raises ModelError on anything it cannot convert exactly."""
    layers = parse_param(param)
    unknown = sorted({layer.type for layer in layers} - set(Converter.SUPPORTED))
    if unknown:
        raise ModelError(
            f"{param}: unsupported ncnn layer type(s) {', '.join(unknown)} "
            f"(supported: {', '.join(Converter.SUPPORTED)})"
        )
    converter = Converter(WeightReader(bin_path))
    for layer in layers:
        getattr(converter, layer.type)(layer)
    converter.weights.finish()

    if INPUT_BLOB not in converter.tensor or converter.tensor[INPUT_BLOB] != INPUT_BLOB:
        raise ModelError(f"{param}: no Input layer declares blob '{INPUT_BLOB}'")
    if OUTPUT_BLOB not in converter.tensor:
        raise ModelError(f"{param}: no layer writes blob '{OUTPUT_BLOB}'")
    if converter.tensor[OUTPUT_BLOB] != OUTPUT_BLOB:
        # Only a Split can leave "output" as an alias of another tensor.
        converter.nodes.append(helper.make_node("Identity", [converter.tensor[OUTPUT_BLOB]], [OUTPUT_BLOB]))
    in_channels = converter.channels[INPUT_BLOB]
    if in_channels is None:
        raise ModelError(f"{param}: cannot tell how many channels blob '{INPUT_BLOB}' has")

    out_channels = converter.channels[converter.tensor[OUTPUT_BLOB]]
    graph = helper.make_graph(
        converter.nodes,
        "ncnn_to_onnx",
        [helper.make_tensor_value_info(INPUT_BLOB, TensorProto.FLOAT, [1, in_channels, "height", "width"])],
        [helper.make_tensor_value_info(OUTPUT_BLOB, TensorProto.FLOAT, [1, out_channels, None, None])],
        initializer=converter.initializers,
    )
    model = helper.make_model(
        graph, producer_name="upscaler ncnn_to_onnx", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def load_or_exit(param: str, bin_path: str) -> onnx.ModelProto:
    try:
        return convert(param, bin_path)
    except (ModelError, OSError) as error:
        sys.exit(f"ncnn_to_onnx: {error}")


def cmd_convert(args: argparse.Namespace) -> None:
    model = load_or_exit(args.param, args.bin)
    onnx.save_model(model, args.output)
    weights = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    summary = {"nodes": len(model.graph.node), "initializers": len(model.graph.initializer), "weights": weights}
    print(json.dumps(summary))


def cmd_check(args: argparse.Namespace) -> None:
    import ncnn
    import openvino as ov

    import ncnn_reference

    model = load_or_exit(args.param, args.bin)
    channels = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    tensor = np.random.default_rng(args.seed).random((channels, args.size, args.size), dtype=np.float32)

    net = ncnn_reference.load_net(args.param, args.bin, args.threads)
    expected = ncnn_reference.extract(net, tensor)

    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(model.SerializeToString(), b""),
        "CPU",
        {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": args.threads},
    )
    actual = compiled(tensor[np.newaxis])[0][0]

    if actual.shape != expected.shape:
        sys.exit(f"ncnn_to_onnx: OpenVINO output shape {actual.shape} differs from ncnn's {expected.shape}")
    diff = float(np.max(np.abs(actual - expected)))
    print(
        json.dumps(
            {
                "max_abs_diff": diff,
                "shape": list(expected.shape),
                "openvino_version": ov.get_version(),
                "ncnn_version": ncnn.__version__,
            }
        )
    )
    if not diff <= args.tolerance:
        sys.exit(f"ncnn_to_onnx: max abs difference {diff:g} exceeds {args.tolerance:g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--param", required=True, help="ncnn .param file")
        p.add_argument("--bin", required=True, help="ncnn .bin file")

    conv = sub.add_parser("convert", help="write the ONNX model")
    common(conv)
    conv.add_argument("--output", required=True, help="where to write the .onnx file")
    conv.set_defaults(func=cmd_convert)

    check = sub.add_parser("check", help="compare OpenVINO on the converted graph with ncnn on the original")
    common(check)
    check.add_argument("--size", type=int, default=48, help="height and width of the random input")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--threads", type=int, default=2)
    check.add_argument("--tolerance", type=float, default=1e-4)
    check.set_defaults(func=cmd_check)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
