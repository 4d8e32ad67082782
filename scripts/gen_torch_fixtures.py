#!/usr/bin/env python3
"""Generate the torch.optim reference trajectories used by gradflow's tests.

Regenerate with (from the repository root):

    python3 scripts/gen_torch_fixtures.py

Output: tests/fixtures/torch/trajectories.json (see tests/fixtures/torch/README.md).

For each test problem (Rosenbrock n=2, Beale, L2-regularised logistic regression on the
breast-cancer data) and each optimizer configuration, this runs the corresponding
torch.optim optimizer in float64 on the default single-tensor CPU path
(foreach=False, fused unset) and records the iterate theta at step 0, after every
RECORD_EVERY-th step and after the last step.

Gradients are NOT computed with autograd.  They are computed here with explicit formulas
on plain Python floats (math.exp / math.sqrt, no numpy), in a fixed floating-point
operation order that the Rust side reproduces (bit for bit for rosenbrock and beale, to
round-off for logistic, whose Rust gradient is vectorized), and are then handed to torch
via ``p.grad = torch.tensor(g)`` before every ``opt.step()``.

Each run is repeated twice more: from a start perturbed by a relative 1e-14
(componentwise x0*(1+1e-14); components equal to 0 get an absolute +1e-14 instead), and
from the same start with every gradient component multiplied by (1 + 1e-14*u), u drawn
uniformly from [-1, 1] by a fixed linear congruential generator (a gradient evaluated with
a different rounding, e.g. fused multiply-adds or another exp).  At every recorded step k
the fixture stores

    spread_k = max over both runs theta' of max_i |theta_i - theta'_i| / max(1, |theta_i|),

a measure of how much ulp-level noise the trajectory amplifies.  Comparisons on the Rust
side should use a tolerance that scales with this spread (some RMSprop runs oscillate and
are chaotic at the ulp level; that is expected).
"""

import json
import math
import os
import platform
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA_CSV = os.path.join(ROOT, "problems", "data", "breast_cancer.csv")
OUT_JSON = os.path.join(ROOT, "tests", "fixtures", "torch", "trajectories.json")
# Recorded in the JSON as the generator; relative to the repository root.
GENERATOR = "scripts/gen_torch_fixtures.py"

RECORD_EVERY = 10
PERTURBATION = 1e-14


# --------------------------------------------------------------------------------------
# Problems: value (for the finite-difference check only) and gradient.
# The gradient functions fix the floating-point operation order; do not "simplify" them.
# --------------------------------------------------------------------------------------


def rosenbrock_value(x):
    f = 0.0
    for i in range(len(x) - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        f = f + 100.0 * a * a + b * b
    return f


def rosenbrock_grad(x):
    n = len(x)
    g = [0.0] * n
    for i in range(n - 1):
        a = x[i + 1] - x[i] * x[i]
        # -400.0*x[i]*a parses as ((-400.0)*x[i])*a.
        g[i] = g[i] + (-400.0 * x[i] * a - 2.0 * (1.0 - x[i]))
        g[i + 1] = g[i + 1] + 200.0 * a
    return g


def beale_value(v):
    x, y = v
    r1 = 1.5 - x + x * y
    r2 = 2.25 - x + x * y * y
    r3 = 2.625 - x + x * y * y * y
    return r1 * r1 + r2 * r2 + r3 * r3


def beale_grad(v):
    x, y = v
    y2 = y * y
    y3 = y2 * y
    r1 = 1.5 - x + x * y
    r2 = 2.25 - x + x * y2
    r3 = 2.625 - x + x * y3
    gx = 2.0 * r1 * (y - 1.0) + 2.0 * r2 * (y2 - 1.0) + 2.0 * r3 * (y3 - 1.0)
    gy = 2.0 * r1 * x + 4.0 * r2 * x * y + 6.0 * r3 * x * y2
    return [gx, gy]


def load_breast_cancer(path):
    """Return (X, y): rows of 30 standardised features followed by 1.0, and 0/1 targets.

    Column j is standardised with mean = (sequential sum in file order)/m,
    var = (sequential sum of (x - mean)*(x - mean))/m, std = sqrt(var), x' = (x - mean)/std.
    """
    with open(path) as fh:
        header = fh.readline().strip().split(",")
        rows = [[float(t) for t in line.strip().split(",")] for line in fh if line.strip()]
    assert header[-1] == "target" and len(header) == 31, header
    m = len(rows)
    assert m == 569, m
    nf = 30
    cols = []
    for j in range(nf):
        col = [r[j] for r in rows]
        s = 0.0
        for v in col:
            s = s + v
        mean = s / m
        s = 0.0
        for v in col:
            s = s + (v - mean) * (v - mean)
        std = math.sqrt(s / m)
        cols.append([(v - mean) / std for v in col])
    X = [[cols[j][i] for j in range(nf)] + [1.0] for i in range(m)]
    y = [r[nf] for r in rows]
    return X, y


class Logistic:
    """Mean logistic loss + (mu/2)*||w[:30]||^2 (bias w[30] not regularised)."""

    def __init__(self, X, y, mu):
        self.X, self.y, self.mu = X, y, mu
        self.m = len(X)
        self.n = len(X[0])

    def value(self, w):
        # Only used for the finite-difference check and for diagnostics.
        f = 0.0
        for row, yi in zip(self.X, self.y):
            z = 0.0
            for xij, wj in zip(row, w):
                z = z + xij * wj
            # log(1 + exp(z)) - y*z, evaluated stably.
            f = f + (max(z, 0.0) + math.log1p(math.exp(-abs(z))) - yi * z)
        reg = 0.0
        for wj in w[: self.n - 1]:
            reg = reg + wj * wj
        return f / self.m + 0.5 * self.mu * reg

    def grad(self, w):
        m, n, mu = self.m, self.n, self.mu
        acc = [0.0] * n
        for row, yi in zip(self.X, self.y):
            # z_i: sequential sum over j = 0..30 of X[i][j]*w[j].
            z = 0.0
            for xij, wj in zip(row, w):
                z = z + xij * wj
            if z >= 0.0:
                s = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                s = e / (1.0 + e)
            r = s - yi
            # acc_j: sequential sum over rows (file order) of X[i][j]*r_i.
            acc = [a + xij * r for a, xij in zip(acc, row)]
        g = [acc[j] / m + mu * w[j] for j in range(n - 1)]
        g.append(acc[n - 1] / m)
        return g


def build_problems():
    X, y = load_breast_cancer(DATA_CSV)
    logistic = Logistic(X, y, 1e-3)
    return {
        # key: (problem spec, value, gradient, x0, steps)
        "rosenbrock": ("rosenbrock:n=2", rosenbrock_value, rosenbrock_grad, [-1.2, 1.0], 2000),
        "beale": ("beale", beale_value, beale_grad, [1.0, 1.0], 1000),
        "logistic": ("logistic:mu=0.001", logistic.value, logistic.grad, [0.0] * 31, 1000),
    }


def check_gradient(name, value, grad, x):
    """Assert the explicit gradient matches central finite differences at x."""
    g = grad(x)
    for i in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[i]))
        xp = list(x)
        xm = list(x)
        xp[i] = x[i] + h
        xm[i] = x[i] - h
        fd = (value(xp) - value(xm)) / (2.0 * h)
        err = abs(fd - g[i])
        assert err <= 1e-6 * max(1.0, abs(g[i])), (name, i, g[i], fd, err)


