#!/usr/bin/env python3
"""The PyTorch side of the side-by-side benchmarks: the same end-to-end work as `tinymim bench`,
on random data, printing one JSON object (images_per_second, peak_rss_mib, torch version, threads).

  forward  ViT forward_features (no grad)
  train    ViT with an avg-pool head: forward, cross-entropy, backward, AdamW step
  mae      MAE (mask ratio 0.75, norm-pix loss): forward, backward, AdamW step
  distill  TinyMIM: teacher LN1+qkv of its last block under no_grad, student to its last block with the
           teacher's head count, KL(QK) + KL(VV), backward, AdamW step; the student's blocks but its last
           with the recipe's drop path (--drop-path, 0.1 uniform: what `tinymim bench distill` runs)

    python3 benchmarks/peer_pytorch.py distill --teacher fm-small --student fm-tiny --batch 256 --threads 2
"""
import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath
from timm.models.vision_transformer import Block, VisionTransformer

CONFIGS = {  # name: (image, patch, channels, dim, depth, heads)
    "fm-tiny": (28, 4, 1, 96, 6, 3), "fm-small": (28, 4, 1, 192, 6, 6), "fm-base": (28, 4, 1, 384, 8, 12),
    "vit-tiny": (224, 16, 3, 192, 12, 3), "vit-small": (224, 16, 3, 384, 12, 6),
    "vit-base": (224, 16, 3, 768, 12, 12), "vit-large": (224, 16, 3, 1024, 24, 16),
}


def vit(name, num_classes=0, global_pool="token"):
    img, p, c, d, depth, h = CONFIGS[name]
    return VisionTransformer(img_size=img, patch_size=p, in_chans=c, num_classes=num_classes, embed_dim=d, depth=depth,
                             num_heads=h, mlp_ratio=4, qkv_bias=True, global_pool=global_pool)


class MAE(nn.Module):
    """facebookresearch/mae's MaskedAutoencoderViT, re-stated with timm blocks."""

    def __init__(self, name):
        super().__init__()
        img, p, c, d, depth, h = CONFIGS[name]
        dd, ddepth, dh = (128, 2, 4) if img == 28 else (512, 8, 16)
        self.p, L = p, (img // p) ** 2
        self.enc = vit(name)
        self.decoder_embed = nn.Linear(d, dd)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dd))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, L + 1, dd), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([Block(dd, dh, 4, qkv_bias=True) for _ in range(ddepth)])
        self.decoder_norm = nn.LayerNorm(dd, eps=1e-6)
        self.decoder_pred = nn.Linear(dd, p * p * c)

    def forward(self, imgs, ratio=0.75):
        e = self.enc
        x = e.patch_embed(imgs) + e.pos_embed[:, 1:, :]
        N, L, D = x.shape
        keep = int(L * (1 - ratio))
        ids_shuffle = torch.argsort(torch.rand(N, L), dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones([N, L])
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        x = torch.cat([(e.cls_token + e.pos_embed[:, :1]).expand(N, -1, -1), x], 1)
        x = e.norm(e.blocks(x))
        x = self.decoder_embed(x)
        x_ = torch.cat([x[:, 1:], self.mask_token.repeat(N, L + 1 - x.shape[1], 1)], 1)
        x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1], x_], 1) + self.decoder_pos_embed
        for b in self.decoder_blocks:
            x = b(x)
        pred = self.decoder_pred(self.decoder_norm(x))[:, 1:]
        h = imgs.shape[2] // self.p
        t = imgs.reshape(N, imgs.shape[1], h, self.p, h, self.p).permute(0, 2, 4, 3, 5, 1).reshape(N, h * h, -1)
        t = (t - t.mean(-1, keepdim=True)) / (t.var(-1, keepdim=True) + 1e-6) ** 0.5
        return (((pred - t) ** 2).mean(-1) * mask).sum() / mask.sum()


def qkv_at(model, x, block, heads):
    """Blocks 1..block-1 in full, then LN1 + qkv of `block` (1-based), split into `heads` heads."""
    x = model._pos_embed(model.patch_embed(x))
    for b in model.blocks[: block - 1]:
        x = b(x)
    blk = model.blocks[block - 1]
    h = blk.norm1(x)
    B, N, C = h.shape
    q, k, v = blk.attn.qkv(h).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    return q, k, v


def relation_kl(t, s):
    B, M, N, _ = t.shape
    return F.kl_div(torch.log_softmax(s, -1), torch.softmax(t, -1), reduction="sum") / (B * M * N)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["forward", "train", "mae", "distill"])
    ap.add_argument("--model", default="fm-tiny")
    ap.add_argument("--teacher", default="fm-small")
    ap.add_argument("--student", default="fm-tiny")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--drop-path", type=float, default=0.1, help="distill: the student's drop path (not on its last block)")
    ap.add_argument("--amp", choices=["none", "bf16"], default="none",
                    help="bf16: each step under torch.autocast('cpu', torch.bfloat16), the one-line mixed precision")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    name = a.model if a.what != "distill" else a.student
    img, _, c, *_ = CONFIGS[name]
    x = torch.randn(a.batch, c, img, img)

    if a.what == "forward":
        m = vit(a.model).eval()

        def step():
            with torch.no_grad():
                m.forward_features(x)
    elif a.what == "train":
        m = vit(a.model, num_classes=10, global_pool="avg")
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        y = torch.randint(0, 10, (a.batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x), y).backward()
            opt.step()
    elif a.what == "mae":
        m = MAE(a.model)
        opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4, betas=(0.9, 0.95))

        def step():
            opt.zero_grad(set_to_none=True)
            m(x).backward()
            opt.step()
    else:
        t, s = vit(a.teacher).eval(), vit(a.student)
        if a.drop_path > 0:  # uniform on blocks 1..L-1 (timm's drop_path_rate would grow it linearly with depth)
            for b in s.blocks[:-1]:
                b.drop_path1, b.drop_path2 = DropPath(a.drop_path), DropPath(a.drop_path)
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

    plain_step = step

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.amp == "bf16"):
            plain_step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - t0
    extra = {"drop_path": a.drop_path} if a.what == "distill" else {}
    print(json.dumps({**extra, "what": a.what, "models": a.model if a.what != "distill" else f"{a.teacher}>{a.student}",
                      "batch": a.batch, "steps": a.steps, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "precision": "bf16" if a.amp == "bf16" else "fp32", "seconds": secs, "images_per_second": a.batch * a.steps / secs,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
