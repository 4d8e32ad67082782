#!/usr/bin/env python3
"""SciPy's RK45 and RK23 under ``max_step``: the fixture for gradflow's ``max_step`` key.

Writes ``tests/fixtures/scipy/max_step.json``. Each run integrates a gradient flow
dy/dt = -grad L(y) from t = 0 with SciPy's solver class driven one ``.step()`` at a time
by ``gen_scipy_reference.py``'s ``cost_run`` (its problem definitions and counting
rules), recording the accepted and rejected steps, the evaluations, the first step, the
longest accepted step and the endpoint.

    python3 scripts/gen_scipy_max_step.py      # needs numpy and scipy
"""

import json
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy.integrate import RK23, RK45

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_scipy_reference as ref  # noqa: E402

OUT_JSON = ref.OUT_DIR / "max_step.json"

# (problem, t_end, rtol, atol, max_step): the limit binds on most of the Rosenbrock
# flow's first stretch (RK45's first step included), and on Himmelblau's once the
# transient is over (its steps would grow to the stability limit, about 0.045 for RK45).
CASES = [
    (ref.Rosenbrock(), 2.0, 1e-6, 1e-9, 1e-3),
    (ref.Himmelblau(), 20.0, 1e-6, 1e-9, 0.02),
    (ref.Himmelblau(), 20.0, 1e-8, 1e-10, 0.01),
]


def main():
    runs = []
    for prob, t_end, rtol, atol, max_step in CASES:
        for method_name, cls in [("RK45", RK45), ("RK23", RK23)]:
            rec, _ = ref.cost_run(prob, method_name, cls, rtol, atol, None, t_end=t_end,
                                  max_step=max_step)
            runs.append(rec)
            print(f"{prob.name:10s} {method_name} max_step={max_step:g} rtol={rtol:g}: "
                  f"acc={rec['n_accepted']} rej={rec['n_rejected']} nfev={rec['nfev']} "
                  f"h0={rec['first_step']:.3e} longest={rec['longest_step']:.3e}")
    out = {
        "generator": "scripts/gen_scipy_max_step.py",
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "runs": runs,
    }
    OUT_JSON.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT_JSON}")


if __name__ == "__main__":
    main()
