//! The `maintenance_mode on|off|status` command. TODO(helper)
