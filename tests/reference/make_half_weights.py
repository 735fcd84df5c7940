#!/usr/bin/env python3
"""Writes tests/fixtures/fm_tiny_two_tensors.safetensors: 2 of fm-tiny's tensors (cls_token, the patch
embedding's bias) and nothing else — a half-filled weights file, which every loading command must refuse.
Plain Python (the safetensors layout: an 8-byte little-endian header length, a JSON header, the data)."""
import json
import pathlib
import struct

tensors = {"cls_token": [1, 1, 96], "patch_embed.proj.bias": [96]}
header, data = {}, b""
for name, shape in tensors.items():
    n = 1
    for e in shape:
        n *= e
    values = struct.pack(f"<{n}f", *[0.01 * (i % 7) for i in range(n)])
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(values)]}
    data += values
header["__metadata__"] = {"format": "pt"}
raw = json.dumps(header, separators=(",", ":")).encode()
raw += b" " * (-len(raw) % 8)
out = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "fm_tiny_two_tensors.safetensors"
out.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
print(out, out.stat().st_size, "bytes")
