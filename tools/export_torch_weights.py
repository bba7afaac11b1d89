#!/usr/bin/env python3
"""Writes Real-ESRGAN weights as PyTorch checkpoints with upstream key names, and deliberately broken ones.

A test helper for Upscaler's own `.safetensors` and `.pth` readers, on numpy alone (no torch, no safetensors):
the ncnn `.param`/`.bin` pair is read by tools/torch_reference.py (imported, not copied).

  export        --param P --bin B --out FILE [--format safetensors|pth] [--layout new|old] [--wrap KEY]
                [--dtype fp32|fp16|bf16] [--metadata] [--zip torch|torch-old|plain]
                Recognises RRDBNet (conv_first, 15 convolutions per RRDB, conv_body, conv_up1/2, conv_hr, conv_last)
                or SRVGGNetCompact (convolutions with PReLU between, then PixelShuffle), checks each convolution's
                channels, kernel, fused activation and inputs against the upstream module order (failing loudly),
                and prints {"arch":..,"format":..,"tensors":n,"bytes":size,"sha256":..,..} on one line.
                Names: layout new (basicsr) conv_first, body.{i}.rdb{1,2,3}.conv{1..5}, conv_body, conv_up1,
                conv_up2, conv_hr, conv_last; layout old (ESRGAN) model.0, model.1.sub.{i}.RDB{r}.conv{c}.0,
                model.1.sub.{nb}, model.3, model.6, model.8, model.10; SRVGGNetCompact body.{k} (convolutions at
                even k, PReLU slopes `body.{k}.weight` [num_feat] at odd k). Each gets .weight (OIHW) and .bias
                (PReLU: .weight only). --wrap KEY nests the state dict ({"params_ema": ...}; .pth only).
                --format defaults from the extension (.safetensors, else pth).
  random-srvgg  --out FILE --num-conv N --num-feat F --upscale U --seed S [export's output options]
  random-rrdb   --out FILE --scale 1|2|4 --num-block B --num-feat F --num-grow G --seed S [same]
                Seeded random weights drawn as `torch_reference.py random-bin` draws them, layer by layer in module
                order (weights normal with std 1/sqrt(fan-in), biases uniform in [-0.1, 0.1], PReLU slopes uniform
                in [0, 0.5]), so a matching .param, seed and export give the same numbers. conv_first takes 3, 12 or
                48 channels at scale 4, 2, 1 (pixel-unshuffled input). Also writes FILE.npz: the values as written,
                in float32 (after any fp16/bf16 rounding).
  malformed     --out-dir DIR
                Small hostile or broken files named for their fault, listed as JSON. Their pickles are only written.
  blend         --a A.npz --b B.npz --weight W --out C.npz
                Upstream's network interpolation (Real-ESRGAN's `--denoise_strength`): every tensor W * A + (1 - W) * B,
                computed in float64 and stored as float32; the two must hold the same names and shapes.

Formats:
  safetensors  u64 LE header length N, N bytes of JSON as serde_json spells it, padded with spaces to a multiple of
               8: {"__metadata__":{"format":"pt"},"name":{"dtype":"F32"|"F16"|"BF16","shape":[..],"data_offsets":
               [b,e]},..} with tensors ordered by dtype alignment (descending) then name and offsets counted from
               the end of the header, then the raw little-endian data. bf16: fp32 rounded to nearest even.
  pth          torch.save's zip as recent torch writes it (checked on 2.11: every byte the same but the 40-digit id):
               STEM/data.pkl, STEM/.format_version ("1"), STEM/.storage_alignment ("64"), STEM/byteorder ("little"),
               STEM/data/0..n-1 (numeric order), STEM/version ("3\\n"), STEM/.data/serialization_id; as its miniz
               writes them: stored, DOS time 0, versions 0, flags bit 3 (then a 16-byte data descriptor) and bit 11,
               an "FB" extra field of 'Z's in each local header (only) putting the record's bytes at a multiple of
               64, a zip64 end record and locator before the end record. --zip torch-old: the records of torch 2.x
               before .format_version (no .format_version/.storage_alignment; data/K sorted as strings: 0, 1, 10,
               100, ..; the zip itself as above); --zip plain: Python's own ZIP_STORED (no padding, descriptors,
               zip64 end or id), records as torch-old.
               data.pkl: pickle protocol 2 of an OrderedDict name -> torch._utils._rebuild_tensor_v2(storage, 0,
               size, stride, False, OrderedDict()), storage a persistent id ("storage", torch.FloatStorage
               |HalfStorage|BFloat16Storage, "K", "cpu", numel). --metadata adds torch's `_metadata` attribute (a
               BUILD of {'_metadata': OrderedDict(module prefix -> {'version': 1})} for the modules with parameters).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as tr  # noqa: E402

ModelError = tr.ModelError
State = list  # [(name, float32 ndarray)] in module order

# --- Stand-ins for the torch names a checkpoint's pickle names (registered, so pickle can spell them as GLOBALs)

if "torch" in sys.modules:
    raise ImportError("export_torch_weights stands in for torch and cannot share a process with the real one")
_torch = sys.modules["torch"] = types.ModuleType("torch")
_utils = sys.modules["torch._utils"] = _torch._utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args: Any) -> Any:
    raise RuntimeError("stand-in for torch._utils._rebuild_tensor_v2; never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
STORAGE = {name: type(name, (), {"__module__": "torch"}) for name in ("FloatStorage", "HalfStorage", "BFloat16Storage")}
for _name, _cls in STORAGE.items():
    setattr(_torch, _name, _cls)
# dtype -> (numpy dtype as stored, safetensors name, torch storage class)
DTYPES = {"fp32": ("<f4", "F32", "FloatStorage"), "fp16": ("<f2", "F16", "HalfStorage"),
          "bf16": ("<u2", "BF16", "BFloat16Storage")}
ST_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
            "I64", "U64"]  # safetensors' Dtype enum order (its writer sorts by it, descending)


def convert(values: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 -> (array as stored, the float32 values it means)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    if dtype == "fp16":
        stored = values.astype("<f2")
        return stored, stored.astype(np.float32)
    if dtype == "bf16":
        bits = values.view(np.uint32).astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        rounded[np.isnan(values)] = 0x7FC0
        stored = rounded.astype("<u2")
        return stored, (stored.astype(np.uint32) << 16).view(np.float32)
    return values.astype("<f4"), values


class Tensor:
    """Pickles as torch does; `size`/`numel`/`data` may be set to lie (malformed files)."""

    def __init__(self, stored: np.ndarray, dtype: str) -> None:
        self.storage_class = STORAGE[DTYPES[dtype][2]]
        self.size = tuple(int(d) for d in stored.shape)
        self.numel = int(stored.size)
        self.data = stored.tobytes()
        self.storage: Any = StorageRef(self)

    def __reduce__(self) -> tuple:
        stride = tuple(int(np.prod(self.size[i + 1:], dtype=np.int64)) for i in range(len(self.size)))
        return _rebuild_tensor_v2, (self.storage, 0, self.size, stride, False, collections.OrderedDict())


class StorageRef:
    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor


class Evil:
    """Pickles as GLOBAL `module name`, its arguments, REDUCE: a call a loader must never make (never made here)."""

    def __init__(self, module: str, name: str, *args: Any) -> None:
        self.module, self.name, self.args = module, name, args


class TorchPickler(pickle._Pickler):
    """torch.save's: protocol 2, storages as persistent ids (collected in `storages`). The pure-Python pickler
    (the same bytes as the C one for these objects), so that Evil can write its opcodes itself."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=2)
        self.storages: dict[str, bytes] = {}

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, StorageRef):
            return None
        key = str(len(self.storages))
        self.storages[key] = obj.tensor.data
        return ("storage", obj.tensor.storage_class, key, "cpu", obj.tensor.numel)

    def save_evil(self, obj: Evil) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
        self.save(obj.args)
        self.write(pickle.REDUCE)
        self.memoize(obj)

    dispatch[Evil] = save_evil


