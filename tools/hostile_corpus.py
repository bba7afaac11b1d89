#!/usr/bin/env python3
"""Makes a corpus of hostile and broken image files, and measures one command's time and peak memory.

    hostile_corpus.py make DIR          writes the files into DIR and prints one JSON line per file:
                                        {"file": name, "expect": what the error message must mention}
    hostile_corpus.py measure -- CMD... runs CMD once and prints {"seconds", "max_rss_kb", "returncode", "signal"}

Every file is built here from its bytes (standard library only), so what it claims is known exactly and nothing
depends on the decoder under test. Each must be refused by `upscaler upscale` with a one-line error.
"""

import json
import os
import resource
import struct
import subprocess
import sys
import time
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", value)


def ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def png(width: int, height: int, rows: bytes | None = None, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose IDAT holds `rows` (default: all-zero RGB rows, filter byte 0)."""
    if rows is None:
        rows = b"".join(b"\x00" + bytes(width * 3) for _ in range(height))
    return PNG_SIGNATURE + ihdr(width, height, depth, colour) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, a baseline SOF0 for 3 components, and nothing a decoder can use after it."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof


def webp_riff(payload: bytes, claimed: int | None = None) -> bytes:
    size = len(payload) + 4 if claimed is None else claimed
    return b"RIFF" + struct.pack("<I", size) + b"WEBP" + payload


UNSUPPORTED = "not an image format Upscaler reads"


def tiff(width: int, height: int, strip: bytes) -> bytes:
    """Little-endian, one grey 8-bit strip at offset 8 + IFD."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(strip))]
    ifd_offset = 8 + len(strip)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        if tag == 273:
            value = 8
        ifd += struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    return b"II*\x00" + struct.pack("<I", ifd_offset) + strip + ifd + struct.pack("<I", 0)


def gif(width: int, height: int, data: bytes) -> bytes:
    """GIF89a with a two-colour global table and one image of `data` (LZW code size 2)."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02" + data)


def corpus() -> list[tuple[str, bytes, str]]:
    """(file name, bytes, what the error must say). No name contains its expectation, so a message that merely
    repeats the file name cannot pass for the right reason."""
    good = png(16, 16)
    # A deflate stream of zeros is tiny and expands enormously: 20000 x 20000 RGB is 1.2 GB of pixels.
    bomb_rows = zlib.compress(bytes(20000 * 3 + 1) * 64)
    return [
        ("zero-bytes.png", b"", "empty"),
        ("signature-only.png", PNG_SIGNATURE, "corrupt"),
        ("truncated.png", good[: len(good) // 2], "corrupt"),
        ("garbage-pixels.png", PNG_SIGNATURE + ihdr(16, 16) + chunk(b"IDAT", bytes(range(256)) * 4)
         + chunk(b"IEND", b""), "corrupt"),
        ("bad-header-crc.png", PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0), crc=1)
         + good[33:], "corrupt"),
        ("zero-width.png", PNG_SIGNATURE + ihdr(0, 16) + good[33:], "corrupt"),
        ("bad-bit-depth.png", PNG_SIGNATURE + ihdr(16, 16, depth=3) + good[33:], "corrupt"),
        ("huge-chunk-length.png", PNG_SIGNATURE + ihdr(16, 16) + struct.pack(">I", 0x7FFFFFF0) + b"IDAT" + bytes(64),
         "corrupt"),
        ("huge-claim.png", PNG_SIGNATURE + ihdr(100000, 100000) + chunk(b"IDAT", zlib.compress(bytes(4096)))
         + chunk(b"IEND", b""), "100000x100000"),
        ("decompression-bomb.png", PNG_SIGNATURE + ihdr(20000, 20000) + chunk(b"IDAT", bomb_rows) + chunk(b"IEND", b""),
         "20000x20000"),
        ("soi-only.jpg", b"\xff\xd8", "corrupt"),
        # No tables and no scan: libjpeg stops at the header, before the size could matter.
        ("tableless-huge.jpg", jpeg_header(65000, 65000) + b"\xff\xd9", "corrupt"),
        ("header-then-garbage.jpg", jpeg_header(16, 16) + bytes(range(256)) + b"\xff\xd9", "corrupt"),
        ("truncated-riff.webp", webp_riff(b"VP8 " + struct.pack("<I", 4000) + bytes(10), claimed=5000), "corrupt"),
        ("garbage-vp8.webp", webp_riff(b"VP8 " + struct.pack("<I", 64) + bytes(range(64))), "corrupt"),
        ("words.png", b"this is not an image\n" * 8, UNSUPPORTED),
        ("html.jpg", b"<!doctype html><html><body>hello</body></html>\n", UNSUPPORTED),
        # A 2x2 24-bit BMP: a real image, in a format libvips reads only through blocked (untrusted) loaders.
        ("bmp.png", b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54)
         + struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, 16, 2835, 2835, 0, 0) + bytes(16), UNSUPPORTED),
        ("random-bytes.webp", bytes((i * 151 + 7) % 256 for i in range(4000)), UNSUPPORTED),
        # TIFF and GIF are read too, so they get the same treatment.
        ("huge-claim.tif", tiff(100000, 100000, bytes(64)), "100000x100000"),
        ("short-strip.tif", tiff(64, 64, bytes(100)), "corrupt"),
        ("truncated.gif", gif(16, 16, b"\x05\x84\x1d\x81\x7a"), "corrupt"),
        # libnsgif checks the frame data against the claimed size while reading the header.
        ("huge-claim.gif", gif(65535, 65535, b"\x02\x02\x44\x01\x00") + b";", "corrupt"),
    ]


def make(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, data, expect in corpus():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        print(json.dumps({"file": name, "expect": expect}))


def measure(command: list[str]) -> None:
    started = time.monotonic()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    # This process has run only that one child, so RUSAGE_CHILDREN's peak is the child's own.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "max_rss_kb": peak, "returncode": result.returncode,
                      "signal": -result.returncode if result.returncode < 0 else 0}))


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "measure" and sys.argv[2] == "--":
        measure(sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
