#!/usr/bin/env python3
"""Writes tests/fixtures/images/*: small PNG and JPEG files in the encodings an ImageFolder meets, and
expected.safetensors, what PIL (torchvision's reader) decodes from each: "<file>.rgb" (convert("RGB")) and
"<file>.grey" (convert("L")), uint8 [height, width, channels], for tests/io/decode_image_test.cpp.
truncated.jpg is cut in the middle of its entropy-coded data: PIL refuses it, and so must the reader.

    pip install pillow numpy safetensors && python3 tests/reference/make_image_fixtures.py
"""
import io
import pathlib

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "images"
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
h, w = 13, 17
# Smooth gradients plus noise: JPEG-compressible, and every channel different.
y, x = np.mgrid[0:h, 0:w]
rgb = np.stack([x * 15, y * 19, (x + y) * 8], axis=-1) + rng.integers(0, 40, (h, w, 3))
rgb = np.clip(rgb, 0, 255).astype(np.uint8)
alpha = rng.integers(0, 256, (h, w, 1), dtype=np.uint8)

images = {
    "rgb.png": Image.fromarray(rgb, "RGB"),
    "grey.png": Image.fromarray(rgb[..., 0], "L"),
    "rgba.png": Image.fromarray(np.concatenate([rgb, alpha], axis=-1), "RGBA"),
    "palette.png": Image.fromarray(rgb, "RGB").quantize(16),
    "grey16.png": Image.fromarray(rgb[..., 1].astype(np.uint16) * 257),
    "rgb.jpg": Image.fromarray(rgb, "RGB"),
    "grey.jpg": Image.fromarray(rgb[..., 2], "L"),
    "progressive.jpg": Image.fromarray(rgb, "RGB"),
    "cmyk.jpg": Image.fromarray(rgb, "RGB").convert("CMYK"),
}
expected = {}
for name, im in images.items():
    path = OUT / name
    if name == "progressive.jpg":
        im.save(path, quality=90, progressive=True)
    elif name.endswith(".jpg"):
        im.save(path, quality=90)
    else:
        im.save(path)
    back = Image.open(path)
    back.load()
    if name == "grey16.png":
        # PIL clips 16-bit grey to 255 in convert("L"); the reader scales (v * 255 / 65535, as libpng does),
        # which gives back the 8-bit values this file was made from (v * 257).
        g = rgb[..., 1]
        expected[name + ".rgb"] = np.repeat(g[..., None], 3, axis=-1).copy()
        expected[name + ".grey"] = g[..., None].copy()
        continue
    expected[name + ".rgb"] = np.asarray(back.convert("RGB"), dtype=np.uint8).copy()
    expected[name + ".grey"] = np.asarray(back.convert("L"), dtype=np.uint8)[..., None].copy()

data = (OUT / "rgb.jpg").read_bytes()
(OUT / "truncated.jpg").write_bytes(data[: len(data) * 2 // 3])
try:
    Image.open(io.BytesIO((OUT / "truncated.jpg").read_bytes())).load()
    raise SystemExit("PIL read the truncated JPEG: it no longer makes a refused case")
except OSError:
    pass
save_file(expected, str(OUT / "expected.safetensors"))
print("wrote", len(images) + 1, "images and", len(expected), "expected arrays to", OUT)