# --------------------------------------------------------------------------------------
# Optimizer configurations.
# Each entry: (case suffix, gradflow method name, extra gradflow params,
#              torch class name, extra torch kwargs).  lr is prepended to both.
# --------------------------------------------------------------------------------------

CONFIGS = [
    ("euler", "euler", [], "SGD", []),
    ("momentum", "momentum", [("momentum", "0.9")], "SGD", [("momentum", 0.9)]),
    ("momentum-nesterov", "momentum", [("momentum", "0.9"), ("nesterov", "true")],
     "SGD", [("momentum", 0.9), ("nesterov", True)]),
    ("momentum-dampening", "momentum", [("momentum", "0.5"), ("dampening", "0.3")],
     "SGD", [("momentum", 0.5), ("dampening", 0.3)]),
    ("rmsprop", "rmsprop", [], "RMSprop", []),
    ("rmsprop-centered", "rmsprop", [("alpha", "0.9"), ("centered", "true")],
     "RMSprop", [("alpha", 0.9), ("centered", True)]),
    ("rmsprop-momentum", "rmsprop", [("momentum", "0.9")], "RMSprop", [("momentum", 0.9)]),
    ("adam", "adam", [], "Adam", []),
    ("adam-amsgrad", "adam", [("beta1", "0.8"), ("beta2", "0.99"), ("amsgrad", "true")],
     "Adam", [("betas", (0.8, 0.99)), ("amsgrad", True)]),
    ("adagrad", "adagrad", [], "Adagrad", []),
    ("adagrad-init", "adagrad", [("initial_accumulator_value", "0.5")],
     "Adagrad", [("initial_accumulator_value", 0.5)]),
]

# Learning rate per (problem, case suffix), chosen so that each run makes steady progress
# over its step budget without diverging.
LEARNING_RATES = {
    "rosenbrock": {
        "euler": 1e-3,
        "momentum": 1e-3,
        "momentum-nesterov": 1e-3,
        "momentum-dampening": 1e-3,
        "rmsprop": 1e-3,
        "rmsprop-centered": 1e-3,
        "rmsprop-momentum": 1e-3,
        "adam": 3e-2,
        "adam-amsgrad": 3e-2,
        "adagrad": 0.3,
        "adagrad-init": 0.3,
    },
    "beale": {
        "euler": 1e-2,
        "momentum": 3e-3,
        "momentum-nesterov": 3e-3,
        "momentum-dampening": 1e-2,
        "rmsprop": 1e-2,
        "rmsprop-centered": 1e-3,
        "rmsprop-momentum": 1e-3,
        "adam": 1e-2,
        "adam-amsgrad": 1e-2,
        "adagrad": 0.3,
        "adagrad-init": 0.3,
    },
    "logistic": {
        "euler": 0.3,
        "momentum": 0.1,
        "momentum-nesterov": 0.1,
        "momentum-dampening": 0.3,
        "rmsprop": 1e-2,
        "rmsprop-centered": 1e-2,
        "rmsprop-momentum": 1e-3,
        "adam": 1e-2,
        "adam-amsgrad": 1e-2,
        "adagrad": 0.3,
        "adagrad-init": 0.3,
    },
}


