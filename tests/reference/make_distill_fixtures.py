#!/usr/bin/env python3
"""Writes tests/fixtures/distill.safetensors: TinyMIM's distillation losses computed in PyTorch, for the
C++ golden tests (tests/distill/golden_test.cpp).

Setting: a timm ViT teacher (28x28x1, patch 4, width 48, 3 blocks, 6 heads) tapped at block 2 (1-based), a
student (width 24, 2 blocks, 3 heads) tapped at its last block, which runs with the teacher's 6 heads (the
adaptive block: head dim 24/6 = 4). Stored: both state dicts (teacher.*, student.*), the feature / CLS
projections (projections.0.*), the images, and for each loss the value and the student's gradients.

  relation: L = KL(T_qk || S_qk) + KL(T_vv || S_vv), each summed over rows and divided by B*M*N,
            S = log_softmax of the student logits (REFERENCE.md §2)
  feature:  smooth_l1(Linear(student block output), LayerNorm_no_affine(teacher block output), beta=2)
  cls:      KL(softmax(teacher CLS) || softmax(Linear(student CLS))) / B
  relation_heads (MiniLMv2): the student's block with its own 3 heads; on each side q, k, v with the heads
            concatenated and re-split into R = 4 relation heads (teacher 12 wide, student 6);
            L = KL(T_qq || S_qq) + KL(T_kk || S_kk) + KL(T_vv || S_vv), scale 1 / sqrt(width / R)
  layer_map: the relation loss at two layer pairs, student block 1 <- teacher block 2 and student block 2 <-
            teacher block 3, summed; both student blocks with the teacher's 6 heads

    pip install torch timm safetensors && python3 tests/reference/make_distill_fixtures.py
"""
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

torch.manual_seed(7)
FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def vit(dim, depth, heads):
    m = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=0, embed_dim=dim, depth=depth,
                          num_heads=heads, mlp_ratio=4, qkv_bias=True, global_pool="token")
    g = torch.Generator().manual_seed(dim * 100 + depth)
    with torch.no_grad():
        for n, p in m.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.2) + (1.0 if "norm" in n and n.endswith("weight") else 0.0))
    return m.double()


def tap(model, images, block, heads):
    """Runs blocks 1..block-1 in full, then LN1 + qkv of `block` (1-based); returns q, k, v [B, heads, N, d]
    and the block's full output (for feature / CLS targets)."""
    x = model.patch_embed(images)
    x = model._pos_embed(x)
    for blk in model.blocks[: block - 1]:
        x = blk(x)
    blk = model.blocks[block - 1]
    h = blk.norm1(x)
    B, N, C = h.shape
    qkv = blk.attn.qkv(h).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    out = blk(x)
    return qkv[0], qkv[1], qkv[2], out


def relation_kl(t, s):
    """KL(T || S) for relation logits [B, M, N, N], divided by B*M*N."""
    B, M, N, _ = t.shape
    return F.kl_div(torch.log_softmax(s, -1), torch.softmax(t, -1), reduction="sum") / (B * M * N)


teacher = vit(48, 3, 6)
student = vit(24, 2, 3)
proj = torch.nn.Linear(24, 48).double()
g = torch.Generator().manual_seed(5)
images = torch.randn(3, 1, 28, 28, generator=g).double()

out = {f"teacher.{k}": v.float().contiguous() for k, v in teacher.state_dict().items()}
out.update({f"student.{k}": v.float().contiguous() for k, v in student.state_dict().items()})
out["projections.0.weight"] = proj.weight.detach().float().contiguous()
out["projections.0.bias"] = proj.bias.detach().float().contiguous()
# Re-read the float32-rounded weights so both sides start from identical values.
with torch.no_grad():
    for k, v in teacher.state_dict().items():
        v.copy_(out[f"teacher.{k}"].double())
    for k, v in student.state_dict().items():
        v.copy_(out[f"student.{k}"].double())
    proj.weight.copy_(out["projections.0.weight"].double())
    proj.bias.copy_(out["projections.0.bias"].double())
images = images.float()
out["images"] = images.contiguous()
images = images.double()

with torch.no_grad():
    tq, tk, tv, tout = tap(teacher, images, 2, 6)


