#!/usr/bin/env python3
"""Checks the `tinymim` tool against timm, both ways (run by hand; the output is recorded in docs/results.md):

1. timm -> tinymim: a timm ViT (fm-small shape) with random weights is saved with safetensors; `tinymim embed`
   computes the token features of random images; they must match timm's forward_features (max-norm relative
   error <= 1e-5).
2. tinymim -> timm: `tinymim finetune` writes an fm-tiny classifier; `safetensors.torch.load_file` + timm's
   `load_state_dict(strict=True)` must take it, and timm's logits must match `tinymim embed`'s features pushed
   through timm's own head... (features compared directly: forward_features with the avg head = no final norm).

    pip install torch timm safetensors
    python3 tests/reference/check_tool_against_timm.py build/examples/tinymim
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from timm.models.vision_transformer import VisionTransformer


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else "build/examples/tinymim"
    tmp = Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    ok = True

    # 1. timm -> tinymim embed (fm-small: 28x28x1, patch 4, width 192, 6 blocks, 6 heads; pre-trained head: none)
    m = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=0, embed_dim=192, depth=6, num_heads=6,
                          mlp_ratio=4, qkv_bias=True, global_pool="token").eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(tmp / "timm.safetensors"))
    images = torch.randn(8, 1, 28, 28)
    save_file({"images": images}, str(tmp / "images.safetensors"))
    subprocess.run([tool, "embed", "--model", "fm-small", "--weights", str(tmp / "timm.safetensors"), "--images",
                    str(tmp / "images.safetensors"), "--out-file", str(tmp / "feats.safetensors")], check=True)
    ours = load_file(str(tmp / "feats.safetensors"))["features"]
    with torch.no_grad():
        ref = m.forward_features(images)
    e = rel(ours, ref)
    print(f"1. timm forward_features vs tinymim embed (fm-small, 8 images, {tuple(ref.shape)}): max-norm relative error {e:.2e}")
    ok &= e <= 1e-5

    # 2. tinymim finetune -> timm strict load
    subprocess.run([tool, "finetune", "--model", "fm-tiny", "--epochs", "1", "--steps-per-epoch", "3", "--batch", "32",
                    "--train-limit", "256", "--test-limit", "256", "--out", str(tmp), "--no-plots"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sd = load_file(str(tmp / "finetune.safetensors"))
    t = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=96, depth=6, num_heads=3,
                          mlp_ratio=4, qkv_bias=True, global_pool="avg").eval()
    result = t.load_state_dict(sd, strict=True)
    print(f"2. tinymim finetune output ({len(sd)} tensors) -> timm load_state_dict(strict=True): {result}")
    subprocess.run([tool, "embed", "--model", "fm-tiny", "--head", "avg", "--classes", "10", "--weights",
                    str(tmp / "finetune.safetensors"), "--images", str(tmp / "images.safetensors"), "--out-file",
                    str(tmp / "feats2.safetensors")], check=True, stderr=subprocess.DEVNULL)
    ours = load_file(str(tmp / "feats2.safetensors"))["features"]
    with torch.no_grad():
        ref = t.forward_features(images)
    e = rel(ours, ref)
    print(f"   the same weights in timm and tinymim: forward_features max-norm relative error {e:.2e}")
    ok &= e <= 1e-5
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
