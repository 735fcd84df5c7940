#!/usr/bin/env python3
"""A model of data-parallel TinyMIM distillation at scale (docs/results/scaling.md): ring allreduce of the
student's gradients, t = k * 2(p-1) * alpha + 2(p-1)/p * S / beta (S bytes in k buckets, p ranks, alpha the
latency of one ring step, beta the bandwidth of the slowest link a ring crosses), against the per-GPU compute time
of a step; the part of t that outlasts the backward's remaining work is exposed (overlap f: the fraction of t that
can hide behind the backward, 0 without overlap; buckets as dist::gradient_reducer makes them, a first one of
1 MB, and the last one never hides). Weak scaling: the per-GPU batch stays fixed, so the efficiency
is compute / (compute + exposed). A model, not a measurement.

    python3 benchmarks/scaling_model.py [scaling.json from benchmarks/scaling.sh, to print the loopback fit]
"""
import json
import sys

# Student parameters (timm's sizes) and the per-GPU compute time of one distillation step at a local batch of
# 128 on an H200: vit-small -> vit-tiny measured (docs/results/gpu.md: 1291 images/s); vit-base -> vit-small
# scaled from it by the step's multiply-adds (teacher forward + 3 x student forward: 31.4 against 8.4 GFLOP per
# image).
PAIRS = {
    "vit-small -> vit-tiny": {"params": 5.72e6, "step_s": 128 / 1291},
    "vit-base -> vit-small": {"params": 22.05e6, "step_s": 128 / 1291 * 31.4 / 8.4},
}
# The backward is about 2/3 of the student's work and the teacher's forward comes first: the share of a step
# that gradients can overlap with.
BACKWARD_SHARE = {"vit-small -> vit-tiny": 0.45, "vit-base -> vit-small": 0.44}
# Links (published figures): NVLink 4 within a node (NCCL all-reduce bus bandwidth about 450 GB/s on 8 H100s);
# InfiniBand NDR 400 Gb/s and 100 Gb/s Ethernet between nodes, one NIC per GPU (50 and 12.5 GB/s); latency per
# ring step about 2 us on NVLink, 5 us on InfiniBand, 20 us on TCP Ethernet.
LINKS = {
    "NVLink (1 node)": (450e9, 2e-6),
    "IB NDR 400 Gb/s": (50e9, 5e-6),
    "Ethernet 100 Gb/s": (12.5e9, 20e-6),
}


def buckets(S, bucket, first=1 << 20):
    """The bucket sizes dist::gradient_reducer makes of S bytes: a first one of at most `first` bytes (the last
    layers'), then `bucket`-sized ones (parameters are not split here)."""
    sizes, left = [], S
    while left > 0:
        take = min(left, min(first, bucket) if not sizes else bucket)
        sizes.append(take)
        left -= take
    return sizes


def allreduce(S, p, beta, alpha, bucket):
    k = len(buckets(S, bucket))
    return k * 2 * (p - 1) * alpha + 2 * (p - 1) / p * S / beta, k


def efficiency(pair, p, beta, alpha, bucket, overlap):
    S = int(PAIRS[pair]["params"] * 4)
    t, k = allreduce(S, p, beta, alpha, bucket)
    compute = PAIRS[pair]["step_s"]
    # The last bucket (the first layers') is final only when the backward ends: it never hides.
    last = buckets(S, bucket)[-1]
    hidden = min(overlap * t * (S - last) / S, BACKWARD_SHARE[pair] * compute)
    exposed = t - hidden
    return compute / (compute + exposed), t


def loopback(path):
    """Fits alpha (the smallest message) and beta (the message nearest the gradient's size) to the measured
    two-rank allreduce times, and checks the formula against the measured gradient allreduce."""
    j = json.load(open(path))
    p, sizes = j["ranks"], j["allreduce"]
    S = 4 * j["gradient_values"]
    alpha = sizes[0]["seconds"] / (2 * (p - 1))
    near = min(sizes, key=lambda s: abs(s["bytes"] - S))
    beta = 2 * (p - 1) / p * near["bytes"] / (near["seconds"] - 2 * (p - 1) * alpha)
    predicted, _ = allreduce(S, p, beta, alpha, 25 << 20)
    print(f"loopback fit ({p} ranks, this machine): alpha {1e6 * alpha:.2f} us, beta {beta / 1e9:.2f} GB/s "
          f"(from {near['bytes']} B); the formula gives {1e3 * predicted:.2f} ms for the fm-tiny student's "
          f"{S} B of gradients, measured {1e3 * j['gradient_allreduce_seconds']:.2f} ms")
    print()


def main():
    if len(sys.argv) > 1:
        loopback(sys.argv[1])
    bucket = 25 << 20
    print("| pair | link | GPUs | allreduce ms | no overlap | overlap 0.9 |")
    print("|---|---|---|---|---|---|")
    for pair in PAIRS:
        for link, (beta, alpha) in LINKS.items():
            for p in (8, 64, 512):
                if link.startswith("NVLink") and p > 8:
                    continue
                e0, t = efficiency(pair, p, beta, alpha, bucket, 0.0)
                e9, _ = efficiency(pair, p, beta, alpha, bucket, 0.9)
                print(f"| {pair} | {link} | {p} | {1e3 * t:.2f} | {100 * e0:.1f} % | {100 * e9:.1f} % |")
    print()
    print("Where it stops scaling (the smallest power-of-2 GPU count below 90 % efficiency, 25 MB buckets):")
    for pair in PAIRS:
        for link, (beta, alpha) in LINKS.items():
            if link.startswith("NVLink"):
                continue
            for overlap in (0.0, 0.9):
                p = 2
                while p <= 1 << 20 and efficiency(pair, p, beta, alpha, bucket, overlap)[0] >= 0.9:
                    p *= 2
                print(f"  {pair}, {link}, overlap {overlap}: {p if p <= 1 << 20 else 'beyond 1M'} GPUs")
    print()
    print("Bucket size at 512 GPUs on IB NDR (vit-base -> vit-small, overlap 0.9):")
    for mb in (1, 5, 25, 100):
        e, t = efficiency("vit-base -> vit-small", 512, *LINKS["IB NDR 400 Gb/s"], mb << 20, 0.9)
        k = allreduce(int(PAIRS["vit-base -> vit-small"]["params"] * 4), 512, *LINKS["IB NDR 400 Gb/s"], mb << 20)[1]
        print(f"  {mb:>3} MB buckets ({k} of them): allreduce {1e3 * t:.2f} ms, efficiency {100 * e:.1f} %")


main()
