#!/usr/bin/env python3
"""Generate SciPy reference data for the gradient-flow ODE test problems.

Writes ``tests/fixtures/scipy/reference.json`` (relative to the repository
root, i.e. the parent of this script's directory).

The ODE is the gradient flow  dy/dt = -grad L(y),  t >= 0, in float64, for:

  rosenbrock  L = 100 (y1 - y0^2)^2 + (1 - y0)^2,          y(0) = (-1.2, 1.0)
  himmelblau  L = (x^2 + y - 11)^2 + (x + y^2 - 7)^2,      y(0) = (0.0, 0.0)
  logistic    L2-regularised (mu = 1e-3, bias not regularised) logistic
              regression on problems/data/breast_cancer.csv, standardised
              features (population std) plus a trailing bias column, n = 31,
              w(0) = 0.

Two kinds of records are produced:

  references  High-accuracy solutions from solve_ivp(method="DOP853",
              rtol=atol=1e-13) at t = 1, 10, 100 (rosenbrock also at
              t = 1000), each cross-checked against an independent Radau
              solve (analytic Jacobian = -Hessian, rtol=atol=1e-13); the max
              abs difference is stored as ``cross_check_max_abs_diff``.

  runs        Step-count / cost runs of scipy's RK45 and RK23 from t=0 to
              t=100 at (rtol, atol) in {(1e-6, 1e-9), (1e-8, 1e-10)}, default
              first_step and max_step. The solver class is driven one
              ``.step()`` at a time so accepted steps are counted exactly;
              rejected steps follow from nfev = 2 + stages * (attempts),
              which is checked against an independent call counter.

Every gradient (and Hessian) is checked against central finite differences
before use.

Run from anywhere (paths are resolved relative to this file):

    python3 scripts/gen_scipy_reference.py

Requires numpy and scipy (``pip install scipy numpy``). Floats are written
with Python's repr (via json.dump), so they round-trip bit for bit.
"""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.integrate import RK23, RK45, solve_ivp
from scipy.special import expit

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_CSV = REPO_ROOT / "problems" / "data" / "breast_cancer.csv"
OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "scipy"
OUT_JSON = OUT_DIR / "reference.json"

# Reference (part A) settings.
REF_METHOD = "DOP853"
REF_TOL = 1e-13
REF_T_EVAL = [1.0, 10.0, 100.0]
REF_T_EVAL_LONG = [1.0, 10.0, 100.0, 1000.0]  # rosenbrock only
CROSS_METHOD = "Radau"
CROSS_TOL = 1e-13

# Cost-run (part B) settings.
RUN_T_END = 100.0
RUN_TOLS = [(1e-6, 1e-9), (1e-8, 1e-10)]
RUN_METHODS = [("RK45", RK45), ("RK23", RK23)]
# Function evaluations per step attempt (brief: RK45 = 6, RK23 = 3); checked
# against the solver classes' n_stages below.
STAGES_PER_ATTEMPT = {"RK45": 6, "RK23": 3}
# Evaluations made before the first step: f(t0, y0) and the initial-step probe.
SETUP_EVALS = 2


# --------------------------------------------------------------------------
# Problems: each provides loss(y), grad(y), hess(y) and a start point.
# --------------------------------------------------------------------------

class Rosenbrock:
    name = "rosenbrock"
    y0 = np.array([-1.2, 1.0])

    @staticmethod
    def loss(y):
        a, b = y
        return 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2

    @staticmethod
    def grad(y):
        a, b = y
        r = b - a * a
        return np.array([-400.0 * a * r - 2.0 * (1.0 - a), 200.0 * r])

    @staticmethod
    def hess(y):
        a, b = y
        return np.array([[1200.0 * a * a - 400.0 * b + 2.0, -400.0 * a],
                         [-400.0 * a, 200.0]])


class Himmelblau:
    name = "himmelblau"
    y0 = np.array([0.0, 0.0])

    @staticmethod
    def loss(y):
        x, v = y
        return (x * x + v - 11.0) ** 2 + (x + v * v - 7.0) ** 2

    @staticmethod
    def grad(y):
        x, v = y
        p = x * x + v - 11.0
        q = x + v * v - 7.0
        return np.array([4.0 * x * p + 2.0 * q, 2.0 * p + 4.0 * v * q])

    @staticmethod
    def hess(y):
        x, v = y
        p = x * x + v - 11.0
        q = x + v * v - 7.0
        # d2L/dx2 = 8x^2 + 4p + 2, d2L/dxdv = 4x + 4v, d2L/dv2 = 8v^2 + 4q + 2.
        return np.array([[8.0 * x * x + 4.0 * p + 2.0, 4.0 * x + 4.0 * v],
                         [4.0 * x + 4.0 * v, 8.0 * v * v + 4.0 * q + 2.0]])


