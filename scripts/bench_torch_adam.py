"""PyTorch's Adam step at n = 1e7 on one CPU thread, alternating with gradflow's.

Each round measures `torch.optim.Adam(fused=True)` (and, in the first round, the
single-tensor loop) in this process, then runs `cargo run --release --example adam_step`,
which measures gradflow's `Optimizer::step_in_place` the same way: theta = 1, grad = 0.5,
lr = 1e-9, three warm-up steps, the best of 20. Alternating rounds expose both to the same
state of the machine (its memory bandwidth drifts from minute to minute).

    python3 scripts/bench_torch_adam.py [ROUNDS]

Needs torch (pip install torch); not part of the build or the tests.
"""
import re
import subprocess
import sys
import time

import torch

N = 10_000_000


def best_torch_step(dtype, fused):
    p = torch.nn.Parameter(torch.ones(N, dtype=dtype))
    p.grad = torch.full((N,), 0.5, dtype=dtype)
    if fused:
        opt = torch.optim.Adam([p], lr=1e-9, fused=True)
    else:
        opt = torch.optim.Adam([p], lr=1e-9, foreach=False)
    for _ in range(3):
        opt.step()
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        opt.step()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def gradflow_steps():
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "--example", "adam_step"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(out, end="")
    return {m[0]: float(m[1]) for m in re.findall(r"gradflow (f\d\d) .*?([\d.]+) ms", out)}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    torch.set_num_threads(1)
    dtypes = {"f64": torch.float64, "f32": torch.float32}
    results = {d: ([], []) for d in dtypes}
    for r in range(rounds):
        for name, dtype in dtypes.items():
            ms = best_torch_step(dtype, True)
            results[name][0].append(ms)
            print(f"torch {torch.__version__} {name} Adam fused, 1 thread:        {ms:7.2f} ms per step")
            if r == 0:
                ms = best_torch_step(dtype, False)
                print(f"torch {torch.__version__} {name} Adam single-tensor, 1 thread: {ms:7.2f} ms per step")
        for name, ms in gradflow_steps().items():
            results[name][1].append(ms)
    for name, (t, g) in results.items():
        print(
            f"{name}: torch fused best {min(t):.2f} ms, gradflow best {min(g):.2f} ms, "
            f"gradflow/torch {min(g) / min(t):.3f} (per round: "
            + ", ".join(f"{b / a:.3f}" for a, b in zip(t, g))
            + ")"
        )


if __name__ == "__main__":
    main()
