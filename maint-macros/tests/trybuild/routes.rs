#![deny(warnings)]
//! The markings above `#[routes]` with several method macros.

use actix_web::{App, HttpResponse, web};
use actix_web::{get, post, routes};
use maint_actix::{maintenance_off, maintenance_on};

#[maintenance_off]
#[routes]
#[get("/a")]
#[get("/b")]
async fn off_two_gets() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_off]
#[routes]
#[get("/c")]
#[post("/c", name = "c_post")]
async fn off_get_and_post() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[maintenance_on]
#[routes]
#[get("/d")]
#[post("/e")]
async fn on_get_and_post(body: String) -> HttpResponse {
    HttpResponse::Ok().body(body)
}

#[maintenance_on]
#[routes]
#[get("/f")]
#[get("/g")]
async fn on_two_gets() -> HttpResponse {
    unreachable!()
}

fn main() {
    let _ = App::new()
        .service(off_two_gets)
        .service(off_get_and_post)
        .service(on_get_and_post)
        .service(web::scope("/scope").service(on_two_gets));
}
