#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pth, as MAE / TinyMIM / DeiT save them) to safetensors for tinymim.

The state dict is taken from the checkpoint's 'model' key (MAE's convention), else 'state_dict', else the
checkpoint itself. Tensors are written contiguous, as float32 by default (--dtype keeps F16/BF16 instead).
Non-tensor entries are skipped and listed. A 'module.' prefix (DistributedDataParallel) is removed.

    pip install torch safetensors
    python3 tools/pth_to_safetensors.py mae_pretrain_vit_base.pth mae_vit_base.safetensors
    tinymim eval --model vit-base --weights mae_vit_base.safetensors ...
"""
import argparse
import sys

import torch
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="checkpoint .pth")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--key", default=None, help="state-dict key inside the checkpoint (default: model, state_dict)")
    ap.add_argument("--dtype", choices=["float32", "keep"], default="float32")
    args = ap.parse_args()

    ckpt = torch.load(args.input, map_location="cpu", weights_only=False)
    if args.key:
        sd = ckpt[args.key]
    elif isinstance(ckpt, dict) and "model" in ckpt:
        sd = ckpt["model"]
    elif isinstance(ckpt, dict) and "state_dict" in ckpt:
        sd = ckpt["state_dict"]
    else:
        sd = ckpt
    out, skipped = {}, []
    for k, v in sd.items():
        if not torch.is_tensor(v):
            skipped.append(k)
            continue
        name = k[len("module."):] if k.startswith("module.") else k
        if args.dtype == "float32" and v.is_floating_point():
            v = v.float()
        out[name] = v.detach().contiguous().clone()
    save_file(out, args.output, metadata={"format": "pt", "source": args.input})
    print(f"wrote {args.output}: {len(out)} tensors" + (f"; skipped non-tensors: {skipped}" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
