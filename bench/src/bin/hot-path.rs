//! Runs one in-process case of the benchmark app N times, for instruction
//! counters (no criterion, no timing): `valgrind --tool=callgrind` with
//! `--toggle-collect='*serve_one*'` counts exactly the service calls, and
//! `perf stat -e instructions:u` counts the whole process (run once more with
//! `--no-call` to subtract what is not the service call).
//!
//! ```text
//! hot-path CASE [ITERATIONS] [--no-call]
//! hot-path --list
//! ```
//!
//! CASE is one of `hot-path --list` (see `maint_bench::Case`). After the
//! counted loop, an `*-unmarked-app` case checks that maint skipped the marker
//! lookup in this process (`maint_bench::marker_lookup_skipped`) and fails
//! if not: its count would then include the lookup.

use std::{hint::black_box, process::ExitCode};

use maint_bench::{Case, Prepared, Request, marker_lookup_skipped};

/// Calls before the counted loop: lazy statics, pools and the rendered page settle.
const WARM_UP: usize = 1_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for case in Case::ALL {
            println!("{:<31} {}", case.name(), case.describe());
        }
        return ExitCode::SUCCESS;
    }
    let no_call = args.iter().any(|a| a == "--no-call");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(case) = positional.first().and_then(|name| Case::from_name(name)) else {
        eprintln!("usage: hot-path CASE [ITERATIONS] [--no-call]; CASE from `hot-path --list`");
        return ExitCode::FAILURE;
    };
    let iterations: usize = match positional.get(1).map(|n| n.parse()) {
        None => 100_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("hot-path: ITERATIONS must be a number");
            return ExitCode::FAILURE;
        }
    };

    let prepared = Prepared::new(case);
    // Not through `serve_one`: callgrind must count only the loop below.
    for _ in 0..WARM_UP {
        black_box(prepared.call(prepared.request()));
    }
    let statuses = if no_call {
        build_only(&prepared, iterations)
    } else {
        run(&prepared, iterations)
    };
    println!(
        "{}: {iterations} requests{}, status sum {statuses}",
        case.name(),
        if no_call { " built (not called)" } else { "" }
    );
    // After the counted loop, so the check changes nothing it counted.
    if case.unmarked_app() {
        drop(prepared);
        if !marker_lookup_skipped() {
            eprintln!(
                "hot-path: {} ran with the marker lookup: an app with a marked route was built",
                case.name()
            );
            return ExitCode::FAILURE;
        }
        println!("{}: marker lookup skipped in this process", case.name());
    }
    ExitCode::SUCCESS
}

/// The counted loop: requests are built here, outside `serve_one`.
#[inline(never)]
fn run(prepared: &Prepared, iterations: usize) -> u64 {
    let mut sum = 0;
    for _ in 0..iterations {
        let req = prepared.request();
        sum += u64::from(serve_one(prepared, req));
    }
    sum
}

/// The same loop without the call, for subtracting with whole-process counters.
#[inline(never)]
fn build_only(prepared: &Prepared, iterations: usize) -> u64 {
    let mut sum = 0;
    for _ in 0..iterations {
        let req = black_box(prepared.request());
        drop(req);
        sum += 1;
    }
    sum
}

/// One request through the app and the drop of its response: what callgrind counts.
#[inline(never)]
#[unsafe(no_mangle)]
pub fn serve_one(prepared: &Prepared, req: Request) -> u16 {
    prepared.call(req)
}
