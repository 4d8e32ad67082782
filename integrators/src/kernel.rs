//! Fused single-pass kernels for the optimizers' elementwise updates.
//!
//! One sweep reads θ, the gradient and the rule's state once and writes θ and the state
//! once: no temporaries, so a step at large n moves the bytes the update needs and no
//! more (SGD 24, RMSprop 40, Adam 56 bytes per f64 parameter when θ is updated in place).
//!
//! * **θ**: `Theta` either updates θ in place from the gradient (the `torch.optim`
//!   way, [`crate::Optimizer::step_in_place`]) or writes θ₊ into a second array (the
//!   integrator's step, which keeps θₖ for rolling back), from the gradient g or from the
//!   field f = −g (negated as it is read: exact).
//! * **Statistics**: rules with per-component steps hᵢ = c/dᵢ also sum hᵢgᵢ² and gᵢ² for
//!   the reported time (see [`crate::optim`]; sign descent also tracks min/max dᵢ, the
//!   other rules work their range out from their state when a row is recorded). The sums
//!   run in [`LANES`] independent lanes (so they vectorize), lanes are added in order, and
//!   blocks of at most [`LEAF`] components combine along a fixed binary tree: the result
//!   depends on n only, never on how many threads ran the blocks.
//! * **Small n**: a step's cost there is its latency. Leaves under [`NARROW`] components
//!   skip the run-time dispatch, and under [`LANES`] components the sums run as plain
//!   running sums (the same bits: each component would sit alone in its lane).
//! * **Threads**: above [`PAR_MIN`] components the two halves of the tree run under
//!   `rayon::join` when the current pool has more than one thread; θ and the state are
//!   bit-identical to a one-thread run (each component's arithmetic is the same, and the
//!   sums follow the same tree).
//! * **Vector width**: every leaf is compiled three times, portable, with AVX2 and with
//!   AVX-512, and the widest the CPU has is chosen at run time. Rust never contracts
//!   a·b + c into a fused multiply–add (FMA stays off on every path), and square root
//!   and division are correctly rounded at every width, so all paths give identical
//!   bits ([`set_vector_path`] forces the portable one, for that comparison).

use crate::scalar::Scalar;
use std::sync::atomic::{AtomicBool, Ordering};

/// Independent accumulators per leaf: 16 f64 = four AVX2 registers, 16 f32 = two. (With
/// fewer, the compiler packs the unrolled lanes into 128-bit vectors only: measured.)
pub const LANES: usize = 16;
/// Largest block swept by one leaf call (a multiple of [`LANES`]).
pub const LEAF: usize = 1 << 14;
/// Smallest block whose halves may run on two threads.
pub const PAR_MIN: usize = 1 << 16;

static PORTABLE_ONLY: AtomicBool = AtomicBool::new(false);

/// Chooses the vector path: `true` takes the widest the CPU has (the default), `false`
/// forces the portable build of every kernel. Results are identical either way; this
/// exists to show it, and to measure the difference.
pub fn set_vector_path(wide: bool) {
    PORTABLE_ONLY.store(!wide, Ordering::Relaxed);
}

/// The vector path the kernels take on this CPU now: `"avx512"`, `"avx2"` or
/// `"portable"`.
pub fn vector_path() -> &'static str {
    match width() {
        Width::Avx512 => "avx512",
        Width::Avx2 => "avx2",
        Width::Portable => "portable",
    }
}

enum Width {
    Avx512,
    Avx2,
    Portable,
}

