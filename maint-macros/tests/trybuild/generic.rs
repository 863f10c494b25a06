use actix_web::{HttpResponse, web};
use maint_actix::maintenance_off;

#[maintenance_off]
async fn handler<T: 'static>(_data: web::Data<T>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
