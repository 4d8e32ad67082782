//! `README.md` of a reproduction: the article's argument step by step, each step followed
//! by its experiment's setup, table, figure and verdict.

use super::common::{verdict, Outcome};
use super::{Experiment, Options};
use std::fmt::Write as _;
use std::path::Path;

/// The parts of the argument and the experiments under each.
const PARTS: [(&str, &str, &[&str]); 4] = [
    (
        "I. Gradient descent is Euler's method",
        "",
        &["1", "2", "3", "4"],
    ),
    (
        "II. Fixing the error gives sign descent, and averaging gives RMSprop",
        "",
        &["5", "6", "7"],
    ),
    ("III. Adam and momentum", "", &["8", "9"]),
    (
        "IV. Error control as an ODE code does it",
        "The article fixes the step length by an assumption about the curvature. An ODE solver \
         estimates the error instead. The last two experiments show what that does for gradient descent.",
        &["10", "11"],
    ),
];

const INTRO: &str = "\
Su Jianlin's 2018 article on adaptive learning rates (kexue.fm, archive 6234) treats the usual \
optimizers as numerical integrators of one ODE, the **gradient flow**

    dθ/dt = −∇L(θ),

along which the loss can only decrease (dL/dt = −‖∇L‖²). The argument has six steps:

1. gradient descent is Euler's method for this ODE, and lr is its time step;
2. the error of one step is ½h²|L″L′|; if the curvature L″ changes slowly, the step length h|L′| measures it;
3. holding h|L′| fixed gives sign (normalized) descent, whose virtual time runs unevenly, by lr/|L′| per step;
4. averaging L′² instead of using it as it is gives RMSprop;
5. in many dimensions a scalar average (eq. 14) keeps to the flow, while a per-component one (eq. 15, ordinary RMSprop) leaves it and works better in practice;
6. Adam is eq. 15 plus momentum.

Each section below states one step in formulas, then checks it with an experiment: the setup, \
the measured numbers, the figure, the expected value with its tolerance, and PASS or FAIL. All \
runs use float64 and the problems of the [user guide](../guide.md#4-problems): Q = `quadratic` (L = ½Σλᵢθᵢ², flow \
θᵢ(t) = θ₀ᵢe^(−λᵢt)) and P = `quartic` (L = ¼Σθᵢ⁴, flow θᵢ(t) = θ₀ᵢ/√(1 + 2θ₀ᵢ²t)). \
The code is in `src/reproduce/`: one function per experiment, using the library's public API \
(`RunSpec`, `Comparison`, `FlowCurve`, the integrators).";

