//! End-to-end: what an operator sees and records (issue 12), as the contract
//! describes it in "Status page, status JSON, audit": the superusers' status
//! page `GET /maintenance-mode/` and its forms, the public status JSON
//! `GET /maintenance-mode/status`, `status --json`, the record of every
//! change (who, when, how) shown by `status`, `status --json` and the page,
//! the server's one log line per change, and the example site's background
//! ticker that pauses during maintenance.

use std::{
    collections::BTreeSet,
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use maint_actix::state::parse_iso8601;
use maint_test_support::{
    login::attribute,
    poll::poll_every,
    process::{Run, run_bounded},
    redis,
    site::{COMMAND_TIMEOUT, Client, POLL_LIMIT, Reply, Server, Site, toml_string},
};
use serde_json::{Value, json};

use crate::EXAMPLE_SITE;

/// The superusers' status page.
const STATUS_PAGE: &str = "/maintenance-mode/";
/// The public status JSON.
const STATUS_JSON: &str = "/maintenance-mode/status";
/// Where a bypass link points (then the token).
const BYPASS_PREFIX: &str = "/maintenance-mode/bypass/";
/// What the tests put in `USER` / `LOGNAME` when running the command: the
/// command must record the process's account, not these variables.
const OPERATOR: &str = "e2e-operator";
/// What the server's log line of a change says.
const CHANGED: &str = "maintenance state changed";
/// A valid bypass token (33 characters of the URL-safe alphabet).
const TOKEN: &str = "e2e-Operator_token-0123456789abcd";
/// A reason that HTML must escape.
const REASON: &str = "DB <upgrade> & \"more\"";
/// The keys of `status --json`: exactly the contract's eight (whether a
/// bypass secret is set is said by the plain `status` line and the page).
const STATUS_JSON_KEYS: [&str; 8] = [
    "maintenance",
    "read_only",
    "start",
    "end",
    "reason",
    "changed_at",
    "changed_by",
    "via",
];
/// What the plain `status` line says when a bypass secret is set.
const SECRET_SET: &str = "bypass link set";
/// The keys of the public status JSON, exactly.
const PUBLIC_JSON_KEYS: [&str; 4] = ["maintenance", "read_only", "end", "reason"];
/// The background ticker's lines.
const TICK: &str = "background ticker: tick ";
const PAUSED: &str = "background ticker paused for maintenance";
const RESUMED: &str = "background ticker resumed";

// ------------------------------------------------------------------ helpers

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit")
}

/// An ISO 8601 text, in Unix seconds.
#[track_caller]
fn seconds(iso: &str) -> i64 {
    parse_iso8601(iso)
        .unwrap_or_else(|e| panic!("not ISO 8601 ({e}): {iso:?}"))
        .as_second()
}

/// Asserts that `text` shows the time `iso` (to the second: a page may
/// round what `status --json` gives with its fraction).
#[track_caller]
fn assert_shows_time(text: &str, iso: &str, what: &str) {
    let wanted = seconds(iso);
    let shown = text
        .split_whitespace()
        .map(|word| word.trim_matches(|c: char| "()[],;".contains(c)))
        .filter_map(|word| parse_iso8601(word).ok())
        .any(|time| (time.as_second() - wanted).abs() <= 1);
    assert!(shown, "{what} ({iso}) is not shown: {text}");
}

/// The host name the command records (as the kernel says it), when readable.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// The account the command runs as (see [`account_name`]).
static ACCOUNT: std::sync::LazyLock<String> = std::sync::LazyLock::new(account_name);

/// The account name of this process's user, as `id -un` says it.
fn account_name() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// Who the command says made a change: the account (whatever `USER` says) at the host.
#[track_caller]
fn assert_operator(by: &Value) {
    let by = by
        .as_str()
        .unwrap_or_else(|| panic!("changed_by is not a string: {by}"));
    let (user, host) = by
        .split_once('@')
        .unwrap_or_else(|| panic!("changed_by is not user@host: {by:?}"));
    assert_eq!(user, *ACCOUNT, "{by:?}");
    assert_ne!(user, OPERATOR, "the account, not $USER: {by:?}");
    match host_name() {
        Some(name) => assert_eq!(host, name, "{by:?}"),
        None => assert!(!host.is_empty(), "{by:?}"),
    }
}

/// `maintenance_mode ARGS...` with `USER` set to [`OPERATOR`], which must succeed.
#[track_caller]
fn as_operator(site: &Site, args: &[&str]) -> Run {
    let run = site.command_with_env(args, &[("USER", OPERATOR), ("LOGNAME", OPERATOR)]);
    run.assert_success();
    run
}

/// `maintenance_mode status --json`: one line, one object, the keys of
/// [`STATUS_JSON_KEYS`] with their types.
#[track_caller]
fn status_json(site: &Site) -> Value {
    let run = site.command(&["status", "--json"]);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    let value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {run:?}"));
    assert_status_json_shape(&value);
    value
}

/// `maintenance_mode status`: its one line, which must succeed.
#[track_caller]
fn status_line(site: &Site) -> String {
    let run = site.command(&["status"]);
    run.assert_success();
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    run.stdout.trim_end().to_owned()
}

/// The keys and types of `status --json`.
#[track_caller]
fn assert_status_json_shape(value: &Value) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(STATUS_JSON_KEYS), "{value}");
    for key in ["maintenance", "read_only"] {
        assert!(value[key].is_boolean(), "{key} is not a bool: {value}");
    }
    for key in ["start", "end", "changed_at"] {
        match &value[key] {
            Value::Null => {}
            Value::String(iso) => {
                seconds(iso);
            }
            other => panic!("{key} is neither ISO nor null: {other} in {value}"),
        }
    }
    for key in ["reason", "changed_by"] {
        assert!(
            value[key].is_null() || value[key].is_string(),
            "{key} is neither text nor null: {value}"
        );
    }
    assert!(
        [json!(null), json!("command"), json!("route"), json!("api")].contains(&value["via"]),
        "via: {value}"
    );
    assert_eq!(
        value["changed_at"].is_null(),
        value["changed_by"].is_null(),
        "{value}"
    );
    assert_eq!(
        value["changed_at"].is_null(),
        value["via"].is_null(),
        "{value}"
    );
}

/// `GET /maintenance-mode/status` by `client`: 200, `no-store`, JSON with
/// exactly [`PUBLIC_JSON_KEYS`].
#[track_caller]
fn public_status(client: &mut Client) -> Value {
    let reply = client.get(STATUS_JSON);
    reply
        .assert_status(200)
        .assert_content_type("application/json");
    let cache_control = reply.header("cache-control").unwrap_or("");
    assert!(
        cache_control
            .split(',')
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-store")),
        "Cache-Control lacks no-store: {reply:?}"
    );
    let value = reply.json();
    let keys: BTreeSet<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {reply:?}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(PUBLIC_JSON_KEYS), "{reply:?}");
    assert!(value["maintenance"].is_boolean(), "{reply:?}");
    assert!(value["read_only"].is_boolean(), "{reply:?}");
    assert!(
        value["reason"].is_null() || value["reason"].is_string(),
        "{reply:?}"
    );
    if let Some(end) = value["end"].as_str() {
        seconds(end);
    } else {
        assert!(value["end"].is_null(), "{reply:?}");
    }
    value
}

