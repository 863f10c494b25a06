use actix_web::{HttpResponse, get};
use maint_actix::maintenance_on;

#[maintenance_on]
#[get("/x")]
#[maintenance_on]
async fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
