//! Linearly implicit Rosenbrock-type methods: one factorization of I − hγJ per step, no
//! Newton iteration. ("Rosenbrock" is the method family, after H. H. Rosenbrock 1963,
//! not the test problem.)
//!
//! A method with s stages is written in the transformed variables uᵢ of Hairer & Wanner,
//! *Solving ODEs II*, §IV.7, eq. (7.17), the form of their code `rodas.f`:
//!
//! ```text
//! (I/(hγ) − J) uᵢ = f(t + αᵢh, y + Σⱼ<ᵢ aᵢⱼ uⱼ) + Σⱼ<ᵢ (cᵢⱼ/h) uⱼ,
//! y₊ = y + Σᵢ mᵢ uᵢ,          error = Σᵢ eᵢ uᵢ,
//! ```
//!
//! solved here as (I − hγJ) uᵢ = hγ·f(…) + γ Σ cᵢⱼ uⱼ with J = ∂f/∂y at (t, y), which is
//! −∇²L for a gradient flow. The fields are taken as autonomous: the ∂f/∂t terms of
//! non-autonomous Rosenbrock methods are left out (a gradient flow does not depend on t).
//! The tableaus' coefficients are checked against the order conditions of Hairer &
//! Wanner's Table IV.7.1 in this module's tests.

use crate::controller::{Controller, ErrorControl};
use crate::jacobian::Jacobian;
use crate::linalg::ShiftedSystem;
use crate::norm::error_norm;
use crate::rk::StepSize;
use crate::scalar::{lit, rtol_floor};
use crate::stepper::{scheme_step, InitialParts, Scheme, StepResult, Stepper};
use crate::{Scalar, VectorField};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// A Rosenbrock-type method in the transformed form of `rodas.f`, as constant data.
#[derive(Debug)]
pub struct RosenbrockTableau {
    /// Short name, as in the method registry.
    pub name: &'static str,
    /// The diagonal γ: every stage solves with I − hγJ.
    pub gamma: f64,
    /// Nodes αᵢ: stage i is evaluated at t + αᵢh.
    pub nodes: &'static [f64],
    /// aᵢⱼ (j < i): stage i is evaluated at y + Σ aᵢⱼ uⱼ.
    pub a: &'static [&'static [f64]],
    /// cᵢⱼ (j < i): the coupling Σ (cᵢⱼ/h) uⱼ on the right-hand side.
    pub c: &'static [&'static [f64]],
    /// Weights mᵢ of the propagated solution y₊ = y + Σ mᵢuᵢ.
    pub m: &'static [f64],
    /// Error weights eᵢ: error = Σ eᵢuᵢ (the embedded solution is y₊ ± error).
    pub e: &'static [f64],
    /// The last stage is evaluated at y₊ itself, so f(y₊) comes for free and starts the
    /// next step (first same as last).
    pub fsal: bool,
    /// Order of y₊.
    pub order: u32,
    /// Order of the embedded solution.
    pub embedded_order: u32,
    /// Order q of the error estimate (it is O(h^(q+1))): min(order, embedded order).
    pub error_order: u32,
}

impl RosenbrockTableau {
    /// Number of stages s.
    pub fn stages(&self) -> usize {
        self.m.len()
    }
}

/// 1 + 1/√2 and 2 + √2 = 1/d, the numbers of ROS23's transformed tableau.
const R23_A21: f64 = 1.707_106_781_186_547_6;
const R23_INV_D: f64 = 3.414_213_562_373_095;

