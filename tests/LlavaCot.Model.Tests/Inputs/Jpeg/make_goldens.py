#!/usr/bin/python3
"""Makes the JPEG decoder cases and their Pillow goldens in this folder.

Each case is a small JPEG with one property uploads have in the wild (progressive, chroma subsampling, CMYK,
EXIF orientation, restart markers, odd sizes). Its golden is what HF's processor would receive from Pillow
after turning the image upright: ImageOps.exif_transpose(Image.open(f)).convert("RGB"), stored as raw RGB.
Every file's property is checked by reading its markers, so a tool that silently ignores an option fails here.

Needs Debian's python3-pil, libjpeg-turbo-progs (cjpeg) and imagemagick (convert). Run: /usr/bin/python3 make_goldens.py
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import PIL
from PIL import Image, ImageChops, ImageDraw, ImageOps, features

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = 'ImageOps.exif_transpose(Image.open(f)).convert("RGB")'


def picture(width, height, seed):
    """Smooth colour gradients (chroma upsampling shows), hard edges and a thin line (ringing), a little noise."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (width, height))
    px = im.load()
    for y in range(height):
        for x in range(width):
            r = 255 * x // max(width - 1, 1)
            g = 255 * y // max(height - 1, 1)
            b = (r + g) // 2 ^ 0x5A
            n = rnd.randint(-12, 12)
            px[x, y] = tuple(min(255, max(0, v + n)) for v in (r, g, b))
    draw = ImageDraw.Draw(im)
    draw.rectangle([width // 5, height // 5, width // 2, height // 2], fill=(220, 30, 40))
    draw.rectangle([width // 2, height // 2, width - 3, height - 3], fill=(20, 40, 200))
    draw.line([0, height - 1, width - 1, 0], fill=(250, 250, 40), width=1)
    return im


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def wide_gamut_profile():
    """A minimal ICC v2 RGB matrix profile (Adobe RGB 1998 primaries adapted to D50, gamma 2.2), built here so
    that no third-party profile is stored. A decoder that colour-managed would change every pixel of such a file."""
    def s15(v):
        return int(round(v * 65536)).to_bytes(4, "big", signed=True)

    def xyz(x, y, z):
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    curve = b"curv" + bytes(4) + (1).to_bytes(4, "big") + (0x0233).to_bytes(2, "big") + bytes(2)
    tags = [(b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
            (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)), (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    table, body, offset = bytearray(len(tags).to_bytes(4, "big")), bytearray(), 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        table += signature + (offset + len(body)).to_bytes(4, "big") + len(data).to_bytes(4, "big")
        body += data + bytes(-len(data) % 4)
    size = 128 + len(table) + len(body)
    header = (size.to_bytes(4, "big") + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
              + bytes(24) + bytes(4) + s15(0.9642) + s15(1.0) + s15(0.8249))
    return bytes(header + bytes(128 - len(header)) + table + body)


def pillow(im, **options):
    def make(path):
        im.save(path, "JPEG", **options)
    args = ", ".join(f"{k}={v!r}" for k, v in options.items() if k not in ("exif", "icc_profile"))
    if "exif" in options:
        args += ", exif=<Orientation tag>"
    if "icc_profile" in options:
        args += ", icc_profile=wide_gamut_profile()"
    return make, f'Image.save(f, "JPEG", {args})'


def cjpeg(im, *args):
    def make(path):
        with tempfile.TemporaryDirectory() as tmp:
            ppm = os.path.join(tmp, "in.ppm")
            im.save(ppm)
            subprocess.run(["cjpeg", *args, "-outfile", path, ppm], check=True)
    return make, "cjpeg " + " ".join(args)


def magick(im, *args):
    def make(path):
        with tempfile.TemporaryDirectory() as tmp:
            ppm = os.path.join(tmp, "in.ppm")
            im.save(ppm)
            subprocess.run(["/usr/bin/convert", ppm, *args, path], check=True)
    return make, "convert in.ppm " + " ".join(args)


def without_adobe_marker(inner):
    make_inner, command = inner

    def make(path):
        make_inner(path)
        with open(path, "rb") as f:
            data = f.read()
        out, pos = bytearray(data[:2]), 2
        while True:
            marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
            if marker == 0xDA:
                out += data[pos:]
                break
            if marker != 0xEE:
                out += data[pos:pos + 2 + length]
            pos += 2 + length
        with open(path, "wb") as f:
            f.write(out)
    return make, command + ", then the APP14 Adobe segment removed"


def cases():
    base = picture(80, 64, 1)
    odd = picture(67, 45, 2)
    small = picture(37, 23, 3)
    # The inverse of Pillow's CMYK;I storage, so that the file holds plain (not inverted) CMYK values.
    plain_cmyk = ImageChops.invert(base.convert("CMYK"))
    return [
        ("baseline_420", ["baseline", "ycbcr", "4:2:0"], pillow(base, quality=90, subsampling=2)),
        ("baseline_422", ["baseline", "ycbcr", "4:2:2"], pillow(base, quality=90, subsampling=1)),
        ("baseline_444_optimized", ["baseline", "ycbcr", "4:4:4"], pillow(base, quality=95, subsampling=0, optimize=True)),
        ("progressive_420", ["progressive", "ycbcr", "4:2:0"], pillow(base, quality=85, subsampling=2, progressive=True)),
        ("progressive_444", ["progressive", "ycbcr", "4:4:4"], pillow(base, quality=85, subsampling=0, progressive=True)),
        ("restart_rows_420", ["baseline", "4:2:0", "restart"], cjpeg(base, "-quality", "85", "-sample", "2x2", "-restart", "1")),
        ("restart_blocks_progressive_444", ["progressive", "4:4:4", "restart"],
         cjpeg(base, "-quality", "85", "-sample", "1x1", "-progressive", "-restart", "3B")),
        ("odd_67x45_420", ["baseline", "4:2:0", "odd_size"], pillow(odd, quality=90, subsampling=2)),
        ("odd_67x45_422_progressive", ["progressive", "4:2:2", "odd_size"], cjpeg(odd, "-quality", "80", "-sample", "2x1", "-progressive")),
        ("odd_37x23_420_low_quality", ["baseline", "4:2:0", "odd_size"], pillow(small, quality=30, subsampling=2)),
        ("tiny_1x1", ["baseline", "4:2:0", "odd_size"], pillow(Image.new("RGB", (1, 1), (200, 60, 30)), quality=90, subsampling=2)),
        ("tiny_3x2_420", ["baseline", "4:2:0", "odd_size"], pillow(picture(3, 2, 4), quality=90, subsampling=2)),
        ("grey", ["baseline", "grey"], pillow(base.convert("L"), quality=90)),
        ("grey_progressive_odd", ["progressive", "grey", "odd_size"], pillow(odd.convert("L"), quality=80, progressive=True)),
        ("rgb_no_colour_transform", ["baseline", "rgb", "adobe_app14"], cjpeg(base, "-quality", "90", "-rgb")),
        ("arithmetic_420", ["arithmetic", "4:2:0"], cjpeg(base, "-quality", "85", "-arithmetic")),
        ("cmyk_adobe_inverted", ["baseline", "cmyk", "adobe_app14"], pillow(base.convert("CMYK"), quality=90)),
        ("ycck_imagemagick", ["baseline", "ycck", "adobe_app14"], magick(base, "-colorspace", "CMYK", "-quality", "90")),
        ("cmyk_plain_no_adobe_marker", ["baseline", "cmyk", "no_adobe_app14"],
         without_adobe_marker(pillow(plain_cmyk, quality=90))),
        ("icc_wide_gamut_rgb", ["baseline", "4:2:0", "icc_profile"], pillow(base, quality=90, icc_profile=wide_gamut_profile())),
        ("exif_2_mirrored", ["baseline", "4:2:0", "exif_orientation=2"], pillow(base, quality=90, exif=exif(2))),
        ("exif_3_rotated_180", ["baseline", "4:2:0", "exif_orientation=3"], pillow(base, quality=90, exif=exif(3))),
        ("exif_5_transposed", ["baseline", "4:2:0", "exif_orientation=5"], pillow(base, quality=90, exif=exif(5))),
        ("exif_6_odd_size", ["baseline", "4:2:0", "odd_size", "exif_orientation=6"], pillow(odd, quality=90, exif=exif(6))),
        ("exif_7_transverse_progressive", ["progressive", "4:2:0", "exif_orientation=7"],
         pillow(base, quality=90, progressive=True, exif=exif(7))),
        ("exif_8_rotated_270", ["baseline", "4:2:0", "exif_orientation=8"], pillow(base, quality=90, exif=exif(8))),
    ]


def properties(data):
    """What the file's markers say: coding, colour components, sampling, restarts, Adobe marker, orientation."""
    assert data[:2] == b"\xff\xd8", "no SOI"
    found, pos, restarts, interval, adobe = [], 2, 0, 0, None
    sof = None
    while pos < len(data):
        assert data[pos] == 0xFF, f"expected a marker at {pos}"
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        payload = data[pos + 4:pos + 2 + length]
        if marker in (0xC0, 0xC1, 0xC2, 0xC9, 0xCA):
            sof = marker, payload
        elif marker == 0xDD:
            interval = int.from_bytes(payload[:2], "big")
        elif marker == 0xE2 and payload[:12] == b"ICC_PROFILE\x00":
            found.append("icc_profile")
        elif marker == 0xEE and payload[:5] == b"Adobe":
            adobe = payload[11]
        elif marker == 0xE1 and payload[:6] == b"Exif\x00\x00":
            orientation = Image.Exif()
            orientation.load(payload[6:])
            if 0x0112 in orientation:
                found.append(f"exif_orientation={orientation[0x0112]}")
        pos += 2 + length
        if marker == 0xDA:
            while not (data[pos] == 0xFF and data[pos + 1] not in range(0xD0, 0xD8) and data[pos + 1] != 0):
                if data[pos] == 0xFF and data[pos + 1] in range(0xD0, 0xD8):
                    restarts += 1
                pos += 1
    kind, frame = sof
    found.append({0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive", 0xC9: "arithmetic", 0xCA: "arithmetic"}[kind])
    height, width, count = int.from_bytes(frame[1:3], "big"), int.from_bytes(frame[3:5], "big"), frame[5]
    factors = [(frame[7 + 3 * i] >> 4, frame[7 + 3 * i] & 15) for i in range(count)]
    ids = bytes(frame[6 + 3 * i] for i in range(count))
    if count == 1:
        found.append("grey")
    elif count == 3:
        found.append("rgb" if adobe == 0 or ids == b"RGB" else "ycbcr")
    else:
        found.append({0: "cmyk", 2: "ycck"}.get(adobe, "cmyk"))
    if count >= 3:
        ratio = (factors[0][0] // factors[1][0], factors[0][1] // factors[1][1])
        found.append({(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0"}.get(ratio, f"sampling {factors}"))
    found.append("adobe_app14" if adobe is not None else "no_adobe_app14")
    if interval and restarts:
        found.append("restart")
        found.append(f"restart_interval={interval}")
        found.append(f"rst_markers={restarts}")
    mcu_w, mcu_h = 8 * max(h for h, _ in factors), 8 * max(v for _, v in factors)
    if width % mcu_w or height % mcu_h:
        found.append("odd_size")
    return width, height, found


def main():
    entries = []
    for name, wanted, (make, command) in cases():
        jpeg = os.path.join(HERE, name + ".jpg")
        make(jpeg)
        with open(jpeg, "rb") as f:
            width, height, found = properties(f.read())
        missing = [p for p in wanted if p not in found]
        if missing:
            sys.exit(f"{name}: the file lacks {missing} (its markers say {found})")
        with Image.open(jpeg) as opened:
            stored_mode = opened.mode
            upright = ImageOps.exif_transpose(opened).convert("RGB")
        with open(os.path.join(HERE, name + ".rgb"), "wb") as f:
            f.write(upright.tobytes())
        entry = {
            "name": name,
            "width": upright.width,
            "height": upright.height,
            "stored_size": f"{width}x{height}",
            "pillow_mode": stored_mode,
            "properties": found,
            "made_with": command,
        }
        entries.append(entry)
    manifest = {
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "golden": GOLDEN,
        "generator": "/usr/bin/python3 make_goldens.py (Debian 12: python3-pil, libjpeg-turbo-progs, imagemagick)",
        "cases": entries,
    }
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
