//! The bypass link: Laravel's `php artisan down --secret`, with a cookie that
//! outlives neither the secret, nor the maintenance, nor `bypass_cookie_ttl`.
//!
//! An operator stores a [`BypassSecret`] with the state (`maintenance_mode on
//! --secret TOKEN` or `--with-secret`). Whoever opens
//! `/maintenance-mode/bypass/TOKEN` gets a cookie that lets their browser
//! through the maintenance; an API client or a smoke test sends the header
//! `X-Maintenance-Bypass: TOKEN` instead.
//!
//! - The state holds a salted SHA-256 digest of the token, never the token:
//!   `status`, error messages and whoever reads the store cannot print the
//!   link. A new salt is drawn every time a secret is stored, so switching
//!   maintenance on again, even with the same token, ends every cookie made
//!   before.
//! - The cookie is `EXPIRY.MAC`: its expiry (Unix seconds) and an HMAC-SHA256
//!   of it keyed with the digest. Editing a byte, another secret, or a time
//!   past the expiry makes it worthless. Whoever can read the state store can
//!   make cookies: protect it like the app's configuration.
//! - Tokens and MACs are compared in constant time.
//!
//! ```
//! use maint_actix::bypass::BypassSecret;
//!
//! let (token, secret) = BypassSecret::generate();
//! assert_eq!(token.len(), 32);
//! assert!(secret.matches(&token));
//! assert!(!secret.matches("not-the-token-at-all"));
//! assert_eq!(format!("{secret:?}"), "BypassSecret(..)");
//! ```

use std::{
    cell::RefCell,
    fmt,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use actix_web::cookie::{Cookie, SameSite};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Name of the bypass cookie.
pub const COOKIE_NAME: &str = "maint_bypass";

/// Header carrying a bypass token, for clients without cookies.
pub const HEADER_NAME: &str = "x-maintenance-bypass";

/// The shortest token `--secret` accepts: 16 characters of the URL-safe
/// alphabet carry at least 96 bits when chosen at random.
pub const MIN_TOKEN_LEN: usize = 16;

/// The longest token accepted, so a header cannot make the server hash megabytes.
pub const MAX_TOKEN_LEN: usize = 256;

/// Random bytes in a generated token: 24 bytes are 32 URL-safe characters.
const GENERATED_TOKEN_BYTES: usize = 24;

const SALT_LEN: usize = 16;

/// What the cookie's MAC covers besides the expiry, so that a MAC made for
/// another purpose with the same key can never pass for a cookie.
const COOKIE_CONTEXT: &[u8] = b"maint-bypass-cookie:";

type HmacSha256 = Hmac<Sha256>;

/// A bypass secret as stored with the state: a random salt and the SHA-256
/// of salt and token. Its `Debug` shows nothing of either.
#[derive(Clone, PartialEq, Eq)]
pub struct BypassSecret {
    salt: [u8; SALT_LEN],
    digest: [u8; 32],
}

/// Why a token cannot be a bypass secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BypassTokenError {
    /// Shorter than [`MIN_TOKEN_LEN`] or longer than [`MAX_TOKEN_LEN`].
    #[error("a bypass token must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters long, not {0}")]
    Length(usize),
    /// A character outside `A-Z a-z 0-9 - _` (it has to survive a URL path unescaped).
    #[error("a bypass token may only hold the URL-safe characters A-Z a-z 0-9 - _")]
    Alphabet,
}

impl BypassSecret {
    /// The secret for an operator's `token` (`--secret TOKEN`), with a fresh salt.
    ///
    /// ```
    /// use maint_actix::bypass::BypassSecret;
    ///
    /// assert!(BypassSecret::new("let-me-in-please-1234").is_ok());
    /// assert!(BypassSecret::new("short").is_err());
    /// assert!(BypassSecret::new("spaces are not url safe").is_err());
    /// ```
    pub fn new(token: &str) -> Result<Self, BypassTokenError> {
        check_token(token)?;
        let mut salt = [0; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        Ok(Self::salted(salt, token))
    }

    /// A random 32-character token (`--with-secret`) and its secret.
    pub fn generate() -> (String, Self) {
        let mut bytes = [0; GENERATED_TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let secret =
            Self::new(&token).expect("a generated token has the right alphabet and length");
        (token, secret)
    }

    fn salted(salt: [u8; SALT_LEN], token: &str) -> Self {
        Self {
            salt,
            digest: digest(&salt, token),
        }
    }

    /// Whether `token` is this secret's token, compared in constant time.
    pub fn matches(&self, token: &str) -> bool {
        check_token(token).is_ok() && bool::from(digest(&self.salt, token).ct_eq(&self.digest))
    }

    /// The stored form: `SALT.DIGEST`, both base64url.
    pub fn to_stored(&self) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(self.salt),
            URL_SAFE_NO_PAD.encode(self.digest)
        )
    }

