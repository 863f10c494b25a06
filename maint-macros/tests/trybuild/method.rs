use actix_web::HttpResponse;
use maint_actix::maintenance_on;

struct Handlers;

impl Handlers {
    #[maintenance_on]
    async fn handler(&self) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
}

fn main() {}
