//! Property tests of every parser that reads outside input (issue 9, "Hardening"):
//!
//! - the state text ([`MaintenanceState::parse`]) and the ISO 8601 dates of a
//!   schedule: any text is refused or read, never a panic; generated states
//!   and timestamps round-trip;
//! - `X-Forwarded-For` / `Forwarded` ([`resolve_client_ip`]) with arbitrary
//!   header bytes: the answer is the peer or an address written in the
//!   headers, always the peer when no proxy is trusted, and text a client
//!   writes left of what trusted proxies appended never changes it;
//! - `Accept` (`prefers_json`, and through the middleware): any header gets
//!   the maintenance response, `application/json;q=0` never gets JSON, and
//!   the type ranked first decides;
//! - the settings: generated TOML tables of known keys with arbitrary values,
//!   then [`MaintenanceMode::new`]: never a panic, and every error names a key.
//!
//! And of what issue 11 added:
//!
//! - `--for` durations ([`parse_duration`]): any text is a positive duration
//!   or an error, and `{h}h{m}m{s}s` (and its other spellings) is exactly
//!   `h*3600 + m*60 + s` seconds;
//! - the bypass cookie (`BypassKey`, `VerifiedCookies`, `cookies_in_header`):
//!   any text is refused without a panic, and a valid cookie with any one
//!   byte changed (any position, any other value) is refused, also after the
//!   worker cached the valid one;
//! - the stored bypass secret ([`BypassSecret::from_stored`]): never a
//!   panic, and what it reads writes back as the very same text;
//! - the state text with a reason, read-only mode and a bypass secret: it
//!   round-trips, and holds Django's two fields only when nothing else is set.
//!
//! And of what issue 12 added:
//!
//! - the change record kept next to the state ([`change_text`] /
//!   [`change_for`]): any change of any state reads back exactly, for that
//!   state only; any text is a change or none, never a panic, and never a
//!   change for a state it does not name;
//! - what the audit log line shows (a change, the old and the new state):
//!   one line, whatever the name or the reason holds.
//!
//! And of what issue 13 added:
//!
//! - `ignore_ip_networks` as sorted, merged ranges ([`IpRanges`]): for any
//!   networks (IPv4 and IPv6, every prefix length from /0 to /32 and /128,
//!   host bits set, overlapping, nested, adjacent) and any address (at and
//!   around every network's ends, IPv4-mapped forms of both families), the
//!   answer is exactly the linear scan's, `IpNet::contains`.
//!
//! Case counts are kept moderate (the module runs in a few seconds in debug);
//! `PROPTEST_CASES=N` raises them for a longer local run. Failures are not
//! persisted to regression files: proptest prints the minimal failing input.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use jiff::{Timestamp, tz::TimeZone};
use proptest::{
    collection::{btree_map, vec},
    option,
    prelude::*,
    sample::select,
    test_runner::{Config, TestRunner},
};

use crate::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState,
    bypass::{BypassKey, BypassSecret, COOKIE_NAME, VerifiedCookies, cookies_in_header},
    change::{Change, StateRecord, Via, change_for, change_text},
    client_ip::{TrustedProxies, resolve_client_ip},
    ip_ranges::IpRanges,
    response::MaintenanceResponse,
    settings::{ResponseType, StateBackendKind},
    state::{Schedule, parse_duration, parse_iso8601},
};

/// The runner configuration: `cases` unless `PROPTEST_CASES` says otherwise,
/// and no regression files written into the source tree.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Generators shared by several properties

/// Any instant jiff can represent (years -9999 to 9999), with nanoseconds.
fn any_timestamp() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
        0..1_000_000_000i32,
    )
        .prop_filter_map("inside jiff's range", |(second, nanosecond)| {
            Timestamp::new(second, nanosecond).ok()
        })
}

/// Instants a Django site can store: years 1 to 9999 (Python's `datetime`),
/// whole seconds, milliseconds or nanoseconds, and near today more often.
fn timestamp() -> impl Strategy<Value = Timestamp> {
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    let python = -62_135_596_800i64..=253_402_300_799;
    let recent = 946_684_800i64..=4_102_444_800; // 2000 to 2100
    let nanos = prop_oneof![
        Just(0),
        (0..1000i32).prop_map(|ms| ms * 1_000_000),
        0..1_000_000_000i32,
    ];
    (prop_oneof![python, recent], nanos)
        .prop_filter_map("inside jiff's range", |(second, nanosecond)| {
            Timestamp::new(second, nanosecond).ok()
        })
}

/// A stored bypass secret of any salt and digest (deterministic, unlike
/// [`BypassSecret::new`], which draws a salt).
fn bypass_secret() -> impl Strategy<Value = BypassSecret> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    (any::<[u8; 16]>(), any::<[u8; 32]>()).prop_map(|(salt, digest)| {
        let stored = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(salt),
            URL_SAFE_NO_PAD.encode(digest)
        );
        BypassSecret::from_stored(&stored).expect("a salt and a digest of the right sizes")
    })
}

/// A schedule with any of its fields set: the window, a reason, read-only
/// mode, a bypass secret; at least one of them.
fn schedule() -> impl Strategy<Value = Schedule> {
    (
        option::of(timestamp()),
        option::of(timestamp()),
        option::of(any::<String>()),
        any::<bool>(),
        option::of(bypass_secret()),
    )
        .prop_map(|(start, end, reason, read_only, bypass)| Schedule {
            start,
            end,
            reason,
            read_only,
            bypass,
        })
        .prop_filter("a schedule sets something", |schedule| {
            *schedule != Schedule::default()
        })
}

fn state() -> impl Strategy<Value = MaintenanceState> {
    prop_oneof![
        1 => Just(MaintenanceState::Off),
        1 => Just(MaintenanceState::On),
        6 => schedule().prop_map(MaintenanceState::Scheduled),
    ]
}

/// Text that looks like a date, broken a little or a lot.
fn date_like_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}([T t][0-9]{1,2}(:[0-9]{1,2}(:[0-9]{1,2}(\\.[0-9]{0,12})?)?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2}(:?[0-9]{2})?)?|\\[[A-Za-z/_+-]{0,20}\\])?",
        "[-+0-9:.TZ \\[\\]]{0,40}",
        any_timestamp().prop_map(|t| t.to_string()),
    ]
}

/// Header bytes, shown as a byte string when a case fails.
#[derive(Clone, PartialEq, Eq)]
struct Raw(Vec<u8>);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl std::ops::Deref for Raw {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for Raw {
    fn from(text: String) -> Self {
        Self(text.into_bytes())
    }
}

/// Bytes a header value may hold (visible ASCII, space, tab and obs-text);
/// the bytes it may not hold are dropped.
fn header_bytes(max: usize) -> impl Strategy<Value = Raw> {
    vec(any::<u8>(), 0..max).prop_map(|bytes| {
        Raw(bytes
            .into_iter()
            .filter(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
            .collect())
    })
}

/// Visible ASCII, space and tab: what a client can put in a header that a
/// server still reads as text.
fn header_text(max: usize) -> impl Strategy<Value = String> {
    vec(prop_oneof![Just(b'\t'), 0x20u8..0x7f], 0..max)
        .prop_map(|bytes| String::from_utf8(bytes).expect("ASCII"))
}

fn header_value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).expect("the generator keeps only valid header bytes")
}

/// A JSON value for one of the maint fields of a stored schedule: of the
/// right type or not, a stored secret or something like one.
fn json_field_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        bypass_secret().prop_map(|secret| Value::String(secret.to_stored())),
        stored_secret_like().prop_map(Value::String),
        vec(any::<bool>(), 0..2).prop_map(Value::from),
    ]
}

