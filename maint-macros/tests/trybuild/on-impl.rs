use maint_actix::maintenance_off;

struct Handlers;

#[maintenance_off]
impl Handlers {}

fn main() {}
