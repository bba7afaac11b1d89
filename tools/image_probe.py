#!/usr/bin/env python3
"""Test fixtures and a second opinion on output files, without libvips.

The Swift tests use this to make inputs that Upscaler's own encoder cannot make (16-bit PNG and TIFF, wide-gamut
images with an embedded ICC profile, JPEGs with EXIF and XMP) and to read outputs back with independent code: PNG
headers and pixels are parsed here by hand, colour goes through Pillow's lcms, EXIF through Pillow.

  image_probe.py make DIR            write the fixtures and DIR/patches.json
  image_probe.py probe FILE          print what FILE is, as JSON
  image_probe.py patches FILE REF    print colour differences between the flat patches of FILE and REF
"""

import io
import json
import math
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

# --- An Adobe RGB (1998) compatible ICC profile, built here so that no profile file has to be fetched ----------

# Adobe RGB primaries adapted to the D50 profile connection space (Bradford), and its 563/256 gamma.
ADOBE_COLORANTS = {
    b"rXYZ": (0.60974, 0.31111, 0.01947),
    b"gXYZ": (0.20528, 0.62567, 0.06087),
    b"bXYZ": (0.14919, 0.06322, 0.74457),
}
ADOBE_GAMMA_U8F8 = 563  # 2.19921875 in u8Fixed8
PROFILE_DESCRIPTION = "Upscaler test: Adobe RGB (1998) compatible"


def s15f16(value):
    return struct.pack(">i", round(value * 65536))


def xyz_tag(xyz):
    return b"XYZ " + b"\0" * 4 + b"".join(s15f16(v) for v in xyz)


def desc_tag(text):
    ascii_bytes = text.encode("ascii") + b"\0"
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_bytes)) + ascii_bytes
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)