/// Shampine & Reichelt's modified Rosenbrock triple, the 2(3) pair of MATLAB's `ode23s`
/// and OrdinaryDiffEq.jl's `Rosenbrock23` (L. F. Shampine & M. W. Reichelt, "The MATLAB
/// ODE Suite", SIAM J. Sci. Comput. 18 (1997) 1–22, §3).
///
/// In their notation, with d = 1/(2 + √2), e₃₂ = 6 + √2 and W = I − hdJ:
/// k₁ = W⁻¹f(y), k₂ = W⁻¹(f(y + ½hk₁) − k₁) + k₁, y₊ = y + hk₂ (order 2, propagated),
/// k₃ = W⁻¹(f(y₊) − e₃₂(k₂ − f(y + ½hk₁)) − 2(k₁ − f(y))), error = (h/6)(k₁ − 2k₂ + k₃)
/// (the difference to a third-order solution). Three solves and two new evaluations a
/// step, f(y₊) being the next step's f(y); the second-order formula is a W-method (order 2
/// for any matrix in place of J). Rewritten in the uᵢ above (with γᵢⱼ from the k's:
/// γ = d, γ₂₁ = −d, γ₃₁ = (e₃₂ − 2)d, γ₃₂ = −e₃₂d; α₂₁ = ½, α₃₂ = 1), which gives
/// a₂₁ = 1 + 1/√2, a₃ = m = (2 + √2)(1, 1, 0), c₂₁ = −(2 + √2), c₃₁ = −2(2 + √2),
/// c₃₂ = −(14 + 8√2), e = (1/6)(1, −2, 1)Γ⁻¹.
pub const ROS23: RosenbrockTableau = RosenbrockTableau {
    name: "ros23",
    gamma: 0.292_893_218_813_452_5,
    nodes: &[0.0, 0.5, 1.0],
    a: &[&[], &[R23_A21], &[R23_INV_D, R23_INV_D]],
    c: &[
        &[],
        &[-R23_INV_D],
        &[-6.828_427_124_746_19, -25.313_708_498_984_76],
    ],
    m: &[R23_INV_D, R23_INV_D, 0.0],
    e: &[
        0.569_035_593_728_849_2,
        3.080_880_229_039_762,
        0.569_035_593_728_849_2,
    ],
    fsal: true,
    order: 2,
    embedded_order: 3,
    error_order: 2,
};

/// RODAS4: Hairer & Wanner's stiffly accurate, L-stable Rosenbrock method of order 4(3)
/// with six stages (*Solving ODEs II*, §IV.7, Table 7.2 and the code `rodas.f`, subroutine
/// `RODAS4`; the same numbers as OrdinaryDiffEq.jl's `Rodas4Tableau`, file
/// `lib/OrdinaryDiffEqRosenbrock/src/rosenbrock_tableaus.jl`).
///
/// γ = ¼. Stiffly accurate: the fifth stage's argument plus u₅ is the embedded
/// third-order solution, which is the sixth stage's argument, and y₊ adds u₆, so
/// error = u₆. Six evaluations of f a step (the first at y), one Jacobian, one
/// factorization, six solves.
pub const RODAS4: RosenbrockTableau = RosenbrockTableau {
    name: "rodas4",
    gamma: 0.25,
    nodes: &[0.0, 0.386, 0.21, 0.63, 1.0, 1.0],
    a: &[
        &[],
        &[1.544],
        &[0.946_678_528_081_582_6, 0.255_701_169_898_328_4],
        &[
            3.314_825_187_068_521,
            2.896_124_015_972_201,
            0.998_641_913_997_781_7,
        ],
        &[
            1.221_224_509_226_641,
            6.019_134_481_288_629,
            12.537_083_329_320_87,
            -0.687_886_036_105_895,
        ],
        &[
            1.221_224_509_226_641,
            6.019_134_481_288_629,
            12.537_083_329_320_87,
            -0.687_886_036_105_895,
            1.0,
        ],
    ],
    c: &[
        &[],
        &[-5.6688],
        &[-2.430_093_356_833_875, -0.206_359_915_709_191_5],
        &[
            -0.107_352_905_815_137_5,
            -9.594_562_251_023_355,
            -20.470_286_148_096_16,
        ],
        &[
            7.496_443_313_967_647,
            -10.246_804_314_643_52,
            -33.999_903_528_199_05,
            11.708_908_932_061_6,
        ],
        &[
            8.083_246_795_921_522,
            -7.981_132_988_064_893,
            -31.521_594_328_743_71,
            16.319_305_431_231_36,
            -6.058_818_238_834_054,
        ],
    ],
    m: &[
        1.221_224_509_226_641,
        6.019_134_481_288_629,
        12.537_083_329_320_87,
        -0.687_886_036_105_895,
        1.0,
        1.0,
    ],
    e: &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    fsal: false,
    order: 4,
    embedded_order: 3,
    error_order: 3,
};

