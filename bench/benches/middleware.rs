//! Criterion micro-benchmarks of the maintenance check: one request through
//! the benchmark app (`actix_web::test::init_service`, session middleware in
//! every case), with and without the maintenance middleware, maintenance off
//! and on, exempt and not exempt; and `MaintenanceMode::is_on()` alone.
//!
//! ```sh
//! cargo bench -p maint-bench --bench middleware
//! ```
//!
//! The request is built outside the timed part (`iter_batched`); the timed
//! part is the service call and the drop of its response. The
//! `*-unmarked-app` cases run first: maint skips the marker lookup only while
//! no app of the process has registered a `#[maintenance_on]` route, and every
//! other case builds one. Short runs (1 s warm-up, 2 s measurement) keep the
//! whole bench under a minute or so.
//! Under `cargo test` each case runs once, as a check that it still works.

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use maint_bench::{Case, Prepared, marker_lookup_skipped};

fn middleware(c: &mut Criterion) {
    let mut group = c.benchmark_group("middleware");
    let (unmarked, marked): (Vec<Case>, Vec<Case>) =
        Case::ALL.into_iter().partition(|case| case.unmarked_app());
    for case in unmarked.into_iter().chain(marked) {
        if case.unmarked_app() {
            assert!(
                marker_lookup_skipped(),
                "{}: an app with a marked route was built before it",
                case.name()
            );
        }
        let prepared = Prepared::new(case);
        group.bench_function(case.name(), |b| {
            b.iter_batched(
                || prepared.request(),
                |req| prepared.call(req),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn is_on(c: &mut Criterion) {
    let mut group = c.benchmark_group("is_on");
    for case in [Case::Off, Case::On] {
        let prepared = Prepared::new(case);
        let maint = prepared.maint().clone();
        group.bench_function(if case == Case::On { "on" } else { "off" }, |b| {
            b.iter(|| black_box(&maint).is_on())
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = middleware, is_on
}
criterion_main!(benches);
