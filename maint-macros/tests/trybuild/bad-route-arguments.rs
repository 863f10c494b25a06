use actix_web::{HttpResponse, get};
use maint_actix::maintenance_off;

#[maintenance_off]
#[get("/x", bad)]
async fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