/// A Rosenbrock-type method at a fixed step or under error control.
///
/// Per attempted step: the Jacobian at (t, y) (once per accepted step, reused by its
/// rejected attempts), one factorization of I − hγJ (Cholesky when J is a symmetric
/// Hessian and the matrix is positive definite, LU otherwise; see [`crate::linalg`]), s
/// solves and s − 1 evaluations of f (plus f(y) unless the previous step left it, FSAL).
/// Error control uses the weighted RMS norm of [`crate::norm::error_norm`], the
/// controller of [`crate::controller`] and SciPy's initial step for an estimate of order
/// `error_order`, lands exactly on a time limit and reports `TooSmall` below
/// 10·spacing(t). A singular or non-finite matrix, or a non-finite error, rejects the
/// attempt and retries with the controller's smallest factor (a fixed step: half).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct RosenbrockMethod<T: Scalar> {
    #[serde(with = "by_name")]
    tableau: &'static RosenbrockTableau,
    size: StepSize<T>,
    jac: Jacobian<T>,
    system: ShiftedSystem<T>,
    /// f(t, y) at the current point.
    f0: DVector<T>,
    f0_valid: bool,
    /// Stage value f(Yᵢ); after an FSAL step, f(y₊).
    fs: DVector<T>,
    /// Stage argument, and scratch.
    stage: DVector<T>,
    /// Transformed stages uᵢ.
    u: Vec<DVector<T>>,
    err: DVector<T>,
}

/// Serde for a `&'static RosenbrockTableau` by its name.
mod by_name {
    use super::{RosenbrockTableau, RODAS4, ROS23};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        t: &&'static RosenbrockTableau,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<&'static RosenbrockTableau, D::Error> {
        let name = String::deserialize(d)?;
        [&ROS23, &RODAS4]
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| D::Error::custom(format!("unknown Rosenbrock tableau '{name}'")))
    }
}

impl<T: Scalar> RosenbrockMethod<T> {
    /// Whether every buffer fits a state of dimension `dim` (a check for a state read
    /// back from a file).
    pub fn is_consistent(&self, dim: usize) -> bool {
        self.jac.is_consistent(dim)
            && self.system.is_consistent(dim)
            && [&self.f0, &self.fs, &self.stage, &self.err]
                .iter()
                .all(|v| v.len() == dim)
            && self.u.len() == self.tableau.stages()
            && self.u.iter().all(|v| v.len() == dim)
    }

    fn with_size(tableau: &'static RosenbrockTableau, size: StepSize<T>, dim: usize) -> Self {
        RosenbrockMethod {
            tableau,
            size,
            jac: Jacobian::new(dim),
            system: ShiftedSystem::new(dim),
            f0: DVector::zeros(dim),
            f0_valid: false,
            fs: DVector::zeros(dim),
            stage: DVector::zeros(dim),
            u: vec![DVector::zeros(dim); tableau.stages()],
            err: DVector::zeros(dim),
        }
    }

    /// The method at a fixed step `h` (the last step shortened to land on a time limit),
    /// for a state of dimension `dim`: for measuring its order.
    pub fn fixed(tableau: &'static RosenbrockTableau, h: T, dim: usize) -> Self {
        Self::with_size(tableau, StepSize::Fixed(h), dim)
    }

    /// Error control with SciPy's I controller and automatic first step.
    pub fn adaptive(tableau: &'static RosenbrockTableau, rtol: T, atol: T, dim: usize) -> Self {
        Self::controlled(tableau, rtol, atol, None, Controller::I, dim)
    }

    /// Error control with a chosen controller and optional first step `h0`; `rtol` is
    /// raised to at least 100·ε, as SciPy does.
    pub fn controlled(
        tableau: &'static RosenbrockTableau,
        rtol: T,
        atol: T,
        h0: Option<T>,
        controller: Controller,
        dim: usize,
    ) -> Self {
        let floor = rtol_floor::<T>();
        let size = StepSize::Adaptive {
            rtol: rtol.max(floor),
            atol,
            h: h0,
            control: ErrorControl::new(controller, tableau.error_order),
            max_step: None,
        };
        Self::with_size(tableau, size, dim)
    }

