//! `#[maintenance_off]` keeps the handler's extractors and return type.

use actix_web::{App, HttpRequest, HttpResponse, Responder, web};
use actix_web::{get, post};
use maint_actix::maintenance_off;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    q: String,
}

#[derive(Deserialize)]
struct Body {
    name: String,
}

#[maintenance_off]
#[get("/items/{id}/")]
async fn path_and_query(
    id: web::Path<u32>,
    query: web::Query<Params>,
    req: HttpRequest,
) -> HttpResponse {
    HttpResponse::Ok().body(format!("{id} {} {}", query.q, req.path()))
}

#[maintenance_off]
#[post("/json/")]
async fn json(body: web::Json<Body>) -> HttpResponse {
    HttpResponse::Ok().body(body.into_inner().name)
}

#[maintenance_off]
#[post("/destructured/")]
async fn destructured(web::Json(body): web::Json<Body>, mut _unused: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().body(body.name)
}

#[maintenance_off]
#[get("/responder/")]
async fn responder() -> impl Responder {
    "text"
}

#[maintenance_off]
#[get("/fallible/")]
async fn fallible(query: web::Query<Params>) -> Result<HttpResponse, actix_web::Error> {
    if query.q.is_empty() {
        return Err(actix_web::error::ErrorBadRequest("empty"));
    }
    Ok(HttpResponse::Ok().finish())
}

#[maintenance_off]
#[get("/fallible-by-hand/")]
async fn fallible_by_hand() -> Result<HttpResponse, actix_web::Error> {
    Ok(HttpResponse::Ok().finish())
}

fn main() {
    let _ = App::new()
        .service(path_and_query)
        .service(json)
        .service(destructured)
        .service(responder)
        .service(fallible)
        .service(fallible_by_hand);
}
