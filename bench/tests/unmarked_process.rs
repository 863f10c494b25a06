//! The `*-unmarked-app` cases build no app with a `#[maintenance_on]` route,
//! so in their own process maint skips the marker lookup during maintenance,
//! and their difference to their twins is the read-only or bypass check
//! alone. maint's flag is per process, so this file is its own test binary
//! with one test: the other tests build marked apps.

use maint_bench::{Case, Prepared, marker_lookup_skipped};

#[test]
fn the_unmarked_cases_skip_the_marker_lookup_until_a_marked_app_is_built() {
    assert!(
        marker_lookup_skipped(),
        "no app built yet, the lookup must be skipped"
    );
    for case in Case::ALL.into_iter().filter(|case| case.unmarked_app()) {
        // Builds the case's app and every app its setup needs (the bypass
        // link's), and checks a request's status.
        let prepared = Prepared::new(case);
        for _ in 0..3 {
            assert_eq!(prepared.call(prepared.request()), case.expected_status());
        }
        drop(prepared);
        assert!(
            marker_lookup_skipped(),
            "{} built a marked app: its figure would include the marker lookup",
            case.name()
        );
    }
    // The probe sees the lookup once an app registers a `#[maintenance_on]` route.
    let marked = Prepared::new(Case::OnReadOnlyGet);
    assert!(
        !marker_lookup_skipped(),
        "with a marked app in the process, maint looks markers up (the probe's marker serves /hello)"
    );
    drop(marked);
}
