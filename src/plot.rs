//! Small SVG line plots: axes (linear or log), ticks, labels, a legend, polylines and an
//! optional shaded background (loss levels for 2-D trajectories).
//!
//! Hand-written rather than plotters: plotters lays text out through a font backend
//! (`ttf` → fontconfig/freetype), which this crate does not need to draw a few lines;
//! SVG text is laid out by the viewer.

use std::fmt::Write as _;

/// One named series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points; non-finite ones (and non-positive ones on a log axis) are skipped.
    pub points: Vec<(f64, f64)>,
    /// Dashed line (e.g. a reference curve).
    pub dashed: bool,
}

/// A scalar field drawn as shaded cells under the series (e.g. log L on a grid).
#[derive(Clone, Debug)]
pub struct Shade {
    /// x range of the grid.
    pub x: (f64, f64),
    /// y range of the grid.
    pub y: (f64, f64),
    /// Values row by row (ny rows of nx), any scale; drawn light (low) to dark (high).
    pub values: Vec<Vec<f64>>,
}

/// A figure: title, axis labels and scales, series.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// Series, drawn in order.
    pub series: Vec<Series>,
    /// Optional background.
    pub shade: Option<Shade>,
    /// Fixed (x, y) ranges instead of the data's.
    pub bounds: Option<((f64, f64), (f64, f64))>,
}

const W: f64 = 720.0;
const H: f64 = 480.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
/// Points drawn per series at most (longer series are thinned evenly, keeping the ends).
const MAX_POINTS: usize = 2000;

struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    fn fit(values: impl Iterator<Item = f64>, log: bool) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            if v.is_finite() && (!log || v > 0.0) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if !lo.is_finite() {
            (lo, hi) = if log { (0.1, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            let (a, b) = (lo.log10().floor(), hi.log10().ceil());
            let b = if b <= a { a + 1.0 } else { b };
            Axis {
                lo: 10f64.powf(a),
                hi: 10f64.powf(b),
                log,
            }
        } else {
            let pad = if hi > lo {
                0.05 * (hi - lo)
            } else {
                0.5_f64.max(lo.abs() * 0.1)
            };
            Axis {
                lo: lo - pad,
                hi: hi + pad,
                log,
            }
        }
    }

    /// Position in [0, 1].
    fn unit(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let (a, b) = (
                self.lo.log10().round() as i32,
                self.hi.log10().round() as i32,
            );
            let every = ((b - a) / 8).max(1);
            (a..=b)
                .filter(|e| (e - a) % every == 0)
                .map(|e| (10f64.powi(e), format!("1e{e}")))
                .collect()
        } else {
            let span = self.hi - self.lo;
            let raw = span / 6.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let first = (self.lo / step).ceil() as i64;
            let mut out = Vec::new();
            for k in first.. {
                // k·step, not a running sum, so labels stay round (0.6, not 6.000e-1).
                let v = k as f64 * step;
                if v > self.hi + 1e-12 * span {
                    break;
                }
                let decimals = (-step.log10().floor()).max(0.0) as usize;
                let label = if k == 0 {
                    "0".to_string()
                } else {
                    format!("{v:.decimals$}")
                };
                let label = if label.len() > 8 {
                    format!("{v:.3e}")
                } else {
                    label
                };
                out.push((v, label));
            }
            out
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Evenly thinned indices of a series of length n.
fn thin(n: usize) -> impl Iterator<Item = usize> {
    let keep = n.clamp(1, MAX_POINTS);
    let mut last = usize::MAX;
    (0..keep).filter_map(move |k| {
        let i = if keep == 1 {
            0
        } else {
            k * (n - 1) / (keep - 1)
        };
        (i != last).then(|| {
            last = i;
            i
        })
    })
}

impl Figure {
    /// The figure as a standalone SVG document.
    pub fn render(&self) -> String {
        let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
        let (xa, ya) = match self.bounds {
            Some(((x0, x1), (y0, y1))) => (
                Axis {
                    lo: x0,
                    hi: x1,
                    log: self.x_log,
                },
                Axis {
                    lo: y0,
                    hi: y1,
                    log: self.y_log,
                },
            ),
            None => (
                Axis::fit(
                    self.series
                        .iter()
                        .flat_map(|s| s.points.iter().map(|p| p.0)),
                    self.x_log,
                ),
                Axis::fit(
                    self.series
                        .iter()
                        .flat_map(|s| s.points.iter().map(|p| p.1)),
                    self.y_log,
                ),
            ),
        };
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let px = |x: f64| LEFT + xa.unit(x) * pw;
        let py = |y: f64| TOP + (1.0 - ya.unit(y)) * ph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
            W / 2.0,
            escape(&self.title)
        );
        if let Some(shade) = &self.shade {
            let ny = shade.values.len();
            let nx = shade.values.first().map_or(0, Vec::len);
            let finite = shade
                .values
                .iter()
                .flatten()
                .copied()
                .filter(|v| v.is_finite());
            let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
            let (dx, dy) = (
                (shade.x.1 - shade.x.0) / nx.max(1) as f64,
                (shade.y.1 - shade.y.0) / ny.max(1) as f64,
            );
            let _ = writeln!(s, r#"<g class="shade" stroke="none">"#);
            for (j, row) in shade.values.iter().enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    let u = if hi > lo && v.is_finite() {
                        (v - lo) / (hi - lo)
                    } else {
                        1.0
                    };
                    let g = (245.0 - 120.0 * u).round() as u8;
                    let (x0, x1) = (
                        px(shade.x.0 + i as f64 * dx),
                        px(shade.x.0 + (i + 1) as f64 * dx),
                    );
                    let (y0, y1) = (
                        py(shade.y.0 + (j + 1) as f64 * dy),
                        py(shade.y.0 + j as f64 * dy),
                    );
                    let _ = writeln!(
                        s,
                        r#"<rect x="{x0:.2}" y="{y0:.2}" width="{:.2}" height="{:.2}" fill="rgb({g},{g},{})"/>"#,
                        (x1 - x0).abs() + 0.5,
                        (y1 - y0).abs() + 0.5,
                        g.saturating_add(10)
                    );
                }
            }
            let _ = writeln!(s, "</g>");
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
        );
        for (v, label) in xa.ticks() {
            let x = px(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.2}" y1="{}" x2="{x:.2}" y2="{}" stroke="#333"/><text x="{x:.2}" y="{}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 5.0,
                TOP + ph + 18.0,
                escape(&label)
            );
        }
        for (v, label) in ya.ticks() {
            let y = py(v);
            let _ = writeln!(
                s,
                r##"<line x1="{}" y1="{y:.2}" x2="{LEFT}" y2="{y:.2}" stroke="#333"/><text x="{}" y="{:.2}" text-anchor="end">{}</text>"##,
                LEFT - 5.0,
                LEFT - 8.0,
                y + 4.0,
                escape(&label)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 15.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
            TOP + ph / 2.0,
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        let _ = writeln!(
            s,
            r#"<clipPath id="plot"><rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/></clipPath>"#
        );
        for (k, series) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let pts: Vec<&(f64, f64)> = series
                .points
                .iter()
                .filter(|p| ok(p.0, self.x_log) && ok(p.1, self.y_log))
                .collect();
            let mut d = String::new();
            for i in thin(pts.len()) {
                if pts.is_empty() {
                    break;
                }
                let _ = write!(d, "{:.2},{:.2} ", px(pts[i].0), py(pts[i].1));
            }
            let dash = if series.dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<polyline class="series" data-name="{}" clip-path="url(#plot)" fill="none" stroke="{color}" stroke-width="1.6"{dash} points="{}"/>"#,
                escape(&series.name),
                d.trim_end()
            );
        }
        // Legend, top right.
        let lx = LEFT + pw - 190.0;
        for (k, series) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let y = TOP + 16.0 + 16.0 * k as f64;
            let dash = if series.dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 24.0,
                lx + 30.0,
                y + 4.0,
                escape(&series.name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_document_with_every_series() {
        let fig = Figure {
            title: "a < b & c".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            y_log: true,
            series: vec![
                Series {
                    name: "one".into(),
                    points: (1..100).map(|i| (i as f64, 1.0 / i as f64)).collect(),
                    dashed: false,
                },
                Series {
                    name: "two".into(),
                    points: vec![(1.0, 0.0), (2.0, 1e-3), (f64::NAN, 1.0)],
                    dashed: true,
                },
            ],
            ..Figure::default()
        };
        let svg = fig.render();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r#"data-name="one""#) && svg.contains(r#"data-name="two""#));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn thinning_keeps_both_ends() {
        let idx: Vec<usize> = thin(10_000).collect();
        assert_eq!(idx.first(), Some(&0));
        assert_eq!(idx.last(), Some(&9999));
        assert!(idx.len() <= MAX_POINTS);
        assert_eq!(thin(3).collect::<Vec<_>>(), [0, 1, 2]);
    }
}
