//! Callgrind: instruction counts of `hot-path`'s service calls
//! (`--toggle-collect=serve_one`), and `callgrind_annotate`'s per-function
//! costs read back.

use std::{collections::BTreeMap, fs, path::Path, process::Command, time::Duration};

use crate::harness::process::run_bounded;

/// How long one valgrind run may take.
const VALGRIND_TIMEOUT: Duration = Duration::from_secs(600);
/// How long one `callgrind_annotate` may take.
const ANNOTATE_TIMEOUT: Duration = Duration::from_secs(120);
/// How many characters of a function's name the report keeps.
const FUNCTION_CHARS: usize = 140;

/// Runs `hot_path CASE ITERATIONS` under callgrind, its profile written to
/// `out`; the instructions of all `serve_one` calls together.
pub fn count(hot_path: &Path, case: &str, iterations: usize, out: &Path) -> Result<f64, String> {
    let run = run_bounded(
        Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg("--toggle-collect=serve_one")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(hot_path)
            .arg(case)
            .arg(iterations.to_string()),
        VALGRIND_TIMEOUT,
    )?;
    if !run.status.success() {
        return Err(format!(
            "callgrind of {case} failed:\n{}{}",
            run.stdout, run.stderr
        ));
    }
    fs::read_to_string(out)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("summary:"))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .ok_or_else(|| format!("no summary in {}", out.display()))
}

/// `callgrind_annotate` of `file`: (instructions, function), most first.
pub fn annotate(file: &Path, inclusive: bool) -> Result<Vec<(f64, String)>, String> {
    let run = run_bounded(
        Command::new("callgrind_annotate")
            .arg(format!(
                "--inclusive={}",
                if inclusive { "yes" } else { "no" }
            ))
            .arg("--threshold=100")
            .arg(file),
        ANNOTATE_TIMEOUT,
    )?;
    if !run.status.success() {
        return Err(format!("callgrind_annotate failed: {}", run.stderr));
    }
    Ok(parse_annotate(&run.stdout))
}

/// The (count, function) rows of `callgrind_annotate`'s output.
fn parse_annotate(stdout: &str) -> Vec<(f64, String)> {
    let mut rows = Vec::new();
    for line in stdout.lines() {
        let line = line.trim();
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<f64>() else {
            continue;
        };
        let rest = rest.trim();
        let rest = match rest.strip_prefix('(') {
            Some(r) => r.split_once(')').map_or(r, |(_, tail)| tail).trim(),
            None => rest,
        };
        if rest.contains("PROGRAM TOTALS") {
            continue;
        }
        rows.push((count, short_function(rest)));
    }
    rows
}

/// `file:function [object]` → the function, without the file and object.
fn short_function(text: &str) -> String {
    let text = match text.rfind(" [") {
        Some(i) if text.ends_with(']') => &text[..i],
        _ => text,
    };
    let function = text.split_once(':').map_or(text, |(file, f)| {
        if file.contains('/') || file == "???" {
            f
        } else {
            text
        }
    });
    let mut short: String = function.chars().take(FUNCTION_CHARS).collect();
    if function.chars().count() > FUNCTION_CHARS {
        short.push('…');
    }
    short
}

/// Per-function self-cost differences (a − b) per request (`n` requests
/// each), largest first; differences under one instruction left out.
pub fn self_cost_diff(a: &Path, b: &Path, n: usize) -> Result<Vec<(f64, String)>, String> {
    let mut costs: BTreeMap<String, f64> = BTreeMap::new();
    for (cost, function) in annotate(a, false)? {
        *costs.entry(function).or_default() += cost;
    }
    for (cost, function) in annotate(b, false)? {
        *costs.entry(function).or_default() -= cost;
    }
    let mut diff: Vec<(f64, String)> = costs
        .into_iter()
        .map(|(f, c)| (c / n as f64, f))
        .filter(|(c, _)| c.abs() >= 1.0)
        .collect();
    diff.sort_by(|x, y| y.0.total_cmp(&x.0));
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_annotate_rows() {
        let text = "--------\n\
                    1,234,567 (100.0%)  PROGRAM TOTALS\n\
                    12,000 (50.0%)  /src/lib.rs:maint::f [/bin/hot-path]\n\
                    300  ???:memcpy [/lib/libc.so]\n\
                    Ir  file:function\n";
        assert_eq!(
            parse_annotate(text),
            vec![
                (12000.0, "maint::f".to_owned()),
                (300.0, "memcpy".to_owned())
            ]
        );
        assert_eq!(short_function("lib.rs:f"), "lib.rs:f");
    }
}
