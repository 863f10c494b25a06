use maint_actix::maintenance_on;

#[maintenance_on]
const HANDLER: u32 = 0;

fn main() {}