/// Polls until `condition` holds, at most [`POLL_LIMIT`].
#[track_caller]
fn eventually(what: &str, condition: impl FnMut() -> bool) {
    poll_every(Duration::from_millis(20), POLL_LIMIT, condition)
        .unwrap_or_else(|| panic!("{what}: not within {POLL_LIMIT:?}"));
}

/// Waits until the public status JSON says maintenance is `on`.
#[track_caller]
fn await_public(server: &Server, on: bool) {
    eventually("the public status follows the state", || {
        public_status(&mut server.client())["maintenance"] == json!(on)
    });
}

/// `html` as text: tags are spaces, the usual entities decoded, whitespace collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `html` with the usual entities decoded (as a browser reads an attribute).
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&amp;", "&")
}

/// What the status page says about the state: its text before the first form.
fn status_part(page: &Reply) -> String {
    let html = &page.body;
    let cut = html.find("<form").unwrap_or(html.len());
    // Without the head (title, styles).
    let start = html.find("<body").unwrap_or(0);
    text_of(&html[start..cut.max(start)])
}

/// The state the page shows: each `on` / `off` word following the word
/// `Maintenance` in [`status_part`].
#[track_caller]
fn shown_state(page: &Reply) -> &'static str {
    let text = status_part(page);
    let words: Vec<&str> = text.split_whitespace().collect();
    let shown: BTreeSet<&str> = words
        .windows(2)
        .filter(|pair| pair[0] == "Maintenance")
        .filter_map(|pair| match pair[1] {
            "on" => Some("on"),
            "off" => Some("off"),
            _ => None,
        })
        .collect();
    match shown.into_iter().collect::<Vec<_>>()[..] {
        [state] => state,
        _ => panic!("the page shows no single state: {text}"),
    }
}

/// A form of a page: its `method`, `action` and fields.
#[derive(Debug, Clone)]
struct Form {
    method: String,
    action: Option<String>,
    fields: Vec<Field>,
}

/// An `<input>` (or `<textarea>`, `<select>`) of a form.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: String,
    /// As written in the page (HTML-escaped).
    value: Option<String>,
    /// A checkbox ticked by the page (`checked`).
    checked: bool,
}

impl Form {
    fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The value of the hidden input `name`.
    fn hidden(&self, name: &str) -> Option<&str> {
        self.field(name)
            .filter(|field| field.kind == "hidden")
            .and_then(|field| field.value.as_deref())
    }

    /// The hidden inputs, as a browser posts them.
    fn hidden_fields(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter(|field| field.kind == "hidden")
            .map(|field| (field.name.clone(), field.value.clone().unwrap_or_default()))
            .collect()
    }
}

/// The forms of `html`.
fn forms(html: &str) -> Vec<Form> {
    html.split("<form")
        .skip(1)
        .map(|chunk| {
            let open = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
            let body = &chunk[..chunk.find("</form>").unwrap_or(chunk.len())];
            let fields = body
                .split('<')
                .filter(|tag| {
                    ["input", "textarea", "select"]
                        .iter()
                        .any(|name| tag.starts_with(name))
                })
                .filter_map(|tag| {
                    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
                    Some(Field {
                        name: attribute(tag, "name")?,
                        kind: attribute(tag, "type").unwrap_or_else(|| {
                            tag.split_whitespace().next().unwrap_or("").to_owned()
                        }),
                        value: attribute(tag, "value"),
                        checked: tag
                            .trim_end_matches('/')
                            .split_whitespace()
                            .any(|word| word == "checked" || word.starts_with("checked=")),
                    })
                })
                .collect();
            Form {
                method: attribute(open, "method").unwrap_or_default(),
                action: attribute(open, "action"),
                fields,
            }
        })
        .collect()
}

/// The status page's two forms, `(on, off)`, checked against the contract:
/// `method="post"` to the page itself, a hidden `csrf_token`; the on form
/// has `reason`, `end` or `for`, `read_only` and `with_secret`. The off form
/// is there only while maintenance is stored.
#[track_caller]
fn status_forms(page: &Reply) -> (Form, Option<Form>) {
    let all = forms(&page.body);
    for form in &all {
        assert!(
            form.method.eq_ignore_ascii_case("post"),
            "a form that does not post: {form:?}"
        );
        assert!(
            matches!(form.action.as_deref(), None | Some("" | STATUS_PAGE)),
            "a form that posts elsewhere: {form:?}"
        );
        let token = form
            .hidden("csrf_token")
            .unwrap_or_else(|| panic!("a form without a hidden csrf_token: {form:?}"));
        assert!(!token.is_empty(), "{form:?}");
    }
    let is_on_form = |form: &&Form| form.field("reason").is_some();
    let on = all
        .iter()
        .find(is_on_form)
        .cloned()
        .unwrap_or_else(|| panic!("no form to switch on: {page:?}"));
    assert!(
        on.field("end").is_some() || on.field("for").is_some(),
        "the on form has neither end nor for: {on:?}"
    );
    for checkbox in ["read_only", "with_secret"] {
        let field = on
            .field(checkbox)
            .unwrap_or_else(|| panic!("the on form lacks {checkbox}: {on:?}"));
        assert_eq!(field.kind, "checkbox", "{field:?}");
    }
    let off = all.iter().find(|form| !is_on_form(form)).cloned();
    (on, off)
}

/// Posts `form` as a browser would: its hidden inputs and `fields`
/// (checkboxes ticked with their `value`).
fn submit(client: &mut Client, form: &Form, fields: &[(&str, &str)]) -> Reply {
    let mut posted = form.hidden_fields();
    for (name, value) in fields {
        let value = match form.field(name) {
            Some(field) if field.kind == "checkbox" => {
                field.value.clone().unwrap_or_else(|| "on".to_owned())
            }
            _ => (*value).to_owned(),
        };
        posted.push(((*name).to_owned(), value));
    }
    let pairs: Vec<(&str, &str)> = posted
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let action = match form.action.as_deref() {
        None | Some("") => STATUS_PAGE,
        Some(action) => action,
    };
    client.post(action, &pairs)
}

/// Posts `form` as a browser does after the user's edits: every hidden and
/// text input with its value as the page filled it in (decoded), or the one
/// `texts` gives; and the checkboxes ticked, as the page ticked them or as
/// `ticks` says (an unticked box is not posted).
fn submit_as_browser(
    client: &mut Client,
    form: &Form,
    texts: &[(&str, &str)],
    ticks: &[(&str, bool)],
) -> Reply {
    for (name, _) in texts {
        assert!(form.field(name).is_some(), "no {name} in {form:?}");
    }
    for (name, _) in ticks {
        assert!(
            form.field(name)
                .is_some_and(|field| field.kind == "checkbox"),
            "no checkbox {name} in {form:?}"
        );
    }
    let mut posted: Vec<(String, String)> = Vec::new();
    for field in &form.fields {
        let value = match field.kind.as_str() {
            "checkbox" => {
                let ticked = ticks
                    .iter()
                    .find(|(name, _)| *name == field.name)
                    .map_or(field.checked, |&(_, ticked)| ticked);
                ticked.then(|| unescape(field.value.as_deref().unwrap_or("on")))
            }
            _ => Some(
                texts
                    .iter()
                    .find(|(name, _)| *name == field.name)
                    .map_or_else(
                        || unescape(field.value.as_deref().unwrap_or("")),
                        |&(_, text)| text.to_owned(),
                    ),
            ),
        };
        if let Some(value) = value {
            posted.push((field.name.clone(), value));
        }
    }
    let pairs: Vec<(&str, &str)> = posted
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let action = match form.action.as_deref() {
        None | Some("") => STATUS_PAGE,
        Some(action) => action,
    };
    client.post(action, &pairs)
}

