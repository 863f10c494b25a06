use actix_web::{HttpResponse, routes};
use maint_actix::maintenance_off;

#[maintenance_off]
#[routes]
async fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
