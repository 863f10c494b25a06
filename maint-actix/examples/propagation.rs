//! Measures how long a state change written by another process takes to reach
//! a running handle's snapshot (the `local_file` backend).
//!
//! ```sh
//! cargo run --release -p maint-actix --example propagation -- 200
//! ```
//!
//! Each round, a child process (`sh -c 'printf 1 > FILE'`) writes the state
//! file; the time is counted from the child's exit to the first `is_on()`
//! that sees the change, polled every 100 µs. Then the same for `0`. Writes
//! are spread over 50 ms (the poll period when the directory cannot be
//! watched); with notifications, no write waits for a poll.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use maint_actix::{MaintenanceMode, MaintenanceSettings};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(100, |n| n.parse().expect("rounds is a number"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("maintenance_mode_state.txt");
    let maint = MaintenanceMode::new(MaintenanceSettings::default().state_file_path(&file))
        .expect("valid settings");

    let mut delays = Vec::with_capacity(rounds * 2);
    for round in 0..rounds * 2 {
        let on = round % 2 == 0;
        // Spread the writes over the fallback poll period, or without
        // notifications every write would land just after a poll and
        // measure only the worst case.
        std::thread::sleep(Duration::from_micros((round as u64 * 7_919) % 50_000));
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("printf {} > '{}'", u8::from(on), file.display()))
            .status()
            .expect("sh runs");
        assert!(status.success());
        let written = Instant::now();
        while maint.is_on() != on {
            assert!(
                written.elapsed() < Duration::from_secs(5),
                "change never seen"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
        delays.push(written.elapsed());
    }
    delays.sort();
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    println!(
        "local_file propagation over {} changes: min {:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        delays.len(),
        ms(delays[0]),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(delays[delays.len() - 1]),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