def dumps(obj: Any) -> tuple[bytes, dict[str, bytes]]:
    buf = io.BytesIO()
    pickler = TorchPickler(buf)
    pickler.dump(obj)
    return buf.getvalue(), pickler.storages


# --- Writers


def safetensors_bytes(tensors: list[tuple[str, str, list[int], bytes]], metadata: dict | None) -> bytes:
    """[(name, dtype name, shape, data)] -> the bytes safetensors' serialize() writes for them."""
    ordered = sorted(tensors, key=lambda t: (-ST_ORDER.index(t[1]), t[0]))
    header: dict[str, Any] = {"__metadata__": metadata} if metadata is not None else {}
    offset = 0
    for name, dtype, shape, data in ordered:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in ordered)


class _Unseekable(io.BytesIO):
    """A sink zipfile cannot seek in, so it writes flag bit 3 and data descriptors as torch's miniz does."""

    def seek(self, *args: Any) -> int:
        raise OSError("not seekable")


class _MinizInfo(zipfile.ZipInfo):
    """miniz's header fields: UTF-8 flag (bit 11) on every name, versions and host system 0."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("utf-8"), self.flag_bits | 0x800


def zip_bytes(stem: str, records: list[tuple[str, bytes]], style: str = "torch") -> bytes:
    plain = style == "plain"
    sink = io.BytesIO() if plain else _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as zf:
        for name, data in records:
            if plain:
                info = zipfile.ZipInfo(f"{stem}/{name}", (1980, 1, 1, 0, 0, 0))
            else:
                info = _MinizInfo(f"{stem}/{name}", (1980, 0, 0, 0, 0, 0))  # DOS time and date 0
                info.create_version = info.extract_version = info.create_system = 0
                pad = -(sink.tell() + 30 + len(info.filename.encode()) + 4) % 64
                info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(info, data)
            if not plain:
                info.extra, info.external_attr = b"", 0  # the central directory has neither
    data = sink.getvalue()
    if plain or data[-42:-38] == b"PK\x06\x07":
        return data
    # miniz (opened for zip64) always ends with a zip64 end record and locator before the classic end record.
    end = len(data) - 22
    count, size, offset = struct.unpack("<H2L", data[end + 10:end + 20])
    zip64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 0x031E, 0x2D, 0, 0, count, count, size, offset)
    return data[:end] + zip64 + struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1) + data[end:]


def pth_bytes(obj: Any, stem: str, style: str = "torch") -> bytes:
    """torch.save's records: `torch` as 2.11 writes them, `torch-old` as 2.x before .format_version, `plain`."""
    pkl, storages = dumps(obj)
    records = [("data.pkl", pkl)] + ([(".format_version", b"1"), (".storage_alignment", b"64")]
                                     if style == "torch" else []) + [("byteorder", b"little")]
    records += [(f"data/{key}", storages[key]) for key in sorted(storages, key=int if style == "torch" else str)]
    records.append(("version", b"3\n"))
    if style != "plain":
        digest = int.from_bytes(hashlib.sha256(pkl).digest()[:8], "little")
        records.append((".data/serialization_id", f"{digest % 10**20:020d}{len(pkl) % 10**20:020d}".encode()))
    return zip_bytes(stem, records, style)


