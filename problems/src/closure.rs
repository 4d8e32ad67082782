//! An objective made of two closures: the loss and its gradient.

use crate::objective::{Objective, Real};
use nalgebra::DVector;

/// L and ∇L given as closures, with a start point (which fixes the dimension).
///
/// ```
/// use gradflow_problems::{FnObjective, Objective};
/// use nalgebra::DVector;
///
/// // L(x, y) = (x − 1)² + 4y², ∇L = (2(x − 1), 8y).
/// let f = FnObjective::new(
///     DVector::from_vec(vec![0.0, 1.0]),
///     |p: &DVector<f64>| (p[0] - 1.0).powi(2) + 4.0 * p[1] * p[1],
///     |p: &DVector<f64>, g: &mut DVector<f64>| {
///         g[0] = 2.0 * (p[0] - 1.0);
///         g[1] = 8.0 * p[1];
///     },
/// );
/// assert_eq!(f.dim(), 2);
/// assert_eq!(f.value(&f.start()), 5.0);
/// ```
pub struct FnObjective<T: Real, F, G> {
    start: DVector<T>,
    loss: F,
    grad: G,
}

impl<T, F, G> FnObjective<T, F, G>
where
    T: Real,
    F: Fn(&DVector<T>) -> T,
    G: Fn(&DVector<T>, &mut DVector<T>),
{
    /// The objective with loss `loss`, gradient `grad` (written into its second argument)
    /// and start `start`.
    pub fn new(start: DVector<T>, loss: F, grad: G) -> Self {
        FnObjective { start, loss, grad }
    }
}

impl<T, F, G> Objective<T> for FnObjective<T, F, G>
where
    T: Real,
    F: Fn(&DVector<T>) -> T,
    G: Fn(&DVector<T>, &mut DVector<T>),
{
    fn dim(&self) -> usize {
        self.start.len()
    }
    fn value(&self, x: &DVector<T>) -> T {
        (self.loss)(x)
    }
    fn gradient(&self, x: &DVector<T>, g: &mut DVector<T>) {
        (self.grad)(x, g)
    }
    fn start(&self) -> DVector<T> {
        self.start.clone()
    }
}
