use actix_web::{App, HttpResponse, get};
use maint_actix::maintenance_off;

#[maintenance_off]
#[get("/x")]
fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new();
}
