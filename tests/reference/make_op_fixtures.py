#!/usr/bin/env python3
"""Writes tests/fixtures/ops.safetensors: inputs, outputs and gradients of the core ops, computed by
PyTorch in float64 from float32 inputs. The C++ golden tests (tests/ops/golden_test.cpp) recompute them
in float32 and compare. Gradients are of s = sum(r * y) for the stored projection r (r = 1 for losses).

    pip install torch safetensors && python3 tests/reference/make_op_fixtures.py
"""
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(1234)
out = {}


def f32(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).float()


def record(name, fn, inputs, extra=None):
    xs = [x.double().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    r = torch.randn(y.shape, dtype=torch.float64) if y.dim() > 0 else torch.ones((), dtype=torch.float64)
    (y * r).sum().backward()
    for i, x in enumerate(inputs):
        out[f"{name}.x{i}"] = x.contiguous()
        out[f"{name}.dx{i}"] = xs[i].grad.contiguous()
    out[f"{name}.y"] = y.detach().reshape(-1 if y.dim() == 0 else y.shape).contiguous()
    out[f"{name}.r"] = r.reshape(-1 if r.dim() == 0 else r.shape).contiguous()
    for k, v in (extra or {}).items():
        out[f"{name}.{k}"] = v


record("layer_norm", lambda x, g, b: F.layer_norm(x, (48,), g, b, eps=1e-6), [f32(2, 7, 48), f32(48), f32(48)])
record("layer_norm_plain", lambda x: F.layer_norm(x, (48,), eps=1e-6), [f32(2, 7, 48, scale=3.0)])
record("gelu", lambda x: F.gelu(x), [f32(3, 50, scale=2.0)])
record("softmax", lambda x: torch.softmax(x, -1), [f32(4, 2, 9, 9, scale=2.0)])
record("log_softmax", lambda x: torch.log_softmax(x, -1), [f32(6, 10, scale=2.0)])
record("attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [f32(2, 3, 17, 8), f32(2, 3, 17, 8), f32(2, 3, 17, 8)])
record("attention_probs", lambda q, k: torch.softmax(q @ k.transpose(-1, -2) / 8 ** 0.5, -1), [f32(2, 3, 17, 8), f32(2, 3, 17, 8)])
labels = torch.randint(0, 10, (8,))
record("cross_entropy", lambda z: F.cross_entropy(z, labels, label_smoothing=0.1), [f32(8, 10, scale=2.0)],
       {"labels": labels.int()})
record("cross_entropy_plain", lambda z: F.cross_entropy(z, labels), [f32(8, 10, scale=2.0)], {"labels": labels.int()})
record("mse", lambda a, b: F.mse_loss(a, b), [f32(5, 12), f32(5, 12)])
record("smooth_l1", lambda a, b: F.smooth_l1_loss(a, b, beta=2.0), [f32(5, 12, scale=3.0), f32(5, 12, scale=3.0)])
# KL(teacher || student) from student logits: teacher probabilities are the first input.
teacher = torch.softmax(f32(2, 3, 9, 9, scale=2.0).double(), -1).float()
record("kl", lambda t, z: F.kl_div(torch.log_softmax(z, -1), t, reduction="sum") / (2 * 3 * 9), [teacher, f32(2, 3, 9, 9, scale=2.0)])
record("cosine", lambda a, b: (1 - F.cosine_similarity(a, b, dim=-1, eps=1e-8)).mean(), [f32(6, 16), f32(6, 16)])

# AdamW: three steps, a matrix (decayed) and a vector (not decayed), betas (0.9, 0.95), lr 0.01, wd 0.05;
# the vector gets no gradient in step 2 (PyTorch skips parameters whose .grad is None).
w = torch.randn(4, 3, dtype=torch.float64)
b = torch.randn(4, dtype=torch.float64)
out["adamw.w0"], out["adamw.b0"] = w.clone(), b.clone()
pw, pb = torch.nn.Parameter(w.clone()), torch.nn.Parameter(b.clone())
opt = torch.optim.AdamW([{"params": [pw], "weight_decay": 0.05}, {"params": [pb], "weight_decay": 0.0}],
                        lr=0.01, betas=(0.9, 0.95), eps=1e-8)
for step in range(3):
    gw, gb = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    out[f"adamw.gw{step}"], out[f"adamw.gb{step}"] = gw, gb
    pw.grad = gw.clone()
    pb.grad = None if step == 1 else gb.clone()
    opt.step()
out["adamw.w3"], out["adamw.b3"] = pw.detach().clone(), pb.detach().clone()

target = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "ops.safetensors"
target.parent.mkdir(parents=True, exist_ok=True)
save_file(out, str(target), metadata={"generator": "tests/reference/make_op_fixtures.py", "torch": torch.__version__})
print(f"wrote {target} ({len(out)} tensors, torch {torch.__version__})")
