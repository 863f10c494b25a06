use actix_web::HttpResponse;
use maint_actix::maintenance_off;

#[maintenance_off]
fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