def module_metadata(names: list[str]) -> collections.OrderedDict:
    """torch's state_dict()._metadata for the modules owning these parameters: prefix -> {'version': 1}."""
    meta: collections.OrderedDict = collections.OrderedDict([("", {"version": 1})])
    for name in names:
        parts = name.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            meta.setdefault(".".join(parts[:i]), {"version": 1})
    return meta


def checkpoint_bytes(state: State, fmt: str, dtype: str, stem: str, wrap: str | None = None,
                     metadata: bool = False, style: str = "torch") -> tuple[bytes, dict[str, np.ndarray]]:
    """The file's bytes and {name: float32 values as written}."""
    converted = [(name, *convert(values, dtype)) for name, values in state]
    written = {name: meaning for name, _, meaning in converted}
    if fmt == "safetensors":
        if wrap:
            raise ModelError("safetensors holds one flat name -> tensor map: --wrap needs --format pth")
        tensors = [(n, DTYPES[dtype][1], list(s.shape), s.tobytes()) for n, s, _ in converted]
        return safetensors_bytes(tensors, {"format": "pt"}), written
    od = collections.OrderedDict((name, Tensor(stored, dtype)) for name, stored, _ in converted)
    if metadata:
        od._metadata = module_metadata(list(od))
    return pth_bytes({wrap: od} if wrap else od, stem, style), written


# --- Architectures: module-order plans, ncnn graph checks, random weights


