//! ODE integration for gradflow.
//!
//! This crate knows nothing of losses: it integrates `dy/dt = f(t, y)` for any
//! [`VectorField`]. Four ideas are kept apart:
//!
//! * the **vector field** ([`VectorField`]): `f(t, y)` written into a caller-owned buffer;
//! * the **scheme** (one step): an explicit Runge–Kutta tableau ([`tableau`]) run by
//!   [`RungeKutta`]; for stiff flows, backward Euler ([`ImplicitEuler`], Newton on the
//!   field's Jacobian) and linearly implicit Rosenbrock-type methods
//!   ([`RosenbrockMethod`] with [`rosw::ROS23`] or [`rosw::RODAS4`]), which solve with
//!   I − hγJ ([`linalg`]); [`Switching`] detects stiffness and hands an explicit pair's
//!   run over to one of them;
//! * the **step-size controller** ([`controller`]): a fixed step, or error control by an
//!   I or PI controller on an embedded error estimate;
//! * the **driver** ([`Integrator`]): runs a [`Stepper`] until a [`Stop`] holds and
//!   reports a [`Status`] and typed [`Stats`].
//!
//! ```
//! use gradflow_integrators::{Integrator, RungeKutta, Stop, Status, tableau};
//! use nalgebra::DVector;
//!
//! // dy/dt = -y, y(0) = 1: y(1) = e^-1.
//! let mut field = |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| dy.copy_from(&(-y));
//! let stepper = RungeKutta::adaptive(&tableau::DOPRI5, 1e-10, 1e-12, 1);
//! let mut run = Integrator::new(stepper, 0.0, DVector::from_element(1, 1.0));
//! let status = run.integrate(&mut field, &Stop::t_end(1.0), &mut ());
//! assert_eq!(status, Status::TEnd);
//! assert_eq!(run.t(), 1.0);
//! assert!((run.y()[0] - (-1.0f64).exp()).abs() < 1e-10);
//! ```

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod controller;
pub mod driver;
pub mod field;
pub mod implicit;
mod initial;
pub mod jacobian;
pub mod kernel;
pub mod linalg;
pub mod norm;
pub mod optim;
pub mod rk;
pub mod rosw;
pub mod scalar;
pub mod stepper;
pub mod switching;
pub mod tableau;

pub use controller::{Controller, ErrorControl};
pub use driver::{Evals, Integrator, Leg, Next, Observer, Point, Stats, Status, Stop};
pub use field::VectorField;
pub use implicit::ImplicitEuler;
pub use optim::{Optimizer, Rule};
pub use rk::RungeKutta;
pub use rosw::{RosenbrockMethod, RosenbrockTableau};
pub use scalar::Scalar;
pub use stepper::{Accepted, StepResult, Stepper};
pub use switching::Switching;
