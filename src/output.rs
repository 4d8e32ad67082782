//! Writing results: whole files or nothing.

use crate::error::{Error, Result};
use crate::report::Report;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over `path`. A reader sees the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Io(format!("cannot write {}: not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// The report as pretty JSON (floats read back bit for bit).
pub fn report_json(report: &Report) -> Result<String> {
    serde_json::to_string_pretty(report).map_err(|e| Error::Io(format!("cannot encode JSON: {e}")))
}

/// The trajectory as CSV: `step,t,h,loss,grad_norm,theta_0,...`.
pub fn trajectory_csv(report: &Report) -> String {
    let n = report
        .trajectory
        .iter()
        .find_map(|r| r.theta.as_ref().map(Vec::len))
        .unwrap_or(0);
    let mut s = String::from("step,t,h,loss,grad_norm");
    for i in 0..n {
        let _ = write!(s, ",theta_{i}");
    }
    s.push('\n');
    for r in &report.trajectory {
        let h = r.h.map(|h| format!("{h:?}")).unwrap_or_default();
        let _ = write!(s, "{},{:?},{h},{:?},{:?}", r.step, r.t, r.loss, r.grad_norm);
        for x in r.theta.iter().flatten() {
            let _ = write!(s, ",{x:?}");
        }
        s.push('\n');
    }
    s
}
