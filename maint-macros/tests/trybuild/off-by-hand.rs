use actix_web::{App, HttpResponse, web};
use maint_actix::maintenance_off;

#[maintenance_off]
async fn by_hand() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new().route("/by-hand/", web::get().to(by_hand));
}
