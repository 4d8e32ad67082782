//! Compare step-size strategies from code: the article's eq. 14 (one scalar accumulator)
//! against eq. 15 (per-component RMSprop) at the same lr and decay, and gradient descent
//! with its best step from a log grid.
//!
//! `cargo run --release --example compare_strategies`

use gradflow::compare::{table, CompareRun, Comparison, TuneGrid};
use gradflow::RunSpec;

fn run() -> Result<Vec<CompareRun>, gradflow::Error> {
    let base = RunSpec::new("quadratic", "euler")
        .x0(vec![1.0, 1.0])
        .ftol(1e-2)
        .max_evals(100_000);
    let problems = vec!["quadratic:n=2,kappa=100".to_string()];
    let mut rows = Comparison {
        problems: problems.clone(),
        methods: vec![
            "rmsprop-norm:lr=0.01,alpha=0.9".into(),
            "rmsprop:lr=0.01,alpha=0.9".into(),
        ],
        base: base.clone(),
        tune: None,
    }
    .run()?;
    let tuned = Comparison {
        problems,
        methods: vec!["euler".into()],
        base,
        tune: Some(TuneGrid {
            lo: 1e-4,
            hi: 1.0,
            points: 9,
        }),
    }
    .run()?;
    rows.extend(tuned);
    Ok(rows)
}

fn main() -> Result<(), gradflow::Error> {
    let rows = run()?;
    print!("{}", table(&rows.iter().collect::<Vec<_>>()));
    Ok(())
}

#[test]
fn eq14_follows_the_flow_and_eq15_is_faster() {
    let rows = run().unwrap();
    let dev = |i: usize| rows[i].path_deviation.unwrap().max;
    assert!(dev(0) < 0.05 && dev(1) > 0.3);
    assert!(rows[1].report.steps < rows[0].report.steps);
    assert!(rows[2].tuned.is_some());
}
