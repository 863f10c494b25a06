//! CPU pinning for figures 1–3: the server under test on CPU 0, wrk on
//! CPU 1 (`taskset -c`), where taskset exists and there are two CPUs.

use std::{
    process::{Command, Stdio},
    thread,
};

/// Which CPUs the server under test and the load generator get.
pub struct Pinning {
    /// `taskset -c` lists for the server and the load generator, when pinning.
    cpus: Option<(String, String)>,
}

impl Pinning {
    /// Pins when `taskset` works and there are at least two CPUs.
    pub fn detect() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .args(["-c", "0", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let cpus = (taskset && cpus >= 2).then(|| ("0".to_owned(), "1".to_owned()));
        Self { cpus }
    }

    /// The report's line on pinning.
    pub fn describe(&self) -> String {
        match &self.cpus {
            Some((server, load)) => format!(
                "figures 1–3: the server under test on CPU {server}, wrk on CPU {load} (`taskset -c`); figures 4–5 unpinned (2 workers, example-site instances)"
            ),
            None => {
                "none (taskset missing or a single CPU): server and wrk share the CPUs".to_owned()
            }
        }
    }

    /// `program` run through `taskset -c CPUS`, or as is.
    pub fn command(&self, cpus: Option<&str>, program: &str) -> Command {
        match cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.args(["-c", cpus, program]);
                command
            }
            None => Command::new(program),
        }
    }

    /// The server's CPU list, when pinning.
    pub fn server(&self) -> Option<&str> {
        self.cpus.as_ref().map(|(s, _)| s.as_str())
    }

    /// The load generator's CPU list, when pinning.
    pub fn load(&self) -> Option<&str> {
        self.cpus.as_ref().map(|(_, l)| l.as_str())
    }
}
