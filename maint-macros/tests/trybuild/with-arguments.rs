use actix_web::HttpResponse;
use maint_actix::maintenance_off;

#[maintenance_off(now)]
async fn handler() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
