//! `#[maintenance_on]` wherever a handler can be registered.

use actix_web::{App, HttpResponse, get, web};
use maint_actix::maintenance_on;

#[maintenance_on]
#[get("/above/")]
async fn above() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/below/")]
#[maintenance_on]
async fn below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_on]
async fn by_hand() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_on]
#[get("/in-scope/")]
async fn in_scope() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_on]
#[get("/named/", name = "named_route")]
async fn named() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/named-below/", name = "named_below_route")]
#[maintenance_on]
async fn named_below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// The body never runs, but it is still type-checked.
#[maintenance_on]
#[get("/unreachable/")]
async fn never_runs() -> HttpResponse {
    unreachable!("never runs")
}

#[maintenance_on]
async fn never_runs_by_hand() -> String {
    unreachable!()
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
        .service(never_runs)
        .route("/never-by-hand/", web::get().to(never_runs_by_hand));
}
