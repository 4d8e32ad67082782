//! Objectives for gradflow: losses, their gradients and Hessian-vector products, known
//! minimizers and exact gradient flows, and the registry that names them.
//!
//! Every problem is defined exactly as in the project's `problems.md`, so that a run
//! anywhere gives the same numbers.
//!
//! Your own losses: implement [`Objective`], pass two closures to [`FnObjective`], write a
//! formula for [`Expr`] (exact symbolic derivatives; the CLI's `expr:` problems), or, with
//! the feature `autodiff`, write one generic loss for `autodiff::AutoObjective` (gradient
//! and Hessian-vector product by forward-mode automatic differentiation).
//!
//! ```
//! use gradflow_problems::{Objective, Rosenbrock};
//! use nalgebra::DVector;
//!
//! let f = Rosenbrock::new(2);
//! let x: DVector<f64> = f.start();
//! let mut g = DVector::zeros(2);
//! let loss = f.value_and_gradient(&x, &mut g);
//! assert!((loss - 24.2).abs() < 1e-12);
//! assert!((g[0] + 215.6).abs() < 1e-12 && (g[1] + 88.0).abs() < 1e-12);
//! ```

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "autodiff")]
pub mod autodiff;
pub mod closure;
pub mod expr;
pub mod logistic;
pub mod objective;
pub mod registry;
pub mod smooth;
pub mod vexp;

pub use closure::FnObjective;
pub use expr::{Expr, ExprError};
pub use logistic::Logistic;
pub use objective::{Objective, Real};
pub use registry::{build, registry, KeySpec, ProblemError, ProblemInfo};
pub use smooth::{Beale, Himmelblau, Quadratic, Quartic, Rosenbrock};
