//! The Handlebars helper `maintenance_mode` (`maint_actix::template`), Django's
//! context processor: in templates, alone and in pages served by actix-web.

use actix_web::{App, HttpResponse, http::StatusCode, test as actix_test, web};
use handlebars::Handlebars;
use maint_actix::{
    MaintenanceState,
    template::{HELPER_NAME, MaintenanceModeHelper, register_helper},
};
use maint_test_support::app::{self, Hits, TestApp, memory};
use serde_json::json;

const BANNER: &str = "{{#if (maintenance_mode)}}Maintenance mode is on{{else}}Welcome{{/if}}";

fn registry(maint: &maint_actix::MaintenanceMode) -> Handlebars<'static> {
    let mut templates = Handlebars::new();
    register_helper(&mut templates, maint);
    templates
        .register_template_string("banner", BANNER)
        .unwrap();
    templates
        .register_template_string("plain", "state: {{maintenance_mode}}")
        .unwrap();
    templates
}

#[test]
fn renders_in_if_and_plain_forms() {
    let maint = app::build(memory());
    let templates = registry(&maint);
    assert_eq!(HELPER_NAME, "maintenance_mode");
    assert_eq!(templates.render("banner", &()).unwrap(), "Welcome");
    assert_eq!(templates.render("plain", &()).unwrap(), "state: false");

    maint.set_maintenance_mode_blocking(true).unwrap();
    assert_eq!(
        templates.render("banner", &()).unwrap(),
        "Maintenance mode is on"
    );
    assert_eq!(templates.render("plain", &()).unwrap(), "state: true");
}

#[test]
fn follows_state_changes_without_registering_again() {
    let maint = app::build(memory());
    let templates = registry(&maint);
    for on in [true, false, true, false] {
        maint.set_maintenance_mode_blocking(on).unwrap();
        assert_eq!(
            templates.render("plain", &()).unwrap(),
            format!("state: {on}")
        );
    }
    // A schedule follows the clock, as `is_on` does.
    let hour = std::time::Duration::from_secs(3600);
    let now = jiff::Timestamp::now();
    let window = |start, end| MaintenanceState::scheduled(start, end, now).unwrap();
    maint.set_blocking(window(None, Some(now + hour))).unwrap();
    assert_eq!(templates.render("plain", &()).unwrap(), "state: true");
    maint
        .set_blocking(window(Some(now + hour), Some(now + hour + hour)))
        .unwrap();
    assert_eq!(templates.render("plain", &()).unwrap(), "state: false");
}

#[test]
fn works_as_a_subexpression_of_other_helpers_and_in_a_context() {
    let maint = app::build(memory());
    let mut templates = registry(&maint);
    templates
        .register_template_string(
            "mixed",
            "{{#unless (maintenance_mode)}}open{{/unless}}|{{#each items}}{{#if (maintenance_mode)}}x{{else}}{{this}}{{/if}}{{/each}}|{{name}}",
        )
        .unwrap();
    let context = json!({"items": [1, 2], "name": "site"});
    assert_eq!(templates.render("mixed", &context).unwrap(), "open|12|site");
    maint.set_maintenance_mode_blocking(true).unwrap();
    assert_eq!(templates.render("mixed", &context).unwrap(), "|xx|site");
}

#[test]
fn the_helper_type_registers_under_another_name() {
    let maint = app::build(memory());
    let mut templates = Handlebars::new();
    templates.register_helper("down", Box::new(MaintenanceModeHelper::new(&maint)));
    templates
        .register_template_string("t", "{{#if (down)}}down{{else}}up{{/if}} {{down}}")
        .unwrap();
    assert_eq!(templates.render("t", &()).unwrap(), "up false");
    maint.set_maintenance_mode_blocking(true).unwrap();
    assert_eq!(templates.render("t", &()).unwrap(), "down true");
}

/// A page rendered by an actix handler with the app's registry.
async fn home(hits: web::Data<Hits>, templates: web::Data<Handlebars<'static>>) -> HttpResponse {
    hits.hit();
    let body = templates
        .render("home", &json!({"title": "Home"}))
        .expect("renders");
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

#[actix_rt::test]
async fn works_inside_a_page_served_by_an_actix_handler() {
    // Staff are served during maintenance, so they see the banner.
    let maint = app::build(memory().ignore_staff(true));
    let mut templates = Handlebars::new();
    register_helper(&mut templates, &maint);
    templates
        .register_template_string(
            "home",
            "<h1>{{title}}</h1>{{#if (maintenance_mode)}}<p>Maintenance mode is on</p>{{/if}}",
        )
        .unwrap();
    let hits = Hits::default();
    let app = App::new()
        .app_data(web::Data::new(hits.clone()))
        .app_data(web::Data::new(templates))
        .route("/", web::get().to(home))
        .route("/test-login/{kind}", web::get().to(app::test_login))
        .wrap(maint.middleware())
        .wrap(app::sessions());
    let app = TestApp::new(
        actix_test::init_service(app).await,
        actix_test::TestRequest::to_request,
        &maint,
        &hits,
    );
    let staff = app.login("staff").await;

    let out = app.get_with("/", &staff).await;
    out.assert_served();
    assert_eq!(out.body, "<h1>Home</h1>");

    maint.set_maintenance_mode(true).await.unwrap();
    let out = app.get_with("/", &staff).await;
    out.assert_served();
    assert_eq!(out.body, "<h1>Home</h1><p>Maintenance mode is on</p>");
    // Everyone else gets the maintenance page instead.
    let out = app.get("/").await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    out.assert_maintenance();

    maint.set_maintenance_mode(false).await.unwrap();
    assert_eq!(app.get("/").await.body, "<h1>Home</h1>");
}
