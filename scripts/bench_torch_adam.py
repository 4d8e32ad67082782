"""PyTorch's Adam step at n = 1e7 on one CPU thread: fused, and the single-tensor loop.

The comparison point for `cargo run --release --example roofline` (docs/performance.md).
Needs torch (pip install torch); not part of the build or the tests.
"""
import time

import torch

torch.set_num_threads(1)
N = 10_000_000
for dtype in (torch.float64, torch.float32):
    for fused in (True, False):
        p = torch.nn.Parameter(torch.ones(N, dtype=dtype))
        p.grad = torch.full((N,), 0.5, dtype=dtype)
        opt = torch.optim.Adam([p], lr=1e-9, fused=True) if fused else torch.optim.Adam(
            [p], lr=1e-9, foreach=False
        )
        for _ in range(3):
            opt.step()
        best = float("inf")
        for _ in range(20):
            start = time.perf_counter()
            opt.step()
            best = min(best, time.perf_counter() - start)
        kind = "fused" if fused else "single-tensor"
        print(f"torch {torch.__version__} {str(dtype):14} Adam {kind:13} {best * 1e3:7.2f} ms per step")