/// The admin's status page: 200, HTML, never cached.
#[track_caller]
fn status_page(admin: &mut Client) -> Reply {
    let page = admin.get(STATUS_PAGE);
    page.assert_status(200).assert_content_type("text/html");
    assert!(
        page.header("cache-control")
            .is_some_and(|value| value.contains("no-store")),
        "the status page may be cached: {page:?}"
    );
    page
}

/// The bypass tokens the page links to.
fn bypass_tokens(page: &Reply) -> BTreeSet<String> {
    page.body
        .match_indices(BYPASS_PREFIX)
        .map(|(at, _)| {
            page.body[at + BYPASS_PREFIX.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

/// The server's log lines of changes.
fn changes_logged(server: &Server) -> Vec<String> {
    server
        .stderr()
        .lines()
        .filter(|line| line.contains(CHANGED))
        .map(str::to_owned)
        .collect()
}

/// Waits until `server` has logged `count` changes, then a little longer to
/// see that no more come; returns them.
#[track_caller]
fn await_changes_logged(server: &Server, count: usize) -> Vec<String> {
    poll_every(Duration::from_millis(10), POLL_LIMIT, || {
        changes_logged(server).len() >= count
    })
    .unwrap_or_else(|| {
        panic!(
            "the server did not log {count} changes; stderr:\n{}",
            server.stderr()
        )
    });
    thread::sleep(Duration::from_millis(300));
    let lines = changes_logged(server);
    assert_eq!(
        lines.len(),
        count,
        "one line per change; stderr:\n{}",
        server.stderr()
    );
    lines
}

/// Waits until the server's log contains `needle`.
#[track_caller]
fn await_log(server: &Server, needle: &str, limit: Duration) {
    poll_every(Duration::from_millis(10), limit, || {
        server.stderr().contains(needle)
    })
    .unwrap_or_else(|| {
        panic!(
            "the server did not log {needle:?} within {limit:?}; stderr:\n{}",
            server.stderr()
        )
    });
}

/// The numbers of the ticker's `tick N` lines in `log`.
fn ticks(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|line| line.split_once(TICK))
        .map(|(_, n)| n.trim().parse().expect("a tick number"))
        .collect()
}

// ------------------------------------------------------------- status page

/// "`GET /maintenance-mode/` (superusers; 403 for anyone else ...)": GET and
/// POST answer 403 to anonymous visitors, users and staff, whatever they
/// post, in and out of maintenance, and nothing changes.
#[test]
fn status_page_is_403_for_anyone_but_a_superuser() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    let page = status_page(&mut admin);
    let (on_form, _) = status_forms(&page);
    let admins_token = on_form.hidden("csrf_token").expect("token").to_owned();

    let mut others = vec![
        ("anonymous", server.client()),
        ("user", server.login("user")),
        ("staff", server.login("staff")),
    ];
    let posts: [&[(&str, &str)]; 3] = [
        &[("state", "on")],
        &[("csrf_token", &admins_token), ("state", "on")],
        &[
            ("csrf_token", &admins_token),
            ("state", "on"),
            ("reason", "x"),
            ("read_only", "on"),
        ],
    ];
    for (who, client) in &mut others {
        let reply = client.get(STATUS_PAGE);
        assert_eq!(reply.status, 403, "{who}: {reply:?}");
        assert!(!reply.body.contains("csrf_token"), "{who}: {reply:?}");
        for fields in posts {
            let reply = client.post(STATUS_PAGE, fields);
            assert_eq!(reply.status, 403, "{who} posting {fields:?}: {reply:?}");
        }
    }
    assert_eq!(site.state_bytes(), None, "nothing was stored");
    assert_eq!(status_json(&site)["maintenance"], json!(false));

    // During maintenance they get the 403 too (the page is reachable), and
    // cannot switch it off.
    site.switch(true, &server);
    for (who, client) in &mut others {
        let reply = client.get(STATUS_PAGE);
        assert_eq!(reply.status, 403, "{who} during maintenance: {reply:?}");
        let reply = client.post(
            STATUS_PAGE,
            &[("csrf_token", &admins_token), ("state", "off")],
        );
        assert_eq!(reply.status, 403, "{who} during maintenance: {reply:?}");
    }
    assert_eq!(status_json(&site)["maintenance"], json!(true));
    assert!(server.anonymous_sees_maintenance());
}

/// "HTML showing the state (`on`/`off`), read-only, reason, window, and who
/// changed it, when and how", "reachable during maintenance", the reason
/// HTML-escaped; the secret is said to be set, never shown.
#[test]
fn status_page_shows_the_state_and_its_last_change_also_during_maintenance() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");

    let page = status_page(&mut admin);
    assert_eq!(shown_state(&page), "off", "{page:?}");
    let (_, off_form) = status_forms(&page);
    assert!(off_form.is_none(), "nothing to switch off: {page:?}");

    as_operator(
        &site,
        &[
            "on",
            "--reason",
            REASON,
            "--for",
            "2h",
            "--read-only",
            "--secret",
            TOKEN,
        ],
    );
    server.await_maintenance(true);
    let stored = status_json(&site);

    let page = status_page(&mut admin);
    assert_eq!(shown_state(&page), "on", "{page:?}");
    let text = status_part(&page);
    assert!(text.contains("Read-only"), "read-only is not shown: {text}");
    assert!(text.contains(REASON), "the reason is not shown: {text}");
    assert!(
        !page.body.contains("<upgrade>") && page.body.contains("&lt;upgrade&gt;"),
        "the reason is not HTML-escaped: {page:?}"
    );
    let end = stored["end"].as_str().expect("an end");
    assert!(
        text.contains(end),
        "the window's end {end} is not shown: {text}"
    );
    assert_shows_time(
        &text,
        stored["changed_at"].as_str().expect("changed_at"),
        "when",
    );
    for (what, value) in [("who", &stored["changed_by"]), ("how", &stored["via"])] {
        let value = value.as_str().unwrap_or_else(|| panic!("{what}: {stored}"));
        assert!(
            text.contains(value),
            "{what} ({value}) is not shown: {text}"
        );
    }
    assert!(text.contains(ACCOUNT.as_str()), "{text}");
    assert!(text.contains("command"), "{text}");
    assert!(
        text.contains("Bypass link set"),
        "the page does not say a secret is set: {text}"
    );
    assert!(!page.body.contains(TOKEN), "the secret is shown: {page:?}");
    let line = status_line(&site);
    assert!(line.contains(SECRET_SET), "{line}");
    assert!(!line.contains(TOKEN), "{line}");

    // Full maintenance, with a window that has a start: still reachable.
    as_operator(
        &site,
        &[
            "on",
            "--start",
            "2000-01-01T00:00:00Z",
            "--end",
            "2999-01-01T00:00:00Z",
        ],
    );
    eventually("the page shows the new window", || {
        status_part(&status_page(&mut admin)).contains("2999-01-01T00:00:00Z")
    });
    let page = status_page(&mut admin);
    let text = status_part(&page);
    assert_eq!(shown_state(&page), "on", "{page:?}");
    assert!(text.contains("2000-01-01T00:00:00Z"), "the start: {text}");
    assert!(!text.contains("Read-only"), "not read-only now: {text}");
    assert!(!text.contains(REASON), "no reason now: {text}");
    server.client().get("/").assert_maintenance();

    // A window that has not started: off now.
    as_operator(
        &site,
        &[
            "on",
            "--start",
            "2998-01-01T00:00:00Z",
            "--end",
            "2999-01-01T00:00:00Z",
        ],
    );
    server.await_maintenance(false);
    let page = status_page(&mut admin);
    assert_eq!(shown_state(&page), "off", "{page:?}");
    assert!(
        status_part(&page).contains("2998-01-01T00:00:00Z"),
        "{page:?}"
    );
}

/// The forms: `method="post"`, hidden `csrf_token`, `reason`, `for`,
/// `read_only`, `with_secret`; "Posting them behaves like the toggle routes
/// (303 to the status page ...)"; "A bypass link made there is shown once
/// on the page after the redirect", and it works in another browser; the off
/// form switches off, during read-only maintenance too.
#[test]
fn status_page_forms_switch_on_with_details_and_off() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    let page = status_page(&mut admin);
    let (on_form, _) = status_forms(&page);

    let reply = submit(
        &mut admin,
        &on_form,
        &[
            ("reason", "Switched from the page"),
            ("for", "2h"),
            ("read_only", "on"),
            ("with_secret", "on"),
        ],
    );
    reply.assert_redirect(303, STATUS_PAGE);
    let posted_at = unix_now();

    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(true), "{stored}");
    assert_eq!(stored["read_only"], json!(true), "{stored}");
    assert_eq!(
        stored["reason"],
        json!("Switched from the page"),
        "{stored}"
    );
    assert_eq!(stored["start"], json!(null), "{stored}");
    assert!(status_line(&site).contains(SECRET_SET), "a secret is set");
    assert_eq!(stored["changed_by"], json!("admin"), "{stored}");
    assert_eq!(stored["via"], json!("route"), "{stored}");
    let end = seconds(stored["end"].as_str().expect("an end"));
    assert!((end - (posted_at + 7200)).abs() <= 5, "{stored}");

    let public = public_status(&mut server.client());
    assert_eq!(
        public,
        json!({
            "maintenance": true,
            "read_only": true,
            "end": stored["end"],
            "reason": "Switched from the page",
        })
    );

    // The link: on the next page only, one token, never again.
    let page = status_page(&mut admin);
    let tokens = bypass_tokens(&page);
    assert_eq!(tokens.len(), 1, "one bypass link: {page:?}");
    let token = tokens.into_iter().next().expect("one token");
    assert_eq!(token.len(), 32, "{token:?}");
    assert_eq!(shown_state(&page), "on", "{page:?}");
    let again = status_page(&mut admin);
    assert!(
        bypass_tokens(&again).is_empty() && !again.body.contains(&token),
        "the bypass link is shown twice: {again:?}"
    );
    let text = status_part(&again);
    assert!(
        text.contains("Switched from the page") && text.contains("Read-only"),
        "{text}"
    );

    // Read-only: writes get the maintenance response, except in the browser
    // that opened the link.
    server
        .client()
        .post("/api/items", &[])
        .assert_maintenance_status(503);
    let mut other = server.client();
    other
        .get(&format!("{BYPASS_PREFIX}{token}"))
        .assert_redirect(302, "/");
    other.post("/api/items", &[]).assert_status(201);

    // Switching off from the page, during (read-only) maintenance.
    let (_, off_form) = status_forms(&again);
    let off_form = off_form.unwrap_or_else(|| panic!("no off form: {again:?}"));
    assert_eq!(off_form.hidden("state"), Some("off"), "{off_form:?}");
    submit(&mut admin, &off_form, &[]).assert_redirect(303, STATUS_PAGE);
    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(false), "{stored}");
    assert_eq!(stored["changed_by"], json!("admin"), "{stored}");
    assert_eq!(stored["via"], json!("route"), "{stored}");
    assert_eq!(
        public_status(&mut server.client()),
        json!({"maintenance": false, "read_only": false, "end": null, "reason": null})
    );
    server.await_maintenance(false);
    let page = status_page(&mut admin);
    assert_eq!(shown_state(&page), "off", "{page:?}");

    // The end as an ISO date; no read-only, no secret: full maintenance.
    let (on_form, _) = status_forms(&page);
    let reply = submit(&mut admin, &on_form, &[("end", "2999-01-01T00:00:00Z")]);
    reply.assert_redirect(303, STATUS_PAGE);
    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(true), "{stored}");
    assert_eq!(stored["end"], json!("2999-01-01T00:00:00Z"), "{stored}");
    assert_eq!(stored["read_only"], json!(false), "{stored}");
    assert!(!status_line(&site).contains("bypass"), "no secret is set");
    assert_eq!(stored["reason"], json!(null), "{stored}");
    server.await_maintenance(true);
    server.client().get("/").assert_maintenance();
    let page = status_page(&mut admin);
    assert!(
        bypass_tokens(&page).is_empty(),
        "no link was made: {page:?}"
    );
}

