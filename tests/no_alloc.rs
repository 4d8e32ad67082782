//! No allocation per step: a counting global allocator sees zero allocations across a
//! thousand steps of every method, after the first step.

use gradflow::integrators::{Integrator, Status, Stop};
use gradflow::methods::{methods, Method};
use gradflow::problems::build;
use gradflow::GradientFlow;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn no_method_allocates_per_step() {
    for problem in ["rosenbrock", "logistic"] {
        let objective = build::<f64>(problem, &[]).unwrap_or_else(|e| panic!("{e}"));
        for info in methods() {
            let method = Method::parse(info.name).unwrap();
            let n = objective.dim();
            let mut run = Integrator::new(method.stepper::<f64>(n), 0.0, objective.start());
            let mut flow = GradientFlow::new(&*objective);
            let first = Stop {
                max_steps: Some(1),
                t_end: Some(1e9),
                ..Stop::none()
            };
            assert_eq!(run.integrate(&mut flow, &first, &mut ()), Status::MaxSteps);
            let more = Stop {
                max_steps: Some(1001),
                t_end: Some(1e9),
                gtol: Some(0.0),
                ..Stop::none()
            };
            let mut status = Status::NoStop;
            let count = allocations(|| status = run.integrate(&mut flow, &more, &mut ()));
            // Implicit methods may reach the minimizer exactly (gtol) or t_end first.
            assert!(
                matches!(status, Status::MaxSteps | Status::Gtol | Status::TEnd),
                "{problem} {}: {status:?}",
                info.name
            );
            assert_eq!(
                count, 0,
                "{problem} {}: {count} allocations in 1000 steps",
                info.name
            );
        }
    }
}

#[test]
fn the_counter_sees_allocations() {
    let count = allocations(|| {
        let v: Vec<u64> = (0..100).collect();
        assert_eq!(v.len(), 100);
    });
    assert!(count >= 1);
}
