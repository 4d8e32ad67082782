//! Butcher tableaus as constant data, each with its source.
//!
//! A tableau with `s` stages has nodes `c`, a strictly lower-triangular `a` (row `i`
//! holds `a[i][0..i]`), weights `b` of the propagating solution and, for an embedded
//! pair, error weights `e` of length `s + 1`: the last one multiplies the stage
//! `f(t + h, y₊)` at the new point (first same as last, FSAL), so that
//!
//! ```text
//! y₊ = y + h Σᵢ bᵢ kᵢ,       error = h (Σᵢ eᵢ kᵢ + e_s f(t + h, y₊)).
//! ```
//!
//! This is the layout of SciPy's `scipy/integrate/_ivp/rk.py`. The weights of the
//! embedded solution are `b̂ = (b, 0) + e`.

/// An explicit Runge–Kutta tableau, optionally with an embedded error estimate.
#[derive(Debug)]
pub struct Tableau {
    /// Short name, as in the method registry.
    pub name: &'static str,
    /// Nodes cᵢ.
    pub c: &'static [f64],
    /// Coupling coefficients: row `i` holds aᵢⱼ for j < i.
    pub a: &'static [&'static [f64]],
    /// Weights of the propagating solution.
    pub b: &'static [f64],
    /// Error weights (length `s + 1`, the last on `f(t + h, y₊)`), for embedded pairs.
    pub e: Option<&'static [f64]>,
    /// Order of the propagating solution.
    pub order: u32,
    /// Order of the embedded solution `b̂` (0 without one).
    pub embedded_order: u32,
    /// Order `q = min(order, embedded_order)` of the error estimate: it is O(h^(q+1)).
    pub error_order: u32,
}

impl Tableau {
    /// Number of stages `s` (not counting the FSAL evaluation).
    pub fn stages(&self) -> usize {
        self.b.len()
    }
}

/// Explicit Euler: y₊ = y + h f(t, y). Order 1.
pub const EULER: Tableau = Tableau {
    name: "euler",
    c: &[0.0],
    a: &[&[]],
    b: &[1.0],
    e: None,
    order: 1,
    embedded_order: 0,
    error_order: 0,
};

/// The classical Runge–Kutta method of order 4 (Kutta 1901; Hairer, Nørsett & Wanner,
/// *Solving ODEs I*, Table II.1.2, left).
pub const RK4: Tableau = Tableau {
    name: "rk4",
    c: &[0.0, 0.5, 0.5, 1.0],
    a: &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
    b: &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    e: None,
    order: 4,
    embedded_order: 0,
    error_order: 0,
};

/// Heun–Euler 1(2), propagating the **Euler** solution.
///
/// One stage k₁ = f(t, y); y₊ = y + h k₁ is a plain gradient-descent step on a gradient
/// flow. The error estimate is Heun's solution minus Euler's,
/// (h/2)(f(t + h, y₊) − k₁) ≈ ½h² f′f, the leading local error of Euler, and
/// f(t + h, y₊) is the next step's k₁ (FSAL): an accepted step costs one evaluation.
pub const HEUN_EULER: Tableau = Tableau {
    name: "heun-euler",
    c: &[0.0],
    a: &[&[]],
    b: &[1.0],
    e: Some(&[-0.5, 0.5]),
    order: 1,
    embedded_order: 2,
    error_order: 1,
};

/// Bogacki–Shampine 3(2), FSAL (P. Bogacki & L. F. Shampine, *Appl. Math. Lett.* 2 (1989)
/// 321–325), as SciPy's `RK23`: propagates the order-3 solution.
pub const BS23: Tableau = Tableau {
    name: "bs23",
    c: &[0.0, 0.5, 0.75],
    a: &[&[], &[0.5], &[0.0, 0.75]],
    b: &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    e: Some(&[5.0 / 72.0, -1.0 / 12.0, -1.0 / 9.0, 1.0 / 8.0]),
    order: 3,
    embedded_order: 2,
    error_order: 2,
};