    /// Reads the stored form back; `None` when `stored` is not one.
    pub fn from_stored(stored: &str) -> Option<Self> {
        let (salt, digest) = stored.split_once('.')?;
        Some(Self {
            salt: decode_exact(salt)?,
            digest: decode_exact(digest)?,
        })
    }
}

impl fmt::Debug for BypassSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BypassSecret(..)")
    }
}

impl serde::Serialize for BypassSecret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_stored())
    }
}

impl<'de> serde::Deserialize<'de> for BypassSecret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = String::deserialize(deserializer)?;
        Self::from_stored(&stored)
            .ok_or_else(|| serde::de::Error::custom("not a stored bypass secret"))
    }
}

fn check_token(token: &str) -> Result<(), BypassTokenError> {
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len()) {
        return Err(BypassTokenError::Length(token.len()));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(BypassTokenError::Alphabet);
    }
    Ok(())
}

fn digest(salt: &[u8; SALT_LEN], token: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(salt)
        .chain_update(token.as_bytes())
        .finalize()
        .into()
}

fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0; N];
    // An exact-size buffer: a longer text fails to decode instead of overflowing.
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(len) if len == N => Some(out),
        _ => None,
    }
}

/// Identifies one [`BypassKey`], so a worker's remembered cookie is never
/// taken for valid under a later secret (an address could be reused).
static NEXT_KEY_ID: AtomicU64 = AtomicU64::new(0);

/// What the request path needs of a stored secret: the HMAC keyed once (the
/// key schedule is half the cost of a MAC), an identity for the cookie cache.
#[derive(Clone)]
pub(crate) struct BypassKey {
    id: u64,
    secret: BypassSecret,
    mac: HmacSha256,
}

impl fmt::Debug for BypassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BypassKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl BypassKey {
    pub(crate) fn new(secret: &BypassSecret) -> Self {
        Self {
            id: NEXT_KEY_ID.fetch_add(1, Ordering::Relaxed),
            secret: secret.clone(),
            mac: HmacSha256::new_from_slice(&secret.digest).expect("HMAC takes keys of any size"),
        }
    }

    /// Whether `token` is the secret's token.
    pub(crate) fn matches_token(&self, token: &str) -> bool {
        self.secret.matches(token)
    }