/// The on form while maintenance is on: "Change maintenance settings",
/// saying that saving replaces them, prefilled with the stored reason, end
/// and read-only mode, with `keep_secret` ticked when a bypass secret is
/// set. Saving a new reason as a browser posts the form keeps the secret
/// (a browser's bypass cookie and the bypass header keep working) and
/// read-only mode while its box stays ticked; unticking read-only gives full
/// maintenance, secret kept; unticking `keep_secret` drops the secret, and
/// the cookie stops working. The page links back to the site.
#[test]
fn status_page_changes_the_settings_and_keeps_the_secret_only_when_asked() {
    const END: &str = "2999-01-01T00:00:00Z";
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");

    let page = status_page(&mut admin);
    assert!(
        page.body.contains("Switch maintenance on")
            && !page.body.contains("Change maintenance settings"),
        "{page:?}"
    );
    let (on_form, _) = status_forms(&page);
    assert!(on_form.field("keep_secret").is_none(), "{on_form:?}");
    assert!(
        page.body.contains(r#"<a href="/">"#) && text_of(&page.body).contains("Back to the site"),
        "no link back to the site: {page:?}"
    );

    as_operator(
        &site,
        &[
            "on",
            "--reason",
            REASON,
            "--end",
            END,
            "--read-only",
            "--secret",
            TOKEN,
        ],
    );
    await_public(&server, true);
    let mut bypassing = server.client();
    bypassing
        .get(&format!("{BYPASS_PREFIX}{TOKEN}"))
        .assert_redirect(302, "/");
    bypassing.post("/api/items", &[]).assert_status(201);
    server
        .client()
        .post("/api/items", &[])
        .assert_maintenance_status(503);

    // The form, prefilled.
    let page = status_page(&mut admin);
    let text = text_of(&page.body);
    assert!(text.contains("Change maintenance settings"), "{text}");
    assert!(text.contains("Saving replaces the settings"), "{text}");
    let (on_form, off_form) = status_forms(&page);
    assert!(off_form.is_some(), "{page:?}");
    assert_eq!(
        value_of(&on_form, "reason").as_deref(),
        Some(REASON),
        "{on_form:?}"
    );
    assert_eq!(
        value_of(&on_form, "end").as_deref(),
        Some(END),
        "{on_form:?}"
    );
    let ticked = |form: &Form, name: &str| form.field(name).is_some_and(|field| field.checked);
    assert!(ticked(&on_form, "read_only"), "{on_form:?}");
    assert!(ticked(&on_form, "keep_secret"), "{on_form:?}");
    assert!(!ticked(&on_form, "with_secret"), "{on_form:?}");
    assert!(!page.body.contains(TOKEN), "{page:?}");

    // A new reason, the rest as prefilled: read-only and the secret kept.
    submit_as_browser(
        &mut admin,
        &on_form,
        &[("reason", "Longer than planned")],
        &[],
    )
    .assert_redirect(303, STATUS_PAGE);
    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(true), "{stored}");
    assert_eq!(stored["reason"], json!("Longer than planned"), "{stored}");
    assert_eq!(stored["read_only"], json!(true), "{stored}");
    assert_eq!(stored["end"], json!(END), "{stored}");
    assert_eq!(stored["changed_by"], json!("admin"), "{stored}");
    assert_eq!(stored["via"], json!("route"), "{stored}");
    assert!(
        status_line(&site).contains(SECRET_SET),
        "the secret is kept"
    );
    bypassing.post("/api/items", &[]).assert_status(201);
    server
        .client()
        .post_with("/api/items", &[], &[("X-Maintenance-Bypass", TOKEN)])
        .assert_status(201);
    server
        .client()
        .post("/api/items", &[])
        .assert_maintenance_status(503);
    let page = status_page(&mut admin);
    assert!(bypass_tokens(&page).is_empty(), "no new link: {page:?}");
    assert!(status_part(&page).contains("Bypass link set"), "{page:?}");

    // Read-only unticked: full maintenance, the secret kept.
    let (on_form, _) = status_forms(&page);
    assert_eq!(
        value_of(&on_form, "reason").as_deref(),
        Some("Longer than planned")
    );
    submit_as_browser(&mut admin, &on_form, &[], &[("read_only", false)])
        .assert_redirect(303, STATUS_PAGE);
    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(true), "{stored}");
    assert_eq!(stored["read_only"], json!(false), "{stored}");
    assert_eq!(stored["reason"], json!("Longer than planned"), "{stored}");
    assert!(
        status_line(&site).contains(SECRET_SET),
        "the secret is kept"
    );
    server.client().get("/").assert_maintenance();
    bypassing.get("/").assert_served("Home");

    // `keep_secret` unticked: the secret is dropped, the cookie stops working.
    let page = status_page(&mut admin);
    let (on_form, _) = status_forms(&page);
    assert!(ticked(&on_form, "keep_secret"), "{on_form:?}");
    submit_as_browser(&mut admin, &on_form, &[], &[("keep_secret", false)])
        .assert_redirect(303, STATUS_PAGE);
    let line = status_line(&site);
    assert!(!line.contains("bypass"), "the secret is dropped: {line}");
    assert_eq!(status_json(&site)["maintenance"], json!(true));
    bypassing.get("/").assert_maintenance();
    let again = bypassing.get(&format!("{BYPASS_PREFIX}{TOKEN}"));
    assert_ne!(again.status, 302, "the old link still works: {again:?}");
    let page = status_page(&mut admin);
    assert!(status_part(&page).contains("Bypass link none"), "{page:?}");
    let (on_form, _) = status_forms(&page);
    assert!(on_form.field("keep_secret").is_none(), "{on_form:?}");
}

