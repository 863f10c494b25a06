use maint_actix::maintenance_off;

#[maintenance_off]
struct Handler;

fn main() {}
