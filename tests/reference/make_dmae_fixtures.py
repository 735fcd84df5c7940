#!/usr/bin/env python3
"""Writes tests/fixtures/dmae.safetensors: DMAE's loss (Bai et al. 2022) computed in PyTorch, for the C++
golden test (tests/distill/dmae_test.cpp).

Setting: the student is an MAE (mae_reference.py: encoder 28x28x1, patch 4, width 24, 2 blocks, 3 heads;
decoder width 32, 1 block, 4 heads); the teacher a timm ViT (width 48, 3 blocks, 6 heads), frozen, which
sees the same visible patches as the student's encoder and stops after block k = 2. With F_s the student
encoder's last block output before its norm, F_t the teacher's block-2 output and proj a linear map 24 -> 48:

  L = L_MAE + alpha * mean |proj(F_s) - F_t|   over the visible patch tokens (not the class token), alpha = 1

Stored: both state dicts (teacher.*, student.*), the projection (projection.*), the images, the masking
noise, the two terms, the total and the gradients of the student and the projection.

    pip install torch timm safetensors && python3 tests/reference/make_dmae_fixtures.py
"""
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

from mae_reference import MAE

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
K, ALPHA, RATIO = 2, 1.0, 0.75


def randomise(model, seed, scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            norm_weight = "norm" in n and n.endswith("weight")
            p.copy_(torch.randn(p.shape, generator=g) * (scale if p.dim() > 1 else 0.2) + (1.0 if norm_weight else 0.0))


torch.manual_seed(11)
teacher = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=0, embed_dim=48, depth=3, num_heads=6,
                            mlp_ratio=4, qkv_bias=True, global_pool="token")
randomise(teacher, 41, 0.3)
student = MAE(dim=24, depth=2, heads=3, ddim=32, ddepth=1, dheads=4)
randomise(student, 42, 0.2)
proj = torch.nn.Linear(24, 48)
randomise(proj, 43, 0.2)
g = torch.Generator().manual_seed(44)
images = torch.randn(3, 1, 28, 28, generator=g)
noise = torch.rand(3, 49, generator=g, dtype=torch.float64)

out = {f"teacher.{k}": v.float().contiguous() for k, v in teacher.state_dict().items()}
out.update({f"student.{k}": v.float().contiguous() for k, v in student.state_dict().items()})
out.update({f"projection.{k}": v.float().contiguous() for k, v in proj.state_dict().items()})
out["images"] = images.contiguous()
out["noise"] = noise
# Float64 from the float32-rounded values, so both sides start from identical numbers.
for m, prefix in ((teacher, "teacher."), (student, "student."), (proj, "projection.")):
    m.double()
    with torch.no_grad():
        for k, v in m.state_dict().items():
            v.copy_(out[prefix + k].double())
images = images.double()

mae_loss, _, _, ids_keep = student(images, noise, RATIO)
with torch.no_grad():
    x = teacher.patch_embed(images) + teacher.pos_embed[:, 1:, :]
    x = torch.gather(x, 1, ids_keep.unsqueeze(-1).repeat(1, 1, x.shape[2]))
    cls = (teacher.cls_token + teacher.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
    x = torch.cat((cls, x), dim=1)
    for blk in teacher.blocks[:K]:
        x = blk(x)
    teacher_features = x
feature = F.l1_loss(proj(student.features[:, 1:]), teacher_features[:, 1:])
total = mae_loss + ALPHA * feature
total.backward()
out["mae.loss"] = mae_loss.detach().reshape(1)
out["feature.loss"] = feature.detach().reshape(1)
out["total.loss"] = total.detach().reshape(1)
for prefix, m in (("", student), ("projection.", proj)):
    for n, p in m.named_parameters():
        if p.grad is not None:
            out[f"grad.{prefix}{n}"] = p.grad.detach().contiguous()
save_file(out, str(FIX / "dmae.safetensors"), metadata={"generator": "tests/reference/make_dmae_fixtures.py"})
print(f"mae {mae_loss.item():.8f} feature {feature.item():.8f} total {total.item():.8f}")
print(f"wrote {FIX / 'dmae.safetensors'} ({len(out)} tensors)")