/// The decoded value of the field `name` of `form`.
fn value_of(form: &Form, name: &str) -> Option<String> {
    form.field(name)
        .and_then(|field| field.value.as_deref())
        .map(unescape)
}

/// Refused input: nothing changes, and the page says why once.
#[test]
fn status_page_refuses_bad_input_once_and_changes_nothing() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    for fields in [
        &[("for", "1h"), ("end", "2999-01-01T00:00:00Z")][..],
        &[("for", "soon")],
        &[("end", "yesterday")],
        &[("end", "2000-01-01T00:00:00Z")],
    ] {
        let page = status_page(&mut admin);
        let (on_form, _) = status_forms(&page);
        let clean = status_part(&page);
        submit(&mut admin, &on_form, fields).assert_redirect(303, STATUS_PAGE);
        let told = status_page(&mut admin);
        assert_eq!(shown_state(&told), "off", "{told:?}");
        assert_ne!(
            status_part(&told),
            clean,
            "{fields:?}: the page does not say why: {told:?}"
        );
        assert_eq!(status_part(&status_page(&mut admin)), clean, "told twice");
        assert_eq!(site.state_bytes(), None, "{fields:?} stored a state");
    }
    assert_eq!(status_json(&site)["maintenance"], json!(false));
    assert!(!server.anonymous_sees_maintenance());
}

/// "Posting them behaves like the toggle routes (... 403 without a valid
/// token)": no token, a made-up one, another session's: 403 and nothing changes.
#[test]
fn status_page_post_without_a_valid_token_is_403_and_changes_nothing() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");
    let mut other_admin = server.login("admin");
    let page = status_page(&mut other_admin);
    let (other_form, _) = status_forms(&page);
    let others_token = other_form.hidden("csrf_token").expect("token").to_owned();
    // This session has a token of its own, which is not posted below.
    status_page(&mut admin);

    let made_up = "0".repeat(64);
    let attempts: [&[(&str, &str)]; 4] = [
        &[("state", "on")],
        &[("state", "on"), ("csrf_token", "")],
        &[("state", "on"), ("csrf_token", &made_up)],
        &[("state", "on"), ("csrf_token", &others_token)],
    ];
    for fields in attempts {
        let reply = admin.post(STATUS_PAGE, fields);
        assert_eq!(reply.status, 403, "{fields:?}: {reply:?}");
    }
    assert_eq!(site.state_bytes(), None, "nothing was stored");
    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(false), "{stored}");
    assert_eq!(stored["changed_at"], json!(null), "{stored}");

    // During maintenance: no switching off without the token either.
    site.switch(true, &server);
    let before = status_json(&site);
    for fields in attempts {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|&(name, value)| (name, if name == "state" { "off" } else { value }))
            .collect();
        let reply = admin.post(STATUS_PAGE, &fields);
        assert_eq!(reply.status, 403, "{fields:?}: {reply:?}");
    }
    assert_eq!(status_json(&site), before, "the state changed");
    assert!(server.anonymous_sees_maintenance());
}

// ------------------------------------------------------- public status JSON

