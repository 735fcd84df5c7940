#!/usr/bin/env python3
"""A learning-speed reference for docs/results.md: timm's ViT with fm-tiny's shape (28x28x1, patch 4, width
96, 6 blocks, 3 heads, avg-pool head) trained from scratch in PyTorch on the first 10,000 Fashion-MNIST
training images for 2 epochs (batch 128, AdamW lr 1e-3 constant, no augmentation), tested on the first 2,000
test images. It shows how far a small ViT gets in ~156 steps, to read the demo's short schedules against.

    pip install torch timm && python3 tests/reference/fashion_mnist_timm_baseline.py
"""
import gzip, numpy as np, torch, torch.nn.functional as F, time
from timm.models.vision_transformer import VisionTransformer
def idx(p):
    b = gzip.open(p).read(); nd = b[3]; dims = [int.from_bytes(b[4+4*i:8+4*i],'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4+4*nd).reshape(dims)
d='/usr/share/datasets/fashion-mnist/'
X=idx(d+'train-images-idx3-ubyte.gz')[:10000]; Y=idx(d+'train-labels-idx1-ubyte.gz')[:10000]
Xt=idx(d+'t10k-images-idx3-ubyte.gz')[:2000]; Yt=idx(d+'t10k-labels-idx1-ubyte.gz')[:2000]
f=lambda x: (torch.tensor(x,dtype=torch.float32)/255-0.286)/0.353
X,Xt=f(X).unsqueeze(1),f(Xt).unsqueeze(1); Y,Yt=torch.tensor(Y).long(),torch.tensor(Yt).long()
torch.set_num_threads(2); torch.manual_seed(0)
m=VisionTransformer(img_size=28,patch_size=4,in_chans=1,num_classes=10,embed_dim=96,depth=6,num_heads=3,global_pool='avg')
opt=torch.optim.AdamW(m.parameters(),lr=1e-3,weight_decay=0.05)
steps=0
for ep in range(2):
    perm=torch.randperm(10000)
    for i in range(0,10000-127,128):
        idxs=perm[i:i+128]; loss=F.cross_entropy(m(X[idxs]),Y[idxs]); opt.zero_grad(); loss.backward(); opt.step(); steps+=1
    with torch.no_grad(): acc=(m(Xt).argmax(1)==Yt).float().mean().item()
    print(ep, steps, acc, loss.item())
