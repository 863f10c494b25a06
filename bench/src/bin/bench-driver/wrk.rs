//! The load generator: `wrk -t1 -cN -dSs --timeout 5s [-H Cookie] URL`,
//! pinned or not, bounded in time, and its output read.

use std::{process::Command, time::Duration};

use crate::harness::process::run_bounded;

use crate::pinning::Pinning;

/// Extra time a load generator run gets beyond its duration before it is killed.
const WRK_GRACE: Duration = Duration::from_secs(20);

/// How wrk runs: which executable, how many connections, pinned where.
pub struct Wrk<'a> {
    /// The wrk executable.
    pub program: &'a str,
    /// `-c`: connections.
    pub connections: usize,
    /// Where the load generator's CPU comes from.
    pub pinning: &'a Pinning,
}

/// What one wrk run measured.
pub struct WrkRun {
    /// Requests per second.
    pub rps: f64,
    /// Requests completed.
    pub requests: u64,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
    /// Socket errors (connect, read, write, timeout), summed.
    pub errors: u64,
}

impl Wrk<'_> {
    /// The command for `seconds` of load on `url` (with a `Cookie` header
    /// when given), on the load generator's CPU when `pinned`; and the
    /// command as the report shows it.
    pub fn command(
        &self,
        url: &str,
        cookie: Option<&str>,
        seconds: u64,
        pinned: bool,
    ) -> (Command, String) {
        let pinned = if pinned { self.pinning.load() } else { None };
        let mut command = self.pinning.command(pinned, self.program);
        let mut args = vec![
            "-t1".to_owned(),
            format!("-c{}", self.connections),
            format!("-d{seconds}s"),
            "--timeout".to_owned(),
            "5s".to_owned(),
        ];
        if let Some(cookie) = cookie {
            args.push("-H".to_owned());
            args.push(format!("Cookie: {cookie}"));
        }
        args.push(url.to_owned());
        command.args(&args);
        let shown = format!(
            "{}{} {}",
            pinned.map_or(String::new(), |c| format!("taskset -c {c} ")),
            self.program,
            args.iter()
                .map(|a| if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.clone()
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        (command, shown)
    }

    /// Runs [`Wrk::command`] and reads its output.
    pub fn run(
        &self,
        url: &str,
        cookie: Option<&str>,
        seconds: u64,
        pinned: bool,
    ) -> Result<WrkRun, String> {
        let (mut command, shown) = self.command(url, cookie, seconds, pinned);
        let run = run_bounded(&mut command, Duration::from_secs(seconds) + WRK_GRACE)?;
        if !run.status.success() {
            return Err(format!("`{shown}` failed:\n{}{}", run.stdout, run.stderr));
        }
        parse_output(&run.stdout)
            .ok_or_else(|| format!("cannot read wrk's output:\n{}", run.stdout))
    }
}

/// The figures of wrk's text output; `None` when the rate or the request
/// count is missing.
pub fn parse_output(stdout: &str) -> Option<WrkRun> {
    let number = |prefix: &str| {
        stdout.lines().find_map(|l| {
            l.trim()
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
    };
    let rps = number("Requests/sec:")?;
    let requests = stdout
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())?;
    let non_2xx = number("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
    let errors = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map_or(0, |rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        });
    Some(WrkRun {
        rps,
        requests,
        non_2xx,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 2s test @ http://127.0.0.1:1/hello\n  1 threads and 32 connections\n  \
                    200000 requests in 2.00s, 20.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  \
                    Non-2xx or 3xx responses: 5\nRequests/sec: 100000.50\nTransfer/sec:     10.00MB\n";
        let run = parse_output(text).expect("parsed");
        assert_eq!(run.rps, 100000.5);
        assert_eq!(run.requests, 200000);
        assert_eq!(run.non_2xx, 5);
        assert_eq!(run.errors, 3);
        assert!(parse_output("nothing").is_none());
    }
}