/// "`GET /maintenance-mode/status`: anyone, always served, `Cache-Control:
/// no-store`: `{"maintenance", "read_only", "end", "reason"}`; never who
/// changed it, never a secret."
#[test]
fn public_status_json_is_for_anyone_always_and_tells_no_secrets() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut clients = vec![
        server.client(),
        server.login("user"),
        server.login("staff"),
        server.login("admin"),
    ];
    for client in &mut clients {
        assert_eq!(
            public_status(client),
            json!({"maintenance": false, "read_only": false, "end": null, "reason": null})
        );
    }

    as_operator(
        &site,
        &[
            "on",
            "--reason",
            "Database upgrade",
            "--for",
            "1h",
            "--read-only",
            "--secret",
            TOKEN,
        ],
    );
    await_public(&server, true);
    let stored = status_json(&site);
    for client in &mut clients {
        let reply = client.get(STATUS_JSON);
        for secret in [TOKEN, ACCOUNT.as_str(), "command", "changed"] {
            assert!(!reply.body.contains(secret), "{secret:?}: {reply:?}");
        }
        assert_eq!(
            public_status(client),
            json!({
                "maintenance": true,
                "read_only": true,
                "end": stored["end"],
                "reason": "Database upgrade",
            })
        );
    }

    // Full maintenance, and a JSON maintenance response for everything else.
    as_operator(&site, &["on"]);
    eventually("the server sees full maintenance", || {
        public_status(&mut server.client())["read_only"] == json!(false)
    });
    assert_eq!(
        public_status(&mut server.client()),
        json!({"maintenance": true, "read_only": false, "end": null, "reason": null})
    );
    server.client().get("/").assert_maintenance();

    // Even where maintenance answers every other request with a redirect.
    let (_site, server) =
        EXAMPLE_SITE.in_maintenance(r#"redirect_url = "https://status.example.com/""#);
    server
        .client()
        .get("/")
        .assert_redirect(302, "https://status.example.com/");
    assert_eq!(
        public_status(&mut server.client())["maintenance"],
        json!(true)
    );
}

/// "`GET /maintenance-mode/` (... reachable during maintenance)" and the
/// public JSON "always served", also when maintenance answers with a redirect.
#[test]
fn status_page_is_reachable_when_maintenance_redirects() {
    let site = EXAMPLE_SITE.site(r#"redirect_url = "https://status.example.com/""#);
    let server = site.start();
    let mut admin = server.login("admin");
    site.switch(true, &server);
    server
        .client()
        .get("/")
        .assert_redirect(302, "https://status.example.com/");
    let page = status_page(&mut admin);
    assert_eq!(shown_state(&page), "on", "{page:?}");
    let (_, off_form) = status_forms(&page);
    let off_form = off_form.unwrap_or_else(|| panic!("no off form: {page:?}"));
    submit(&mut admin, &off_form, &[]).assert_redirect(303, STATUS_PAGE);
    server.await_maintenance(false);
    assert_eq!(status_json(&site)["via"], json!("route"));
}

// -------------------------------------------------------------- status --json

/// "`status --json` prints one JSON object: `{"maintenance": bool,
/// "read_only": bool, "start": ISO|null, "end": ISO|null, "reason": str|null,
/// "changed_at": ISO|null, "changed_by": str|null, "via": str|null}`": its
/// keys and types off, on, in a window (open or not yet), read-only; the
/// `--json` option is in the command's help.
#[test]
fn status_json_has_the_contract_keys_and_types() {
    let mut help = EXAMPLE_SITE.command();
    help.args(["maintenance_mode", "--help"]);
    let run = run_bounded(help, COMMAND_TIMEOUT);
    run.assert_success();
    assert!(run.stdout.contains("--json"), "{run:?}");

    let site = EXAMPLE_SITE.site("");
    // Nothing stored yet.
    assert_eq!(
        status_json(&site),
        json!({
            "maintenance": false, "read_only": false, "start": null, "end": null,
            "reason": null, "changed_at": null, "changed_by": null, "via": null,
        })
    );

    let before = unix_now();
    as_operator(&site, &["on"]);
    let after = unix_now();
    let on = status_json(&site);
    assert_eq!(on["maintenance"], json!(true), "{on}");
    assert_eq!(on["read_only"], json!(false), "{on}");
    for key in ["start", "end", "reason"] {
        assert_eq!(on[key], json!(null), "{key}: {on}");
    }
    assert_eq!(on["via"], json!("command"), "{on}");
    assert_operator(&on["changed_by"]);
    let at = seconds(on["changed_at"].as_str().expect("changed_at"));
    assert!(
        before <= at && at <= after,
        "changed_at {at} not in [{before}, {after}]"
    );

    // A window, open now, with a reason.
    as_operator(
        &site,
        &[
            "on",
            "--start",
            "2000-01-01T00:00:00Z",
            "--end",
            "2999-01-01T00:00:00Z",
            "--reason",
            "Window",
        ],
    );
    let window = status_json(&site);
    assert_eq!(window["maintenance"], json!(true), "{window}");
    assert_eq!(window["start"], json!("2000-01-01T00:00:00Z"), "{window}");
    assert_eq!(window["end"], json!("2999-01-01T00:00:00Z"), "{window}");
    assert_eq!(window["reason"], json!("Window"), "{window}");

    // A window that has not opened: off now, the window still described.
    as_operator(
        &site,
        &[
            "on",
            "--start",
            "2998-01-01T00:00:00Z",
            "--end",
            "2999-01-01T00:00:00Z",
        ],
    );
    let later = status_json(&site);
    assert_eq!(later["maintenance"], json!(false), "{later}");
    assert_eq!(later["start"], json!("2998-01-01T00:00:00Z"), "{later}");
    assert_eq!(later["via"], json!("command"), "{later}");

    // Read-only, with a bypass secret (said to be set, never printed).
    let run = as_operator(&site, &["on", "--read-only", "--secret", TOKEN]);
    assert!(!run.stdout.contains(TOKEN), "{run:?}");
    let read_only = status_json(&site);
    assert_eq!(read_only["maintenance"], json!(true), "{read_only}");
    assert_eq!(read_only["read_only"], json!(true), "{read_only}");
    let run = site.command(&["status", "--json"]);
    assert!(
        !run.stdout.contains(TOKEN),
        "the secret is printed: {run:?}"
    );
    // Whether a secret is set: said by the plain line, never printed.
    let line = status_line(&site);
    assert!(line.contains(SECRET_SET), "{line}");
    assert!(!line.contains(TOKEN), "{line}");

    // Off again: the change that switched it off is the last one.
    as_operator(&site, &["off"]);
    let off = status_json(&site);
    assert_eq!(off["maintenance"], json!(false), "{off}");
    assert_eq!(off["read_only"], json!(false), "{off}");
    assert_eq!(off["via"], json!("command"), "{off}");
    assert_operator(&off["changed_by"]);
}

/// "`status --json` prints one JSON object" with the contract's keys, also
/// when the state it shows is not a stored one: fixed by `mode`, or none
/// stored (a flushed Redis: `state_backend_fallback_value`). Why is logged
/// (a warning on stderr, shown when `RUST_LOG` lets warnings through: the
/// command logs errors only by default), never added to the object.
#[test]
fn status_json_of_a_fixed_or_missing_state_logs_why_and_prints_the_contract_object() {
    const WARNING: &str = "maintenance_mode status --json shows the fallback state";
    let with_warnings = |site: &Site| {
        let run = site.command_with_env(&["status", "--json"], &[("RUST_LOG", "warn")]);
        run.assert_success();
        assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
        let value: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {run:?}"));
        assert_status_json_shape(&value);
        assert!(run.stderr.contains(WARNING), "why is not logged: {run:?}");
        (value, run.stderr)
    };
    let nothing_changed = |maintenance: bool| {
        json!({
            "maintenance": maintenance, "read_only": false, "start": null, "end": null,
            "reason": null, "changed_at": null, "changed_by": null, "via": null,
        })
    };

    let fixed = EXAMPLE_SITE.site("mode = true");
    fixed.write_state("0");
    assert_eq!(status_json(&fixed), nothing_changed(true));
    let (value, stderr) = with_warnings(&fixed);
    assert_eq!(value, nothing_changed(true));
    assert!(stderr.contains("mode setting"), "{stderr}");

    let Some(redis) = redis::shared("e2e::operator::status_json_missing_key") else {
        return;
    };
    for fallback in [false, true] {
        let site = EXAMPLE_SITE.site(&format!(
            "state_backend = \"redis\"\nredis_url = {}\nredis_key_prefix = {}\nstate_backend_fallback_value = {fallback}",
            toml_string(&redis.url),
            toml_string(&redis.prefix)
        ));
        assert_eq!(site.status(), "unknown", "nothing stored");
        assert_eq!(status_json(&site), nothing_changed(fallback));
        let (value, stderr) = with_warnings(&site);
        assert_eq!(value, nothing_changed(fallback));
        assert!(stderr.contains("no maintenance state"), "{stderr}");
    }
}

// ---------------------------------------------------------------------- audit

/// "Every change records when, by whom (... the OS user and host name for
/// the command) and how (`command` ...); `status`, `status --json` and the
/// status page show the last change."
#[test]
fn a_change_by_the_command_records_user_at_host_and_command() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");

    as_operator(&site, &["on", "--reason", "By hand"]);
    server.await_maintenance(true);
    let stored = status_json(&site);
    assert_eq!(stored["via"], json!("command"), "{stored}");
    assert_operator(&stored["changed_by"]);
    let by = stored["changed_by"].as_str().expect("by");
    let at = stored["changed_at"].as_str().expect("at");

    let run = site.command(&["status"]);
    run.assert_success();
    let line = run.stdout.trim_end();
    assert!(line.starts_with("on ("), "{run:?}");
    let change = line
        .split_once("changed ")
        .unwrap_or_else(|| panic!("status does not show the last change: {run:?}"))
        .1;
    assert_shows_time(change, at, "status: when");
    assert!(
        change.contains(&format!(" by {by} via command")),
        "status does not show who and how: {run:?}"
    );

    let text = status_part(&status_page(&mut admin));
    assert_shows_time(&text, at, "the page: when");
    for shown in [by, "command"] {
        assert!(text.contains(shown), "the page lacks {shown:?}: {text}");
    }

    // A change made on the page replaces it: by the admin, via a route.
    let page = status_page(&mut admin);
    let (_, off_form) = status_forms(&page);
    submit(&mut admin, &off_form.expect("an off form"), &[]).assert_redirect(303, STATUS_PAGE);
    let run = site.command(&["status"]);
    assert!(
        run.stdout.starts_with("off (changed ") && run.stdout.contains(" by admin via route)"),
        "{run:?}"
    );
}