/// Dormand–Prince 5(4), FSAL (J. R. Dormand & P. J. Prince, *J. Comput. Appl. Math.* 6
/// (1980) 19–26; Hairer, Nørsett & Wanner, Table II.5.2), as SciPy's `RK45`: propagates
/// the order-5 solution.
pub const DOPRI5: Tableau = Tableau {
    name: "dopri5",
    c: &[0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0],
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
    ],
    b: &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
    e: Some(&[
        -71.0 / 57600.0,
        0.0,
        71.0 / 16695.0,
        -71.0 / 1920.0,
        17253.0 / 339200.0,
        -22.0 / 525.0,
        1.0 / 40.0,
    ]),
    order: 5,
    embedded_order: 4,
    error_order: 4,
};

/// Every tableau of this module.
pub const ALL: [&Tableau; 5] = [&EULER, &RK4, &HEUN_EULER, &BS23, &DOPRI5];

/// Serde for a `&'static Tableau` by its name (for checkpoints of a method's state).
pub mod by_name {
    use super::{Tableau, ALL};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Writes the tableau's name.
    pub fn serialize<S: Serializer>(t: &&'static Tableau, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name)
    }

    /// Looks the name up among [`ALL`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Tableau, D::Error> {
        let name = String::deserialize(d)?;
        ALL.iter()
            .copied()
            .find(|t| t.name == name)
            .ok_or_else(|| D::Error::custom(format!("unknown tableau '{name}'")))
    }
}

#[cfg(test)]
mod tests {
    //! Order conditions (Butcher's rooted trees up to order 5; Hairer, Nørsett & Wanner,
    //! *Solving ODEs I*, Table II.2.2) for every tableau and its embedded solution.
    use super::*;

