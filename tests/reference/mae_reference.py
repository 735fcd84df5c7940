"""MAE as facebookresearch/mae's models_mae.MaskedAutoencoderViT (norm_pix_loss=True), re-stated with timm
blocks and with the masking noise given, for the fixture scripts (make_model_fixtures.py, make_dmae_fixtures.py).
forward returns (loss, pred, mask, ids_keep) and keeps the encoder's last block output, before its norm, in
`features`."""
import functools

import numpy as np
import timm
import torch
import torch.nn as nn
from timm.models.vision_transformer import Block


def sincos_2d(dim, grid, cls):
    """MAE's get_2d_sincos_pos_embed, re-stated."""
    def one_d(d, pos):
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    gh, gw = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64))  # gh: columns
    emb = np.concatenate([one_d(dim // 2, gh), one_d(dim // 2, gw)], axis=1)
    if cls:
        emb = np.concatenate([np.zeros([1, dim]), emb], axis=0)
    return torch.from_numpy(emb).float()



class MAE(nn.Module):
    def __init__(self, img=28, patch=4, chans=1, dim=48, depth=2, heads=3, ddim=32, ddepth=1, dheads=4):
        super().__init__()
        self.p = patch
        self.patch_embed = timm.layers.PatchEmbed(img, patch, chans, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(sincos_2d(dim, img // patch, True).unsqueeze(0), requires_grad=False)
        norm = functools.partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.ModuleList([Block(dim, heads, 4, qkv_bias=True, norm_layer=norm) for _ in range(depth)])
        self.norm = norm(dim)
        self.decoder_embed = nn.Linear(dim, ddim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, ddim))
        self.decoder_pos_embed = nn.Parameter(sincos_2d(ddim, img // patch, True).unsqueeze(0), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([Block(ddim, dheads, 4, qkv_bias=True, norm_layer=norm) for _ in range(ddepth)])
        self.decoder_norm = norm(ddim)
        self.decoder_pred = nn.Linear(ddim, patch * patch * chans)

    def patchify(self, imgs):
        p = self.p
        h = w = imgs.shape[2] // p
        x = imgs.reshape(imgs.shape[0], imgs.shape[1], h, p, w, p)
        x = torch.einsum("nchpwq->nhwpqc", x)
        return x.reshape(imgs.shape[0], h * w, p * p * imgs.shape[1])

    def forward(self, imgs, noise, mask_ratio):
        x = self.patch_embed(imgs) + self.pos_embed[:, 1:, :]
        N, L, D = x.shape
        len_keep = int(L * (1 - mask_ratio))
        ids_shuffle = torch.argsort(noise, dim=1, stable=True)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :len_keep]
        x = torch.gather(x, 1, ids_keep.unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones([N, L], dtype=x.dtype)
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(N, -1, -1)
        x = torch.cat((cls, x), dim=1)
        for b in self.blocks:
            x = b(x)
        self.features = x  # the last block's output before the norm (DMAE's student features)
        x = self.norm(x)
        x = self.decoder_embed(x)
        mt = self.mask_token.repeat(N, L + 1 - x.shape[1], 1)
        x_ = torch.cat([x[:, 1:, :], mt], dim=1)
        x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1, :], x_], dim=1) + self.decoder_pos_embed
        for b in self.decoder_blocks:
            x = b(x)
        pred = self.decoder_pred(self.decoder_norm(x))[:, 1:, :]
        target = self.patchify(imgs)
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.0e-6) ** 0.5
        loss = ((pred - target) ** 2).mean(dim=-1)
        return (loss * mask).sum() / mask.sum(), pred, mask, ids_keep