class Logistic:
    """L(w) = mean_i[softplus(x_i.w) - y_i x_i.w] + mu/2 * |w[:30]|^2."""

    name = "logistic"
    mu = 1e-3

    def __init__(self, csv_path):
        raw = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=np.float64)
        assert raw.shape == (569, 31), raw.shape
        feats, target = raw[:, :30], raw[:, 30]
        assert set(np.unique(target)) == {0.0, 1.0}
        m = feats.shape[0]
        # Standardise with the population std (ddof=0, divide by m).
        mean = feats.mean(axis=0)
        std = feats.std(axis=0, ddof=0)
        assert np.all(std > 0)
        z = (feats - mean) / std
        # Design matrix: 30 standardised features, then the bias column last.
        self.X = np.hstack([z, np.ones((m, 1))])
        self.yv = target
        self.m = m
        # Regularisation mask: the bias (last component) is not penalised.
        self.reg = np.ones(31)
        self.reg[-1] = 0.0
        self.y0 = np.zeros(31)

    def loss(self, w):
        s = self.X @ w
        # np.logaddexp(0, s) = log(1 + exp(s)), numerically stable.
        data = np.mean(np.logaddexp(0.0, s) - self.yv * s)
        return data + 0.5 * self.mu * np.sum(self.reg * w * w)

    def grad(self, w):
        s = self.X @ w
        # expit is the numerically stable logistic sigmoid.
        return self.X.T @ (expit(s) - self.yv) / self.m + self.mu * self.reg * w

    def hess(self, w):
        p = expit(self.X @ w)
        d = p * (1.0 - p)
        return (self.X.T * d) @ self.X / self.m + self.mu * np.diag(self.reg)


# --------------------------------------------------------------------------
# Finite-difference checks.
# --------------------------------------------------------------------------

def central_diff(f, y, h_rel=1e-6):
    """Central-difference derivative of f (scalar- or vector-valued) at y.

    Returns an array whose last axis indexes the perturbed coordinate.
    """
    cols = []
    for j in range(y.size):
        h = h_rel * max(1.0, abs(y[j]))
        e = np.zeros_like(y)
        e[j] = h
        cols.append((np.asarray(f(y + e)) - np.asarray(f(y - e))) / (2.0 * h))
    return np.stack(cols, axis=-1)


def check_derivatives(prob, points):
    """Assert grad matches FD of loss and hess matches FD of grad."""
    for y in points:
        g = prob.grad(y)
        g_fd = central_diff(prob.loss, y)
        g_err = np.max(np.abs(g - g_fd)) / max(1.0, np.max(np.abs(g)))
        assert g_err < 1e-6, (prob.name, "grad", g_err)
        H = prob.hess(y)
        H_fd = central_diff(prob.grad, y)
        h_err = np.max(np.abs(H - H_fd)) / max(1.0, np.max(np.abs(H)))
        assert h_err < 1e-6, (prob.name, "hess", h_err)
        assert np.allclose(H, H.T, rtol=0, atol=1e-12), (prob.name, "hess sym")


def flow(prob):
    """Right-hand side of the gradient flow, f(t, y) = -grad L(y)."""
    return lambda t, y: -prob.grad(y)


def flow_jac(prob):
    """Jacobian of the flow, -Hessian of L."""
    return lambda t, y: -prob.hess(y)


# --------------------------------------------------------------------------
# Part A: high-accuracy references.
# --------------------------------------------------------------------------

def reference(prob, t_eval):
    t_end = t_eval[-1]
    sol = solve_ivp(flow(prob), (0.0, t_end), prob.y0, method=REF_METHOD,
                    rtol=REF_TOL, atol=REF_TOL, t_eval=t_eval)
    assert sol.success, (prob.name, sol.message)
    # Independent cross-check: implicit Radau IIA with the analytic Jacobian.
    chk = solve_ivp(flow(prob), (0.0, t_end), prob.y0, method=CROSS_METHOD,
                    rtol=CROSS_TOL, atol=CROSS_TOL, t_eval=t_eval,
                    jac=flow_jac(prob))
    assert chk.success, (prob.name, chk.message)
    assert np.array_equal(sol.t, t_eval) and np.array_equal(chk.t, t_eval)
    diff = float(np.max(np.abs(sol.y - chk.y)))
    return {
        "problem": prob.name,
        "y0": prob.y0.tolist(),
        "method": REF_METHOD,
        "rtol": REF_TOL,
        "atol": REF_TOL,
        "t": [float(t) for t in t_eval],
        "y": sol.y.T.tolist(),  # one row per output time
        "nfev": int(sol.nfev),
        "cross_check_max_abs_diff": diff,
    }, (sol, chk)


# --------------------------------------------------------------------------
# Part B: step-count runs.
# --------------------------------------------------------------------------

