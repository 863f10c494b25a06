use actix_web::{HttpResponse, get};
use maint_actix::maintenance_off;

#[get("/below/")]
#[maintenance_off]
async fn below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
