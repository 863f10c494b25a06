//! `#[maintenance_off]` keeps docs, lint attributes and visibility.
#![deny(missing_docs)]

/// Handlers of a library-like module.
pub mod api {
    use actix_web::HttpResponse;
    use actix_web::get;
    use maint_actix::maintenance_off;

    /// Documented, public, marked above its route.
    #[maintenance_off]
    #[get("/api/about/")]
    pub async fn about() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// Documented, public, registered by hand and marked where it is registered.
    pub async fn status() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// Lint attributes reach the body.
    #[maintenance_off]
    #[get("/api/lints/")]
    #[allow(unused_variables, clippy::let_unit_value)]
    #[deny(unused_mut)]
    pub async fn lints() -> HttpResponse {
        let unused = ();
        HttpResponse::Ok().finish()
    }

    /// Lint attributes above the marking.
    #[allow(unused_variables)]
    #[maintenance_off]
    #[get("/api/lints-above/")]
    pub(crate) async fn lints_above() -> HttpResponse {
        let unused = 1;
        HttpResponse::Ok().finish()
    }
}

fn main() {
    use actix_web::{App, web};

    let _ = App::new()
        .service(api::about)
        .route("/api/status/", web::get().to(api::status))
        .service(maint_actix::marked::off("/api/status/"))
        .service(api::lints)
        .service(api::lints_above);
}