def cost_run(prob, method_name, solver_cls, rtol, atol, y_ref, t_end=RUN_T_END,
             max_step=np.inf):
    """Drives `solver_cls` one `.step()` at a time from t = 0 to `t_end` and counts its
    accepted and rejected steps; `y_ref` (or None) is the reference endpoint."""
    calls = [0]
    rhs = flow(prob)

    def counted(t, y):
        calls[0] += 1
        return rhs(t, y)

    solver = solver_cls(counted, 0.0, prob.y0, t_end, rtol=rtol, atol=atol,
                        max_step=max_step)
    # h_abs after construction is the automatically selected initial step.
    first_step = float(solver.h_abs)
    n_accepted = 0
    first_len = None
    longest = 0.0
    while solver.status == "running":
        t_before = solver.t
        msg = solver.step()
        if solver.status == "failed":
            raise RuntimeError(f"{prob.name}/{method_name}: {msg}")
        n_accepted += 1
        if first_len is None:
            first_len = solver.t - t_before
        longest = max(longest, solver.t - t_before)
    assert solver.status == "finished" and solver.t == t_end

    stages = STAGES_PER_ATTEMPT[method_name]
    assert solver_cls.n_stages == stages, (method_name, solver_cls.n_stages)
    nfev = int(solver.nfev)
    assert nfev == calls[0], (nfev, calls[0])
    attempts, rem = divmod(nfev - SETUP_EVALS, stages)
    assert rem == 0, (prob.name, method_name, nfev)
    n_rejected = attempts - n_accepted
    assert n_rejected >= 0
    y_end = np.array(solver.y)
    rec = {
        "problem": prob.name,
        "method": method_name,
        "rtol": rtol,
        "atol": atol,
        "t_end": t_end,
        "nfev": nfev,
        "n_accepted": n_accepted,
        "n_rejected": int(n_rejected),
        "first_step": first_step,
        "y": y_end.tolist(),
    }
    if y_ref is not None:
        rec["max_abs_err"] = float(np.max(np.abs(y_end - y_ref)))
    if np.isfinite(max_step):
        assert longest <= max_step * (1 + 1e-12)  # t + h - t rounds
        rec["max_step"] = max_step
        rec["longest_step"] = longest
    return rec, first_len


def main():
    t_start = time.perf_counter()
    rng = np.random.default_rng(0)

    logistic = Logistic(DATA_CSV)
    # At w = 0 every softplus term is ln 2 and the penalty is zero.
    assert math.isclose(logistic.loss(logistic.y0), math.log(2.0),
                        rel_tol=1e-15, abs_tol=0.0)
    problems = [Rosenbrock(), Himmelblau(), logistic]

    # Check derivatives at the start point and a few random points.
    for prob in problems:
        pts = [prob.y0] + [prob.y0 + rng.normal(scale=0.5, size=prob.y0.size)
                           for _ in range(3)]
        check_derivatives(prob, pts)
    print("derivative checks passed", flush=True)

    references, ref_at_end = [], {}
    for prob in problems:
        t_eval = REF_T_EVAL_LONG if prob.name == "rosenbrock" else REF_T_EVAL
        t0 = time.perf_counter()
        rec, _ = reference(prob, t_eval)
        references.append(rec)
        ref_at_end[prob.name] = np.array(rec["y"][rec["t"].index(RUN_T_END)])
        print(f"ref {prob.name:10s} nfev={rec['nfev']:8d} "
              f"cross_check={rec['cross_check_max_abs_diff']:.3e} "
              f"({time.perf_counter() - t0:.1f}s)", flush=True)

    runs = []
    for prob in problems:
        for method_name, cls in RUN_METHODS:
            for rtol, atol in RUN_TOLS:
                rec, first_len = cost_run(prob, method_name, cls, rtol, atol,
                                          ref_at_end[prob.name])
                runs.append(rec)
                print(f"run {prob.name:10s} {method_name} rtol={rtol:g} "
                      f"nfev={rec['nfev']} acc={rec['n_accepted']} "
                      f"rej={rec['n_rejected']} h0={rec['first_step']:.3e} "
                      f"first_len={first_len:.3e} "
                      f"err={rec['max_abs_err']:.3e}", flush=True)

    out = {
        "generator": "scripts/gen_scipy_reference.py",
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "references": references,
        "runs": runs,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with open(OUT_JSON, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    # Round-trip check: every float must read back bit for bit.
    with open(OUT_JSON) as fh:
        assert json.load(fh) == out
    print(f"wrote {OUT_JSON.relative_to(REPO_ROOT)} "
          f"in {time.perf_counter() - t_start:.1f}s (python {sys.version.split()[0]}, "
          f"scipy {scipy.__version__}, numpy {np.__version__})")


if __name__ == "__main__":
    main()
