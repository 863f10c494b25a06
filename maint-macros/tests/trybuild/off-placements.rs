//! `#[maintenance_off]` wherever a handler can be registered.

use actix_web::{App, HttpResponse, get, route, web};
use maint_actix::maintenance_off;

#[maintenance_off]
#[get("/above/")]
async fn above() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/below/")]
#[maintenance_off]
async fn below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
async fn by_hand() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
#[get("/in-scope/")]
async fn in_scope() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
#[get("/named/", name = "named_route")]
async fn named() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/named-below/", name = "named_below_route")]
#[maintenance_off]
async fn named_below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
#[actix_web::post("/qualified/")]
async fn qualified() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
#[route("/any-method/", method = "GET", method = "HEAD")]
async fn any_method() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .service(above)
        .service(below)
        .service(web::resource("/by-hand/").route(web::get().to(by_hand)))
        .route("/by-hand-route/", web::get().to(by_hand))
        .service(web::scope("/scope").service(in_scope))
        .service(named)
        .service(named_below)
        .service(qualified)
        .service(any_method);
}