    /// The tableau this method runs.
    pub fn tableau(&self) -> &'static RosenbrockTableau {
        self.tableau
    }

    /// The step-size rule and its state.
    pub fn step_size(&self) -> &StepSize<T> {
        &self.size
    }

    /// The same method with every adaptive step at most `max_step` (SciPy's `max_step`;
    /// `None`: no limit). See [`crate::rk::StepSize::set_max_step`].
    pub fn with_max_step(mut self, max_step: Option<T>) -> Self {
        self.size.set_max_step(max_step);
        self
    }

    /// Under error control, the step the next step tries (e.g. the step of the method
    /// this one takes over from); no effect at a fixed step.
    pub fn set_next_step(&mut self, h_next: T) {
        if let StepSize::Adaptive { h, .. } = &mut self.size {
            *h = Some(h_next);
        }
    }

    /// The error norm the controller would see for one attempt of size `h` from (t, y)
    /// (the weighted RMS norm of [`error_norm`] under `tol` = (rtol, atol)), with y₊
    /// written into `y_new`; `None` when f, the Jacobian or I − hγJ fails. Nothing is
    /// committed: the step size and the controller's history stay as they were. For
    /// step-size studies, e.g. the longest step each point allows.
    pub fn trial_error(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        h: T,
        tol: (T, T),
        y_new: &mut DVector<T>,
    ) -> Option<T> {
        Stepper::invalidate(self);
        if !self.prepare(field, t, y) {
            return None;
        }
        self.attempt(field, t, y, y_new, h, Some(tol))
    }

    fn ensure_f0(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) {
        if !self.f0_valid {
            field.eval(t, y, &mut self.f0);
            self.f0_valid = true;
        }
    }

    /// One attempt of size h from (t, y): y₊ into `y_new`, the error vector into
    /// `self.err`. `false` when I − hγJ cannot be factored.
    fn solve(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        h: T,
    ) -> bool {
        let tab = self.tableau;
        let gamma = lit::<T>(tab.gamma);
        if !self.system.factor(self.jac.matrix(), h * gamma) {
            return false;
        }
        let hg = h * gamma;
        let s = tab.stages();
        for i in 0..s {
            let (done, rest) = self.u.split_at_mut(i);
            let ui = &mut rest[0];
            // f at the stage: f(y) for the first, f(y₊) for an FSAL last stage.
            let fi = if i == 0 {
                &self.f0
            } else {
                if tab.fsal && i == s - 1 {
                    combine(y_new, y, &tab.m[..i], done);
                    field.eval(t + h, y_new, &mut self.fs);
                } else {
                    combine(&mut self.stage, y, tab.a[i], done);
                    let ti = t + h * lit::<T>(tab.nodes[i]);
                    field.eval(ti, &self.stage, &mut self.fs);
                }
                &self.fs
            };
            // (I − hγJ) uᵢ = hγ fᵢ + γ Σ cᵢⱼ uⱼ.
            for (m, o) in ui.iter_mut().enumerate() {
                let mut acc = T::zero();
                for (j, &c) in tab.c[i].iter().enumerate() {
                    if c != 0.0 {
                        acc += lit::<T>(c) * done[j][m];
                    }
                }
                *o = hg * fi[m] + gamma * acc;
            }
            self.system.solve_mut(ui);
        }
        if !tab.fsal {
            combine(y_new, y, tab.m, &self.u);
        }
        self.err.fill(T::zero());
        for (j, &e) in tab.e.iter().enumerate() {
            if e != 0.0 {
                self.err.axpy(lit::<T>(e), &self.u[j], T::one());
            }
        }
        true
    }
}

/// out = y + Σⱼ coef\[j\]·u\[j\], skipping zero coefficients.
fn combine<T: Scalar>(out: &mut DVector<T>, y: &DVector<T>, coef: &[f64], u: &[DVector<T>]) {
    out.copy_from(y);
    for (j, &c) in coef.iter().enumerate() {
        if c != 0.0 {
            out.axpy(lit::<T>(c), &u[j], T::one());
        }
    }
}

impl<T: Scalar> Scheme<T> for RosenbrockMethod<T> {
    fn prepare(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> bool {
        self.ensure_f0(field, t, y);
        self.jac.update(field, t, y, &self.f0)
    }

    fn size(&mut self) -> &mut StepSize<T> {
        &mut self.size
    }

    fn initial_parts(&mut self) -> InitialParts<'_, T> {
        InitialParts {
            f0: &self.f0,
            order: self.tableau.error_order,
            scratch: (&mut self.stage, &mut self.fs),
        }
    }

    fn attempt(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        h: T,
        tol: Option<(T, T)>,
    ) -> Option<T> {
        self.solve(field, t, y, y_new, h).then(|| {
            tol.map_or(T::zero(), |(rtol, atol)| {
                error_norm(&self.err, y, y_new, rtol, atol)
            })
        })
    }