/// The derivation step that an experiment checks, in Markdown.
pub(crate) fn story(number: &str) -> &'static str {
    match number {
        "1" => "\
Explicit Euler approximates θ(t + h) by θ(t) + h·θ̇(t). For the gradient flow this is

    θₙ₊₁ = θₙ − h∇L(θₙ),

which is gradient descent with learning rate lr = h. After n steps GD approximates the flow at \
the **virtual time** t = n·lr, and Euler's theory applies: at a fixed time T the error is \
first order, θₙ − θ(T) = C·h + O(h²). On L = ½λθ² GD multiplies θ by (1 − hλ) per step, and \
(1 − hλ)^(T/h) = e^(−λT)(1 − Thλ²/2 + O(h²)), so C = Tλ²e^(−λT)/2. On L = θ⁴/4 the \
linearized error equation gives C = (3/4)θ₀³ ln(1 + 2θ₀²T)(1 + 2θ₀²T)^(−3/2).",
        "2" => "\
Along the flow the acceleration is θ̈ = −L″θ̇ = L″L′ (∇²L∇L in n dimensions). Taylor's theorem gives

    θ(t + h) = θ − hL′ + ½h²L″L′ + O(h³).

Euler keeps the first two terms, so one step errs by about **½h²|L″(θ)L′(θ)|**. If the \
curvature varies slowly, |L″| ≈ K, this is ½K·h·(h|L′|): the error grows with h|L′|, the \
distance the step moves θ. An ODE code estimates the error instead of assuming K. The \
Heun–Euler pair compares Euler with Heun's second-order step. Their difference, \
(h/2)(f(θ₊) − f(θ)) with f = −∇L, is again ½h²L″L′ + O(h³). It costs the gradient at θ₊, which \
GD needs for its next step anyway.",
        "3" => "\
Euler's O(h) error has a structure. Backward error analysis finds the ODE that GD solves to \
higher order: the flow of f̃ = f − (h/2)f′f + O(h²). For f = −∇L we have f′f = ∇²L∇L = ½∇‖∇L‖², so GD follows

    dθ/dt = −∇L̃,   L̃ = L + (h/4)‖∇L‖²

with O(h²) error (Barrett & Dherin, ICLR 2021, *implicit gradient regularization*). So GD \
descends a loss that also penalizes steep gradients, and its distance to the plain flow is \
this O(h) drift.",
        "4" => "\
On a quadratic L = ½Σλᵢθᵢ², a Runge–Kutta step multiplies each component by R(−hλᵢ), a \
polynomial fixed by the tableau: R(z) = 1 + z for Euler, the degree-4 Taylor polynomial of \
eᶻ for RK4, and the degree-5 one plus z⁶/600 for Dormand–Prince's propagated solution. The \
iteration is stable iff |R(−hλ_max)| ≤ 1, i.e. h·λ_max ≤ x_b, with x_b = 2 for Euler. This is \
the familiar rule lr < 2/λ_max of GD. Unlike the error of experiments 1–3, this bound does not \
relax when the solution becomes smooth. On stiff problems it is what limits the step \
(experiment 11).",
        "5" => "\
This is the article's central step. Choose h so that the error measure stays constant, \
h|L′(θₙ)| = lr:

    h = lr/|L′(θₙ)|,   θₙ₊₁ = θₙ − lr·sign(L′(θₙ)).

θ now moves exactly lr per step. In n dimensions one h = lr/‖∇L‖₂ gives **normalized \
descent**, and one hᵢ = lr/|∂ᵢL| per component gives **sign descent**. The virtual time still \
advances, but **unevenly**: tₙ₊₁ = tₙ + lr/|L′(θₙ)|, slowly where the slope is steep and quickly \
where it is flat. The roles of t and θ swap. The step is Euler's method of step lr for \
dt/dθ = −1/L′(θ), and tₙ is a Riemann sum of the exact clock t(θ) = ∫ dθ/|L′|. Near a minimum \
1/|L′| blows up. The flow takes infinite time to get there, while sign descent arrives in \
finitely many steps. With lr fixed it then steps back and forth across the minimum.",
        "6" => "\
Sign descent ignores how large the gradient is, and never settles. The article softens it by \
replacing L′² with a running average:

    G ← αG + (1 − α)L′²,   h = lr/√G,   θ ← θ − lr·L′/√G.

This is **RMSprop** (R9–R11). With α = 0 it is exactly the step of experiment 5. With α > 0, √G \
tracks |L′| with a lag. While the gradient falls, √G > |L′| and the step h|L′| is slightly \
shorter than lr. Since G ≥ (1 − α)L′², the step can never exceed lr/√(1 − α). AdaGrad is the \
limit where the average becomes a cumulative sum.",
        "7" => "\
In n dimensions there are two ways to average (the article's equations 14 and 15):

    (14)  G ← αG + (1 − α)‖∇L‖²,     θ ← θ − lr·∇L/√G        `rmsprop-norm`
    (15)  v ← αv + (1 − α)∇L⊙∇L,    θ ← θ − lr·∇L/√v (per i)  `rmsprop` (torch's RMSprop)

(14) multiplies the gradient by one scalar step h = lr/√G. It is still Euler's method for the \
gradient flow, with a variable step, so its iterates stay within one step length of the flow's \
path. (15) gives each component its own scale. Its direction is no longer −∇L: it integrates a \
rescaled flow dθ/dt = −D∇L that leans toward sign descent. The article calls (14) the \
principled one and (15) the one that works better in practice.",
        "8" => "\
Adam is (15) with an average of the gradient in the numerator:

    m ← β₁m + (1 − β₁)∇L,   v ← β₂v + (1 − β₂)∇L⊙∇L,   θ ← θ − lr·m̂/(√v̂ + ε),

with the bias corrections m̂ = m/(1 − β₁ᵏ) and v̂ = v/(1 − β₂ᵏ). With β₁ = β₂ = 0 and ε = 0, \
m̂/√v̂ = sign(∇L), so Adam is sign descent: Euler's method with step lr for the **sign flow** \
dθ/dτ = −sign(∇L), in the time τ = k·lr. With fixed β the averages lag by about β/(1 − β) steps. \
That shifts θ by O(lr), so as lr → 0 Adam follows the sign flow.",
        "9" => "\
Momentum integrates an ODE too, but of second order (the subject of the article's \
predecessor). Heavy ball (torch's SGD with momentum μ) is b ← μb + ∇L, θ ← θ − lr·b. Write \
lr = ε², μ = 1 − λε and v = (θₖ − θₖ₋₁)/ε. Then

    vₖ₊₁ = vₖ − ε(λvₖ + ∇L(θₖ)),   θₖ₊₁ = θₖ + εvₖ₊₁,

which is the symplectic Euler method, with step ε, for θ̈ + λθ̇ + ∇L(θ) = 0: a ball rolling \
in L with friction λ. The time step is √lr, not lr.",
        "10" => "\
`heun-euler` is gradient descent under error control. Every step is a plain GD step \
θ₊ = θ − h∇L. The Heun–Euler estimate (h/2)‖∇L(θ) − ∇L(θ₊)‖ (weighted by rtol, atol) decides \
whether the step is accepted and how h changes (SciPy's rule, h ← 0.9·h·err^(−1/2)). On a flat \
minimum ∇²L → 0, so the local error ½h²|L″L′| allows steps that grow without bound as θ → 0. A \
fixed step cannot do that: the best fixed lr is bounded by the curvature at the start.",
        "11" => "\
The opposite case: the curvature is large in one direction, and the solution there has \
already decayed. Accuracy would allow long steps, but stability (experiment 4) does not. Once \
h·λ_max passes 2 the stiff component grows, the error estimate grows with it, and the step is \
cut. The controller settles at the limit, and error control costs as much as the best fixed \
step.",
        _ => "",
    }
}