def rrdb_plan(in_ch: int, feat: int, grow: int, blocks: int) -> list[tuple[str, int, int, str]]:
    """basicsr RRDBNet convolutions in module (= forward) order: (name, in, out, fused activation)."""
    plan = [("conv_first", in_ch, feat, "none")]
    for b in range(blocks):
        for r in (1, 2, 3):
            for c in range(1, 6):
                plan.append((f"body.{b}.rdb{r}.conv{c}", feat + (c - 1) * grow, grow if c < 5 else feat,
                             "leaky" if c < 5 else "none"))
    plan += [("conv_body", feat, feat, "none"), ("conv_up1", feat, feat, "leaky"), ("conv_up2", feat, feat, "leaky"),
             ("conv_hr", feat, feat, "leaky"), ("conv_last", feat, 3, "none")]
    return plan


def old_name(name: str, blocks: int) -> str:
    """basicsr RRDBNet module name -> original ESRGAN (RRDB_net) name."""
    fixed = {"conv_first": "model.0", "conv_body": f"model.1.sub.{blocks}", "conv_up1": "model.3",
             "conv_up2": "model.6", "conv_hr": "model.8", "conv_last": "model.10"}
    if name in fixed:
        return fixed[name]
    _, b, rdb, conv = name.split(".")
    return f"model.1.sub.{b}.RDB{rdb[3:]}.{conv}.0"


def srvgg_plan(in_ch: int, feat: int, num_conv: int, out_ch: int) -> list[tuple[str, int, int, str]]:
    """SRVGGNetCompact body.{k} in module order: (name, in, out, "conv"|"prelu")."""
    plan = [("body.0", in_ch, feat, "conv"), ("body.1", feat, feat, "prelu")]
    for i in range(num_conv):
        plan += [(f"body.{2 * i + 2}", feat, feat, "conv"), (f"body.{2 * i + 3}", feat, feat, "prelu")]
    return plan + [(f"body.{2 * num_conv + 2}", feat, out_ch, "conv")]


def _sources(model: tr.Model) -> dict[str, tr.Layer]:
    """blob -> the layer that computed it (looking through Split)."""
    source: dict[str, tr.Layer] = {}
    for layer in model.layers:
        for blob in layer.outputs:
            source[blob] = source[layer.inputs[0]] if layer.type == "Split" else layer
    return source


def _check_conv(layer: tr.Layer, name: str, cin: int, cout: int, act: str) -> None:
    s = layer.spec
    got = (s["in"], s["out"], s["kh"], s["kw"], s["sh"], s["sw"], s["dh"], s["dw"], s["pad"], s["act"][0], s["bias"])
    want = (cin, cout, 3, 3, 1, 1, 1, 1, (1, 1, 1, 1), act, True)
    if got != want or (act == "leaky" and abs(s["act"][1] - 0.2) > 1e-6):
        raise ModelError(f"ncnn layer {layer.name} should be {name} {want} but is {got} (slope {s['act'][1]}): "
                         "the convolutions are not in upstream module order")


def map_rrdb(model: tr.Model, layout: str) -> tuple[State, dict[str, Any]]:
    convs = [layer for layer in model.layers if layer.type == "Convolution"]
    if len(convs) < 21 or (len(convs) - 6) % 15:
        raise ModelError(f"{len(convs)} convolutions is not 6 + 15 per RRDB block")
    blocks, feat, grow = (len(convs) - 6) // 15, convs[0].spec["out"], convs[1].spec["out"]
    scale = {3: 4, 12: 2, 48: 1}.get(convs[0].spec["in"])
    if scale is None:
        raise ModelError(f"conv_first takes {convs[0].spec['in']} channels, not 3, 12 or 48")
    source = _sources(model)
    plan = rrdb_plan(convs[0].spec["in"], feat, grow, blocks)
    for i, (layer, (name, cin, cout, act)) in enumerate(zip(convs, plan)):
        _check_conv(layer, name, cin, cout, act)
        feeder = source[layer.inputs[0]]
        c = int(name[-1]) if ".conv" in name else 0
        concat = feeder.type == "Concat" and len(feeder.inputs) == c
        if c >= 2 and not (concat and source[feeder.inputs[-1]] is convs[i - 1]):
            raise ModelError(f"{layer.name} ({name}) does not read the concatenation ending in {convs[i - 1].name}")
        upsampled = feeder.type == "Interp" and feeder.spec["mode"] == "nearest" and feeder.spec["hs"] == 2.0
        if name in ("conv_up1", "conv_up2") and not (upsampled and feeder.spec["ws"] == 2.0):
            raise ModelError(f"{layer.name} ({name}) does not read a nearest x2 upsampling")
    # The 0.2 residual scale must live in the graph (Eltwise coefficients), not be folded into conv5's weights:
    # upstream multiplies in forward(), so the checkpoint holds the unscaled weights.
    conv5 = {id(layer) for layer, p in zip(convs, plan) if p[0].endswith("conv5")}
    adds = [layer for layer in model.layers if layer.type == "Eltwise"]
    for add in adds:
        branch = source[add.inputs[0]]
        if (add.spec["op"], add.spec["coeffs"]) != ("sum", [float(np.float32(0.2)), 1.0]) or not (
                id(branch) in conv5 or branch.type == "Eltwise"):
            raise ModelError(f"{add.name} is not 0.2 * (conv5 or RDB3 residual) + 1.0 * input")
    if len(adds) != 4 * blocks:
        raise ModelError(f"{len(adds)} residual additions for {blocks} blocks, not 4 per block")
    if model.output_blob not in convs[-1].outputs:
        raise ModelError("conv_last does not write the output")
    state = _weights(convs, [p[0] if layout == "new" else old_name(p[0], blocks) for p in plan])
    return state, {"arch": "RRDBNet", "num_block": blocks, "num_feat": feat, "num_grow_ch": grow, "scale": scale}