/// Text shaped like a stored secret (`SALT.DIGEST`, base64url), of right
/// and wrong lengths and alphabets.
fn stored_secret_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{20,24}\\.[A-Za-z0-9_-]{40,46}",
        "[A-Za-z0-9_+/=-]{0,30}\\.?[A-Za-z0-9_+/=-]{0,50}",
        "[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}",
        any::<String>(),
    ]
}

// ---------------------------------------------------------------------------
// The state text

proptest! {
    #![proptest_config(config(512))]

    /// Any text is a state or an error; what is read writes back as itself.
    #[test]
    fn state_text_never_panics_and_what_is_read_is_stable(
        text in prop_oneof![
            any::<String>(),
            "[ \t\r\n]{0,2}[01]?[ \t\r\n]{0,2}",
            "\\{[ -~]{0,60}\\}?",
            (option::of(date_like_text()), option::of(date_like_text()), option::of(any::<String>()))
                .prop_map(|(start, end, reason)| {
                    let mut object = serde_json::Map::new();
                    if let Some(start) = start { object.insert("start".into(), start.into()); }
                    if let Some(end) = end { object.insert("end".into(), end.into()); }
                    if let Some(reason) = reason { object.insert("reason".into(), reason.into()); }
                    serde_json::Value::Object(object).to_string()
                }),
            (option::of(json_field_value()), option::of(json_field_value()), option::of(json_field_value()))
                .prop_map(|(reason, read_only, bypass)| {
                    let mut object = serde_json::Map::new();
                    if let Some(reason) = reason { object.insert("reason".into(), reason); }
                    if let Some(read_only) = read_only { object.insert("read_only".into(), read_only); }
                    if let Some(bypass) = bypass { object.insert("bypass".into(), bypass); }
                    serde_json::Value::Object(object).to_string()
                }),
        ]
    ) {
        if let Ok(state) = MaintenanceState::parse(&text) {
            let again = MaintenanceState::parse(&state.to_text());
            prop_assert_eq!(again.as_ref(), Ok(&state), "read {:?} from {:?}", state, text);
            match text.trim() {
                "0" => prop_assert_eq!(state, MaintenanceState::Off),
                "1" => prop_assert_eq!(state, MaintenanceState::On),
                trimmed => prop_assert!(
                    trimmed.starts_with('{') && state.schedule().is_some(),
                    "{:?} read as {:?}", text, state
                ),
            }
        }
    }

    /// `parse(to_text(s)) == s`, with Django's surrounding whitespace too.
    #[test]
    fn state_text_round_trips(state in state(), pad in "[ \t\r\n]{0,3}") {
        let text = state.to_text();
        prop_assert_eq!(MaintenanceState::parse(&text), Ok(state.clone()), "text {:?}", text);
        let padded = format!("{pad}{text}{pad}");
        prop_assert_eq!(MaintenanceState::parse(&padded), Ok(state), "text {:?}", padded);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// A schedule's text holds Django's two fields, `start` and `end`, and
    /// nothing else unless a maint field is set; then exactly the fields set.
    /// What it reads back is the schedule, secret and all.
    #[test]
    fn schedule_text_holds_the_fields_that_are_set(schedule in schedule()) {
        let state = MaintenanceState::Scheduled(schedule.clone());
        let text = state.to_text();
        let json: serde_json::Value = serde_json::from_str(&text).expect("the state text is JSON");
        let object = json.as_object().expect("an object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = vec!["end", "start"];
        if schedule.reason.is_some() { expected.push("reason"); }
        if schedule.read_only { expected.push("read_only"); }
        if schedule.bypass.is_some() { expected.push("bypass"); }
        expected.sort_unstable();
        prop_assert_eq!(keys, expected, "text {:?}", text);
        if let Some(secret) = &schedule.bypass {
            prop_assert_eq!(&object["bypass"], &serde_json::Value::String(secret.to_stored()));
        }
        let back = MaintenanceState::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&state), "text {:?}", text);
        let back = back.expect("read back");
        prop_assert_eq!(back.is_read_only(), schedule.read_only);
        prop_assert_eq!(back.reason(), schedule.reason.as_deref());
        prop_assert_eq!(back.bypass(), schedule.bypass.as_ref());
    }
}

// ---------------------------------------------------------------------------
// The ISO 8601 dates inside a schedule

/// How the schedule's `start` / `end` text should read: empty is absent.
fn expected_field(text: &str) -> Result<Option<Timestamp>, ()> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse_iso8601(text).map(Some).map_err(|_| ())
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Arbitrary text in `start` / `end`: never a panic, and the schedule is
    /// read exactly when each date is (or is empty / null) and one is set.
    #[test]
    fn schedule_dates_never_panic(
        start in option::of(date_like_text()),
        end in option::of(date_like_text()),
    ) {
        let text = serde_json::json!({ "start": start, "end": end }).to_string();
        let parsed = MaintenanceState::parse(&text);
        let start = start.as_deref().map_or(Ok(None), expected_field);
        let end = end.as_deref().map_or(Ok(None), expected_field);
        match (start, end) {
            (Ok(None), Ok(None)) | (Err(()), _) | (_, Err(())) => {
                prop_assert!(parsed.is_err(), "{:?} read as {:?}", text, parsed);
            }
            (Ok(start), Ok(end)) => {
                let expected = MaintenanceState::Scheduled(Schedule { start, end, reason: None, ..Default::default() });
                prop_assert_eq!(parsed, Ok(expected), "text {:?}", text);
            }
        }
    }

    /// `parse_iso8601` of any text: a date or an error, never a panic.
    #[test]
    fn iso8601_never_panics(text in date_like_text()) {
        if let Ok(at) = parse_iso8601(&text) {
            // What it read, written back, reads the same.
            prop_assert_eq!(parse_iso8601(&at.to_string()).ok(), Some(at));
        }
    }

    /// The stored form (Python's `isoformat()`), RFC 3339 with `Z`, a fixed
    /// offset, and a naive date (read as UTC) all read back as the instant.
    #[test]
    fn schedule_timestamps_round_trip(
        at in timestamp(),
        offset_minutes in -14 * 60..=14 * 60i32,
        separator in select(vec!['T', 't', ' ']),
    ) {
        let stored = MaintenanceState::Scheduled(Schedule { start: None, end: Some(at), reason: None, ..Default::default() })
            .to_text();
        let json: serde_json::Value = serde_json::from_str(&stored).expect("the state text is JSON");
        let written = json["end"].as_str().expect("end is a string");
        prop_assert_eq!(parse_iso8601(written).ok(), Some(at), "stored {:?}", written);

        prop_assert_eq!(parse_iso8601(&at.to_string()).ok(), Some(at));

        let offset = jiff::tz::Offset::from_seconds(offset_minutes * 60).expect("a valid offset");
        let zoned = at.to_zoned(TimeZone::fixed(offset));
        let with_offset = zoned
            .strftime(&format!("%Y-%m-%d{separator}%H:%M:%S%.f%:z"))
            .to_string();
        prop_assert_eq!(parse_iso8601(&with_offset).ok(), Some(at), "text {:?}", with_offset);

        let naive = at
            .to_zoned(TimeZone::UTC)
            .strftime(&format!("%Y-%m-%d{separator}%H:%M:%S%.f"))
            .to_string();
        prop_assert_eq!(parse_iso8601(&naive).ok(), Some(at), "text {:?}", naive);
    }
}