/// The number of an experiment id (`"5-sign-descent-clock"` → `"5"`).
pub(crate) fn number(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// The command that regenerates this output.
fn command(options: &Options, out: &Path) -> String {
    let mut c = String::from("cargo run --release -- reproduce");
    if options.quick {
        c.push_str(" --quick");
    }
    if let Some(id) = &options.only {
        let _ = write!(c, " --only {id}");
    }
    let _ = write!(c, " --out {}", out.display());
    c
}

/// The README of a run: `results` holds each experiment run with its outcome and seconds.
pub(crate) fn render(
    options: &Options,
    out: &Path,
    results: &[(&Experiment, Outcome, f64)],
    seconds: f64,
) -> String {
    let mut s = String::new();
    let passed = results.iter().filter(|r| r.1.claim.pass).count();
    let _ = writeln!(s, "# The article's derivation, re-measured\n");
    let kind = match (options.quick, &options.only) {
        (_, Some(id)) => format!("only experiment `{id}`"),
        (true, None) => "the **quick** versions of the experiments (reduced sizes)".into(),
        (false, None) => "every experiment at full size".into(),
    };
    let _ = writeln!(
        s,
        "This page was generated by `{}`, which ran {kind} in {seconds:.0} s (release build, {} threads) \
         and wrote `claims.json` (every claim with its measured numbers), this README and the figures. \
         **{passed} of {} claims pass.** The command exits with 0 only when every claim passes; `--only ID` \
         runs one experiment (by number or id), `--quick` runs reduced versions in seconds (the test suite \
         does), and `--out DIR` writes elsewhere.\n",
        command(options, out),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        results.len()
    );
    let _ = writeln!(s, "{INTRO}\n");
    let mut summary = super::common::Table::new(&["#", "claim", "measured", "result", "seconds"]);
    for (e, o, secs) in results {
        summary.row(vec![
            format!("[{}](#{})", number(e.id), e.id),
            o.claim.claim.clone(),
            o.headline.clone(),
            verdict(o.claim.pass).into(),
            format!("{secs:.2}"),
        ]);
    }
    let _ = writeln!(s, "## Summary\n\n{}", summary.markdown());
    for (part, intro, numbers) in PARTS {
        let mine: Vec<_> = results
            .iter()
            .filter(|r| numbers.contains(&number(r.0.id)))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {part}\n");
        if !intro.is_empty() {
            let _ = writeln!(s, "{intro}\n");
        }
        for (e, o, secs) in mine {
            let _ = writeln!(s, "<a id=\"{}\"></a>\n", e.id);
            let _ = writeln!(s, "### {}. {}\n", number(e.id), e.title);
            let _ = writeln!(s, "{}\n", story(number(e.id)));
            let _ = writeln!(s, "**Setup.** {}\n", o.setup);
            let _ = writeln!(s, "{}", o.table);
            for (suffix, fig) in &o.figures {
                let _ = writeln!(s, "![{}]({}{suffix}.svg)\n", fig.title, e.id);
            }
            let _ = writeln!(s, "**Claim.** {}  ", o.claim.claim);
            let _ = writeln!(s, "**Expected.** {}  ", o.claim.expected);
            let _ = writeln!(
                s,
                "**Result: {}** ({secs:.2} s). {}\n",
                verdict(o.claim.pass),
                o.notes
            );
        }
    }
    let _ = writeln!(s, "## Reading the thresholds\n\n{FINDINGS}");
    s
}

/// Where a claim needed an interpretation, or its first reading was wrong.
const FINDINGS: &str = "\
The thresholds are the ones theory predicts (issue 5). Where a claim had to be made precise \
before it could be checked, this is how, and why:

- **Adam's ε (experiment 8).** `adam:beta1=0,beta2=0` equals sign descent only with `eps=0`. \
With the default ε = 1e-8 each step is lr·|gᵢ|/(|gᵢ| + ε) instead of lr, which near the \
minimum differs from sign descent by far more than 1e-12. This is a fact about the claim, not \
a defect of the code: the table shows both.
- **The tolerance of experiment 11.** The lock at h·λ_max ≈ 2 is a property of loose \
tolerances (rtol = atol = 1e-2, as in experiment 10). At the defaults (rtol 1e-6, atol 1e-9) \
the slow component's accuracy limits the step first, below the stability limit. By the time \
the accurate step passes 2, the stiff component has decayed below the smallest double and \
there is nothing left to go unstable. The table and figure show both runs.
- **The best fixed step (experiment 10)** is searched on a log grid that reaches past lr = 2, \
where the iteration θ ← θ(1 − lrθ²) from θ = 1 stops converging, and it also tries \
lr = 0.999·2. A grid that stopped at lr = 1 would make the fixed step look about 1.6 times as \
expensive as it is (707 094 against 432 757 gradients for δ = 1e-3).
- **Deviation (experiment 7)** is the distance of each iterate from the flow's curve \
(`path::FlowCurve`), whatever the clock. For eq. 15 it is smaller than the vertical gap \
|θ₂ − θ₁¹⁰⁰|, because the curve also runs along θ₂ ≈ 0. It is still far above 0.3.
- **Time for momentum (experiment 9).** The reports' virtual time for `momentum` is \
k·lr/(1 − μ), the clock of the first-order limit at fixed μ. The oscillator's time is \
t = kε; the experiment uses it.
- **Experiment 5's 1-D Q** is λ = 2 (`quadratic:n=1,scale=2`), the same as in experiments 1, 6 \
and 9.";