#[inline(always)]
fn width() -> Width {
    #[cfg(target_arch = "x86_64")]
    {
        if PORTABLE_ONLY.load(Ordering::Relaxed) {
            Width::Portable
        } else if std::arch::is_x86_feature_detected!("avx512f") {
            Width::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            Width::Avx2
        } else {
            Width::Portable
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Width::Portable
    }
}

/// Below this many components a leaf runs as built, inlined into its caller: at small n
/// the cost of a step is its latency, not its width.
pub const NARROW: usize = 64;

/// Runs `f` (a leaf of `len` components) compiled for the widest vector path the CPU
/// has (`f` must be `#[inline(always)]` for the choice to reach its body).
#[inline(always)]
pub(crate) fn dispatch<R>(len: usize, f: impl FnOnce() -> R) -> R {
    if len < NARROW {
        return f();
    }
    match width() {
        // SAFETY: the CPU supports the feature (checked by `width`).
        #[cfg(target_arch = "x86_64")]
        Width::Avx512 => unsafe { with_avx512(f) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Width::Avx2 => unsafe { with_avx2(f) },
        _ => f(),
    }
}

/// `f` inlined into a function compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f` inlined into a function compiled with AVX-512 (F) enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Where θ is read and written: in place from the gradient g = `dir` (`from` is `None`),
/// or from θ = `from` into `out` along `dir`, which is g, or the field f = −g when
/// `field` is set.
///
/// A struct rather than an enum of the two cases: with no variants sharing bytes, the
/// compiler keeps its fields in registers when a small step inlines the sweep (an
/// enum was copied through the stack there, a store-forwarding stall per step: measured).
pub(crate) struct Theta<'a, T> {
    /// θ₊ (and θ, in place).
    pub out: &'a mut [T],
    /// θ, for a step into `out`.
    pub from: Option<&'a [T]>,
    /// g, or f = −g.
    pub dir: &'a [T],
    /// `dir` is f (so g is −`dir`).
    pub field: bool,
}

impl<'a, T> Theta<'a, T> {
    /// θ ← θ + Δ in place, from the gradient `grad`.
    pub(crate) fn in_place(theta: &'a mut [T], grad: &'a [T]) -> Self {
        Theta {
            out: theta,
            from: None,
            dir: grad,
            field: false,
        }
    }

    /// θ₊ = θ + Δ into `y_new`, at θ = `y`, from the gradient `dir`, or from the field
    /// f = `dir` when `field`.
    pub(crate) fn step(y: &'a [T], y_new: &'a mut [T], dir: &'a [T], field: bool) -> Self {
        Theta {
            out: y_new,
            from: Some(y),
            dir,
            field,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    fn split(self, mid: usize) -> (Self, Self) {
        let (o0, o1) = self.out.split_at_mut(mid);
        let (d0, d1) = self.dir.split_at(mid);
        let (f0, f1) = match self.from {
            Some(y) => {
                let (y0, y1) = y.split_at(mid);
                (Some(y0), Some(y1))
            }
            None => (None, None),
        };
        (
            Theta {
                out: o0,
                from: f0,
                dir: d0,
                field: self.field,
            },
            Theta {
                out: o1,
                from: f1,
                dir: d1,
                field: self.field,
            },
        )
    }

    /// Whether every slice has the same length.
    pub(crate) fn is_consistent(&self) -> bool {
        let n = self.out.len();
        self.dir.len() == n && self.from.is_none_or(|y| y.len() == n)
    }
}

/// θ and `K` state columns of the same length.
pub(crate) struct Block<'a, T, const K: usize> {
    pub theta: Theta<'a, T>,
    pub state: [&'a mut [T]; K],
}

impl<'a, T, const K: usize> Block<'a, T, K> {
    pub(crate) fn len(&self) -> usize {
        self.theta.len()
    }

    /// Whether θ, the gradient and every state column have the same length.
    pub(crate) fn is_consistent(&self) -> bool {
        let n = self.len();
        self.theta.is_consistent() && self.state.iter().all(|s| s.len() == n)
    }

    fn split(self, mid: usize) -> (Self, Self) {
        let (t0, t1) = self.theta.split(mid);
        let mut halves = self.state.map(|s| s.split_at_mut(mid));
        let s0 = std::array::from_fn(|i| std::mem::take(&mut halves[i].0));
        let s1 = std::array::from_fn(|i| std::mem::take(&mut halves[i].1));
        (
            Block {
                theta: t0,
                state: s0,
            },
            Block {
                theta: t1,
                state: s1,
            },
        )
    }
}

/// Σhᵢgᵢ², Σgᵢ², min dᵢ and max dᵢ over a block, where hᵢ = c/dᵢ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Summary<T> {
    pub hg2: T,
    pub g2: T,
    pub dmin: T,
    pub dmax: T,
}

impl<T: Scalar> Summary<T> {
    pub(crate) fn empty() -> Self {
        Summary {
            hg2: T::zero(),
            g2: T::zero(),
            dmin: T::max_value().unwrap_or(T::one()),
            dmax: T::zero(),
        }
    }

    fn combine(self, other: Self) -> Self {
        Summary {
            hg2: self.hg2 + other.hg2,
            g2: self.g2 + other.g2,
            dmin: if other.dmin < self.dmin {
                other.dmin
            } else {
                self.dmin
            },
            dmax: if other.dmax > self.dmax {
                other.dmax
            } else {
                self.dmax
            },
        }
    }
}

/// [`Summary`] accumulated in [`LANES`] lanes: component i of a leaf goes to lane i mod 16.
/// Without `range` only the two sums are kept (min/max dᵢ are then worked out on
/// demand from the rule's state, off the hot path, and the lanes fit the registers).
pub(crate) struct Lanes<T> {
    hg2: [T; LANES],
    g2: [T; LANES],
    range: Option<([T; LANES], [T; LANES])>,
}

impl<T: Scalar> Lanes<T> {
    #[inline(always)]
    pub(crate) fn new(range: bool) -> Self {
        let e = Summary::<T>::empty();
        Lanes {
            hg2: [e.hg2; LANES],
            g2: [e.g2; LANES],
            range: range.then_some(([e.dmin; LANES], [e.dmax; LANES])),
        }
    }

    /// Adds hᵢgᵢ² and gᵢ² to lane `j`; with a range, `lo` enters the minimum and `hi`
    /// the maximum (both dᵢ, or a neutral value for a component that must not count).
    #[inline(always)]
    pub(crate) fn add(&mut self, j: usize, hg2: T, g2: T, lo: T, hi: T) {
        self.hg2[j] += hg2;
        self.g2[j] += g2;
        if let Some((dmin, dmax)) = self.range.as_mut() {
            dmin[j] = if lo < dmin[j] { lo } else { dmin[j] };
            dmax[j] = if hi > dmax[j] { hi } else { dmax[j] };
        }
    }

    /// The lanes added in order, after a leaf of `len` components (lanes it never reached
    /// hold the neutral values, and are skipped: this is what makes a tiny step cheap).
    #[inline(always)]
    pub(crate) fn finish(&self, len: usize) -> Summary<T> {
        let mut s = Summary::empty();
        for j in 0..len.min(LANES) {
            let (dmin, dmax) = self
                .range
                .as_ref()
                .map_or((s.dmin, s.dmax), |(lo, hi)| (lo[j], hi[j]));
            s = s.combine(Summary {
                hg2: self.hg2[j],
                g2: self.g2[j],
                dmin,
                dmax,
            });
        }
        s
    }
}

/// Sweeps `block` with `leaf` on blocks of at most [`LEAF`] components, combining the
/// leaves' summaries along a fixed binary tree (split at the first multiple of
/// [`LANES`] past the middle); halves of at least [`PAR_MIN`] run on two threads when
/// the current rayon pool has them.
#[inline(always)]
pub(crate) fn sweep<T, const K: usize, F>(block: Block<'_, T, K>, leaf: F) -> Summary<T>
where
    T: Scalar,
    F: Fn(Block<'_, T, K>) -> Summary<T> + Sync,
{
    debug_assert!(block.is_consistent());
    // One leaf (every small step) is called in place, without the tree. Only the halves of
    // a larger block are handed on (passing `block` itself to a call would keep it in
    // memory on the small path too).
    let n = block.len();
    if n <= LEAF {
        leaf(block)
    } else {
        let (a, b) = block.split(half(n));
        halves(n, a, b, &leaf)
    }
}

/// Where a block of n > [`LEAF`] components splits: the first multiple of [`LANES`] past
/// the middle.
fn half(n: usize) -> usize {
    (n / 2).div_ceil(LANES) * LANES
}

/// The two halves of a block of `n` components, on two threads when they are large
/// enough and the current pool has them.
fn halves<T, const K: usize, F>(
    n: usize,
    a: Block<'_, T, K>,
    b: Block<'_, T, K>,
    leaf: &F,
) -> Summary<T>
where
    T: Scalar,
    F: Fn(Block<'_, T, K>) -> Summary<T> + Sync,
{
    let (sa, sb) = if n >= PAR_MIN && rayon::current_num_threads() > 1 {
        rayon::join(|| tree(a, leaf), || tree(b, leaf))
    } else {
        (tree(a, leaf), tree(b, leaf))
    };
    sa.combine(sb)
}

fn tree<T, const K: usize, F>(block: Block<'_, T, K>, leaf: &F) -> Summary<T>
where
    T: Scalar,
    F: Fn(Block<'_, T, K>) -> Summary<T> + Sync,
{
    let n = block.len();
    if n <= LEAF {
        return leaf(block);
    }
    let (a, b) = block.split(half(n));
    halves(n, a, b, leaf)
}

/// `a.zip(b.zip(c ...))`.
macro_rules! zip_all {
    ($a:expr $(,)?) => { $a };
    ($a:expr, $($rest:expr),+ $(,)?) => { $a.zip(zip_all!($($rest),+)) };
}

/// The pattern `(a, (b, (c ...)))` matching [`zip_all!`]'s items.
macro_rules! nest {
    ($a:ident $(,)?) => { $a };
    ($a:ident, $($rest:ident),+ $(,)?) => { ($a, nest!($($rest),+)) };
}

/// The loop of one leaf: for each component, with `$th` = θᵢ, `$g` = gᵢ, `$j` = its lane
/// and each state column name bound to the chunk holding component i (index it with
/// `$j`), sets θᵢ to `$body`. Whole chunks of [`LANES`] first (fixed trip count: the
/// loop the compiler vectorizes), then the remainder with the same lanes.
macro_rules! leaf_loop {
    ($block:expr, [$($s:ident),*], |$th:ident, $g:ident, $j:ident| $body:expr) => {{
        let block = $block;
        let len = block.len();
        let $crate::kernel::Block { theta, state: [$($s),*] } = block;
        let $crate::kernel::Theta { out, from, dir, field } = theta;
        match from {
            None => {
                let mut tc = out.chunks_exact_mut($crate::kernel::LANES);
                let mut gc = dir.chunks_exact($crate::kernel::LANES);
                $( let mut $s = $s.chunks_exact_mut($crate::kernel::LANES); )*
                for nest!(tk, gk $(, $s)*) in zip_all!(tc.by_ref(), gc.by_ref() $(, $s.by_ref())*) {
                    for $j in 0..$crate::kernel::LANES {
                        let $th = tk[$j];
                        let $g = gk[$j];
                        tk[$j] = $body;
                    }
                }
                let (tk, gk) = (tc.into_remainder(), gc.remainder());
                $( let $s = $s.into_remainder(); )*
                for $j in 0..tk.len() {
                    let $th = tk[$j];
                    let $g = gk[$j];
                    tk[$j] = $body;
                }
            }
            Some(y) => {
                let mut yc = y.chunks_exact($crate::kernel::LANES);
                let mut nc = out.chunks_exact_mut($crate::kernel::LANES);
                let mut dc = dir.chunks_exact($crate::kernel::LANES);
                $( let mut $s = $s.chunks_exact_mut($crate::kernel::LANES); )*
                for nest!(yk, nk, dk $(, $s)*) in
                    zip_all!(yc.by_ref(), nc.by_ref(), dc.by_ref() $(, $s.by_ref())*)
                {
                    for $j in 0..$crate::kernel::LANES {
                        let $th = yk[$j];
                        let $g = if field { -dk[$j] } else { dk[$j] };
                        nk[$j] = $body;
                    }
                }
                let (yk, nk, dk) = (yc.remainder(), nc.into_remainder(), dc.remainder());
                $( let $s = $s.into_remainder(); )*
                for $j in 0..nk.len() {
                    let $th = yk[$j];
                    let $g = if field { -dk[$j] } else { dk[$j] };
                    nk[$j] = $body;
                }
            }
        }
        len
    }};
}

/// The loop of a leaf without sums: as [`leaf_loop!`], but one plain loop over the
/// components (`$j` is the index, each state column name the whole column). With no
/// lanes to keep, this is the loop the compiler vectorizes best; the chunked form makes
/// it vectorize across chunks instead, with gathers and scatters (measured: 5× slower).
macro_rules! elementwise {
    ($block:expr, [$($s:ident),*], |$th:ident, $g:ident, $j:ident| $body:expr) => {{
        let $crate::kernel::Block { theta, state: [$($s),*] } = $block;
        let $crate::kernel::Theta { out, from, dir, field } = theta;
        let n = out.len();
        let dir = &dir[..n];
        $( let $s = &mut $s[..n]; )*
        match from {
            None => {
                for $j in 0..n {
                    let $th = out[$j];
                    let $g = dir[$j];
                    out[$j] = $body;
                }
            }
            Some(y) => {
                let y = &y[..n];
                for $j in 0..n {
                    let $th = y[$j];
                    let $g = if field { -dir[$j] } else { dir[$j] };
                    out[$j] = $body;
                }
            }
        }
    }};
}

pub(crate) use elementwise;
pub(crate) use leaf_loop;
pub(crate) use nest;
pub(crate) use zip_all;