def record(name, loss):
    student.zero_grad()
    proj.zero_grad()
    loss.backward()
    out[f"{name}.loss"] = loss.detach().reshape(1)
    for n, p in student.named_parameters():
        if p.grad is not None:
            out[f"{name}.grad.{n}"] = p.grad.detach().contiguous()
    for n, p in proj.named_parameters():
        if p.grad is not None:
            out[f"{name}.grad.projections.0.{n}"] = p.grad.detach().contiguous()
    print(f"{name}: {loss.item():.8f}")


d_t, d_s = 48 // 6, 24 // 6
sq, sk, sv, _ = tap(student, images, 2, 6)
record("relation", relation_kl(tq @ tk.transpose(-1, -2) / d_t ** 0.5, sq @ sk.transpose(-1, -2) / d_s ** 0.5)
       + relation_kl(tv @ tv.transpose(-1, -2) / d_t ** 0.5, sv @ sv.transpose(-1, -2) / d_s ** 0.5))

# Feature and CLS targets: the student's last block runs in full with its own 3 heads.
_, _, _, sout = tap(student, images, 2, 3)
target = F.layer_norm(tout, (48,), eps=1e-6)
record("feature", F.smooth_l1_loss(proj(sout), target, beta=2.0))
_, _, _, sout = tap(student, images, 2, 3)
s_cls = proj(sout[:, 0])
record("cls", F.kl_div(torch.log_softmax(s_cls, -1), torch.softmax(tout[:, 0], -1), reduction="batchmean"))



def resplit(x, r):
    """[B, heads, N, d] -> [B, r, N, heads * d / r]: the heads concatenated, then split into r."""
    B, h, N, d = x.shape
    return x.permute(0, 2, 1, 3).reshape(B, N, r, h * d // r).permute(0, 2, 1, 3)


def self_relation(a):
    return a @ a.transpose(-1, -2) / a.shape[-1] ** 0.5


sq, sk, sv, _ = tap(student, images, 2, 3)
record("relation_heads", sum(relation_kl(self_relation(resplit(t, 4)), self_relation(resplit(s, 4)))
                             for t, s in ((tq, sq), (tk, sk), (tv, sv))))



def qkv_per_block(model, images, heads):
    """Runs every block with heads[i] attention heads (the adaptive block when it differs from the model's);
    returns each block's q, k, v [B, heads, N, d]."""
    x = model._pos_embed(model.patch_embed(images))
    taps = []
    for blk, h in zip(model.blocks, heads):
        attn = blk.attn
        own = (attn.num_heads, attn.head_dim, attn.scale)
        attn.num_heads, attn.head_dim = h, x.shape[-1] // h
        attn.scale = attn.head_dim ** -0.5
        B, N, C = x.shape
        qkv = attn.qkv(blk.norm1(x)).reshape(B, N, 3, h, C // h).permute(2, 0, 3, 1, 4)
        taps.append((qkv[0], qkv[1], qkv[2]))
        x = blk(x)
        attn.num_heads, attn.head_dim, attn.scale = own
    return taps


def qk_vv(t, s):
    (tq, tk, tv), (sq, sk, sv) = t, s
    d_t, d_s = tq.shape[-1], sq.shape[-1]
    return (relation_kl(tq @ tk.transpose(-1, -2) / d_t ** 0.5, sq @ sk.transpose(-1, -2) / d_s ** 0.5)
            + relation_kl(tv @ tv.transpose(-1, -2) / d_t ** 0.5, sv @ sv.transpose(-1, -2) / d_s ** 0.5))


# A layer map: relations (QK, VV) at student block 1 <- teacher block 2 and last <- last (student 2 <- teacher 3);
# both tapped student blocks run with the teacher's 6 heads, so block 2 sees block 1's 6-head output.
with torch.no_grad():
    t_taps = qkv_per_block(teacher, images, [6, 6, 6])
s_taps = qkv_per_block(student, images, [6, 6])
record("layer_map", qk_vv(t_taps[1], s_taps[0]) + qk_vv(t_taps[2], s_taps[1]))

save_file(out, str(FIX / "distill.safetensors"), metadata={"generator": "tests/reference/make_distill_fixtures.py"})
print(f"wrote {FIX / 'distill.safetensors'} ({len(out)} tensors)")
