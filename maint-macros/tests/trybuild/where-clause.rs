use actix_web::HttpResponse;
use maint_actix::maintenance_off;

#[maintenance_off]
async fn handler() -> HttpResponse
where
    String: Clone,
{
    HttpResponse::Ok().finish()
}

fn main() {}
