//! The handle outside requests: the `maintenance_mode` command
//! (`command`, feature `command`), its options of issue 11
//! (`command_options`), and the scoped guards (`guards`).

mod command;
mod command_options;
mod guards;
