//! The markdown report: every line printed as it is written, the whole
//! written to `--out` at the end.

use std::{fs, path::Path};

use crate::machine;

/// The report being written.
pub struct Report {
    /// Every line so far.
    text: String,
}

impl Report {
    /// A report with its header: date, machine, load average, `command`.
    pub fn new(command: &str) -> Self {
        let mut report = Self {
            text: String::new(),
        };
        report.line("# maint benchmark report");
        report.line("");
        report.line(&format!("- date: {}", machine::date_utc()));
        report.line(&format!("- machine: {}", machine::summary()));
        report.line(&format!(
            "- load average at start: {}",
            machine::load_average()
        ));
        report.line(&format!("- command: `{command}`"));
        report
    }

    /// Prints `line` and adds it to the report.
    pub fn line(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// Ends the report with the load average and writes it to `out`.
    pub fn finish(mut self, out: &Path) -> Result<(), String> {
        self.line(&format!(
            "Load average at the end: {}",
            machine::load_average()
        ));
        if let Some(dir) = out.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::write(out, &self.text).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("bench-driver: report written to {}", out.display());
        Ok(())
    }
}
