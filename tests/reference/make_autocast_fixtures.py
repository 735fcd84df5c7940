#!/usr/bin/env python3
"""Writes tests/fixtures/autocast.safetensors: what PyTorch's autocast (torch.autocast("cpu", torch.bfloat16))
computes on the weights and inputs of two existing fixtures, for tests/precision/autocast_test.cpp.

  vit.*       the ViT of vit_fm.safetensors (2 blocks, width 48, CLS head): forward_features, logits, the
              cross-entropy loss and every parameter's gradient ("vit.grad.<name>"), float32 weights, the
              forward under autocast and the backward after it, as a training step runs
  relation.*  TinyMIM's relation loss of distill.safetensors (teacher tapped at block 2 under no_grad, the
              student's last block with the teacher's 6 heads): the loss and the student's gradients

    pip install torch timm safetensors && python3 tests/reference/make_autocast_fixtures.py
"""
import pathlib

import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from timm.models.vision_transformer import VisionTransformer

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
out = {}


def autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


# 1. The ViT.
src = load_file(str(FIX / "vit_fm.safetensors"))
fm = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=48, depth=2, num_heads=3,
                       mlp_ratio=4, qkv_bias=True, global_pool="token")
fm.load_state_dict({k: v for k, v in src.items() if not k.split(".")[0] in ("input", "out", "grad")})
fm.pos_embed.requires_grad_(False)
with autocast():
    feats = fm.forward_features(src["input.images"])
    logits = fm.forward_head(feats)
    loss = F.cross_entropy(logits, src["input.labels"].long())
loss.backward()
out["vit.features"] = feats.detach().float().contiguous()
out["vit.logits"] = logits.detach().float().contiguous()
out["vit.loss"] = loss.detach().float().reshape(1)
for name, p in fm.named_parameters():
    if p.grad is not None:
        out["vit.grad." + name] = p.grad.detach().contiguous()
print(f"vit: loss {loss.item():.6f} (float64 reference {src['out.loss'].item():.6f})")

# 2. The relation loss.
src = load_file(str(FIX / "distill.safetensors"))


def vit(prefix, dim, depth, heads):
    m = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=0, embed_dim=dim, depth=depth,
                          num_heads=heads, mlp_ratio=4, qkv_bias=True, global_pool="token")
    m.load_state_dict({k[len(prefix):]: v for k, v in src.items() if k.startswith(prefix)})
    return m


def tap(model, images, block, heads):
    x = model._pos_embed(model.patch_embed(images))
    for blk in model.blocks[: block - 1]:
        x = blk(x)
    h = model.blocks[block - 1].norm1(x)
    B, N, C = h.shape
    qkv = model.blocks[block - 1].attn.qkv(h).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


def relation_kl(t, s):
    B, M, N, _ = t.shape
    return F.kl_div(torch.log_softmax(s, -1), torch.softmax(t, -1), reduction="sum") / (B * M * N)


teacher, student = vit("teacher.", 48, 3, 6), vit("student.", 24, 2, 3)
images = src["images"]
with autocast():
    with torch.no_grad():
        tq, tk, tv = tap(teacher, images, 2, 6)
    sq, sk, sv = tap(student, images, 2, 6)
    d_t, d_s = 48 // 6, 24 // 6
    loss = relation_kl(tq @ tk.transpose(-1, -2) / d_t ** 0.5, sq @ sk.transpose(-1, -2) / d_s ** 0.5) + relation_kl(
        tv @ tv.transpose(-1, -2) / d_t ** 0.5, sv @ sv.transpose(-1, -2) / d_s ** 0.5)
loss.backward()
out["relation.loss"] = loss.detach().float().reshape(1)
for n, p in student.named_parameters():
    if p.grad is not None:
        out["relation.grad." + n] = p.grad.detach().contiguous()
print(f"relation: loss {loss.item():.8f} (float64 reference {src['relation.loss'].item():.8f})")

save_file(out, str(FIX / "autocast.safetensors"),
          metadata={"generator": "tests/reference/make_autocast_fixtures.py", "torch": torch.__version__,
                    "timm": timm.__version__})
print(f"wrote {FIX / 'autocast.safetensors'} ({len(out)} tensors)")
