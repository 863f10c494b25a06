//! The CSRF token of the forms: one per session, posted back in the hidden
//! input [`CSRF_FIELD`](super::CSRF_FIELD), compared in constant time.

use actix_session::Session;
use rand::CryptoRng;
use subtle::ConstantTimeEq;

use crate::user::CSRF_SESSION_KEY;

/// Bytes of randomness in a CSRF token (256 bits), hex-encoded in the form.
pub(super) const TOKEN_BYTES: usize = 32;

/// The session's CSRF token, created (and stored) when it has none.
pub(super) fn session_token(
    session: &Session,
) -> Result<String, actix_session::SessionInsertError> {
    if let Ok(Some(token)) = session.get::<String>(CSRF_SESSION_KEY)
        && is_well_formed_token(&token)
    {
        return Ok(token);
    }
    let token = new_token(&mut rand::rng());
    session.insert(CSRF_SESSION_KEY, &token)?;
    Ok(token)
}

/// A fresh token: [`TOKEN_BYTES`] bytes of a cryptographically secure generator, hex-encoded.
pub(super) fn new_token(rng: &mut impl CryptoRng) -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(super) fn is_well_formed_token(token: &str) -> bool {
    token.len() == 2 * TOKEN_BYTES && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `posted` equals the session's token, compared in constant time.
/// A session without a token matches nothing.
pub(super) fn token_matches(session: &Session, posted: Option<&str>) -> bool {
    let Ok(Some(expected)) = session.get::<String>(CSRF_SESSION_KEY) else {
        return false;
    };
    let Some(posted) = posted else {
        return false;
    };
    is_well_formed_token(&expected) && bool::from(expected.as_bytes().ct_eq(posted.as_bytes()))
}