/// "Every change records ... by whom (the superuser's name for routes ...)
/// and how (... `route` ...)": the toggle route and the status page.
#[test]
fn a_change_by_a_route_records_the_superuser_and_route() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let mut admin = server.login("admin");

    let token = admin.toggle_token("/maintenance-mode/on/");
    admin
        .post("/maintenance-mode/on/", &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    let stored = status_json(&site);
    assert_eq!(stored["maintenance"], json!(true), "{stored}");
    assert_eq!(stored["changed_by"], json!("admin"), "{stored}");
    assert_eq!(stored["via"], json!("route"), "{stored}");
    let text = status_part(&status_page(&mut admin));
    assert_shows_time(&text, stored["changed_at"].as_str().expect("at"), "when");
    assert!(text.contains("admin") && text.contains("route"), "{text}");
    let run = site.command(&["status"]);
    assert!(
        run.stdout.contains(" by admin via route"),
        "status does not show the last change: {run:?}"
    );

    let token = admin.toggle_token("/maintenance-mode/off/");
    admin
        .post("/maintenance-mode/off/", &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    let off = status_json(&site);
    assert_eq!(off["maintenance"], json!(false), "{off}");
    assert_eq!(off["changed_by"], json!("admin"), "{off}");
    assert_eq!(off["via"], json!("route"), "{off}");
    assert!(
        seconds(off["changed_at"].as_str().expect("at"))
            >= seconds(stored["changed_at"].as_str().expect("at"))
    );

    let page = status_page(&mut admin);
    let (on_form, _) = status_forms(&page);
    submit(&mut admin, &on_form, &[("reason", "From the page")]).assert_redirect(303, STATUS_PAGE);
    let page_change = status_json(&site);
    assert_eq!(page_change["changed_by"], json!("admin"), "{page_change}");
    assert_eq!(page_change["via"], json!("route"), "{page_change}");
    assert_ne!(page_change["changed_at"], off["changed_at"], "a new change");
}

/// "the server logs every change it sees in one line with the old and new
/// state": a change by the command (another process), by the toggle route
/// and by the status page, each once; and a second server on the same state
/// logs the changes the first one made. (Lines without who made the change
/// are left to `another_instance_logs_each_change_once_and_nothing_else`.)
#[test]
fn every_server_logs_each_change_once_with_the_old_and_new_state() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let other = site.start();
    let mut admin = server.login("admin");
    assert!(changes_logged(&server).is_empty(), "{}", server.stderr());

    as_operator(&site, &["on"]);
    for seen_by in [&server, &other] {
        let lines = await_changes_logged(seen_by, 1);
        let line = &lines[0];
        for part in ["old=off", "new=on", ACCOUNT.as_str(), "command"] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
    }

    let token = admin.toggle_token("/maintenance-mode/off/");
    admin
        .post("/maintenance-mode/off/", &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    for seen_by in [&server, &other] {
        let lines = await_changes_logged(seen_by, 2);
        let line = &lines[1];
        for part in ["old=on", "new=off", "admin", "route"] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
    }

    let page = status_page(&mut admin);
    let (on_form, _) = status_forms(&page);
    submit(&mut admin, &on_form, &[("read_only", "on"), ("for", "1h")])
        .assert_redirect(303, STATUS_PAGE);
    for seen_by in [&server, &other] {
        let lines = await_changes_logged(seen_by, 3);
        let line = &lines[2];
        for part in ["old=off", "new=", "read-only", "admin", "route"] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
    }

    as_operator(&site, &["off"]);
    for seen_by in [&server, &other] {
        let lines = await_changes_logged(seen_by, 4);
        let line = &lines[3];
        for part in ["old=", "read-only", "new=off", ACCOUNT.as_str(), "command"] {
            assert!(line.contains(part), "{part:?} not in {line}");
        }
    }
    // `off` when already off changes nothing, so nothing is logged.
    as_operator(&site, &["off"]);
    for seen_by in [&server, &other] {
        await_changes_logged(seen_by, 4);
    }
}

/// "the server logs every change it sees in one line": another instance on
/// the same state file logs each change made by the first one exactly once,
/// always with who made it, and no line for a change that did not happen.
#[test]
fn another_instance_logs_each_change_once_and_nothing_else() {
    const SWITCHES: usize = 16;
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let other = site.start();
    let mut admin = server.login("admin");
    for switch in 0..SWITCHES {
        let page = status_page(&mut admin);
        let (on_form, off_form) = status_forms(&page);
        let reply = if switch % 2 == 0 {
            submit(
                &mut admin,
                &on_form,
                &[("reason", &format!("switch {switch}"))],
            )
        } else {
            submit(&mut admin, &off_form.expect("an off form"), &[])
        };
        reply.assert_redirect(303, STATUS_PAGE);
        // Long enough for the other instance to see each state.
        thread::sleep(Duration::from_millis(250));
    }
    for seen_by in [&server, &other] {
        let lines = await_changes_logged(seen_by, SWITCHES);
        for line in &lines {
            assert!(
                line.contains("by=\"admin\"") && line.contains("route"),
                "a change without who made it: {line}\nstderr:\n{}",
                seen_by.stderr()
            );
        }
    }
}

/// The record and the log on the `redis` backend: a change by the command
/// (another process) and one by a route on one instance are recorded in
/// Redis (`{prefix}:change`), shown by `status --json` and the other
/// instance's status page, and logged once by every instance.
#[test]
fn changes_are_recorded_and_logged_on_the_redis_backend() {
    let Some(redis) = redis::shared("e2e::operator::redis_audit") else {
        return;
    };
    let site = EXAMPLE_SITE.site(&format!(
        "state_backend = \"redis\"\nredis_url = {}\nredis_key_prefix = {}",
        toml_string(&redis.url),
        toml_string(&redis.prefix)
    ));
    let first = site.start();
    let second = site.start();
    let mut admin_on_first = first.login("admin");
    let mut admin_on_second = second.login("admin");

    as_operator(&site, &["on", "--reason", "Redis day"]);
    let stored = status_json(&site);
    assert_eq!(stored["via"], json!("command"), "{stored}");
    assert_operator(&stored["changed_by"]);
    let record = redis
        .raw
        .get(&format!("{}:change", redis.prefix))
        .unwrap_or_else(|| panic!("no change record under {}:change", redis.prefix));
    assert!(record.contains(ACCOUNT.as_str()), "{record}");
    for server in [&first, &second] {
        let lines = await_changes_logged(server, 1);
        for part in ["old=off", "new=", "Redis day", ACCOUNT.as_str(), "command"] {
            assert!(lines[0].contains(part), "{part:?} not in {}", lines[0]);
        }
    }
    let text = status_part(&status_page(&mut admin_on_second));
    assert!(
        text.contains(stored["changed_by"].as_str().expect("by")),
        "{text}"
    );

    let token = admin_on_first.toggle_token("/maintenance-mode/off/");
    admin_on_first
        .post("/maintenance-mode/off/", &[("csrf_token", &token)])
        .assert_redirect(303, "/");
    let off = status_json(&site);
    assert_eq!(off["maintenance"], json!(false), "{off}");
    assert_eq!(off["changed_by"], json!("admin"), "{off}");
    assert_eq!(off["via"], json!("route"), "{off}");
    for server in [&first, &second] {
        let lines = await_changes_logged(server, 2);
        for part in ["new=off", "admin", "route"] {
            assert!(lines[1].contains(part), "{part:?} not in {}", lines[1]);
        }
    }
    eventually("the other instance's page shows the route's change", || {
        let page = status_page(&mut admin_on_second);
        shown_state(&page) == "off" && status_part(&page).contains("route")
    });
}

/// "the server logs every change it sees in one line": a reason with a line
/// break must not split the line (nor let a reason forge a log line).
#[test]
fn a_change_is_logged_on_one_line_whatever_the_reason() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    as_operator(
        &site,
        &[
            "on",
            "--reason",
            "line one\nINFO forged: maintenance state changed",
        ],
    );
    await_log(&server, CHANGED, POLL_LIMIT);
    thread::sleep(Duration::from_millis(300));
    let log = server.stderr();
    let lines = changes_logged(&server);
    assert_eq!(lines.len(), 1, "one line for one change:\n{log}");
    assert!(
        lines[0].contains("line one") && lines[0].contains("forged"),
        "the reason is cut:\n{log}"
    );
}