def method_spec(method, lr, params):
    return method + ":" + ",".join(["lr=" + repr(lr)] + [k + "=" + v for k, v in params])


def torch_spec(cls, lr, kwargs):
    return cls + "(" + ", ".join(["lr=" + repr(lr)] + [k + "=" + repr(v) for k, v in kwargs]) + ")"


def run_torch(cls, lr, kwargs, grad, x0, steps):
    """Run torch.optim.<cls> from x0; return {step: theta} at the recorded steps."""
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    # foreach=False forces the reference _single_tensor_* implementation (fused unset).
    opt = getattr(torch.optim, cls)([p], lr=lr, foreach=False, **dict(kwargs))
    out = {0: p.detach().tolist()}
    for k in range(1, steps + 1):
        g = grad(p.detach().tolist())
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        if k % RECORD_EVERY == 0 or k == steps:
            out[k] = p.detach().tolist()
    return out


def perturb(x0):
    return [v * (1.0 + PERTURBATION) if v != 0.0 else PERTURBATION for v in x0]


def noisy(grad):
    """grad with every component scaled by (1 + PERTURBATION*u), u in [-1, 1] from a
    64-bit linear congruential generator with a fixed seed (reproducible)."""
    state = [0x853C49E6748FEA9B]

    def g(w):
        out = []
        for v in grad(w):
            state[0] = (state[0] * 6364136223846793005 + 1442695040888963407) % 2**64
            u = (state[0] >> 11) / 2.0**52 - 1.0
            out.append(v * (1.0 + PERTURBATION * u))
        return out

    return g


def spread(a, b):
    return max(abs(u - v) / max(1.0, abs(u)) for u, v in zip(a, b))


def fmt_case(case):
    """Serialise one case with one record per line (floats via json, i.e. repr)."""
    head = {k: v for k, v in case.items() if k != "records"}
    lines = [json.dumps(r) for r in case["records"]]
    return (json.dumps(head)[:-1] + ', "records": [\n    '
            + ",\n    ".join(lines) + "\n  ]}")


def main():
    torch.set_default_dtype(torch.float64)
    t_start = time.time()
    problems = build_problems()

    # Check every explicit gradient against central differences once.
    for name, (_, value, grad, x0, _) in problems.items():
        check_gradient(name, value, grad, x0)
    check_gradient("rosenbrock", rosenbrock_value, rosenbrock_grad, [0.3, -0.7])
    check_gradient("beale", beale_value, beale_grad, [2.0, 0.3])
    lval, lgrad = problems["logistic"][1], problems["logistic"][2]
    check_gradient("logistic", lval, lgrad, [0.05 * ((j % 7) - 3) for j in range(31)])

    cases = []
    for pname, (pspec, value, grad, x0, steps) in problems.items():
        for suffix, method, mparams, cls, tkwargs in CONFIGS:
            lr = LEARNING_RATES[pname][suffix]
            t0 = time.time()
            base = run_torch(cls, lr, tkwargs, grad, x0, steps)
            pert = run_torch(cls, lr, tkwargs, grad, perturb(x0), steps)
            noise = run_torch(cls, lr, tkwargs, noisy(grad), x0, steps)
            records = [{"step": k, "theta": base[k],
                        "spread": max(spread(base[k], pert[k]), spread(base[k], noise[k]))}
                       for k in sorted(base)]
            theta_end = base[steps]
            assert all(math.isfinite(v) for v in theta_end), (pname, suffix)
            case_id = pname + "/" + suffix
            print(f"{case_id:32s} lr={lr!r:8s} f0={value(x0):.6g} "
                  f"f_end={value(theta_end):.6g} spread_end={records[-1]['spread']:.3g} "
                  f"({time.time() - t0:.1f}s)", flush=True)
            cases.append({
                "id": case_id,
                "problem": pspec,
                "method": method_spec(method, lr, mparams),
                "torch": torch_spec(cls, lr, tkwargs),
                "x0": list(x0),
                "steps": steps,
                "record_every": RECORD_EVERY,
                "records": records,
            })

    os.makedirs(os.path.dirname(OUT_JSON), exist_ok=True)
    head = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }
    with open(OUT_JSON, "w") as fh:
        fh.write(json.dumps(head)[:-1] + ',\n "cases": [\n  ')
        fh.write(",\n  ".join(fmt_case(c) for c in cases))
        fh.write("\n ]}\n")
    # Sanity: the file parses back to exactly what was computed.
    with open(OUT_JSON) as fh:
        assert json.load(fh)["cases"] == cases
    print(f"wrote {os.path.relpath(OUT_JSON, ROOT)} ({os.path.getsize(OUT_JSON)} bytes) "
          f"in {time.time() - t_start:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
