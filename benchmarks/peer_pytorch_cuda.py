#!/usr/bin/env python3
"""The PyTorch side of the GPU benchmarks, self-contained (plain torch, no timm: the device machines
have PyTorch and nothing else). The same work as `tinymim bench ... --device cuda`, on random data:

  train    ViT with an avg-pool head: forward, cross-entropy, backward, AdamW step
  forward  ViT forward_features (no grad)
  distill  TinyMIM: teacher to LN1+qkv of its last block under no_grad, student to its last block with
           the teacher's head count, KL(QK) + KL(VV), backward, AdamW step

The blocks are timm's (pre-norm, qkv bias, exact GELU, F.scaled_dot_product_attention as timm uses it).
fp32 with TF32 off by default (as tinymim's default); --tf32 turns it on for matmuls and convolutions.
Prints one JSON object: images_per_second, device_peak_mib (torch.cuda.max_memory_allocated).

    python3 benchmarks/peer_pytorch_cuda.py distill --teacher vit-small --student vit-tiny --batch 128
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # name: (image, patch, channels, dim, depth, heads)
    "fm-tiny": (28, 4, 1, 96, 6, 3), "fm-small": (28, 4, 1, 192, 6, 6), "fm-base": (28, 4, 1, 384, 8, 12),
    "vit-tiny": (224, 16, 3, 192, 12, 3), "vit-small": (224, 16, 3, 384, 12, 6),
    "vit-base": (224, 16, 3, 768, 12, 12), "vit-large": (224, 16, 3, 1024, 24, 16),
}


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, C)
        x = x + self.proj(a)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, name, classes=0):
        super().__init__()
        img, p, c, d, depth, h = CONFIGS[name]
        self.patch_embed = nn.Conv2d(c, d, p, p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img // p) ** 2 + 1, d), requires_grad=False)
        self.blocks = nn.ModuleList([Block(d, h) for _ in range(depth)])
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, classes) if classes else None

    def tokens(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed

    def forward_features(self, x):
        x = self.tokens(x)
        for b in self.blocks:
            x = b(x)
        return self.norm(x)

    def forward(self, x):  # avg-pool head (MAE fine-tuning)
        x = self.tokens(x)
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x[:, 1:].mean(1)))


def qkv_at(model, x, block, heads):
    """Blocks 1..block-1 in full, then LN1 + qkv of `block` (1-based), split into `heads` heads."""
    x = model.tokens(x)
    for b in model.blocks[: block - 1]:
        x = b(x)
    blk = model.blocks[block - 1]
    h = blk.norm1(x)
    B, N, C = h.shape
    return blk.qkv(h).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)


def relation_kl(t, s):
    B, M, N, _ = t.shape
    return F.kl_div(torch.log_softmax(s, -1), torch.softmax(t, -1), reduction="sum") / (B * M * N)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["forward", "train", "distill"])
    ap.add_argument("--model", default="vit-small")
    ap.add_argument("--teacher", default="vit-small")
    ap.add_argument("--student", default="vit-tiny")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--tf32", action="store_true")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("peer_pytorch_cuda: no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(0)
    dev = torch.device("cuda")
    name = a.model if a.what != "distill" else a.student
    img, _, c, *_ = CONFIGS[name]
    x = torch.randn(a.batch, c, img, img, device=dev)
    if a.what == "forward":
        m = ViT(a.model).to(dev).eval()

        def step():
            with torch.no_grad():
                m.forward_features(x)
    elif a.what == "train":
        m = ViT(a.model, classes=10).to(dev)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        y = torch.randint(0, 10, (a.batch,), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x), y).backward()
            opt.step()
    else:
        t, s = ViT(a.teacher).to(dev).eval(), ViT(a.student).to(dev)
        heads = CONFIGS[a.teacher][5]
        tb, sb = CONFIGS[a.teacher][4], CONFIGS[a.student][4]
        opt = torch.optim.AdamW(s.parameters(), lr=1e-4, betas=(0.9, 0.95))
        dt, ds = CONFIGS[a.teacher][3] // heads, CONFIGS[a.student][3] // heads

        def step():
            with torch.no_grad():
                tq, tk, tv = qkv_at(t, x, tb, heads)
                tqk, tvv = tq @ tk.transpose(-1, -2) / dt ** 0.5, tv @ tv.transpose(-1, -2) / dt ** 0.5
            sq, sk, sv = qkv_at(s, x, sb, heads)
            loss = relation_kl(tqk, sq @ sk.transpose(-1, -2) / ds ** 0.5) + relation_kl(tvv, sv @ sv.transpose(-1, -2) / ds ** 0.5)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(json.dumps({"what": a.what, "models": a.model if a.what != "distill" else f"{a.teacher}>{a.student}",
                      "batch": a.batch, "steps": a.steps, "torch": torch.__version__, "tf32": a.tf32,
                      "device": torch.cuda.get_device_name(0), "seconds": secs,
                      "images_per_second": a.batch * a.steps / secs,
                      "device_peak_mib": torch.cuda.max_memory_allocated() / 2 ** 20}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