// ---------------------------------------------------------- background ticker

/// The example site's background ticker ("pause background jobs during
/// maintenance"): it ticks while maintenance is off, logs that it is paused
/// when maintenance comes on (by the command, from another process), does
/// not tick meanwhile, and logs that it resumed when maintenance ends,
/// switched off or at the end of its window.
#[test]
fn background_ticker_pauses_during_maintenance_and_resumes_after() {
    let site = EXAMPLE_SITE.site("[site]\nticker_seconds = 1");
    let server = site.start();
    await_log(&server, &format!("{TICK}1"), Duration::from_secs(5));

    as_operator(&site, &["on"]);
    await_log(&server, PAUSED, POLL_LIMIT);
    let log = server.stderr();
    let paused_at = log.find(PAUSED).expect("paused");
    let ticks_before = ticks(&log);
    thread::sleep(Duration::from_millis(2500));
    let log = server.stderr();
    assert_eq!(
        ticks(&log[paused_at..]),
        Vec::<u64>::new(),
        "ticked during maintenance:\n{log}"
    );
    assert_eq!(log.matches(PAUSED).count(), 1, "{log}");
    assert!(!log.contains(RESUMED), "{log}");

    as_operator(&site, &["off"]);
    await_log(&server, RESUMED, POLL_LIMIT);
    let last = *ticks_before.last().expect("ticked before");
    await_log(
        &server,
        &format!("{TICK}{}", last + 1),
        Duration::from_secs(5),
    );
    let log = server.stderr();
    assert!(
        log.find(RESUMED).expect("resumed") > paused_at,
        "resumed before paused:\n{log}"
    );

    // A window ends by the clock: the ticker resumes by itself.
    as_operator(&site, &["on", "--for", "2s"]);
    poll_every(Duration::from_millis(10), POLL_LIMIT, || {
        server.stderr().matches(PAUSED).count() == 2
    })
    .unwrap_or_else(|| panic!("not paused again:\n{}", server.stderr()));
    poll_every(Duration::from_millis(10), Duration::from_secs(8), || {
        server.stderr().matches(RESUMED).count() == 2
    })
    .unwrap_or_else(|| panic!("not resumed at the window's end:\n{}", server.stderr()));
}

/// The ticker's default is quiet (at most one tick per 10 s) and still
/// pauses; a starting maintenance pauses it at once; `ticker_seconds = 0` is
/// a config error.
#[test]
fn background_ticker_is_quiet_by_default_and_pauses_from_the_start() {
    let site = EXAMPLE_SITE.site("");
    site.set(true);
    let server = site.start();
    await_log(&server, PAUSED, POLL_LIMIT);
    site.switch(false, &server);
    await_log(&server, RESUMED, POLL_LIMIT);
    thread::sleep(Duration::from_millis(1500));
    let log = server.stderr();
    assert!(ticks(&log).is_empty(), "ticks within 10 s:\n{log}");

    let bad = EXAMPLE_SITE.site("[site]\nticker_seconds = 0");
    let line = bad
        .serve_expecting_exit()
        .assert_one_line_failure()
        .to_owned();
    assert!(line.contains("ticker_seconds"), "{line}");
}

// -------------------------------------------------------------- site links

/// The home and admin pages link superusers (only) to the status page.
#[test]
fn superusers_find_the_status_page_from_home_and_admin() {
    let site = EXAMPLE_SITE.site("");
    let server = site.start();
    let link = format!("href=\"{STATUS_PAGE}\"");
    let mut admin = server.login("admin");
    admin.get("/").assert_served("Home").assert_contains(&link);
    admin
        .get("/admin/")
        .assert_served("Admin")
        .assert_contains(&link);
    server
        .client()
        .get("/")
        .assert_served("Home")
        .assert_lacks(&link);
    server
        .login("user")
        .get("/")
        .assert_served("Home")
        .assert_lacks(&link);
    server
        .login("staff")
        .get("/admin/")
        .assert_served("Admin")
        .assert_lacks(&link);
}
