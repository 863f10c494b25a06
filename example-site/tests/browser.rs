//! End-to-end in a real browser: headless Debian Chromium, driven over
//! WebDriver by Debian's chromedriver, uses the real `example-site` as a
//! person would: logs in through the form, opens the toggle page, switches
//! maintenance on with its button, and meets the maintenance page. A second
//! test follows the bypass link of `maintenance_mode on --with-secret`: the
//! browser that opened it sees the home page during maintenance, a fresh
//! profile sees the maintenance page, and a new secret shuts the first out.
//! A third runs maintenance from the status page (`/maintenance-mode/`): on
//! with a reason, a window, read-only mode and a bypass link, which a second
//! profile follows; then off. With `MAINT_DOCS_SCREENSHOT=1` it also copies
//! its screenshot of the page to `docs/status-page.png`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages
//! `chromium` and `chromium-driver`; `.ci/run` installs them). Outside CI
//! (`CI` unset) `MAINT_SKIP_BROWSER=1` skips the test when they are missing;
//! otherwise a missing browser fails it. Screenshots go to
//! `<target dir>/test-artifacts/`.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use maint_test_support::{
    in_ci,
    process::{Output, Watched, with_free_port},
    site::{BANNER, ExampleSite, MAINTENANCE_WORD, Server, Site},
};
use serde_json::json;

/// The binary under test; cargo builds it before this test binary.
const EXAMPLE_SITE: ExampleSite = ExampleSite::new(env!("CARGO_BIN_EXE_example-site"));

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Bound on the whole browser session.
const TEST_LIMIT: Duration = Duration::from_secs(180);
/// Bound on waiting for one element or navigation.
const STEP_LIMIT: Duration = Duration::from_secs(15);

/// Whether the browser test must run here; `false` only when the browser is
/// missing, `MAINT_SKIP_BROWSER=1` is set, and this is not CI.
fn browser_available_or_skip() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let skip = std::env::var("MAINT_SKIP_BROWSER").is_ok_and(|v| v == "1");
    if skip && !in_ci() {
        eprintln!(
            "\n\
             ************************************************************************\n\
             *** SKIPPED: the real-browser end-to-end test (e2e_browser)           \n\
             *** missing: {missing:?}                                             \n\
             *** MAINT_SKIP_BROWSER=1 is set. Install them with:                  \n\
             ***   apt-get install chromium chromium-driver                        \n\
             ************************************************************************\n"
        );
        return false;
    }
    panic!(
        "the real-browser test needs {missing:?} (Debian packages `chromium` and \
         `chromium-driver`: `apt-get install chromium chromium-driver`, as .ci/run does); \
         set MAINT_SKIP_BROWSER=1 to skip it outside CI"
    );
}

/// A chromedriver on a free loopback port, in a process group of its own
/// (with the Chromium it starts), which is killed on drop.
struct ChromeDriver {
    process: Watched,
    port: u16,
}