    /// A cookie value valid until `expires` (Unix seconds).
    pub(crate) fn cookie_value(&self, expires: i64) -> String {
        let tag = self.tag(expires).finalize().into_bytes();
        format!("{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The expiry of a cookie value made by this key, when its MAC is right;
    /// the caller checks that it is still ahead.
    pub(crate) fn verify_cookie(&self, value: &str) -> Option<i64> {
        let (expires_text, tag_text) = value.split_once('.')?;
        let expires: i64 = expires_text.parse().ok()?;
        // `parse` takes `+5` and `05`: only the canonical digits were signed.
        if expires.to_string() != expires_text {
            return None;
        }
        let tag: [u8; 32] = decode_exact(tag_text)?;
        self.tag(expires).verify_slice(&tag).ok()?;
        Some(expires)
    }

    fn tag(&self, expires: i64) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(COOKIE_CONTEXT);
        mac.update(expires.to_string().as_bytes());
        mac
    }
}

/// How many bypass cookies of one header are looked at: a browser holds one,
/// and each that is not in the worker's cache costs a MAC.
const MAX_COOKIES_LOOKED_AT: usize = 4;

const COOKIE_NAME_EQ: &[u8] = b"maint_bypass=";

/// Calls `check` with each value of the bypass cookie in a `Cookie` header
/// (the first [`MAX_COOKIES_LOOKED_AT`]) until it answers `true`; whether one did.
///
/// A walk over the `;` of the raw bytes rather than the cookie crate's
/// parser, which builds every cookie of the header, or a UTF-8 check of the
/// whole header: this runs per request during maintenance when a secret is
/// set, so it is a plain loop the compiler inlines. Whatever it finds is
/// authenticated before it counts.
#[inline]
pub(crate) fn any_cookie_in_header<'h>(
    header: &'h [u8],
    mut check: impl FnMut(&'h [u8]) -> bool,
) -> bool {
    let mut rest = header;
    let mut looked_at = 0;
    loop {
        let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
        if let Some(value) = rest[..end].trim_ascii_start().strip_prefix(COOKIE_NAME_EQ) {
            if check(value.trim_ascii_end()) {
                return true;
            }
            looked_at += 1;
            if looked_at == MAX_COOKIES_LOOKED_AT {
                return false;
            }
        }
        if end == rest.len() {
            return false;
        }
        rest = &rest[end + 1..];
    }
}

/// The values [`any_cookie_in_header`] looks at, for tests.
#[cfg(test)]
pub(crate) fn cookies_in_header(header: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    any_cookie_in_header(header, |value| {
        found.push(value);
        false
    });
    found
}

/// The cookie that lets a browser through: for `ttl` seconds, never beyond
/// the maintenance's `end`; `Secure` when the request came over HTTPS.
pub(crate) fn cookie(
    key: &BypassKey,
    ttl: u64,
    end: Option<jiff::Timestamp>,
    now: i64,
    https: bool,
) -> Cookie<'static> {
    let ttl = i64::try_from(ttl).unwrap_or(i64::MAX);
    let expires = end
        .map_or(i64::MAX, |end| end.as_second())
        .min(now.saturating_add(ttl));
    Cookie::build(COOKIE_NAME, key.cookie_value(expires))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(https)
        .max_age(actix_web::cookie::time::Duration::seconds(expires - now))
        .finish()
}

/// Now, in Unix seconds (the cookie's clock).
pub(crate) fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The last valid cookie a worker saw, so a browser that is let through pays
/// for one MAC, not one per request.
#[derive(Debug, Default)]
pub(crate) struct VerifiedCookies {
    last: RefCell<Option<Verified>>,
}

#[derive(Debug)]
struct Verified {
    key_id: u64,
    value: Box<[u8]>,
    /// When the cookie expires, as a `SystemTime`: comparing one with
    /// `SystemTime::now()` costs a fraction of converting the clock to seconds.
    expires: Option<SystemTime>,
}

impl VerifiedCookies {
    /// Whether `value` is a cookie made by `key` that has not expired at `now`.
    pub(crate) fn is_valid(&self, key: &BypassKey, value: &[u8], now: SystemTime) -> bool {
        if let Some(seen) = &*self.last.borrow()
            && seen.key_id == key.id
            && constant_time_eq::constant_time_eq(&seen.value, value)
        {
            return seen.expires.is_some_and(|expires| now < expires);
        }
        let Some(expires) = std::str::from_utf8(value)
            .ok()
            .and_then(|value| key.verify_cookie(value))
        else {
            return false;
        };
        let expires = system_time(expires);
        *self.last.borrow_mut() = Some(Verified {
            key_id: key.id,
            value: value.into(),
            expires,
        });
        expires.is_some_and(|expires| now < expires)
    }
}

