use maint_actix::maintenance_off;

/// Docs.
#[maintenance_off]
#[derive(Debug)]
pub struct Handler;

fn main() {}