def map_srvgg(model: tr.Model) -> tuple[State, dict[str, Any]]:
    seq = [layer for layer in model.layers if layer.type in ("Convolution", "PReLU")]
    shuffles = [layer for layer in model.layers if layer.type == "PixelShuffle"]
    if len(seq) < 3 or len(seq) % 2 == 0 or len(shuffles) != 1:
        raise ModelError("not convolution, PReLU, ..., convolution, PixelShuffle")
    feat, up = seq[0].spec["out"], shuffles[0].spec["factor"]
    plan = srvgg_plan(seq[0].spec["in"], feat, (len(seq) - 3) // 2, seq[-1].spec["out"])
    source = _sources(model)
    for i, (layer, (name, cin, cout, kind)) in enumerate(zip(seq, plan)):
        if kind == "prelu" and (layer.type != "PReLU" or layer.spec["count"] != feat):
            raise ModelError(f"{layer.name} should be {name}, a PReLU with {feat} slopes")
        if kind == "conv":
            if layer.type != "Convolution":
                raise ModelError(f"{layer.name} should be convolution {name}")
            _check_conv(layer, name, cin, cout, "none")
        if i and source[layer.inputs[0]] is not seq[i - 1]:
            raise ModelError(f"{layer.name} ({name}) does not read {seq[i - 1].name}")
    if seq[-1].spec["out"] != 3 * up * up or source[shuffles[0].inputs[0]] is not seq[-1]:
        raise ModelError(f"the last convolution must give 3 * {up}^2 channels to the PixelShuffle")
    state = _weights(seq, [p[0] for p in plan])
    return state, {"arch": "SRVGGNetCompact", "num_conv": (len(seq) - 3) // 2, "num_feat": feat, "upscale": up}


def _weights(layers: list[tr.Layer], names: list[str]) -> State:
    state: State = []
    for layer, name in zip(layers, names):
        if layer.type == "PReLU":
            state.append((f"{name}.weight", layer.weights["slopes"]))
        else:
            state += [(f"{name}.weight", layer.weights["weight"]), (f"{name}.bias", layer.weights["bias"])]
    return state


def random_state(plan: list[tuple[str, int, int, str]], seed: int) -> State:
    """torch_reference.random_bin's draws, layer by layer in module order."""
    rng = np.random.default_rng(seed)
    state: State = []
    for name, cin, cout, kind in plan:
        if kind == "prelu":
            state.append((f"{name}.weight", rng.uniform(0.0, 0.5, cout).astype(np.float32)))
            continue
        w = rng.standard_normal(cout * cin * 9, dtype=np.float32) / np.float32(np.sqrt(cin * 9))
        state.append((f"{name}.weight", w.reshape(cout, cin, 3, 3)))
        state.append((f"{name}.bias", rng.uniform(-0.1, 0.1, cout).astype(np.float32)))
    return state


# --- Hostile and broken files


def malformed(out_dir: str) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((4, 3, 3, 3)).astype("<f4"), rng.uniform(-0.1, 0.1, 4).astype("<f4")

    def pth(stem: str, **entries: Any) -> bytes:
        """A valid two-tensor state dict, with entries replaced or added."""
        od = collections.OrderedDict([("body.0.weight", Tensor(w, "fp32")), ("body.0.bias", Tensor(b, "fp32"))])
        od.update(entries)
        return pth_bytes(od, stem)

    def lie(shape: Any, **fields: Any) -> Tensor:
        tensor = Tensor(np.zeros(shape, "<f4"), "fp32")
        tensor.__dict__.update(fields)
        return tensor

    def st(text: str, data: bytes) -> bytes:
        text += " " * (-len(text) % 8)
        return struct.pack("<Q", len(text)) + text.encode() + data

    nested, inner = Tensor(w, "fp32"), dumps(Evil("builtins", "eval", "__import__('os').system('echo pwned')"))[0]
    nested.storage = Evil("pickle", "loads", inner)
    a = '"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}'
    whole, valid = st('{"__metadata__":{"format":"pt"},' + a + "}", bytes(16)), pth("truncated")
    dup = '"conv_first.weight":{"dtype":"F32","shape":[2],"data_offsets":[%d,%d]}'
    files = [
        ("os-system.pth", pth("os-system", evil=Evil("os", "system", "echo pwned")),
         "valid tensors plus 'evil': GLOBAL 'os system', 'echo pwned', REDUCE"),
        ("posix-system.pth", pth("posix-system", evil=Evil("posix", "system", "echo pwned")),
         "the same as GLOBAL 'posix system' (what pickling os.system itself writes on Linux)"),
        ("lying-size.pth", pth("lying-size", **{"conv_first.weight": lie((64, 3, 3, 3), data=bytes(64))}),
         "conv_first.weight: size (64,3,3,3) and numel 1728 in the pickle, 64 bytes in its data/2"),
        ("lying-numel.pth", pth("lying-numel", **{"conv_first.weight": lie(16, size=(64, 3, 3, 3))}),
         "conv_first.weight: numel 16 = its 64 bytes, but size (64,3,3,3) needs 1728 elements"),
        ("nested-pickle.pth", pth("nested-pickle", **{"body.0.weight": nested}),
         "body.0.weight's storage is GLOBAL 'pickle loads' of a pickle that calls GLOBAL 'builtins eval'"),
        ("truncated.pth", valid[:len(valid) // 2], "the first half of a valid two-tensor .pth (no central directory)"),
        ("header-overrun.safetensors", struct.pack("<Q", len(whole) - 7) + whole[8:],
         "header length 1 byte past the end of the file"),
        ("offsets-overrun.safetensors", st("{" + a + "}", bytes(12)), "data_offsets [0,16] with 12 data bytes"),
        ("shape-mismatch.safetensors", st('{"a":{"dtype":"F32","shape":[3,3],"data_offsets":[0,32]}}', bytes(32)),
         "shape [3,3] F32 (36 bytes) with data_offsets [0,32]"),
        ("unknown-arch.safetensors", safetensors_bytes([("encoder.layer.0.weight", "F32", [4, 3, 3, 3], w.tobytes()),
                                                        ("encoder.layer.0.bias", "F32", [4], b.tobytes())],
                                                       {"format": "pt"}),
         "a valid file whose names are no upscaler's (encoder.layer.0.*)"),
        ("duplicate-names.safetensors", st("{" + dup % (0, 8) + "," + dup % (8, 16) + "}", bytes(16)),
         "conv_first.weight twice in the JSON (offsets [0,8] and [8,16])"),
    ]
    os.makedirs(out_dir, exist_ok=True)
    for name, data, _ in files:
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    return [{"file": os.path.join(out_dir, name), "bytes": len(data), "fault": fault} for name, data, fault in files]


# --- Command line


def write_output(args: argparse.Namespace, state: State, info: dict[str, Any], npz: bool = False) -> None:
    fmt = args.format or ("safetensors" if args.out.endswith(".safetensors") else "pth")
    stem = os.path.splitext(os.path.basename(args.out))[0]
    data, written = checkpoint_bytes(state, fmt, args.dtype, stem, args.wrap, args.metadata, args.zip)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(data)
    if npz:
        np.savez(args.out + ".npz", **written)
    layout = getattr(args, "layout", None) if info["arch"] == "RRDBNet" else None
    print(json.dumps({**info, "format": fmt, "layout": layout, "dtype": args.dtype, "wrap": args.wrap,
                      "tensors": len(state), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                      "file": args.out}))


def cmd_export(args: argparse.Namespace) -> None:
    model = tr.load_model(args.param, args.bin)
    kinds = {layer.type for layer in model.layers}
    if "PReLU" in kinds:
        state, info = map_srvgg(model)
    elif "Concat" in kinds:
        state, info = map_rrdb(model, args.layout)
    else:
        raise ModelError("neither RRDBNet (Concat) nor SRVGGNetCompact (PReLU)")
    if args.layout == "old" and info["arch"] != "RRDBNet":
        raise ModelError("--layout old is only for RRDBNet")
    write_output(args, state, info)


def cmd_random_srvgg(args: argparse.Namespace) -> None:
    plan = srvgg_plan(3, args.num_feat, args.num_conv, 3 * args.upscale ** 2)
    info = {"arch": "SRVGGNetCompact", "num_conv": args.num_conv, "num_feat": args.num_feat, "upscale": args.upscale}
    write_output(args, random_state(plan, args.seed), info, npz=True)


def cmd_random_rrdb(args: argparse.Namespace) -> None:
    if args.layout == "old" and args.scale != 4:
        raise ModelError("the original ESRGAN network has no pixel-unshuffled input: --layout old needs --scale 4")
    plan = rrdb_plan(3 * (4 // args.scale) ** 2, args.num_feat, args.num_grow, args.num_block)
    state = random_state(plan, args.seed)
    if args.layout == "old":
        state = [(old_name(n.rsplit(".", 1)[0], args.num_block) + "." + n.rsplit(".", 1)[1], v) for n, v in state]
    info = {"arch": "RRDBNet", "num_block": args.num_block, "num_feat": args.num_feat, "num_grow_ch": args.num_grow,
            "scale": args.scale}
    write_output(args, state, info, npz=True)


def cmd_blend(args: argparse.Namespace) -> None:
    a, b = np.load(args.a), np.load(args.b)
    if sorted(a.files) != sorted(b.files) or any(a[k].shape != b[k].shape for k in a.files):
        raise ModelError(f"{args.a} and {args.b} do not hold the same tensors")
    w = args.weight
    blended = {k: (w * a[k].astype(np.float64) + (1 - w) * b[k].astype(np.float64)).astype(np.float32) for k in a.files}
    np.savez(args.out, **blended)
    print(json.dumps({"blend": args.out, "weight": w, "tensors": len(blended)}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def output_options(p: argparse.ArgumentParser, layout: bool = True) -> None:
        p.add_argument("--out", required=True)
        p.add_argument("--format", choices=("safetensors", "pth"))
        if layout:
            p.add_argument("--layout", choices=("new", "old"), default="new")
        p.add_argument("--wrap", metavar="KEY")
        p.add_argument("--dtype", choices=tuple(DTYPES), default="fp32")
        p.add_argument("--metadata", action="store_true", help="give the state dict torch's _metadata")
        p.add_argument("--zip", choices=("torch", "torch-old", "plain"), default="torch", help="pth record layout")

    for name, func, required in (("export", cmd_export, "param bin"),
                                 ("random-srvgg", cmd_random_srvgg, "num-conv num-feat upscale seed"),
                                 ("random-rrdb", cmd_random_rrdb, "scale num-block num-feat num-grow seed")):
        p = sub.add_parser(name)
        output_options(p, layout=name != "random-srvgg")
        for flag in required.split():
            p.add_argument(f"--{flag}", required=True, type=str if flag in ("param", "bin") else int,
                           choices=(1, 2, 4) if flag == "scale" else None)
        p.set_defaults(func=func)
    p = sub.add_parser("blend")
    for flag in ("a", "b", "out"):
        p.add_argument(f"--{flag}", required=True)
    p.add_argument("--weight", required=True, type=float)
    p.set_defaults(func=cmd_blend)
    p = sub.add_parser("malformed")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=lambda a: print(json.dumps(malformed(a.out_dir))))
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ModelError as error:
        sys.exit(f"export_torch_weights: {error}")


if __name__ == "__main__":
    main()
