//! `#[maintenance_on]` accepts any handler signature; the extractors never run.

use actix_web::{App, HttpRequest, HttpResponse, Responder, web};
use actix_web::{get, post};
use maint_actix::maintenance_on;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    q: String,
}

#[derive(Deserialize)]
struct Body {
    name: String,
}

#[maintenance_on]
#[get("/items/{id}/")]
async fn path_and_query(
    id: web::Path<u32>,
    query: web::Query<Params>,
    req: HttpRequest,
) -> HttpResponse {
    HttpResponse::Ok().body(format!("{id} {} {}", query.q, req.path()))
}

#[maintenance_on]
#[post("/json/")]
async fn json(body: web::Json<Body>) -> HttpResponse {
    HttpResponse::Ok().body(body.into_inner().name)
}

#[maintenance_on]
#[post("/destructured/")]
async fn destructured(web::Json(body): web::Json<Body>, mut _unused: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().body(body.name)
}

#[maintenance_on]
#[get("/responder/")]
async fn responder() -> impl Responder {
    "text"
}

#[maintenance_on]
#[get("/fallible/")]
async fn fallible(query: web::Query<Params>) -> Result<HttpResponse, actix_web::Error> {
    if query.q.is_empty() {
        return Err(actix_web::error::ErrorBadRequest("empty"));
    }
    Ok(HttpResponse::Ok().finish())
}

#[maintenance_on]
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
        .route("/fallible-by-hand/", web::get().to(fallible_by_hand));
}
