//! `#[maintenance_on]` keeps docs, lint attributes and visibility.
#![deny(missing_docs)]

/// Handlers of a library-like module.
pub mod api {
    use actix_web::HttpResponse;
    use actix_web::get;
    use maint_actix::maintenance_on;

    /// Documented, public, marked above its route.
    #[maintenance_on]
    #[get("/api/legacy/")]
    pub async fn legacy() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// Documented, public, registered by hand.
    #[maintenance_on]
    pub async fn retired() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// Lint attributes reach the body.
    #[maintenance_on]
    #[get("/api/lints/")]
    #[allow(unused_variables, clippy::let_unit_value)]
    #[deny(unused_mut)]
    pub async fn lints() -> HttpResponse {
        let unused = ();
        HttpResponse::Ok().finish()
    }

    /// Lint attributes above the marking.
    #[allow(unused_variables)]
    #[maintenance_on]
    pub(crate) async fn lints_above() -> HttpResponse {
        let unused = 1;
        HttpResponse::Ok().finish()
    }
}

fn main() {
    use actix_web::{App, web};

    let _ = App::new()
        .service(api::legacy)
        .route("/api/retired/", web::get().to(api::retired))
        .service(api::lints)
        .route("/api/lints-above/", web::get().to(api::lints_above));
}
