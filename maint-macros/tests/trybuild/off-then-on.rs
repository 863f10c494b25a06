use actix_web::HttpResponse;
use maint_actix::{maintenance_off, maintenance_on};

#[maintenance_off]
#[maintenance_on]
async fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
