//! The handle outside requests: the `maintenance_mode` command
//! (`command`, feature `command`) and the scoped guards (`guards`).

mod command;
mod guards;