    /// I − hγJ could not be factored: shrink as for an error that is not finite.
    fn after_failure(&self, h: T, control: &ErrorControl<T>) -> T {
        h * control.reject(lit(f64::NAN))
    }

    /// Ends an accepted step: f(y₊) becomes f(t, y) (FSAL) or is forgotten, and the
    /// Jacobian is stale.
    fn accepted(&mut self) {
        if self.tableau.fsal {
            std::mem::swap(&mut self.f0, &mut self.fs);
            self.f0_valid = true;
        } else {
            self.f0_valid = false;
        }
        self.jac.invalidate();
    }
}

impl<T: Scalar> Stepper<T> for RosenbrockMethod<T> {
    fn derivative(&mut self, field: &mut dyn VectorField<T>, t: T, y: &DVector<T>) -> &DVector<T> {
        self.ensure_f0(field, t, y);
        &self.f0
    }

    fn step(
        &mut self,
        field: &mut dyn VectorField<T>,
        t: T,
        y: &DVector<T>,
        y_new: &mut DVector<T>,
        t_limit: Option<T>,
    ) -> StepResult<T> {
        scheme_step(self, field, t, y, y_new, t_limit)
    }

    fn invalidate(&mut self) {
        self.f0_valid = false;
        self.jac.invalidate();
    }

