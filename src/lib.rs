//! gradflow: every optimizer is an ODE integrator.
//!
//! Training a model integrates the gradient flow dθ/dt = −∇L(θ); gradient descent is the
//! explicit Euler method with h = lr. This crate joins the objectives of
//! [`gradflow_problems`] and the integrators of [`gradflow_integrators`]: a
//! [`GradientFlow`] turns an objective into a vector field, the method registry
//! ([`methods`]) turns a spec string into a stepper, and a [`RunSpec`] runs one into a
//! [`Report`].
//!
//! ```
//! use gradflow::RunSpec;
//!
//! // Rosenbrock's gradient flow to t = 1000 with Dormand–Prince 5(4).
//! let report = RunSpec::new("rosenbrock", "dopri5:rtol=1e-8").t_end(1000.0).run().unwrap();
//! let theta = report.theta.unwrap();
//! assert!((theta[0] - 1.0).abs() < 1e-6 && (theta[1] - 1.0).abs() < 1e-6);
//! ```

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod checkpoint;
pub mod compare;
pub mod error;
pub mod flow;
pub mod methods;
pub mod output;
pub mod path;
pub mod plot;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod spec;
pub mod steppers;
pub mod stiffness;

pub use error::{Error, Result};
pub use flow::GradientFlow;
pub use gradflow_integrators as integrators;
pub use gradflow_problems as problems;
pub use report::Report;
pub use run::{Dtype, RunSpec};

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