    /// (a, b, c) as dense f64 arrays, optionally extended by the FSAL stage (c = 1, a = b).
    fn dense(t: &Tableau, embedded: bool) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let s = t.stages();
        let n = if embedded { s + 1 } else { s };
        let mut a = vec![vec![0.0; n]; n];
        for (i, row) in t.a.iter().enumerate() {
            a[i][..row.len()].copy_from_slice(row);
        }
        let mut c = t.c.to_vec();
        let mut b = t.b.to_vec();
        if embedded {
            a[s][..s].copy_from_slice(t.b);
            c.push(1.0);
            b.push(0.0);
            let e = t.e.expect("embedded tableau");
            b = b.iter().zip(e).map(|(bi, ei)| bi + ei).collect();
        }
        (a, b, c)
    }

    fn mul(a: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
        a.iter()
            .map(|row| row.iter().zip(v).map(|(x, y)| x * y).sum())
            .collect()
    }

    fn pw(u: &[f64], v: &[f64]) -> Vec<f64> {
        u.iter().zip(v).map(|(x, y)| x * y).collect()
    }

    fn dot(u: &[f64], v: &[f64]) -> f64 {
        u.iter().zip(v).map(|(x, y)| x * y).sum()
    }

    /// The residuals of the order conditions of orders 1..=p.
    fn residuals(a: &[Vec<f64>], b: &[f64], c: &[f64], p: u32) -> Vec<(String, f64)> {
        let one = vec![1.0; c.len()];
        let c2 = pw(c, c);
        let c3 = pw(&c2, c);
        let ac = mul(a, c);
        let ac2 = mul(a, &c2);
        let aac = mul(a, &ac);
        let mut conds: Vec<(&str, f64, f64, u32)> = vec![
            ("b·1", dot(b, &one), 1.0, 1),
            ("b·c", dot(b, c), 1.0 / 2.0, 2),
            ("b·c²", dot(b, &c2), 1.0 / 3.0, 3),
            ("b·Ac", dot(b, &ac), 1.0 / 6.0, 3),
            ("b·c³", dot(b, &c3), 1.0 / 4.0, 4),
            ("b·(c∘Ac)", dot(b, &pw(c, &ac)), 1.0 / 8.0, 4),
            ("b·Ac²", dot(b, &ac2), 1.0 / 12.0, 4),
            ("b·AAc", dot(b, &aac), 1.0 / 24.0, 4),
        ];
        let c4 = pw(&c3, c);
        let fifth = [
            ("b·c⁴", dot(b, &c4), 1.0 / 5.0),
            ("b·(c²∘Ac)", dot(b, &pw(&c2, &ac)), 1.0 / 10.0),
            ("b·(c∘Ac²)", dot(b, &pw(c, &ac2)), 1.0 / 15.0),
            ("b·(c∘AAc)", dot(b, &pw(c, &aac)), 1.0 / 30.0),
            ("b·(Ac)²", dot(b, &pw(&ac, &ac)), 1.0 / 20.0),
            ("b·Ac³", dot(b, &mul(a, &c3)), 1.0 / 20.0),
            ("b·A(c∘Ac)", dot(b, &mul(a, &pw(c, &ac))), 1.0 / 40.0),
            ("b·AAc²", dot(b, &mul(a, &ac2)), 1.0 / 60.0),
            ("b·AAAc", dot(b, &mul(a, &aac)), 1.0 / 120.0),
        ];
        conds.extend(fifth.iter().map(|&(n, v, w)| (n, v, w, 5)));
        conds
            .into_iter()
            .filter(|&(_, _, _, order)| order <= p)
            .map(|(n, v, w, _)| (n.to_string(), v - w))
            .collect()
    }

    fn check(t: &Tableau) {
        // Row sums: Σⱼ aᵢⱼ = cᵢ.
        for (i, row) in t.a.iter().enumerate() {
            let sum: f64 = row.iter().sum();
            assert!(
                (sum - t.c[i]).abs() < 1e-15,
                "{}: row {i} sums to {sum}",
                t.name
            );
        }
        let (a, b, c) = dense(t, false);
        for (name, r) in residuals(&a, &b, &c, t.order) {
            assert!(r.abs() < 1e-14, "{}: {name} off by {r}", t.name);
        }
        // The next order must fail, or the stated order is not the true one.
        if t.order < 5 {
            let next = residuals(&a, &b, &c, t.order + 1);
            assert!(next.iter().any(|(_, r)| r.abs() > 1e-6), "{}", t.name);
        }
        if t.e.is_some() {
            let (a, bh, c) = dense(t, true);
            for (name, r) in residuals(&a, &bh, &c, t.embedded_order) {
                assert!(r.abs() < 1e-14, "{} embedded: {name} off by {r}", t.name);
            }
            let next = residuals(&a, &bh, &c, t.embedded_order + 1);
            assert!(next.iter().any(|(_, r)| r.abs() > 1e-6), "{}", t.name);
            assert_eq!(t.e.map(<[f64]>::len), Some(t.stages() + 1));
            assert_eq!(t.error_order, t.order.min(t.embedded_order));
        }
    }

    #[test]
    fn every_tableau_satisfies_its_order_conditions() {
        for t in [&EULER, &RK4, &HEUN_EULER, &BS23, &DOPRI5] {
            check(t);
        }
    }

    #[test]
    fn a_wrong_coefficient_is_caught() {
        // The classic bug of a shipped Dopri5 (a wrong error coefficient): perturb one entry.
        let mut e = DOPRI5.e.unwrap().to_vec();
        e[3] += 1e-4;
        let leaked: &'static [f64] = Box::leak(e.into_boxed_slice());
        let bad = Tableau {
            e: Some(leaked),
            ..DOPRI5
        };
        let (a, bh, c) = dense(&bad, true);
        let worst = residuals(&a, &bh, &c, 4)
            .into_iter()
            .map(|(_, r)| r.abs())
            .fold(0.0, f64::max);
        assert!(worst > 1e-5);
    }
}
