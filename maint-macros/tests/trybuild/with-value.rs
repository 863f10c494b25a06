use actix_web::HttpResponse;
use maint_actix::maintenance_on;

#[maintenance_on = "x"]
async fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