def matrix_trc_profile():
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, ADOBE_GAMMA_U8F8) + b"\0\0"
    tags = [
        (b"desc", desc_tag(PROFILE_DESCRIPTION)),
        (b"wtpt", xyz_tag((0.9642, 1.0, 0.8249))),
        *[(sig, xyz_tag(xyz)) for sig, xyz in ADOBE_COLORANTS.items()],
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
        (b"cprt", b"text" + b"\0" * 4 + b"Public domain test data\0"),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        entries += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    total = 128 + table_size + len(data)
    header = (struct.pack(">I", total) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB " + b"XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + b"\0" * 4
              + s15f16(0.9642) + s15f16(1.0) + s15f16(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + entries + data


# --- A PNG writer and reader for 8- and 16-bit images (Pillow turns 16-bit RGB into 8-bit) ---------------------

def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png16(path, array):
    """array: H x W x C uint16, C in (1, 3, 4)."""
    height, width, channels = array.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\0" + array[y].astype(">u2").tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
                           + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def read_png(data):
    """Non-interlaced PNG to (bit depth, H x W x C array of ints); palette images are not expanded."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, chunks = 8, b"", {}
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        chunks.setdefault(kind, body)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert interlace == 0, "interlaced PNG"
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    bpp = max(1, channels * depth // 8)
    stride = width * channels * depth // 8
    raw = zlib.decompress(idat)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        result = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            left = result[x - bpp] if x >= bpp else 0
            up = previous[x]
            corner = previous[x - bpp] if x >= bpp else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = left
            elif kind == 2:
                predictor = up
            elif kind == 3:
                predictor = (left + up) // 2
            else:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            result[x] = (line[x] + predictor) & 0xFF
        out[y] = result
        previous = result
    if depth == 16:
        pixels = out.view(">u2").reshape(height, width, channels).astype(np.int64)
    else:
        pixels = out.reshape(height, width, channels).astype(np.int64)
    return depth, pixels, chunks


# --- Colour ------------------------------------------------------------------------------------------------------

def srgb_to_lab(rgb):
    """8-bit sRGB triples (N x 3) to CIELAB (D65), with the sRGB transfer curve and matrix."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


# Sixteen colours inside both gamuts, from greys to fairly saturated ones.
PATCH_COLOURS = [
    (128, 128, 128), (230, 230, 230), (40, 40, 40), (200, 60, 50),
    (60, 160, 70), (50, 80, 190), (220, 190, 60), (170, 80, 160),
    (70, 170, 180), (240, 150, 120), (110, 90, 60), (150, 200, 230),
    (90, 40, 40), (30, 90, 60), (200, 200, 120), (120, 110, 200),
]
PATCH = 24  # pixels per patch side in the fixture


def patch_image():
    grid = int(math.sqrt(len(PATCH_COLOURS)))
    image = Image.new("RGB", (grid * PATCH, grid * PATCH))
    for index, colour in enumerate(PATCH_COLOURS):
        x, y = index % grid * PATCH, index // grid * PATCH
        image.paste(colour, (x, y, x + PATCH, y + PATCH))
    return image


def make(directory):
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)

    # 16-bit: smooth gradients with far more than 256 levels per channel, as PNG (RGB and grey) and TIFF (grey).
    h, w = 40, 48
    yy, xx = np.mgrid[0:h, 0:w]
    red = ((yy * w + xx) * 65535 // (w * h - 1)).astype(np.uint16)  # every pixel a different level
    green = (yy * 65535 // (h - 1)).astype(np.uint16)
    blue = ((xx + yy) * 65535 // (w + h - 2)).astype(np.uint16)
    write_png16(out / "gradient16.png", np.stack([red, green, blue], axis=2))
    write_png16(out / "gray16.png", red[:, :, None])
    Image.fromarray(green).save(out / "gray16.tif")

    # Wide gamut: sRGB patches converted to the Adobe RGB compatible profile, which is embedded.
    profile = matrix_trc_profile()
    (out / "adobergb.icc").write_bytes(profile)
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    srgb = ImageCms.createProfile("sRGB")
    converted = ImageCms.profileToProfile(patch_image(), srgb, adobe, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    converted.save(out / "adobergb.png", icc_profile=profile)
    converted.save(out / "adobergb.jpg", icc_profile=profile, quality=98, subsampling=0)
    # The reference: the same pixels taken to sRGB by lcms here, with no profile embedded.
    ImageCms.profileToProfile(converted, adobe, srgb, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
                              ).save(out / "adobergb-as-srgb.png")

    # EXIF (orientation 6, a camera make) and XMP on a 40x20 JPEG: left half red, right half blue.
    image = Image.new("RGB", (40, 20), (220, 30, 30))
    image.paste((30, 30, 220), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x010F] = "UpscalerTestCamera"
    exif[0x0112] = 6
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:source="upscaler-test-xmp"/>'
           b'</rdf:RDF></x:xmpmeta>')
    image.save(out / "exif6.jpg", exif=exif.tobytes(), xmp=xmp, quality=95)

    # GIF (first frame of two), for the extra input formats.
    frames = [Image.new("RGB", (30, 20), (200, 40, 40)), Image.new("RGB", (30, 20), (40, 40, 200))]
    frames[0].save(out / "two-frames.gif", save_all=True, append_images=frames[1:])

    # AVIF, when this Pillow can write it (its wheels bundle libavif).
    from PIL import features
    if features.check("avif"):
        Image.new("RGB", (32, 24), (200, 40, 40)).save(out / "red.avif", quality=90)


def probe(path):
    data = Path(path).read_bytes()
    report = {"bytes": len(data)}
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        depth, pixels, chunks = read_png(data)
        report.update(format="png", bitDepth=depth, width=pixels.shape[1], height=pixels.shape[0],
                      channels=pixels.shape[2],
                      distinct=[int(len(np.unique(pixels[:, :, c]))) for c in range(pixels.shape[2])],
                      exifChunk=b"eXIf" in chunks)
    image = Image.open(io.BytesIO(data))
    report.update(pilFormat=image.format, mode=image.mode, width=image.size[0], height=image.size[1])
    exif = image.getexif()
    report["exif"] = {str(tag): str(value) for tag, value in exif.items()}
    report["exifThumbnail"] = bool(exif.get_ifd(0x0001)) if hasattr(exif, "get_ifd") else False
    report["progressive"] = bool(image.info.get("progressive") or image.info.get("progression"))
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    report["xmp"] = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    icc = image.info.get("icc_profile")
    report["icc"] = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() if icc else None
    if image.format == "WEBP":
        chunks, offset = [], 12
        while offset + 8 <= len(data):
            kind, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
            chunks.append(kind.decode("latin-1"))
            offset += 8 + size + (size & 1)
        report["webpChunks"] = chunks
        report["webpLossless"] = "VP8L" in chunks
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        rgb = np.asarray(image.convert("RGB"), dtype=np.int64)
        report["colourEqualAcrossChannels"] = bool((rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all())
    print(json.dumps(report))


def patch_means(path, managed=True):
    """Mean sRGB colour of the middle half of each of the fixture's 4x4 patches, whatever the image's size. With
    `managed`, the file's own profile takes the pixels to sRGB (no profile means they are sRGB already)."""
    image = Image.open(path)
    icc = image.info.get("icc_profile")
    picture = image.convert("RGB")
    if managed and icc:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        picture = ImageCms.profileToProfile(picture, source, ImageCms.createProfile("sRGB"),
                                            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    array = np.asarray(picture, dtype=np.float64)
    grid = int(math.sqrt(len(PATCH_COLOURS)))
    side = array.shape[1] / grid
    means = []
    for index in range(len(PATCH_COLOURS)):
        x0, y0 = index % grid * side, index // grid * side
        a, b = int(x0 + side / 4), int(x0 + 3 * side / 4)
        c, d = int(y0 + side / 4), int(y0 + 3 * side / 4)
        means.append(array[c:d, a:b].reshape(-1, 3).mean(axis=0))
    return np.array(means)


def patches(path, reference_path):
    """CIE76 differences between FILE's patches and REFERENCE's, both taken to sRGB through their own profiles; also
    what reading FILE's pixels as sRGB (ignoring its profile) would give, and FILE against the colours it was made
    from."""
    reference = srgb_to_lab(patch_means(reference_path))
    delta = np.linalg.norm(srgb_to_lab(patch_means(path)) - reference, axis=1)
    ignoring = np.linalg.norm(srgb_to_lab(patch_means(path, managed=False)) - reference, axis=1)
    original = np.linalg.norm(srgb_to_lab(patch_means(path)) - srgb_to_lab(PATCH_COLOURS), axis=1)
    print(json.dumps({"maxDeltaE": float(delta.max()), "meanDeltaE": float(delta.mean()),
                      "maxDeltaEIgnoringProfile": float(ignoring.max()),
                      "maxDeltaEFromMadeColours": float(original.max())}))


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "make" and len(sys.argv) == 3:
        make(sys.argv[2])
    elif command == "probe" and len(sys.argv) == 3:
        probe(sys.argv[2])
    elif command == "patches" and len(sys.argv) == 4:
        patches(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
