//! Every method's stepper as one concrete type, and the serializable form of those whose
//! state a checkpoint can hold.

use gradflow_integrators::{
    ImplicitEuler, Leg, Optimizer, RosenbrockMethod, RungeKutta, Scalar, StepResult, Stepper,
    Switching, VectorField,
};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// The stepper of any registered method.
#[derive(Clone, Debug)]
pub enum AnyStepper<T: Scalar> {
    /// An explicit Runge–Kutta method (fixed or adaptive).
    Rk(RungeKutta<T>),
    /// An optimizer: Euler steps under a step-size rule.
    Optimizer(Optimizer<T>),
    /// Backward Euler.
    Implicit(ImplicitEuler<T>),
    /// A linearly implicit Rosenbrock-type method.
    Rosenbrock(RosenbrockMethod<T>),
    /// An explicit pair that hands over to a Rosenbrock-type method when the flow turns
    /// stiff (`auto`; boxed: it holds both steppers).
    Auto(Box<Switching<T>>),
}

/// The state of a stepper as a checkpoint stores it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar", rename_all = "snake_case")]
pub enum SavedStepper<T: Scalar> {
    /// An explicit Runge–Kutta method.
    Rk(RungeKutta<T>),
    /// An optimizer.
    Optimizer(Optimizer<T>),
    /// Backward Euler.
    Implicit(ImplicitEuler<T>),
    /// A linearly implicit Rosenbrock-type method.
    Rosenbrock(RosenbrockMethod<T>),
    /// The explicit-to-stiff switch.
    Auto(Box<Switching<T>>),
}

impl<T: Scalar> AnyStepper<T> {
    /// The serializable state (every method's state can be checkpointed).
    pub fn saved(&self) -> Option<SavedStepper<T>> {
        Some(match self {
            AnyStepper::Rk(s) => SavedStepper::Rk(s.clone()),
            AnyStepper::Optimizer(s) => SavedStepper::Optimizer(s.clone()),
            AnyStepper::Implicit(s) => SavedStepper::Implicit(s.clone()),
            AnyStepper::Rosenbrock(s) => SavedStepper::Rosenbrock(s.clone()),
            AnyStepper::Auto(s) => SavedStepper::Auto(s.clone()),
        })
    }
}

impl<T: Scalar> SavedStepper<T> {
    /// Whether this state can belong to `fresh` (the same method and keys, freshly built)
    /// on a state of dimension `dim`.
    pub fn matches(&self, fresh: &SavedStepper<T>, dim: usize) -> bool {
        use std::mem::discriminant;
        match (self, fresh) {
            (SavedStepper::Rk(a), SavedStepper::Rk(b)) => {
                a.tableau().name == b.tableau().name
                    && discriminant(a.step_size()) == discriminant(b.step_size())
                    && a.is_consistent(dim)
            }
            (SavedStepper::Optimizer(a), SavedStepper::Optimizer(b)) => {
                discriminant(&a.rule) == discriminant(&b.rule)
                    && a.lr == b.lr
                    && a.is_consistent(dim)
            }
            (SavedStepper::Implicit(a), SavedStepper::Implicit(b)) => {
                discriminant(a.step_size()) == discriminant(b.step_size()) && a.is_consistent(dim)
            }
            (SavedStepper::Rosenbrock(a), SavedStepper::Rosenbrock(b)) => {
                a.tableau().name == b.tableau().name && a.is_consistent(dim)
            }
            (SavedStepper::Auto(a), SavedStepper::Auto(_)) => a.is_consistent(dim),
            _ => false,
        }
    }
}

impl<T: Scalar> From<SavedStepper<T>> for AnyStepper<T> {
    fn from(s: SavedStepper<T>) -> Self {
        match s {
            SavedStepper::Rk(s) => AnyStepper::Rk(s),
            SavedStepper::Optimizer(s) => AnyStepper::Optimizer(s),
            SavedStepper::Implicit(s) => AnyStepper::Implicit(s),
            SavedStepper::Rosenbrock(s) => AnyStepper::Rosenbrock(s),
            SavedStepper::Auto(s) => AnyStepper::Auto(s),
        }
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStepper::Rk($s) => $e,
            AnyStepper::Optimizer($s) => $e,
            AnyStepper::Implicit($s) => $e,
            AnyStepper::Rosenbrock($s) => $e,
            AnyStepper::Auto($s) => $e,
        }
    };
}

impl<T: Scalar> Stepper<T> for AnyStepper<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        each!(self, s => s.derivative(field, t, y))
    }

    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T> {
        each!(self, s => s.step(field, t, y, y_new, t_limit))
    }

    fn advance(&mut self, field: &mut dyn VectorField<T>, leg: &mut Leg<'_, T>) -> bool {
        each!(self, s => s.advance(field, leg))
    }

    fn invalidate(&mut self) {
        each!(self, s => s.invalidate())
    }

    fn next_step_size(&self) -> Option<T> {
        each!(self, s => s.next_step_size())
    }

    fn step_range(&self) -> Option<(T, T)> {
        each!(self, s => s.step_range())
    }
}
