#!/usr/bin/env python3
"""Writes the model fixtures the C++ golden tests compare against:

  tests/fixtures/vit_rgb.safetensors  timm ViT, 32x32x3, patch 8, width 64, 2 blocks, 4 heads, avg-pool head
                                      (fc_norm), learned position embedding
  tests/fixtures/vit_fm.safetensors   timm ViT, 28x28x1, patch 4, width 48, 2 blocks, 3 heads, CLS-token head,
                                      fixed sin-cos position embedding (as MAE)
  tests/fixtures/mae_fm.safetensors   MAE (facebookresearch/mae's models_mae, re-stated here with timm blocks):
                                      encoder as vit_fm without head, decoder width 32, 1 block, 4 heads

Each holds the model's state dict under its own names, the inputs, forward_features, logits, the
cross-entropy loss and the gradient of every parameter ("grad.<name>"); the MAE file holds the noise,
the mask, the loss and the gradients. Weights are random (seeded), float32; references are computed in
float64 from those float32 values.

    pip install torch timm safetensors && python3 tests/reference/make_model_fixtures.py
"""
import pathlib

import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

from mae_reference import MAE, sincos_2d

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
FIX.mkdir(parents=True, exist_ok=True)


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "pos_embed" in name and not p.requires_grad:
                continue
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 if p.dim() == 1 else 0.2) + (1.0 if name.endswith("norm1.weight") or name.endswith("norm2.weight") else 0.0))


def save_vit(path, model, batch, seed):
    model = model.double()
    g = torch.Generator().manual_seed(seed)
    c, h = model.patch_embed.proj.in_channels, model.patch_embed.img_size[0]
    images = torch.randn(batch, c, h, h, generator=g).float()
    labels = torch.randint(0, model.num_classes, (batch,), generator=g)
    out = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    feats = model.forward_features(images.double())
    logits = model.forward_head(feats)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["input.images"] = images
    out["input.labels"] = labels.int()
    out["out.features"] = feats.detach().contiguous()
    out["out.logits"] = logits.detach().contiguous()
    out["out.loss"] = loss.detach().reshape(1)
    for name, p in model.named_parameters():
        if p.grad is not None:
            out["grad." + name] = p.grad.detach().contiguous()
    save_file(out, str(path), metadata={"generator": "tests/reference/make_model_fixtures.py", "timm": timm.__version__,
                                          "torch": torch.__version__})
    print(f"wrote {path}: {len(out)} tensors, loss {loss.item():.6f}")


# 1. RGB, avg-pool head, learned position embedding.
torch.manual_seed(1)
rgb = VisionTransformer(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=64, depth=2, num_heads=4,
                        mlp_ratio=4, qkv_bias=True, global_pool="avg")
randomise(rgb, 11)
save_vit(FIX / "vit_rgb.safetensors", rgb, batch=3, seed=12)

# 2. Fashion-MNIST shaped, CLS-token head, fixed sin-cos position embedding.
torch.manual_seed(2)
fm = VisionTransformer(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=48, depth=2, num_heads=3,
                       mlp_ratio=4, qkv_bias=True, global_pool="token")
fm.pos_embed.requires_grad_(False)
with torch.no_grad():
    fm.pos_embed.copy_(sincos_2d(48, 7, True).unsqueeze(0))
randomise(fm, 21)
save_vit(FIX / "vit_fm.safetensors", fm, batch=4, seed=22)


# 3. MAE (mae_reference.py), with the noise given.
torch.manual_seed(3)
mae = MAE()
randomise(mae, 31)
mae = mae.double()
g = torch.Generator().manual_seed(32)
imgs = torch.randn(2, 1, 28, 28, generator=g).float()
noise = torch.rand(2, 49, generator=g, dtype=torch.float64)
loss, pred, mask, _ = mae(imgs.double(), noise, 0.75)
loss.backward()
out = {k: v.detach().float().contiguous() for k, v in mae.state_dict().items()}
out["input.images"] = imgs
out["input.noise"] = noise
out["out.loss"] = loss.detach().reshape(1)
out["out.pred"] = pred.detach().contiguous()
out["out.mask"] = mask.detach().contiguous()
for name, p in mae.named_parameters():
    if p.grad is not None:
        out["grad." + name] = p.grad.detach().contiguous()
save_file(out, str(FIX / "mae_fm.safetensors"), metadata={"generator": "tests/reference/make_model_fixtures.py"})
print(f"wrote mae_fm.safetensors: loss {loss.item():.6f}")
