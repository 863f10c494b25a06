//! `#[maintenance_off]` wherever a handler can be registered.

use actix_web::{App, HttpResponse, get, route, web};
use maint_actix::maintenance_off;

#[maintenance_off]
#[get("/above/")]
async fn above() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Registered by hand: the route is marked, not the handler.
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

#[maintenance_off]
#[actix_web::post("/qualified/")]
async fn qualified() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
#[route("/any-method/", method = "GET", method = "HEAD", method = "CUSTOM")]
async fn any_method() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = App::new()
        .service(above)
        .service(web::resource("/by-hand/").route(web::get().to(by_hand)))
        .service(maint_actix::marked::off("/by-hand/"))
        .route("/by-hand-route/", web::get().to(by_hand))
        .service(maint_actix::marked::off("/by-hand-route/").method(actix_web::http::Method::GET))
        .service(web::scope("/scope").service(in_scope))
        .service(named)
        .service(qualified)
        .service(any_method);
}