impl ChromeDriver {
    fn start() -> Self {
        with_free_port("chromedriver", 5, |port| {
            let mut command = Command::new(CHROMEDRIVER);
            command.arg(format!("--port={port}")).process_group(0);
            let process = Watched::start(
                &mut command,
                Output::Stdout,
                "started successfully",
                Duration::from_secs(20),
            )?;
            Ok(Self { process, port })
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid: this ends Chromium as well
        // (and `Watched` then kills and reaps chromedriver itself).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.pid())])
            .stderr(Stdio::null())
            .status();
    }
}

/// `<target dir>/test-artifacts/`, created.
fn artifacts_dir() -> PathBuf {
    let target = EXAMPLE_SITE
        .binary()
        .parent()
        .and_then(Path::parent)
        .expect("the binary is in <target>/<profile>/");
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create the test-artifacts dir");
    dir
}

async fn screenshot(browser: &Client, name: &str) -> PathBuf {
    let png = browser.screenshot().await.expect("take a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    let path = artifacts_dir().join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    println!("screenshot: {}", path.display());
    path
}

async fn find(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(STEP_LIMIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css:?} within {STEP_LIMIT:?}: {e}"))
}

/// Waits until the page at `path` has loaded.
async fn wait_for_page(browser: &Client, path: &str) {
    let started = Instant::now();
    loop {
        let url = browser.current_url().await.expect("current url");
        let ready = browser
            .execute("return document.readyState", vec![])
            .await
            .expect("readyState");
        if url.path() == path && ready == json!("complete") {
            return;
        }
        assert!(
            started.elapsed() < STEP_LIMIT,
            "still at {url} ({ready}) after {STEP_LIMIT:?}, expected {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The visible text of the page.
async fn visible_text(browser: &Client) -> String {
    find(browser, "body").await.text().await.expect("body text")
}

/// The HTTP status of the document (Navigation Timing's `responseStatus`).
async fn document_status(browser: &Client) -> serde_json::Value {
    browser
        .execute(
            "const nav = performance.getEntriesByType('navigation')[0]; \
             return nav ? nav.responseStatus : null;",
            vec![],
        )
        .await
        .expect("navigation timing")
}

async fn connect(driver: &ChromeDriver, profile: &Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal");
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session through chromedriver: {e}"))
}

/// Logs in as `admin` through the login form and lands on the home page.
async fn log_in_as_admin(browser: &Client, server: &Server) {
    browser
        .goto(&server.url("/login/"))
        .await
        .expect("open /login/");
    wait_for_page(browser, "/login/").await;
    assert_eq!(
        browser.title().await.expect("title"),
        "Log in · maint example"
    );
    find(browser, "input#username")
        .await
        .send_keys("admin")
        .await
        .expect("type the username");
    find(browser, "input#password")
        .await
        .send_keys("admin")
        .await
        .expect("type the password");
    find(browser, "main form button[type=submit]")
        .await
        .click()
        .await
        .expect("click Log in");
    wait_for_page(browser, "/").await;
    let home = visible_text(browser).await;
    assert!(home.contains("Home"), "not the home page: {home}");
    assert!(
        home.contains("admin"),
        "the header does not show admin: {home}"
    );
}

/// The flow a person follows, in Chromium.
async fn flow(browser: &Client, site: &Site, server: &Server) -> Vec<PathBuf> {
    let mut shots = Vec::new();

    log_in_as_admin(browser, server).await;
    let home = visible_text(browser).await;
    assert!(
        !home.contains(BANNER),
        "maintenance banner before maintenance: {home}"
    );

    // The toggle page: what the superuser sees.
    browser
        .goto(&server.url("/maintenance-mode/on/"))
        .await
        .expect("open the toggle page");
    wait_for_page(browser, "/maintenance-mode/on/").await;
    assert_eq!(
        browser.title().await.expect("title"),
        "Turn maintenance mode on"
    );
    let page = visible_text(browser).await;
    assert!(
        page.contains("Maintenance mode is currently off"),
        "the page does not say maintenance is off: {page}"
    );
    let button = find(browser, "form[method=post] button[type=submit]").await;
    assert!(
        button.is_displayed().await.expect("displayed"),
        "the button is hidden"
    );
    assert_eq!(
        button.text().await.expect("button text"),
        "Turn maintenance mode on"
    );
    let token = find(browser, "form[method=post] input[name=csrf_token]").await;
    assert_eq!(
        token.attr("type").await.expect("type").as_deref(),
        Some("hidden")
    );
    assert!(
        !token.is_displayed().await.expect("displayed"),
        "the token is visible"
    );
    shots.push(screenshot(browser, "e2e-browser-1-toggle-on.png").await);

    // Click: maintenance goes on, and the browser follows the 303 to `/`.
    button.click().await.expect("click the button");
    wait_for_page(browser, "/").await;
    assert_eq!(
        site.status(),
        "on",
        "the button did not switch maintenance on"
    );

    // An anonymous visitor (the cookies gone) meets the maintenance page.
    browser.delete_all_cookies().await.expect("delete cookies");
    browser.goto(&server.url("/")).await.expect("open /");
    wait_for_page(browser, "/").await;
    let title = browser.title().await.expect("title");
    assert!(
        title.to_lowercase().contains("maintenance"),
        "the title does not say maintenance: {title}"
    );
    let page = visible_text(browser).await;
    assert!(
        page.to_lowercase().contains("maintenance"),
        "the page does not say maintenance: {page}"
    );
    assert!(
        page.contains("503"),
        "the page does not show the status: {page}"
    );
    assert!(
        !page.contains("Welcome"),
        "the home page leaked through: {page}"
    );
    assert_eq!(document_status(browser).await, json!(503));
    shots.push(screenshot(browser, "e2e-browser-2-maintenance.png").await);

    // /about/ is still served in the browser.
    browser
        .goto(&server.url("/about/"))
        .await
        .expect("open /about/");
    wait_for_page(browser, "/about/").await;
    assert_eq!(document_status(browser).await, json!(200));
    assert_eq!(browser.title().await.expect("title"), "About");
    shots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superuser_switches_maintenance_on_in_a_real_browser() {
    if !browser_available_or_skip() {
        return;
    }
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    // Declared before the driver, so Chromium is gone before its profile is removed.
    let profile = tempfile::Builder::new()
        .prefix("maint-e2e-chromium-")
        .tempdir()
        .expect("profile dir");
    let driver = ChromeDriver::start();

    let session = async {
        let browser = connect(&driver, profile.path()).await;
        let shots = flow(&browser, &site, &server).await;
        let _ = browser.close().await;
        shots
    };
    let Ok(shots) = tokio::time::timeout(TEST_LIMIT, session).await else {
        panic!(
            "the browser session did not finish within {TEST_LIMIT:?}; server stderr:\n{}",
            server.stderr()
        );
    };
    drop(driver);
    for shot in shots {
        println!("artifact: {}", shot.display());
    }
}

// ---------------------------------------------------------------------------
// The bypass link (`maintenance_mode on --with-secret`) in a real browser.

/// The cookie the bypass link sets (the contract's "Bypass link").
const BYPASS_COOKIE: &str = "maint_bypass";

/// `maintenance_mode on --with-secret`, which must succeed; the link it
/// prints (`/maintenance-mode/bypass/TOKEN`, a 32-character URL-safe token).
#[track_caller]
fn switch_on_with_secret(site: &Site, server: &Server) -> String {
    let run = site.command(&["on", "--with-secret"]);
    run.assert_success();
    let link = run
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("bypass: "))
        .unwrap_or_else(|| panic!("`on --with-secret` printed no `bypass: ` line: {run:?}"))
        .trim()
        .to_owned();
    let token = link
        .strip_prefix("/maintenance-mode/bypass/")
        .unwrap_or_else(|| panic!("not a bypass link: {link:?}"));
    assert!(
        token.len() == 32
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "not a 32-character URL-safe token: {token:?}"
    );
    server.await_maintenance(true);
    link
}

/// Polls the visible text (every 50 ms, at most [`STEP_LIMIT`]) until
/// `holds`; returns it, panicking with the last text seen (`expected` says what
/// was awaited).
async fn wait_for_text(browser: &Client, expected: &str, holds: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let text = visible_text(browser).await;
        if holds(&text) {
            return text;
        }
        assert!(
            started.elapsed() < STEP_LIMIT,
            "{expected}: not seen within {STEP_LIMIT:?}; the page shows:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens `path` (the browser waits for the load, following redirects).
async fn open(browser: &Client, server: &Server, path: &str) {
    browser
        .goto(&server.url(path))
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
}

/// The browser shows the maintenance page at `/` (503, "maintenance", no home page).
async fn assert_maintenance_page(browser: &Client, who: &str) {
    wait_for_page(browser, "/").await;
    let page = wait_for_text(browser, &format!("{who}: the maintenance page"), |text| {
        text.to_lowercase().contains(MAINTENANCE_WORD)
    })
    .await;
    assert!(
        !page.contains("Welcome"),
        "{who}: the home page leaked through: {page}"
    );
    let title = browser.title().await.expect("title");
    assert!(
        title.to_lowercase().contains(MAINTENANCE_WORD),
        "{who}: the title does not say maintenance: {title}"
    );
    assert_eq!(
        document_status(browser).await,
        json!(503),
        "{who}: the maintenance page is not a 503"
    );
}

/// The browser shows the home page at `/` with the maintenance banner (200).
async fn assert_home_in_maintenance(browser: &Client, who: &str) {
    wait_for_page(browser, "/").await;
    let page = wait_for_text(browser, &format!("{who}: the home page"), |text| {
        text.contains("Welcome")
    })
    .await;
    let heading = find(browser, "main h1").await.text().await.expect("h1");
    assert_eq!(heading, "Home", "{who}: not the home page: {page}");
    assert!(
        page.contains(BANNER),
        "{who}: the home page lacks the banner {BANNER:?}: {page}"
    );
    assert_eq!(
        document_status(browser).await,
        json!(200),
        "{who}: the home page is not a 200"
    );
}

/// The bypass cookie as WebDriver sees it: present, `HttpOnly`,
/// `SameSite=Lax`, not `Secure` (plain HTTP), and hidden from `document.cookie`.
/// Returns its value.
async fn assert_bypass_cookie(browser: &Client) -> String {
    let cookie = browser
        .get_named_cookie(BYPASS_COOKIE)
        .await
        .unwrap_or_else(|e| panic!("the bypass link set no {BYPASS_COOKIE} cookie: {e}"));
    assert_eq!(
        cookie.http_only(),
        Some(true),
        "{BYPASS_COOKIE} is not HttpOnly: {cookie:?}"
    );
    assert_eq!(
        cookie.same_site().map(|same_site| same_site.to_string()),
        Some("Lax".to_owned()),
        "{BYPASS_COOKIE} is not SameSite=Lax: {cookie:?}"
    );
    assert_ne!(
        cookie.secure(),
        Some(true),
        "{BYPASS_COOKIE} is Secure over plain HTTP (the browser would drop it): {cookie:?}"
    );
    let script_cookies = browser
        .execute("return document.cookie", vec![])
        .await
        .expect("document.cookie");
    let script_cookies = script_cookies
        .as_str()
        .expect("document.cookie is a string");
    assert!(
        !script_cookies.contains(BYPASS_COOKIE),
        "scripts can read {BYPASS_COOKIE}: document.cookie = {script_cookies:?}"
    );
    cookie.value().to_owned()
}

/// The bypass flow: profile 1 follows the link through maintenance, a fresh
/// profile does not get through, a new secret shuts profile 1 out again.
async fn bypass_flow(
    first: &Client,
    driver: &ChromeDriver,
    fresh: &Path,
    site: &Site,
    server: &Server,
) -> Vec<PathBuf> {
    let mut shots = Vec::new();
    let link = switch_on_with_secret(site, server);
    assert_eq!(site.status(), "on");

    // Profile 1, before the link: the maintenance page.
    open(first, server, "/").await;
    assert_maintenance_page(first, "profile 1 before the link").await;
    shots.push(screenshot(first, "e2e-bypass-1-maintenance-before-link.png").await);

    // The link: 302 to `/` with the cookie; the home page with the banner.
    open(first, server, &link).await;
    assert_home_in_maintenance(first, "profile 1 after the link").await;
    let cookie = assert_bypass_cookie(first).await;
    shots.push(screenshot(first, "e2e-bypass-2-home-through-link.png").await);

    // Reloading keeps it: the cookie, not the link, lets the browser through.
    first.refresh().await.expect("reload");
    assert_home_in_maintenance(first, "profile 1 after a reload").await;
    open(first, server, "/").await;
    assert_home_in_maintenance(first, "profile 1 opening / again").await;

    // A fresh profile (another session, another user-data-dir): maintenance.
    let second = connect(driver, fresh).await;
    open(&second, server, "/").await;
    assert_maintenance_page(&second, "a fresh profile").await;
    assert!(
        second.get_named_cookie(BYPASS_COOKIE).await.is_err(),
        "the fresh profile has a {BYPASS_COOKIE} cookie"
    );
    shots.push(screenshot(&second, "e2e-bypass-3-fresh-profile-maintenance.png").await);
    let _ = second.close().await;

    // Off, then on with a new secret: profile 1's cookie no longer works.
    site.switch(false, server);
    let new_link = switch_on_with_secret(site, server);
    assert_ne!(
        new_link, link,
        "`--with-secret` printed the same link twice"
    );
    let kept = first
        .get_named_cookie(BYPASS_COOKIE)
        .await
        .expect("profile 1 still holds its old bypass cookie");
    assert_eq!(
        kept.value(),
        cookie,
        "the browser changed the cookie by itself"
    );
    open(first, server, "/").await;
    assert_maintenance_page(first, "profile 1 with the old cookie after a new secret").await;
    shots.push(screenshot(first, "e2e-bypass-4-old-cookie-maintenance.png").await);

    // The old link does not let it through either; the new one does.
    open(first, server, &link).await;
    wait_for_page(first, &link).await;
    let page = wait_for_text(first, "the old link: the maintenance page", |text| {
        text.to_lowercase().contains(MAINTENANCE_WORD)
    })
    .await;
    assert!(
        !page.contains("Welcome"),
        "the old link let profile 1 through: {page}"
    );
    assert_eq!(
        document_status(first).await,
        json!(503),
        "the old link is not a 503"
    );
    open(first, server, &new_link).await;
    assert_home_in_maintenance(first, "profile 1 after the new link").await;
    assert_ne!(
        assert_bypass_cookie(first).await,
        cookie,
        "the new link set the old cookie"
    );
    shots.push(screenshot(first, "e2e-bypass-5-home-through-new-link.png").await);
    shots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bypass_link_lets_one_browser_through_maintenance() {
    if !browser_available_or_skip() {
        return;
    }
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    // Declared before the driver, so Chromium is gone before the profiles are removed.
    let profiles = [1, 2].map(|n| {
        tempfile::Builder::new()
            .prefix(&format!("maint-e2e-bypass-chromium-{n}-"))
            .tempdir()
            .expect("profile dir")
    });
    let driver = ChromeDriver::start();

    let started = Instant::now();
    let session = async {
        let first = connect(&driver, profiles[0].path()).await;
        let shots = bypass_flow(&first, &driver, profiles[1].path(), &site, &server).await;
        let _ = first.close().await;
        shots
    };
    let Ok(shots) = tokio::time::timeout(TEST_LIMIT, session).await else {
        panic!(
            "the browser session did not finish within {TEST_LIMIT:?}; server stderr:\n{}",
            server.stderr()
        );
    };
    drop(driver);
    println!("bypass flow took {:?}", started.elapsed());
    for shot in shots {
        println!("artifact: {}", shot.display());
    }
}

// ---------------------------------------------------------------------------
// The status page (`GET /maintenance-mode/`) in a real browser.

/// The status page's path.
const STATUS_PAGE: &str = "/maintenance-mode/";
/// A reason with markup and an ampersand: the page must show it literally.
const REASON: &str = "Database upgrade <b>v17</b> & reindex";
/// What the status page's "Last change" says after a switch made there.
const CHANGED_HERE: &str = "by admin via route";
/// Width of the screenshot of the status page in `docs/`.
const DOCS_WIDTH: u32 = 760;

/// Waits (polling, at most [`STEP_LIMIT`]) until the browser shows the
/// status page, loaded, with maintenance `state` (`on` / `off`) in its
/// title; a navigation still under way is waited out. Returns the page's text.
async fn wait_for_status_page(browser: &Client, state: &str) -> String {
    let want_title = format!("Maintenance mode: {state}");
    let started = Instant::now();
    let mut last = json!(null);
    loop {
        // During a navigation the script may fail: then ask again.
        if let Ok(seen) = browser
            .execute(
                "return [location.pathname, document.readyState, document.title];",
                vec![],
            )
            .await
        {
            if seen == json!([STATUS_PAGE, "complete", want_title]) {
                break;
            }
            last = seen;
        }
        assert!(
            started.elapsed() < STEP_LIMIT,
            "the status page with maintenance {state}: not seen within {STEP_LIMIT:?}; \
             [path, readyState, title] = {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let state_badge = find(browser, "main .state")
        .await
        .text()
        .await
        .expect("state");
    assert_eq!(state_badge, state, "the state badge of the status page");
    assert_eq!(
        document_status(browser).await,
        json!(200),
        "the status page is not a 200"
    );
    visible_text(browser).await
}

/// The bypass links shown on the page (the notice after a switch made with
/// `with_secret`), as `href`s.
async fn bypass_links_shown(browser: &Client) -> Vec<String> {
    let links = browser
        .find_all(Locator::Css("main a[href*='/maintenance-mode/bypass/']"))
        .await
        .expect("find links");
    let mut hrefs = Vec::new();
    for link in links {
        hrefs.push(
            link.attr("href")
                .await
                .expect("href")
                .expect("a link with an href"),
        );
    }
    hrefs
}

/// `fetch('/api/items', {method: 'POST'})` from the page: the status of a
/// write made by this browser (with its cookies).
async fn post_item_status(browser: &Client) -> serde_json::Value {
    browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch('/api/items', {method: 'POST', credentials: 'same-origin', \
                                  headers: {'Content-Type': 'application/json'}, body: '{}'}) \
               .then(reply => done(reply.status), error => done(String(error)));",
            vec![],
        )
        .await
        .expect("fetch POST /api/items")
}

/// A screenshot of the whole status page at [`DOCS_WIDTH`] (the window sized
/// to the page), saved as `e2e-status-page.png` and, when
/// `MAINT_DOCS_SCREENSHOT=1`, copied to `docs/status-page.png` at the
/// workspace root. The window is put back to its size afterwards.
async fn docs_screenshot(browser: &Client) -> PathBuf {
    let (width, height) = browser.get_window_size().await.expect("window size");
    // A short window first: then the document's height is the page's own.
    browser
        .set_window_size(DOCS_WIDTH, 400)
        .await
        .expect("resize the window");
    let measured = browser
        .execute(
            "return [document.documentElement.scrollHeight, window.innerHeight];",
            vec![],
        )
        .await
        .expect("page and viewport heights");
    let [page_height, viewport_height] = [0, 1].map(|i| {
        measured[i]
            .as_u64()
            .and_then(|pixels| u32::try_from(pixels).ok())
            .unwrap_or_else(|| panic!("not heights in pixels: {measured}"))
    });
    // The window is taller than its viewport by the browser's own frame.
    let frame = 400u32.saturating_sub(viewport_height);
    browser
        .set_window_size(DOCS_WIDTH, page_height + frame)
        .await
        .expect("resize the window");
    let fits = browser
        .execute(
            "return document.documentElement.scrollHeight <= window.innerHeight;",
            vec![],
        )
        .await
        .expect("page and viewport heights");
    assert_eq!(fits, json!(true), "the window does not fit the page");
    let shot = screenshot(browser, "e2e-status-page.png").await;
    browser
        .set_window_size(
            u32::try_from(width).expect("a sane width"),
            u32::try_from(height).expect("a sane height"),
        )
        .await
        .expect("restore the window size");
    if std::env::var("MAINT_DOCS_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace root")
            .join("docs");
        std::fs::create_dir_all(&docs).expect("create docs/");
        let copy = docs.join("status-page.png");
        std::fs::copy(&shot, &copy).expect("copy the screenshot to docs/");
        println!("docs screenshot: {}", copy.display());
    }
    shot
}

/// The status page flow: profile 1 (admin) switches on from the page with a
/// reason, read-only mode, a window and a bypass link; profile 2 follows the
/// link; profile 1 switches off from the page.
async fn status_page_flow(
    first: &Client,
    driver: &ChromeDriver,
    fresh: &Path,
    site: &Site,
    server: &Server,
) -> Vec<PathBuf> {
    let mut shots = Vec::new();

    // Profile 1 logs in as admin and opens the status page: off.
    log_in_as_admin(first, server).await;
    open(first, server, STATUS_PAGE).await;
    let page = wait_for_status_page(first, "off").await;
    assert!(
        page.contains("Switch maintenance on"),
        "no way to switch on: {page}"
    );
    assert!(
        first
            .find_all(Locator::Css("form input[name=state][value=off]"))
            .await
            .expect("find the off form")
            .is_empty(),
        "an off form while maintenance is off: {page}"
    );
    assert!(
        bypass_links_shown(first).await.is_empty(),
        "a bypass link before any: {page}"
    );
    shots.push(screenshot(first, "e2e-status-1-off.png").await);

    // The on form: reason, a 30-minute window, read-only mode, a bypass link.
    let on_form = "main form[method=post]:has(input[type=hidden][name=state][value=on])";
    let token = find(first, &format!("{on_form} input[name=csrf_token]")).await;
    assert_eq!(
        token.attr("type").await.expect("type").as_deref(),
        Some("hidden")
    );
    assert!(
        !token.is_displayed().await.expect("displayed"),
        "the token is visible"
    );
    for (name, text) in [("reason", REASON), ("for", "30m")] {
        let field = find(first, &format!("{on_form} input[type=text][name={name}]")).await;
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type the {name}: {e}"));
        assert_eq!(
            field.prop("value").await.expect("value").as_deref(),
            Some(text),
            "the {name} field does not hold what was typed"
        );
    }
    for name in ["read_only", "with_secret"] {
        let checkbox = find(
            first,
            &format!("{on_form} input[type=checkbox][name={name}]"),
        )
        .await;
        assert!(
            !checkbox.is_selected().await.expect("selected"),
            "{name} is ticked before a click"
        );
        checkbox
            .click()
            .await
            .unwrap_or_else(|e| panic!("tick {name}: {e}"));
        assert!(
            checkbox.is_selected().await.expect("selected"),
            "{name} is not ticked after a click"
        );
    }
    shots.push(screenshot(first, "e2e-status-2-on-form-filled.png").await);
    find(first, &format!("{on_form} button[type=submit]"))
        .await
        .click()
        .await
        .expect("click Switch maintenance on");

    // The 303 back to the page: on, read-only, the reason as text, the
    // window, who switched it, and the bypass link, once.
    let page = wait_for_status_page(first, "on").await;
    assert!(page.contains("Read-only mode"), "not read-only: {page}");
    assert!(
        page.contains(REASON),
        "the reason is not shown literally ({REASON:?}): {page}"
    );
    assert!(
        first
            .find_all(Locator::Css("main b"))
            .await
            .expect("find b elements")
            .is_empty(),
        "the reason's markup became a <b> element: {page}"
    );
    assert!(page.contains("until "), "no end of the window: {page}");
    assert!(
        page.contains(CHANGED_HERE),
        "the last change is not {CHANGED_HERE:?}: {page}"
    );
    let links = bypass_links_shown(first).await;
    let [link] = links.as_slice() else {
        panic!("not one bypass link on the page after switching on with one: {links:?}; {page}");
    };
    let token = link
        .strip_prefix("/maintenance-mode/bypass/")
        .unwrap_or_else(|| panic!("not a relative bypass link: {link:?}"));
    assert!(
        token.len() == 32
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "not a 32-character URL-safe token: {token:?}"
    );
    assert!(
        page.contains(link.as_str()),
        "the link is not shown as text: {page}"
    );
    shots.push(screenshot(first, "e2e-status-3-on-with-bypass-link.png").await);

    // What the page did, as the command sees it.
    server.await_maintenance(true);
    let run = site.command(&["status", "--json"]);
    run.assert_success();
    let status: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("status --json: {e}: {run:?}"));
    assert_eq!(status["maintenance"], json!(true), "{status}");
    assert_eq!(status["read_only"], json!(true), "{status}");
    assert_eq!(status["reason"], json!(REASON), "{status}");
    assert_eq!(status["changed_by"], json!("admin"), "{status}");
    assert_eq!(status["via"], json!("route"), "{status}");
    assert!(status["end"].is_string(), "no end after for=30m: {status}");
    assert!(
        !run.stdout.contains(token),
        "status --json prints the secret: {}",
        run.stdout
    );

    // A reload: the link was shown once; the page still says a link is set.
    first.refresh().await.expect("reload");
    let page = wait_for_status_page(first, "on").await;
    assert!(
        bypass_links_shown(first).await.is_empty() && !page.contains(token),
        "the bypass link is shown again after a reload: {page}"
    );
    assert!(page.contains("Read-only mode"), "not read-only: {page}");
    assert!(page.contains(REASON), "the reason is gone: {page}");
    assert!(
        page.contains(CHANGED_HERE),
        "the last change is gone: {page}"
    );
    // While on, the on form changes the settings: headed so, and
    // prefilled with what is stored (the reason as typed, read-only mode,
    // the end of the window), keeping the bypass link unless unticked.
    assert!(
        page.contains("Change maintenance settings"),
        "the on form is not the form to change the settings: {page}"
    );
    assert!(
        !page.contains("Switch maintenance on"),
        "still offered to switch on: {page}"
    );
    let reason = find(first, &format!("{on_form} input[type=text][name=reason]")).await;
    assert_eq!(
        reason.prop("value").await.expect("value").as_deref(),
        Some(REASON),
        "the reason is not prefilled literally"
    );
    let end = find(first, &format!("{on_form} input[type=text][name=end]")).await;
    let end = end.prop("value").await.expect("value").unwrap_or_default();
    assert_eq!(
        Some(end.as_str()),
        status["end"].as_str(),
        "the end is not prefilled"
    );
    for (name, ticked) in [
        ("read_only", true),
        ("keep_secret", true),
        ("with_secret", false),
    ] {
        let checkbox = find(
            first,
            &format!("{on_form} input[type=checkbox][name={name}]"),
        )
        .await;
        assert_eq!(
            checkbox.is_selected().await.expect("selected"),
            ticked,
            "{name} ticked"
        );
    }
    let off_form = "main form[method=post]:has(input[type=hidden][name=state][value=off])";
    find(first, off_form).await;
    shots.push(screenshot(first, "e2e-status-4-on-after-reload.png").await);
    shots.push(docs_screenshot(first).await);

    // Profile 2 (a fresh profile): read-only mode serves its GETs and
    // refuses its writes, until it follows the bypass link.
    let second = connect(driver, fresh).await;
    open(&second, server, "/").await;
    assert_home_in_maintenance(&second, "profile 2 before the link").await;
    let page = visible_text(&second).await;
    assert!(
        page.contains("Read-only mode"),
        "profile 2: the home page does not say read-only: {page}"
    );
    assert_eq!(
        post_item_status(&second).await,
        json!(503),
        "profile 2: a write in read-only mode without the link"
    );
    open(&second, server, link).await;
    assert_home_in_maintenance(&second, "profile 2 after the link").await;
    assert_bypass_cookie(&second).await;
    assert_eq!(
        post_item_status(&second).await,
        json!(201),
        "profile 2: a write in read-only mode through the bypass link"
    );
    shots.push(screenshot(&second, "e2e-status-5-profile-2-through-link.png").await);
    let _ = second.close().await;

    // Profile 1 switches off from the page.
    find(first, &format!("{off_form} input[name=csrf_token]")).await;
    find(first, &format!("{off_form} button[type=submit]"))
        .await
        .click()
        .await
        .expect("click Switch maintenance off");
    let page = wait_for_status_page(first, "off").await;
    assert!(
        page.contains(CHANGED_HERE),
        "the last change is not {CHANGED_HERE:?}: {page}"
    );
    assert!(
        first
            .find_all(Locator::Css(off_form))
            .await
            .expect("find the off form")
            .is_empty(),
        "an off form after switching off: {page}"
    );
    server.await_maintenance(false);
    assert_eq!(site.status(), "off", "the off form did not switch off");
    shots.push(screenshot(first, "e2e-status-6-off-again.png").await);
    shots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superuser_runs_maintenance_from_the_status_page_in_a_real_browser() {
    if !browser_available_or_skip() {
        return;
    }
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    // Declared before the driver, so Chromium is gone before the profiles are removed.
    let profiles = [1, 2].map(|n| {
        tempfile::Builder::new()
            .prefix(&format!("maint-e2e-status-chromium-{n}-"))
            .tempdir()
            .expect("profile dir")
    });
    let driver = ChromeDriver::start();

    let started = Instant::now();
    let session = async {
        let first = connect(&driver, profiles[0].path()).await;
        let shots = status_page_flow(&first, &driver, profiles[1].path(), &site, &server).await;
        let _ = first.close().await;
        shots
    };
    let Ok(shots) = tokio::time::timeout(TEST_LIMIT, session).await else {
        panic!(
            "the browser session did not finish within {TEST_LIMIT:?}; server stderr:\n{}",
            server.stderr()
        );
    };
    drop(driver);
    println!("status page flow took {:?}", started.elapsed());
    for shot in shots {
        println!("artifact: {}", shot.display());
    }
}
