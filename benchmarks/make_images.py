"""Writes N photo-like RGB JPEGs (500 x 375, ImageNet's most common size, quality 90) for benchmarks/decode.sh:
smooth colour fields (bicubic upsampling of random 8 x 6 images) with fine noise, so the files carry detail at
every scale as photographs do.   python3 make_images.py <folder> <N>"""
import os
import sys

import numpy as np
from PIL import Image

folder, n = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(n):
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((500, 375), Image.BICUBIC)
    mid = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).resize((500, 375), Image.BICUBIC)
    pixels = 0.6 * np.asarray(coarse, np.float32) + 0.3 * np.asarray(mid, np.float32)
    pixels += rng.normal(0, 12, pixels.shape)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(f"{folder}/{i:05d}.jpg", quality=90)