/// Unix seconds as a `SystemTime`, when the platform can hold them.
pub(crate) fn system_time(unix_seconds: i64) -> Option<SystemTime> {
    let offset = Duration::from_secs(unix_seconds.unsigned_abs());
    if unix_seconds >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_seconds: i64) -> SystemTime {
        system_time(unix_seconds).unwrap()
    }

    fn key() -> BypassKey {
        BypassKey::new(&BypassSecret::new("a-token-of-twenty-chars").unwrap())
    }

    fn key_two() -> BypassKey {
        BypassKey::new(&BypassSecret::new("another-token-of-twenty").unwrap())
    }

    #[test]
    fn stored_form_round_trips_and_keeps_the_token_out() {
        let (token, secret) = BypassSecret::generate();
        let stored = secret.to_stored();
        assert!(!stored.contains(&token));
        let back = BypassSecret::from_stored(&stored).unwrap();
        assert_eq!(back, secret);
        assert!(back.matches(&token));
        for bad in [
            "",
            ".",
            "abc",
            "AAAA.AAAA",
            &format!("{stored}x"),
            &stored.replace('.', ""),
        ] {
            assert!(BypassSecret::from_stored(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_token_stored_twice_gets_two_salts() {
        let a = BypassSecret::new("the-same-token-twice").unwrap();
        let b = BypassSecret::new("the-same-token-twice").unwrap();
        assert_ne!(a, b);
        assert!(a.matches("the-same-token-twice") && b.matches("the-same-token-twice"));
        let cookie = BypassKey::new(&a).cookie_value(i64::MAX);
        assert!(BypassKey::new(&b).verify_cookie(&cookie).is_none());
    }

    #[test]
    fn tokens_are_checked() {
        assert_eq!(
            BypassSecret::new("x".repeat(15).as_str()),
            Err(BypassTokenError::Length(15))
        );
        assert!(BypassSecret::new(&"x".repeat(16)).is_ok());
        assert!(BypassSecret::new(&"x".repeat(257)).is_err());
        assert_eq!(
            BypassSecret::new("sixteen/chars/xx"),
            Err(BypassTokenError::Alphabet)
        );
        let secret = BypassSecret::new(&"x".repeat(16)).unwrap();
        assert!(!secret.matches(&"x".repeat(17)));
        assert!(!secret.matches(""));
    }

    #[test]
    fn a_cookie_verifies_with_its_key_only() {
        let key = key();
        let value = key.cookie_value(2_000_000_000);
        assert_eq!(key.verify_cookie(&value), Some(2_000_000_000));
        assert_eq!(key_two().verify_cookie(&value), None, "another secret");
        let later = value.replacen("2000000000", "2000000001", 1);
        assert_eq!(key.verify_cookie(&later), None, "edited expiry");
        let padded = value.replacen("2000000000", "02000000000", 1);
        assert_eq!(key.verify_cookie(&padded), None, "same number, other text");
        for bad in [
            "",
            ".",
            "2000000000",
            "2000000000.",
            "x.y",
            &format!("{value}A"),
        ] {
            assert_eq!(key.verify_cookie(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_cache_rechecks_expiry_and_key() {
        let cache = VerifiedCookies::default();
        let key = key();
        let value = key.cookie_value(100);
        let value = value.as_bytes();
        assert!(cache.is_valid(&key, value, at(99)));
        assert!(cache.is_valid(&key, value, at(99)), "from the cache");
        assert!(
            !cache.is_valid(&key, value, at(100)),
            "expired, from the cache"
        );
        let other = BypassKey::new(&key.secret);
        assert_ne!(other.id, key.id);
        assert!(
            cache.is_valid(&other, value, at(99)),
            "same secret, verified again"
        );
        let last = if value.ends_with(b"A") { b"Q" } else { b"A" };
        let forged = [&value[..value.len() - 1], last].concat();
        assert!(!cache.is_valid(&key, &forged, at(99)));
        assert!(!cache.is_valid(&key, b"\xff\xfe", at(99)));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let find = |header: &[u8]| {
            cookies_in_header(header)
                .into_iter()
                .map(|value| String::from_utf8_lossy(value).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(find(b"maint_bypass=1.abc"), ["1.abc"]);
        assert_eq!(find(b"id=x; maint_bypass=1.abc ; z=1"), ["1.abc"]);
        assert_eq!(find(b"id=x;maint_bypass=1.abc"), ["1.abc"]);
        assert_eq!(
            find(b"maint_bypass=1.abc; maint_bypass=2.x"),
            ["1.abc", "2.x"]
        );
        assert_eq!(find(b"xmaint_bypass=1.abc"), Vec::<String>::new());
        assert_eq!(find(b"id=a maint_bypass=1"), Vec::<String>::new());
        assert_eq!(find(b"maint_bypassx=1"), Vec::<String>::new());
        assert_eq!(find(b""), Vec::<String>::new());
        assert_eq!(find(b"maint_bypass="), [""]);
        assert_eq!(
            find(b"id=\xff\xfe; maint_bypass=1.abc"),
            ["1.abc"],
            "bytes that are not UTF-8 elsewhere in the header do not matter"
        );
        let many = "maint_bypass=x; ".repeat(100);
        assert_eq!(find(many.as_bytes()).len(), MAX_COOKIES_LOOKED_AT);
    }
}
