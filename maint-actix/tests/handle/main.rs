//! The handle outside requests: the `maintenance_mode` command
//! (`command`, feature `command`), its options of issue 11
//! (`command_options`), what it records and shows of a change and
//! `status --json` (issue 12: `command_changes`, with `recorded`), and the
//! scoped guards (`guards`).

mod command;
mod command_changes;
mod command_options;
mod guards;
mod recorded;