/// Every instant jiff has (years -9999 to 9999), not only Python's years 1 to
/// 9999: a schedule that `set` accepts (`Schedule::validate`) must read back
/// from the text it is stored as, or the stored state is lost to the fallback.
#[test]
fn accepted_schedules_round_trip_in_jiffs_whole_range() {
    let now = Timestamp::now();
    let mut runner = TestRunner::new(config(256));
    let result = runner.run(&(any_timestamp(), any::<bool>()), |(at, as_start)| {
        let schedule = if as_start {
            Schedule {
                start: Some(at),
                end: None,
                reason: None,
                ..Default::default()
            }
        } else {
            Schedule {
                start: None,
                end: Some(at),
                reason: None,
                ..Default::default()
            }
        };
        if schedule.validate(now).is_ok() {
            let state = MaintenanceState::Scheduled(schedule);
            let text = state.to_text();
            prop_assert_eq!(MaintenanceState::parse(&text), Ok(state), "text {:?}", text);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

// ---------------------------------------------------------------------------
// X-Forwarded-For / Forwarded

/// Addresses of the kinds proxies and clients write, and trusted ranges' members.
fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(IpAddr::V4),
        any::<Ipv6Addr>().prop_map(IpAddr::V6),
        // In the trusted networks below, and their IPv4-mapped forms.
        (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(b, c, d)| IpAddr::V4(Ipv4Addr::new(10, b, c, d))),
        (any::<u8>(), any::<u8>()).prop_map(|(c, d)| IpAddr::V4(Ipv4Addr::new(192, 168, c, d))),
        (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(b, c, d)| IpAddr::V6(Ipv4Addr::new(10, b, c, d).to_ipv6_mapped())),
        any::<u16>().prop_map(|x| IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, x))),
        Just(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Just(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ]
}

fn trusted_entries() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(
        vec![
            "10.0.0.0/8",
            "192.168.0.0/16",
            "127.0.0.1",
            "::1",
            "fd00::/8",
            "::ffff:10.0.0.0/104",
            "0.0.0.0/0",
        ],
        0..=4,
    )
}

/// One hop as a proxy may write it in `X-Forwarded-For`.
fn xff_hop(ip: IpAddr, style: u8) -> String {
    match (ip, style % 3) {
        (IpAddr::V4(v4), 1) => format!("{v4}:{}", 1024 + u16::from(style)),
        (IpAddr::V6(v6), 1) => format!("[{v6}]:{}", 1024 + u16::from(style)),
        (IpAddr::V6(v6), 2) => format!("[{v6}]"),
        (ip, _) => ip.to_string(),
    }
}

/// One `Forwarded` element for `ip`, with the other parameters proxies add.
fn forwarded_element(ip: IpAddr, style: u8) -> String {
    let node = match ip {
        IpAddr::V4(v4) if style & 1 == 0 => v4.to_string(),
        IpAddr::V4(v4) => format!("\"{v4}:{}\"", 1024 + u16::from(style)),
        IpAddr::V6(v6) if style & 1 == 0 => format!("\"[{v6}]\""),
        IpAddr::V6(v6) => format!("\"[{v6}]:{}\"", 1024 + u16::from(style)),
    };
    match (style >> 1) % 4 {
        0 => format!("for={node}"),
        1 => format!("For={node};proto=https"),
        2 => format!("by=10.0.0.254;for={node}"),
        _ => format!("proto=http; for={node} ;host=example.com"),
    }
}

/// A header line: arbitrary bytes, or hops well-formed or not.
fn forwarding_line() -> impl Strategy<Value = Raw> {
    prop_oneof![
        header_bytes(80),
        vec((ip(), any::<u8>()), 0..5).prop_map(|hops| hops
            .into_iter()
            .map(|(ip, style)| xff_hop(ip, style))
            .collect::<Vec<_>>()
            .join(", ")
            .into()),
        vec((ip(), any::<u8>()), 0..5).prop_map(|hops| hops
            .into_iter()
            .map(|(ip, style)| forwarded_element(ip, style))
            .collect::<Vec<_>>()
            .join(", ")
            .into()),
        vec(
            prop_oneof![
                (ip(), any::<u8>()).prop_map(|(ip, style)| xff_hop(ip, style)),
                header_text(12),
                Just("unknown".to_owned()),
                Just("for=_hidden".to_owned()),
                Just("for=\"[::1\"".to_owned()),
            ],
            0..5
        )
        .prop_map(|hops| hops.join(",").into()),
    ]
}

/// Zero to three `X-Forwarded-For` and `Forwarded` lines, in any order.
fn forwarding_headers() -> impl Strategy<Value = Vec<(bool, Raw)>> {
    vec((any::<bool>(), forwarding_line()), 0..4)
}

fn header_map(lines: &[(bool, Raw)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (xff, bytes) in lines {
        let name = if *xff {
            HeaderName::from_static("x-forwarded-for")
        } else {
            HeaderName::from_static("forwarded")
        };
        map.append(name, header_value(bytes));
    }
    map
}

/// Every address written anywhere in the forwarding headers, however framed
/// (bare, `:port`, `[...]`, quoted, after `for=`), canonical.
fn addresses_in(headers: &HeaderMap) -> Vec<IpAddr> {
    let mut found = Vec::new();
    for name in ["x-forwarded-for", "forwarded"] {
        for value in headers.get_all(name) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for token in text.split([',', ';', '=', '"', '[', ']', ' ', '\t']) {
                let candidates = [Some(token), token.rsplit_once(':').map(|(host, _)| host)];
                for candidate in candidates.into_iter().flatten() {
                    if let Ok(ip) = candidate.parse::<IpAddr>() {
                        found.push(ip.to_canonical());
                    }
                }
            }
        }
    }
    found
}

proptest! {
    #![proptest_config(config(512))]

    /// Arbitrary forwarding headers: the client IP is the peer or an address
    /// the headers hold; with no trusted proxy, or an untrusted peer, the peer.
    #[test]
    fn client_ip_is_the_peer_or_from_the_headers(
        peer in ip(),
        lines in forwarding_headers(),
        entries in trusted_entries(),
    ) {
        let headers = header_map(&lines);
        let trusted = TrustedProxies::parse(&entries).expect("valid entries");
        prop_assert_eq!(resolve_client_ip(None, &headers, &trusted), None);
        let got = resolve_client_ip(Some(peer), &headers, &trusted).expect("a peer gives an answer");
        let peer = peer.to_canonical();
        if got != peer {
            prop_assert!(trusted.contains(peer), "{} from untrusted peer {}", got, peer);
            prop_assert!(
                addresses_in(&headers).contains(&got),
                "{} is neither the peer {} nor in {:?}", got, peer, headers
            );
        }
        let nobody = TrustedProxies::parse::<&str>(&[]).expect("empty");
        prop_assert_eq!(resolve_client_ip(Some(peer), &headers, &nobody), Some(peer));
    }

    /// Behind trusted proxies the answer is the right-most untrusted hop,
    /// whatever the client wrote to its left (or in earlier lines), and
    /// `Forwarded` is not read while `X-Forwarded-For` is there.
    #[test]
    fn client_text_left_of_trusted_hops_changes_nothing(
        client in any::<Ipv4Addr>()
            .prop_filter("not a trusted proxy", |ip| ip.octets()[0] != 10)
            .prop_map(IpAddr::V4)
            .boxed()
            .prop_union(
                any::<Ipv6Addr>()
                    .prop_filter("not trusted", |ip| {
                        ip.segments()[0] & 0xff00 != 0xfd00
                            && ip.to_ipv4_mapped().is_none_or(|v4| v4.octets()[0] != 10)
                    })
                    .prop_map(IpAddr::V6)
                    .boxed(),
            ),
        proxies in vec((any::<(u8, u8, u8)>(), any::<u8>()), 0..4),
        peer in any::<(u8, u8, u8)>(),
        spoof in header_text(60),
        earlier_lines in vec(header_bytes(40), 0..3),
        other_header in header_bytes(60),
        styles in any::<(u8, u8)>(),
        forwarded in any::<bool>(),
    ) {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8"]).expect("valid");
        let proxy = |(b, c, d): (u8, u8, u8)| IpAddr::V4(Ipv4Addr::new(10, b, c, d));
        let peer = proxy(peer);
        let mut hops = vec![(client, styles.0)];
        hops.extend(proxies.iter().map(|&(ip, style)| (proxy(ip), style)));
        let (name, other, written) = if forwarded {
            let written: Vec<String> =
                hops.iter().map(|&(ip, style)| forwarded_element(ip, style)).collect();
            ("forwarded", "x-forwarded-for", written)
        } else {
            let written: Vec<String> = hops.iter().map(|&(ip, style)| xff_hop(ip, style)).collect();
            ("x-forwarded-for", "forwarded", written)
        };
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_static(name);
        for line in &earlier_lines {
            headers.append(name.clone(), header_value(line));
        }
        // The client's own text and its address, then what the proxies appended.
        let line = format!("{spoof},{}", written.join(", "));
        headers.append(name, header_value(line.as_bytes()));
        if !forwarded {
            // A client-sent `Forwarded` must not matter while `X-Forwarded-For` is there.
            headers.append(HeaderName::from_static(other), header_value(&other_header));
        }
        let got = resolve_client_ip(Some(peer), &headers, &trusted);
        prop_assert_eq!(got, Some(client.to_canonical()), "line {:?}", line);
    }
}

// ---------------------------------------------------------------------------
// Accept, through the middleware

/// Media types, JSON and not, with parameters.
fn media_range() -> impl Strategy<Value = String> {
    let types = select(vec![
        "text/html",
        "application/json",
        "application/problem+json",
        "application/xhtml+xml",
        "application/xml",
        "text/plain",
        "text/*",
        "*/*",
        "image/png",
        "application/*",
        "application/vnd.api+json",
    ]);
    let params = select(vec![
        "",
        ";q=0",
        ";q=0.0",
        ";q=0.5",
        ";q=1",
        ";q=1.0",
        ";q=0.001",
        ";q=2",
        ";q=-1",
        ";q=",
        "; charset=utf-8",
        ";level=1;q=0.9",
    ]);
    (types, params).prop_map(|(t, p)| format!("{t}{p}"))
}

fn accept_header() -> impl Strategy<Value = Raw> {
    prop_oneof![
        header_bytes(80),
        header_text(60).prop_map(Raw::from),
        vec(media_range(), 0..5).prop_map(|ranges| Raw::from(ranges.join(", "))),
    ]
}

/// `application/json` at q=0, written in the ways RFC 9110 allows.
fn json_refused() -> impl Strategy<Value = String> {
    (
        select(vec!["application/json", "Application/JSON"]),
        select(vec![
            ";q=0", "; q=0", ";q=0.0", ";q=0.00", ";q=0.000", ";Q=0",
        ]),
    )
        .prop_map(|(t, q)| format!("{t}{q}"))
}

/// Other types, none of them JSON, in any order around the refused JSON.
fn json_refused_with_others() -> impl Strategy<Value = String> {
    let others = vec(
        (
            select(vec![
                "text/html",
                "text/plain",
                "*/*",
                "text/*",
                "image/png",
                "application/xml",
            ]),
            select(vec!["", ";q=0", ";q=0.1", ";q=0.9", ";q=1"]),
        )
            .prop_map(|(t, q)| format!("{t}{q}")),
        0..4,
    );
    (json_refused(), others, any::<prop::sample::Index>()).prop_map(|(json, mut others, at)| {
        let at = at.index(others.len() + 1);
        others.insert(at, json);
        others.join(", ")
    })
}

/// Runs `check` on the response of a maintenance-on app with `response_type
/// = "auto"` to a `GET /` carrying each generated `Accept`.
fn with_maintenance_app(
    cases: u32,
    accept: impl Strategy<Value = Raw>,
    check: impl Fn(&[u8], u16, &str, bool, &[u8]) -> Result<(), TestCaseError>,
) {
    use actix_web::{App, HttpResponse, test, web};

    let system = actix_rt::System::new();
    let maint = MaintenanceMode::new(
        MaintenanceSettings::default()
            .state_backend(StateBackendKind::Memory)
            .response_type(ResponseType::Auto),
    )
    .expect("valid settings");
    let app = system.block_on(async {
        maint
            .set_maintenance_mode(true)
            .await
            .expect("the memory backend stores");
        test::init_service(
            App::new()
                .route(
                    "/",
                    web::get().to(|| async { HttpResponse::Ok().body("Home") }),
                )
                .wrap(maint.middleware()),
        )
        .await
    });
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(&accept, |accept| {
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header(("accept", header_value(&accept)))
            .to_request();
        let (status, content_type, is_maintenance, body) = system.block_on(async {
            let res = test::call_service(&app, req).await;
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let is_maintenance = MaintenanceResponse::is(res.response())
                && res.headers().contains_key("retry-after");
            (
                status,
                content_type,
                is_maintenance,
                test::read_body(res).await,
            )
        });
        check(&accept, status, &content_type, is_maintenance, &body)
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Any `Accept` during maintenance: the maintenance response (503 with
/// `Retry-After`), HTML or JSON, never another status or a panic.
#[test]
fn any_accept_gets_the_maintenance_response() {
    with_maintenance_app(
        384,
        accept_header(),
        |accept, status, content_type, is_maintenance, body| {
            let accept = String::from_utf8_lossy(accept);
            prop_assert_eq!(status, 503, "Accept: {:?}", accept);
            prop_assert!(is_maintenance, "Accept: {:?}", accept);
            if content_type == "application/json" {
                let json: serde_json::Value =
                    serde_json::from_slice(body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&json["maintenance"], &serde_json::Value::Bool(true));
            } else {
                prop_assert_eq!(
                    content_type,
                    "text/html; charset=utf-8",
                    "Accept: {:?}",
                    accept
                );
                prop_assert!(body.starts_with(b"<!DOCTYPE html>") || body.starts_with(b"<"));
            }
            Ok(())
        },
    );
}

/// `application/json;q=0` means "not JSON" (RFC 9110 §12.4.2), alone or
/// among other types that are not JSON: the page is HTML.
#[test]
fn json_at_q0_never_gets_json() {
    with_maintenance_app(
        256,
        prop_oneof![json_refused(), json_refused_with_others()].prop_map(Raw::from),
        |accept, status, content_type, _, _| {
            let accept = String::from_utf8_lossy(accept);
            prop_assert_eq!(status, 503, "Accept: {:?}", accept);
            prop_assert_eq!(
                content_type,
                "text/html; charset=utf-8",
                "Accept: {:?} got JSON",
                accept
            );
            Ok(())
        },
    );
}

/// A media type at a q below 1 (JSON or not).
fn lower_ranked() -> impl Strategy<Value = String> {
    (
        select(vec![
            "text/html",
            "application/json",
            "application/problem+json",
            "text/plain",
            "*/*",
            "text/*",
            "application/xhtml+xml",
        ]),
        select(vec![";q=0", ";q=0.1", ";q=0.5", ";q=0.9", ";q=0.999"]),
    )
        .prop_map(|(t, q)| format!("{t}{q}"))
}

fn prefers_json_for(accept: &[u8]) -> bool {
    let req = actix_web::test::TestRequest::default()
        .insert_header(("accept", header_value(accept)))
        .to_http_request();
    crate::response::prefers_json(&req)
}

proptest! {
    #![proptest_config(config(512))]

    /// `prefers_json` itself: any bytes are an answer, never a panic.
    #[test]
    fn prefers_json_never_panics(accept in accept_header()) {
        let _ = prefers_json_for(&accept);
    }

    /// JSON refused with `q=0` is never preferred, whatever else is listed.
    #[test]
    fn prefers_json_refuses_json_at_q0(accept in prop_oneof![json_refused(), json_refused_with_others()]) {
        prop_assert!(!prefers_json_for(accept.as_bytes()), "Accept: {:?}", accept);
    }

    /// The type ranked first decides: JSON at q=1 before anything at a lower
    /// q is preferred; HTML (or `*/*`) at q=1 first is not.
    #[test]
    fn prefers_json_follows_the_first_ranked_type(
        first in select(vec![
            ("application/json", true),
            ("application/json;q=1", true),
            ("application/problem+json", true),
            ("application/vnd.api+json;q=1.0", true),
            ("text/html", false),
            ("text/html;q=1", false),
            ("application/xhtml+xml", false),
            ("*/*", false),
        ]),
        mut others in vec(lower_ranked(), 0..4),
        at in any::<prop::sample::Index>(),
    ) {
        let (first, json) = first;
        others.insert(at.index(others.len() + 1), first.to_owned());
        let accept = others.join(", ");
        prop_assert_eq!(prefers_json_for(accept.as_bytes()), json, "Accept: {:?}", accept);
    }
}

// ---------------------------------------------------------------------------
// The settings

/// Every key of [`MaintenanceSettings`].
const SETTINGS_KEYS: &[&str] = &[
    "mode",
    "state_backend",
    "state_file_path",
    "redis_url",
    "redis_key_prefix",
    "redis_resync_seconds",
    "redis_keep_last_state",
    "state_backend_fallback_value",
    "ignore_admin_site",
    "admin_url",
    "ignore_anonymous_user",
    "ignore_authenticated_user",
    "ignore_staff",
    "ignore_superuser",
    "ignore_ip_addresses",
    "ignore_ip_networks",
    "trusted_proxies",
    "ignore_urls",
    "ignore_tests",
    "logout_authenticated_user",
    "logout_staff_user",
    "logout_superuser",
    "redirect_url",
    "response_type",
    "template",
    "status_code",
    "retry_after",
    "refresh",
    "health_urls",
    "bypass_cookie_ttl",
    "session_user_key",
];

/// Text of every kind the settings hold, valid or not.
fn setting_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        select(vec![
            "memory",
            "redis",
            "local_file",
            "auto",
            "json",
            "html",
            "503.html",
            "errors/503.html",
            "/maintenance/",
            "https://example.com/down?x=1",
            "//host/path",
            "relative/path",
            "10.0.0.0/8",
            "::1",
            "::ffff:10.0.0.0/104",
            "300.1.1.1",
            "^/health$",
            "/api/(",
            "(?x)#",
            "\\",
            "",
        ])
        .prop_map(str::to_owned),
        "[-a-z0-9/.:?#\\[\\]()*+^$|\\\\{}, ]{0,24}",
    ]
}

/// Any TOML value: of any type, with text of every kind.
fn any_setting_value() -> BoxedStrategy<toml::Value> {
    let scalar = prop_oneof![
        any::<bool>().prop_map(toml::Value::Boolean),
        any::<i64>().prop_map(toml::Value::Integer),
        (-1..70_000i64).prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        setting_text().prop_map(toml::Value::String),
    ];
    prop_oneof![
        4 => scalar.clone(),
        3 => vec(setting_text().prop_map(toml::Value::String), 0..4).prop_map(toml::Value::Array),
        1 => vec(scalar.clone(), 0..3).prop_map(toml::Value::Array),
        1 => btree_map("[a-z_]{1,8}", scalar, 0..2)
            .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
    ]
    .boxed()
}

/// A value for `key`: mostly of the key's type with arbitrary content, so
/// that most tables reach [`MaintenanceMode::new`], sometimes anything.
fn setting_value(key: &'static str) -> BoxedStrategy<toml::Value> {
    use toml::Value;
    let text = || setting_text().prop_map(Value::String);
    let typed = match key {
        "state_backend" => prop_oneof![
            3 => select(vec!["memory", "redis", "local_file"]).prop_map(|v| Value::String(v.into())),
            1 => text(),
        ]
        .boxed(),
        "response_type" => prop_oneof![
            3 => select(vec!["auto", "json", "html"]).prop_map(|v| Value::String(v.into())),
            1 => text(),
        ]
        .boxed(),
        "state_file_path" | "redis_url" | "redis_key_prefix" | "admin_url" | "redirect_url"
        | "template" | "session_user_key" => text().boxed(),
        "redis_resync_seconds" => prop_oneof![
            any::<f64>().prop_map(Value::Float),
            (0.0..100.0f64).prop_map(Value::Float),
            (-5..100i64).prop_map(Value::Integer),
        ]
        .boxed(),
        "status_code" => prop_oneof![
            3 => (0..1100i64).prop_map(Value::Integer),
            1 => any::<i64>().prop_map(Value::Integer),
        ]
        .boxed(),
        "retry_after" | "refresh" | "bypass_cookie_ttl" => prop_oneof![
            (-10..100_000i64).prop_map(Value::Integer),
            any::<i64>().prop_map(Value::Integer),
            Just(Value::Integer(0)),
            (i64::from(i32::MAX) - 2..=i64::from(i32::MAX) + 2).prop_map(Value::Integer),
        ]
        .boxed(),
        "ignore_ip_addresses" | "ignore_ip_networks" | "trusted_proxies" | "ignore_urls"
        | "health_urls" => vec(text(), 0..4).prop_map(Value::Array).boxed(),
        _ => any::<bool>().prop_map(Value::Boolean).boxed(),
    };
    prop_oneof![6 => typed, 1 => any_setting_value()].boxed()
}

/// A table of known keys, each with a value from [`setting_value`].
fn settings_table() -> impl Strategy<Value = BTreeMap<String, toml::Value>> {
    proptest::sample::subsequence(SETTINGS_KEYS.to_vec(), 0..8)
        .prop_flat_map(|keys| {
            keys.into_iter()
                .map(|key| (Just(key.to_owned()), setting_value(key)))
                .collect::<Vec<_>>()
        })
        .prop_map(|pairs| pairs.into_iter().collect())
}

proptest! {
    #![proptest_config(config(160))]

    /// Generated tables of known keys: the settings parse or the error names
    /// the key at fault; parsed settings build a handle (memory backend) or
    /// the error names a key that was set. Never a panic.
    #[test]
    fn settings_never_panic_and_errors_name_a_key(
        table in settings_table(),
    ) {
        // One `key = value` line per key, values inline, as people write them.
        // (Written as `[key]` sections, a table given to an enum key gets
        // toml's error without the key's line: that is toml's, not ours.)
        let text: String = table.iter().map(|(key, value)| format!("{key} = {value}\n")).collect();
        let names_a_set_key = |message: &str| table.keys().any(|key| message.contains(key.as_str()));
        match toml::from_str::<MaintenanceSettings>(&text) {
            Err(error) => {
                let message = error.to_string();
                prop_assert!(names_a_set_key(&message), "{}\nfrom:\n{}", message, text);
            }
            Ok(settings) => {
                let settings = settings.state_backend(StateBackendKind::Memory);
                if let Err(error) = MaintenanceMode::new(settings) {
                    let message = error.to_string();
                    prop_assert!(
                        table.keys().any(|key| key != "state_backend"
                            && message.contains(&format!("`{key}`"))),
                        "{}\nfrom:\n{}", message, text
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// `--for` durations

proptest! {
    #![proptest_config(config(512))]

    /// Any text is a positive duration or an error, never a panic.
    #[test]
    fn parse_duration_never_panics(
        text in prop_oneof![
            any::<String>(),
            "[-+ ]?[0-9]{0,22}(\\.[0-9]{0,12})?[ ]?(y|mo|w|d|h|m|s|ms|us|ns|hours?|minutes?|mins?|seconds?|secs?|days?|weeks?)?",
            "([0-9]{1,20}[ ,]?[a-zA-Z]{1,8}[ ,]{0,2}){0,6}( ago)?",
            "[-+]?P([0-9]{1,12}[YMWD]){0,3}(T([0-9]{1,16}(\\.[0-9]{1,10})?[HMS]){0,3})?",
            "[0-9a-zA-Z:. -]{0,30}",
        ],
    ) {
        if let Ok(duration) = parse_duration(&text) {
            prop_assert!(!duration.is_zero(), "{:?} read as zero", text);
        }
    }

    /// `{h}h{m}m{s}s` and its other spellings (spaced, long unit names, ISO
    /// 8601) are exactly `h*3600 + m*60 + s` seconds; a zero total is refused,
    /// and so is a negative duration.
    #[test]
    fn hours_minutes_seconds_add_up(
        h in prop_oneof![1 => Just(0), 3 => 0..=200_000u64],
        m in prop_oneof![1 => Just(0), 3 => 0..=2_000_000u64],
        s in prop_oneof![1 => Just(0), 3 => 0..=20_000_000u64],
        spelling in 0..4usize,
    ) {
        let text = match spelling {
            0 => format!("{h}h{m}m{s}s"),
            1 => format!("{h}h {m}m {s}s"),
            2 => format!("{h} hours {m} minutes {s} seconds"),
            _ => format!("PT{h}H{m}M{s}S"),
        };
        let total = h * 3600 + m * 60 + s;
        match parse_duration(&text) {
            Ok(duration) => prop_assert_eq!(duration, std::time::Duration::from_secs(total), "{:?}", text),
            Err(error) => prop_assert!(total == 0, "{:?} refused: {}", text, error),
        }
        prop_assert!(parse_duration(&format!("-{text}")).is_err(), "-{:?} accepted", text);
    }

    /// Days are 24 hours and weeks 7 days.
    #[test]
    fn days_and_weeks_are_fixed_lengths(
        d in prop_oneof![Just(0), 0..=10_000u64],
        w in prop_oneof![Just(0), 0..=1_000u64],
        h in prop_oneof![Just(0), 0..=100u64],
    ) {
        let total = w * 7 * 86_400 + d * 86_400 + h * 3600;
        let text = format!("{w}w{d}d{h}h");
        match parse_duration(&text) {
            Ok(duration) => prop_assert_eq!(duration, std::time::Duration::from_secs(total), "{:?}", text),
            Err(error) => prop_assert!(total == 0, "{:?} refused: {}", text, error),
        }
    }
}

// ---------------------------------------------------------------------------
// The bypass cookie and the stored secret

/// Every single-byte change of a valid cookie, at every position, to every
/// other byte value, is refused by the key and by the worker's cache that has
/// just seen the valid cookie (a few keys and expiries, exhaustively: the
/// random property above meets a change of the last character that decodes
/// to the same MAC only once in thousands of cases).
#[test]
fn every_single_byte_change_of_a_cookie_is_refused() {
    let mut runner = TestRunner::new(config(6));
    let expires = prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(0i64),
        1_700_000_000..2_100_000_000i64,
        any::<i64>(),
    ];
    let result = runner.run(&(bypass_key(), expires), |(key, expires)| {
        let valid = key.cookie_value(expires);
        let now = expires.saturating_sub(1);
        let cache = VerifiedCookies::default();
        for at in 0..valid.len() {
            for byte in 0..=u8::MAX {
                let mut bytes = valid.clone().into_bytes();
                if bytes[at] == byte {
                    continue;
                }
                bytes[at] = byte;
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    prop_assert_eq!(
                        key.verify_cookie(text),
                        None,
                        "byte {} to {:#04x}: {:?}",
                        at,
                        byte,
                        text
                    );
                }
                // Seen the valid cookie first, so a cache that compared too
                // little would take the changed one for it.
                let _ = cache.is_valid(&key, valid.as_bytes(), unix(now));
                prop_assert!(
                    !cache.is_valid(&key, &bytes, unix(now)),
                    "byte {} to {:#04x}: {:?}",
                    at,
                    byte,
                    bytes.escape_ascii().to_string()
                );
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// A key on a secret for a generated token.
fn bypass_key() -> impl Strategy<Value = BypassKey> {
    bypass_secret().prop_map(|secret| BypassKey::new(&secret))
}

/// Unix seconds as the cookie verifier's clock (every `i64` second is a
/// `SystemTime` here).
fn unix(seconds: i64) -> std::time::SystemTime {
    crate::bypass::system_time(seconds).expect("a SystemTime holds any i64 second")
}

/// Text shaped like a cookie value (`EXPIRY.MAC`), or anything.
fn cookie_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[-+0-9]{0,21}\\.[A-Za-z0-9_+/=-]{0,50}",
        "[0-9]{1,19}\\.[A-Za-z0-9_-]{43}",
        "[0-9.]{0,30}",
        any::<i64>().prop_map(|expires| format!("{expires}.")),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// Any value is refused without a panic (a MAC cannot be guessed), by
    /// the key and by the worker's cache, also right after a valid cookie.
    #[test]
    fn the_cookie_verifier_refuses_any_text(
        key in bypass_key(),
        value in cookie_like(),
        expires in any::<i64>(),
        now in any::<i64>(),
    ) {
        let valid = key.cookie_value(expires);
        prop_assume!(value != valid);
        prop_assert_eq!(key.verify_cookie(&value), None, "{:?}", value);
        let cache = VerifiedCookies::default();
        prop_assert!(!cache.is_valid(&key, value.as_bytes(), unix(now)));
        let _ = cache.is_valid(&key, valid.as_bytes(), unix(now));
        prop_assert!(!cache.is_valid(&key, value.as_bytes(), unix(now)), "{:?} after the valid one", value);
    }

    /// A valid cookie verifies to its expiry, and with any one byte changed,
    /// at any position, to any other value, it is refused: by the key, and by
    /// the worker's cache that has just seen the valid cookie.
    #[test]
    fn a_cookie_with_one_byte_changed_is_refused(
        key in bypass_key(),
        expires in any::<i64>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let valid = key.cookie_value(expires);
        prop_assert_eq!(key.verify_cookie(&valid), Some(expires));
        let mut bytes = valid.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        // A byte that breaks UTF-8 never reaches the verifier as it is (a
        // header that is not visible ASCII is skipped): its replacement does.
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_ne!(&changed, &valid);
        prop_assert_eq!(key.verify_cookie(&changed), None, "byte {} to {:#04x}: {:?}", at, byte, changed);
        let now = expires.saturating_sub(1);
        let cache = VerifiedCookies::default();
        prop_assert_eq!(cache.is_valid(&key, valid.as_bytes(), unix(now)), expires > now);
        prop_assert!(!cache.is_valid(&key, &bytes, unix(now)), "byte {} to {:#04x}: {:?}", at, byte, bytes);
        // Through the `Cookie` header scan too, byte for byte.
        let header = [b"a=1; ", COOKIE_NAME.as_bytes(), b"=", &bytes, b"; b=2"].concat();
        for found in cookies_in_header(&header) {
            prop_assert!(!cache.is_valid(&key, found, unix(now)), "{:?}", header);
        }
    }

    /// Cut short or made longer, a cookie is refused too; a cookie of
    /// another secret is refused.
    #[test]
    fn a_cut_extended_or_foreign_cookie_is_refused(
        secret in bypass_secret(),
        other in bypass_key(),
        expires in any::<i64>(),
        cut in any::<prop::sample::Index>(),
        extra in "[ -~]{1,4}",
    ) {
        let key = BypassKey::new(&secret);
        let valid = key.cookie_value(expires);
        let cut = &valid[..cut.index(valid.len())];
        prop_assert_eq!(key.verify_cookie(cut), None, "{:?}", cut);
        let longer = format!("{valid}{extra}");
        prop_assert_eq!(key.verify_cookie(&longer), None, "{:?}", longer);
        // The same expiry in other digits is other text: only the canonical
        // digits were signed.
        for other_digits in [format!("+{valid}"), format!("0{valid}"), format!(" {valid}")] {
            prop_assert_eq!(key.verify_cookie(&other_digits), None, "{:?}", other_digits);
        }
        let foreign = other.cookie_value(expires);
        prop_assert_eq!(key.verify_cookie(&foreign), None);
        // The worker's cache: a cookie it verified under one secret is not
        // taken for valid under another, nor under a later key of the same
        // secret without being verified again.
        let now = expires.saturating_sub(1);
        let cache = VerifiedCookies::default();
        prop_assert_eq!(cache.is_valid(&key, valid.as_bytes(), unix(now)), expires > now);
        prop_assert!(!cache.is_valid(&other, valid.as_bytes(), unix(now)));
        prop_assert!(!cache.is_valid(&other, valid.as_bytes(), unix(now)), "cached");
        let again = BypassKey::new(&secret);
        prop_assert_eq!(cache.is_valid(&again, valid.as_bytes(), unix(now)), expires > now);
    }

    /// The `Cookie` header scan never panics, and what it finds is a part of
    /// the header.
    #[test]
    fn the_cookie_header_scan_never_panics(header in prop_oneof![
        any::<String>(),
        header_text(80),
        vec(("[a-z_]{0,14}", "[ -:<-~]{0,20}"), 0..5).prop_map(|pairs| pairs
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")),
    ]) {
        for found in cookies_in_header(header.as_bytes()) {
            prop_assert!(
                header.as_bytes().windows(found.len().max(1)).any(|part| found.is_empty() || part == found),
                "{:?} in {:?}", found, header
            );
            prop_assert!(!found.contains(&b';'), "{:?}", found);
        }
    }

    /// Among other cookies, in any place, with or without spaces after the
    /// `;`, the scan finds the bypass cookie's value exactly, and only it;
    /// a valid cookie found there is valid.
    #[test]
    fn the_cookie_header_scan_finds_the_cookie(
        key in bypass_key(),
        expires in 1i64..i64::MAX,
        value in prop_oneof!["[!-:<-~]{0,60}", Just(String::new())],
        others in vec(("[a-z_]{1,14}", "[!-:<-~]{0,20}"), 0..5),
        at in any::<prop::sample::Index>(),
        spaced in any::<bool>(),
    ) {
        let mut pairs: Vec<String> = others
            .into_iter()
            .filter(|(name, _)| name != COOKIE_NAME)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let valid = key.cookie_value(expires);
        for wanted in [&value, &valid] {
            let mut with = pairs.clone();
            with.insert(at.index(with.len() + 1), format!("{COOKIE_NAME}={wanted}"));
            let header = with.join(if spaced { "; " } else { ";" });
            prop_assert_eq!(
                cookies_in_header(header.as_bytes()),
                vec![wanted.as_bytes()],
                "{:?}", header
            );
        }
        pairs.insert(at.index(pairs.len() + 1), format!("{COOKIE_NAME}={valid}"));
        let header = pairs.join("; ");
        let found = *cookies_in_header(header.as_bytes()).first().expect("found");
        prop_assert!(VerifiedCookies::default().is_valid(&key, found, unix(expires - 1)), "{:?}", header);
    }

    /// Any text is a stored secret or not, never a panic; a stored secret
    /// reads back from exactly the text it writes (one encoding per secret).
    #[test]
    fn from_stored_never_panics_and_is_canonical(text in stored_secret_like()) {
        if let Some(secret) = BypassSecret::from_stored(&text) {
            prop_assert_eq!(secret.to_stored(), text);
        }
    }

    /// A generated secret's stored form reads back to it, and only it.
    #[test]
    fn stored_secrets_round_trip(secret in bypass_secret(), at in any::<prop::sample::Index>(), byte in "[A-Za-z0-9_-]") {
        let stored = secret.to_stored();
        prop_assert_eq!(BypassSecret::from_stored(&stored), Some(secret.clone()));
        let mut changed = stored.clone().into_bytes();
        let at = at.index(changed.len());
        changed[at] = byte.as_bytes()[0];
        let changed = String::from_utf8(changed).expect("ASCII");
        if changed != stored {
            prop_assert_ne!(BypassSecret::from_stored(&changed), Some(secret.clone()), "{:?}", changed);
        }
    }

    /// Any text as a token: a secret or a length / alphabet error, never a
    /// panic; a secret matches its token and no other text.
    #[test]
    fn tokens_match_only_themselves(
        token in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{14,40}", "[ -~]{16,20}"],
        other in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{16,40}"],
    ) {
        if let Ok(secret) = BypassSecret::new(&token) {
            prop_assert!(secret.matches(&token));
            prop_assert_eq!(secret.matches(&other), other == token, "{:?}", other);
            let key = BypassKey::new(&secret);
            prop_assert!(key.matches_token(&token));
        }
    }
}

// ---------------------------------------------------------------------------
// Issue 12: the change record and the audit line

fn via() -> impl Strategy<Value = Via> {
    select(vec![Via::Command, Via::Route, Via::Api])
}

/// A change by any name (kept to its first 200 characters), at any instant.
fn change() -> impl Strategy<Value = Change> {
    (
        prop_oneof![
            any::<String>(),
            "[a-z]{1,12}@[a-z0-9.-]{1,20}",
            "[ -~]{0,300}"
        ],
        via(),
        any_timestamp(),
    )
        .prop_map(|(by, via, at)| Change::new(by, via).at(at))
}

/// Text shaped like a stored change, broken a little or a lot.
fn change_like_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (state(), change()).prop_map(|(state, change)| {
            change_text(&StateRecord::new(state).with_change(change)).expect("a change")
        }),
        (
            prop_oneof![Just("1".to_owned()), Just("0".to_owned()), any::<String>()],
            date_like_text(),
            any::<String>(),
            prop_oneof![
                Just("api".to_owned()),
                Just("route".to_owned()),
                "[a-z]{0,8}"
            ],
        )
            .prop_map(|(state, at, by, via)| {
                serde_json::json!({"state": state, "at": at, "by": by, "via": via}).to_string()
            }),
        "[{}\\\":,a-z0-9 ]{0,80}",
    ]
}

/// No line break of any kind: a log line stays one line.
fn is_one_line(text: &str) -> bool {
    !text.contains([
        '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
    ])
}

proptest! {
    #![proptest_config(config(256))]

    /// Any change of any state reads back exactly for that state, and is no
    /// change for any other state; a record without a change stores none.
    #[test]
    fn a_change_reads_back_for_its_state_only(
        state in state(),
        other in state(),
        change in change(),
    ) {
        let record = StateRecord::new(state.clone()).with_change(change.clone());
        let text = change_text(&record).expect("a change to store");
        prop_assert_eq!(change_for(&state, &text), Some(change.clone()), "{}", text);
        if other != state {
            prop_assert_eq!(change_for(&other, &text), None, "{:?} for {}", other, text);
        }
        prop_assert_eq!(change_text(&StateRecord::new(state)), None);
        prop_assert!(change.by.chars().count() <= 200);
    }

    /// Any text is a change or none, without a panic; a change it gives is
    /// for a state the text names (so a change left from before a state was
    /// rewritten by hand never shows for it).
    #[test]
    fn any_text_is_a_change_or_none(state in state(), text in change_like_text()) {
        if let Some(change) = change_for(&state, &text) {
            let named: serde_json::Value = serde_json::from_str(&text).expect("it was JSON");
            let named = named["state"].as_str().expect("it named a state");
            prop_assert_eq!(MaintenanceState::parse(named).ok(), Some(state.clone()), "{}", text);
            prop_assert_eq!(
                change_text(&StateRecord::new(state).with_change(change.clone())).and_then(|again| change_for(
                    &MaintenanceState::parse(named).unwrap(),
                    &again
                )),
                Some(change)
            );
        }
    }

    /// What the audit line shows is one line, whatever a name or a reason
    /// holds: the change, and the old and the new state.
    #[test]
    fn the_audit_line_stays_one_line(state in state(), change in change()) {
        let shown = change.to_string();
        prop_assert!(is_one_line(&shown), "{:?}", shown);
        let shown = state.to_string();
        prop_assert!(is_one_line(&shown), "{:?}", shown);
    }
}

// ---------------------------------------------------------------------------
// `ignore_ip_networks` (issue 13)

/// IPv4 addresses where networks and lookups meet: the family's ends,
/// private ranges, and anything.
const V4_ANCHORS: [u32; 5] = [0, 0x0a00_0000, 0x0a00_ff00, 0xc0a8_0000, u32::MAX];

/// The same for IPv6, with the IPv4-mapped range (`::ffff:10.0.0.0`).
const V6_ANCHORS: [u128; 6] = [
    0,
    0xffff_0a00_0000,
    0xffff_0000_0000,
    0xfd00 << 112,
    0x2001_0db8 << 96,
    u128::MAX,
];

/// An IPv4 address, often a short way from an anchor.
fn v4_address() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (select(V4_ANCHORS.to_vec()), any::<u16>(), any::<bool>()).prop_map(
            |(anchor, offset, below)| if below {
                anchor.wrapping_sub(u32::from(offset))
            } else {
                anchor.wrapping_add(u32::from(offset))
            }
        ),
    ]
}

/// An IPv6 address, often a short way from an anchor.
fn v6_address() -> impl Strategy<Value = u128> {
    prop_oneof![
        any::<u128>(),
        (select(V6_ANCHORS.to_vec()), any::<u32>(), any::<bool>()).prop_map(
            |(anchor, offset, below)| if below {
                anchor.wrapping_sub(u128::from(offset))
            } else {
                anchor.wrapping_add(u128::from(offset))
            }
        ),
    ]
}

/// A network of either family, any prefix length (the ends more often), the
/// host bits kept as written (`10.0.0.1/8` is a valid setting).
fn network() -> impl Strategy<Value = IpNet> {
    let v4_prefix = prop_oneof![3 => 0..=32u8, 1 => select(vec![0u8, 1, 8, 24, 31, 32])];
    let v6_prefix = prop_oneof![
        3 => 0..=128u8,
        1 => select(vec![0u8, 1, 64, 96, 104, 112, 120, 127, 128]),
    ];
    prop_oneof![
        (v4_address(), v4_prefix).prop_map(|(address, prefix)| {
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(address), prefix).expect("prefix ≤ 32"))
        }),
        (v6_address(), v6_prefix).prop_map(|(address, prefix)| {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(address), prefix).expect("prefix ≤ 128"))
        }),
    ]
}

/// A looked-up address of either family.
fn looked_up() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        v4_address().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        v6_address().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

/// An address and the ones an off-by-one or a family mix-up would get
/// wrong: its neighbours, and its IPv4-mapped or unmapped form.
fn around(ip: IpAddr) -> Vec<IpAddr> {
    let mut around = match ip {
        IpAddr::V4(v4) => {
            let a = u32::from(v4);
            [a.wrapping_sub(1), a, a.wrapping_add(1)]
                .into_iter()
                .flat_map(|a| {
                    let v4 = Ipv4Addr::from(a);
                    [IpAddr::V4(v4), IpAddr::V6(v4.to_ipv6_mapped())]
                })
                .collect::<Vec<_>>()
        }
        IpAddr::V6(v6) => {
            let a = u128::from(v6);
            [a.wrapping_sub(1), a, a.wrapping_add(1)]
                .into_iter()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                .collect()
        }
    };
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        around.push(IpAddr::V4(v4));
    }
    around
}

proptest! {
    #![proptest_config(config(1024))]

    /// The ranges answer exactly as the linear scan of the networks, for
    /// random addresses, every network's ends and what is just outside them.
    #[test]
    fn ip_ranges_answer_as_the_linear_scan(
        networks in vec(network(), 0..16),
        addresses in vec(looked_up(), 0..24),
    ) {
        let ranges: IpRanges = networks.iter().copied().collect();
        let scan = |ip: &IpAddr| networks.iter().any(|net| net.contains(ip));
        let ends = networks.iter().flat_map(|net| [net.network(), net.broadcast()]);
        for ip in addresses.into_iter().chain(ends).flat_map(around) {
            prop_assert_eq!(ranges.contains(ip), scan(&ip), "{} in {:?}", ip, networks);
        }
        let (v4, v6) = ranges.range_counts();
        let (v4_networks, v6_networks) = networks
            .iter()
            .fold((0, 0), |(v4, v6), net| match net {
                IpNet::V4(_) => (v4 + 1, v6),
                IpNet::V6(_) => (v4, v6 + 1),
            });
        prop_assert!(v4 <= v4_networks && v6 <= v6_networks);
        prop_assert_eq!(ranges.is_empty(), networks.is_empty());
    }

    /// Many networks packed close together (nested, overlapping, touching
    /// and a few apart): the merged ranges still answer as the scan, for
    /// every address of the packed stretch and around it.
    #[test]
    fn packed_networks_answer_as_the_linear_scan(
        packed in vec((0..256u32, 24..=32u8), 1..40),
        v6 in any::<bool>(),
    ) {
        let networks: Vec<IpNet> = packed
            .iter()
            .map(|&(offset, prefix)| {
                let base = 0x0a00_0000 + offset;
                if v6 {
                    let base = (0xfd00u128 << 112) | u128::from(base);
                    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), prefix + 96).expect("≤ 128"))
                } else {
                    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(base), prefix).expect("≤ 32"))
                }
            })
            .collect();
        let ranges: IpRanges = networks.iter().copied().collect();
        for a in 0x09ff_ff00u32..0x0a00_0200 {
            let ip = if v6 {
                IpAddr::V6(Ipv6Addr::from((0xfd00u128 << 112) | u128::from(a)))
            } else {
                IpAddr::V4(Ipv4Addr::from(a))
            };
            let scan = networks.iter().any(|net| net.contains(&ip));
            prop_assert_eq!(ranges.contains(ip), scan, "{} in {:?}", ip, networks);
        }
    }
}
