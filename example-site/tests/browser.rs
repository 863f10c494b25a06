//! End-to-end in a real browser: headless Debian Chromium, driven over
//! WebDriver by Debian's chromedriver, uses the real `example-site` as a
//! person would: logs in through the form, opens the toggle page, switches
//! maintenance on with its button, and meets the maintenance page. A second
//! test follows the bypass link of `maintenance_mode on --with-secret`: the
//! browser that opened it sees the home page during maintenance, a fresh
//! profile sees the maintenance page, and a new secret shuts the first out.
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

/// The flow a person follows, in Chromium.
async fn flow(browser: &Client, site: &Site, server: &Server) -> Vec<PathBuf> {
    let mut shots = Vec::new();

    // Log in as admin through the login form.
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
