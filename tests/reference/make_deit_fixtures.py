#!/usr/bin/env python3
"""Writes tests/fixtures/deit.safetensors: DeiT's logit distillation (Touvron et al. 2021) computed in PyTorch,
for the C++ golden test (tests/train/deit_test.cpp).

Setting: the student is timm's VisionTransformerDistilled (28x28x1, patch 4, width 24, 2 blocks, 3 heads,
10 classes, learned position embedding, CLS and distillation tokens); the teacher a timm VisionTransformer
with a global-average-pool head (width 48, 3 blocks, 6 heads), frozen. With z_cls, z_dist the student's two
heads and z_t the teacher's logits (REFERENCE: the paper's formulas, the KL averaged over samples):

  soft: (1 - 0.1) CE_0.1(z_cls, y) + 0.1 * 3^2 * KL(softmax(z_t / 3) || softmax(z_dist / 3))   (label smoothing 0.1)
  hard: 0.5 CE(z_cls, y) + 0.5 CE(z_dist, argmax z_t)

Stored: both state dicts (teacher.*, student.*), the images and labels, the teacher's logits, the student's
inference logits ((z_cls + z_dist) / 2, timm's), each loss with its two terms and the student's gradients.

    pip install torch timm safetensors && python3 tests/reference/make_deit_fixtures.py
"""
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models.deit import VisionTransformerDistilled
from timm.models.vision_transformer import VisionTransformer

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def randomise(model, seed, scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            norm_weight = "norm" in n and n.endswith("weight")
            p.copy_(torch.randn(p.shape, generator=g) * (scale if p.dim() > 1 else 0.2) + (1.0 if norm_weight else 0.0))


common = dict(img_size=28, patch_size=4, in_chans=1, num_classes=10, mlp_ratio=4, qkv_bias=True)
student = VisionTransformerDistilled(embed_dim=24, depth=2, num_heads=3, global_pool="token", **common)
teacher = VisionTransformer(embed_dim=48, depth=3, num_heads=6, global_pool="avg", **common)
randomise(student, 51, 0.2)
randomise(teacher, 52, 0.3)
g = torch.Generator().manual_seed(53)
images = torch.randn(4, 1, 28, 28, generator=g)
labels = torch.tensor([3, 0, 7, 3])

out = {f"teacher.{k}": v.float().contiguous() for k, v in teacher.state_dict().items()}
out.update({f"student.{k}": v.float().contiguous() for k, v in student.state_dict().items()})
out["images"] = images.contiguous()
out["labels"] = labels.float()
# Float64 from the float32-rounded values, so both sides start from identical numbers.
for m, prefix in ((teacher, "teacher."), (student, "student.")):
    m.double().eval()
    with torch.no_grad():
        for k, v in m.state_dict().items():
            v.copy_(out[prefix + k].double())
images = images.double()

with torch.no_grad():
    z_t = teacher(images)
    out["teacher_logits"] = z_t.clone()
    out["student_logits"] = student(images).clone()  # eval: the mean of the two heads
student.set_distilled_training(True)
student.train()  # no dropout or drop path in these models: training changes only what the head returns


def terms(mode):
    student.zero_grad()
    z_cls, z_dist = student(images)
    if mode == "soft":
        alpha, tau = 0.1, 3.0
        ce = F.cross_entropy(z_cls, labels, label_smoothing=0.1)
        kd = F.kl_div(F.log_softmax(z_dist / tau, dim=1), F.softmax(z_t / tau, dim=1), reduction="batchmean") * tau**2
    else:
        alpha = 0.5
        ce = F.cross_entropy(z_cls, labels)
        kd = F.cross_entropy(z_dist, z_t.argmax(dim=1))
    total = (1 - alpha) * ce + alpha * kd
    total.backward()
    out[f"{mode}.ce"] = ce.detach().reshape(1)
    out[f"{mode}.distill"] = kd.detach().reshape(1)
    out[f"{mode}.total"] = total.detach().reshape(1)
    for n, p in student.named_parameters():
        if p.grad is not None:
            out[f"{mode}.grad.{n}"] = p.grad.detach().contiguous()
    print(f"{mode}: ce {ce.item():.8f} distill {kd.item():.8f} total {total.item():.8f}")


terms("soft")
terms("hard")
assert not torch.equal(z_t.argmax(dim=1), labels), "the hard case must differ from the labels"
save_file(out, str(FIX / "deit.safetensors"), metadata={"generator": "tests/reference/make_deit_fixtures.py"})
print(f"wrote {FIX / 'deit.safetensors'} ({len(out)} tensors)")