    fn next_step_size(&self) -> Option<T> {
        self.size.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    /// (α, β, b, γ) of the classical form (Hairer & Wanner, *Solving ODEs II*, (7.4)) from
    /// the transformed one: Γ = (diag(1/γ) − C)⁻¹, α = AΓ, b = mΓ, βᵢⱼ = αᵢⱼ + γᵢⱼ (j < i).
    fn classical(tab: &RosenbrockTableau, w: &[f64]) -> (DMatrix<f64>, DMatrix<f64>, Vec<f64>) {
        let s = tab.stages();
        let a = DMatrix::from_fn(s, s, |i, j| if j < i { tab.a[i][j] } else { 0.0 });
        let c = DMatrix::from_fn(s, s, |i, j| if j < i { tab.c[i][j] } else { 0.0 });
        let gi = DMatrix::from_diagonal_element(s, s, 1.0 / tab.gamma) - c;
        let g = gi.try_inverse().unwrap();
        let alpha = &a * &g;
        let beta = DMatrix::from_fn(s, s, |i, j| {
            if j < i {
                alpha[(i, j)] + g[(i, j)]
            } else {
                0.0
            }
        });
        let wv = nalgebra::RowDVector::from_row_slice(w);
        let b = (wv * &g).iter().copied().collect();
        (alpha, beta, b)
    }

    /// Residuals of the order conditions up to order `p` (Table IV.7.1).
    fn order_residuals(tab: &RosenbrockTableau, w: &[f64], p: u32) -> Vec<f64> {
        let (alpha, beta, b) = classical(tab, w);
        let s = tab.stages();
        let g = tab.gamma;
        let b = DVector::from_vec(b);
        let ai = DVector::from_fn(s, |i, _| alpha.row(i).sum());
        let bi = DVector::from_fn(s, |i, _| beta.row(i).sum());
        let mut r = vec![b.sum() - 1.0];
        if p >= 2 {
            r.push(b.dot(&bi) - (0.5 - g));
        }
        if p >= 3 {
            r.push(b.dot(&ai.component_mul(&ai)) - 1.0 / 3.0);
            r.push(b.dot(&(&beta * &bi)) - (1.0 / 6.0 - g + g * g));
        }
        if p >= 4 {
            let a2 = ai.component_mul(&ai);
            r.push(b.dot(&a2.component_mul(&ai)) - 0.25);
            r.push(b.component_mul(&ai).dot(&(&alpha * &bi)) - (1.0 / 8.0 - g / 3.0));
            r.push(b.dot(&(&beta * &a2)) - (1.0 / 12.0 - g / 3.0));
            r.push(
                b.dot(&(&beta * (&beta * &bi))) - (1.0 / 24.0 - g / 2.0 + 1.5 * g * g - g * g * g),
            );
        }
        r
    }

    fn embedded(tab: &RosenbrockTableau, sign: f64) -> Vec<f64> {
        tab.m.iter().zip(tab.e).map(|(m, e)| m + sign * e).collect()
    }

    #[test]
    fn the_tableaus_satisfy_their_order_conditions() {
        for tab in [&ROS23, &RODAS4] {
            let r = order_residuals(tab, tab.m, tab.order);
            assert!(r.iter().all(|x| x.abs() < 1e-13), "{}: {r:?}", tab.name);
            // The embedded solution is y₊ + error (ROS23) or y₊ − error (RODAS4).
            let ok = |sign| {
                order_residuals(tab, &embedded(tab, sign), tab.embedded_order)
                    .iter()
                    .all(|x| x.abs() < 1e-13)
            };
            assert!(ok(1.0) || ok(-1.0), "{}: embedded", tab.name);
            // ROS23's y₊ is not of order 3 (the conditions here stop at order 4).
            if tab.order < 4 {
                let r = order_residuals(tab, tab.m, tab.order + 1);
                assert!(
                    r.iter().any(|x| x.abs() > 1e-6),
                    "{}: order too high",
                    tab.name
                );
            }
            // Nodes αᵢ = Σⱼ αᵢⱼ.
            let (alpha, _, _) = classical(tab, tab.m);
            for (i, &node) in tab.nodes.iter().enumerate() {
                assert!(
                    (alpha.row(i).sum() - node).abs() < 1e-12,
                    "{} node {i}",
                    tab.name
                );
            }
        }
    }

    #[test]
    fn ros23_is_shampine_and_reichelts_triple() {
        // Back to the classical form: γ = d, γ₂₁ = −d, γ₃₁ = (e₃₂ − 2)d, γ₃₂ = −e₃₂d,
        // α₂₁ = ½, α₃₂ = 1, b = (0, 1, 0), and error weights (1, −2, 1)/6.
        let d = 1.0 / (2.0 + 2f64.sqrt());
        let e32 = 6.0 + 2f64.sqrt();
        assert!((ROS23.gamma - d).abs() < 1e-16);
        let s = 3;
        let c = DMatrix::from_fn(s, s, |i, j| if j < i { ROS23.c[i][j] } else { 0.0 });
        let g = (DMatrix::from_diagonal_element(s, s, 1.0 / d) - c)
            .try_inverse()
            .unwrap();
        let want = DMatrix::from_row_slice(
            3,
            3,
            &[d, 0.0, 0.0, -d, d, 0.0, (e32 - 2.0) * d, -e32 * d, d],
        );
        assert!((&g - &want).amax() < 1e-15, "{g}");
        let (alpha, _, b) = classical(&ROS23, ROS23.m);
        let want = DMatrix::from_row_slice(3, 3, &[0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert!((&alpha - &want).amax() < 1e-15, "{alpha}");
        assert!((b[0]).abs() < 1e-15 && (b[1] - 1.0).abs() < 1e-15 && b[2].abs() < 1e-15);
        let (_, _, e) = classical(&ROS23, ROS23.e);
        for (x, w) in e.iter().zip([1.0 / 6.0, -2.0 / 6.0, 1.0 / 6.0]) {
            assert!((x - w).abs() < 1e-15, "{e:?}");
        }
        // FSAL: the last stage is evaluated at y₊.
        assert_eq!(ROS23.a[2], &ROS23.m[..2]);
    }

    #[test]
    fn rodas4_is_stiffly_accurate() {
        // y₊ = the last stage's argument + u₆, the last argument = the fifth's + u₅.
        assert_eq!(&RODAS4.m[..5], RODAS4.a[5]);
        assert_eq!(&RODAS4.a[5][..4], RODAS4.a[4]);
        assert_eq!(RODAS4.a[5][4], 1.0);
        assert_eq!(RODAS4.m[5], 1.0);
    }

    #[test]
    fn a_linear_stiff_decay_is_damped_in_one_step() {
        // y' = −λy with hλ = 10⁶: an L-stable method maps y to ≈ 0, not to ±y.
        let lambda = 1e6;
        for tab in [&ROS23, &RODAS4] {
            let mut field =
                |_t: f64, y: &DVector<f64>, dy: &mut DVector<f64>| dy[0] = -lambda * y[0];
            let mut m = RosenbrockMethod::fixed(tab, 1.0, 1);
            let y = DVector::from_element(1, 1.0);
            let mut y_new = DVector::zeros(1);
            let r = m.step(&mut field, 0.0, &y, &mut y_new, None);
            assert!(matches!(r, StepResult::Accepted(_)));
            assert!(y_new[0].abs() < 1e-5, "{}: {}", tab.name, y_new[0]);
        }
    }
}
