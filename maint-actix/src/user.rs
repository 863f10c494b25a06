//! Who is making the request, as far as the maintenance exemptions care.
//!
//! By default the user is read from the actix-session [`Session`] under the
//! `session_user_key` setting; store it at login with [`login`] and clear it
//! at logout with [`logout`]. Apps with tokens or JWTs give the builder a
//! `get_authenticated_user` hook instead.

use actix_session::{Session, SessionGetError, SessionInsertError};
use serde::{Deserialize, Serialize};

/// Session key of the toggle forms' CSRF token; [`login`] clears it for the next user.
pub const CSRF_SESSION_KEY: &str = "maint_csrf_token";

/// What the maintenance check knows of a user: the flags of Django's `User`.
///
/// ```
/// use maint_actix::MaintenanceUser;
///
/// let admin = MaintenanceUser::authenticated("admin").staff().superuser();
/// assert!(admin.is_authenticated && admin.is_staff && admin.is_superuser);
/// assert!(!MaintenanceUser::anonymous().is_authenticated);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MaintenanceUser {
    /// A logged-in user (Django's `is_authenticated`).
    pub is_authenticated: bool,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    /// A name to show and log, if any.
    pub name: Option<String>,
}

impl MaintenanceUser {
    /// The anonymous user (Django's `AnonymousUser`).
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A logged-in user called `name`, neither staff nor superuser.
    pub fn authenticated(name: impl Into<String>) -> Self {
        Self {
            is_authenticated: true,
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// The same user, marked as staff.
    #[must_use]
    pub fn staff(mut self) -> Self {
        self.is_staff = true;
        self
    }

    /// The same user, marked as superuser.
    #[must_use]
    pub fn superuser(mut self) -> Self {
        self.is_superuser = true;
        self
    }

    /// Whether the `logout_*` settings say this user is logged out when maintenance
    /// is on, as django-maintenance-mode decides: a superuser (staff or not)
    /// follows `logout_superuser`, staff who are not superusers follow
    /// `logout_staff_user`, and whoever has no rule of their own set follows
    /// `logout_authenticated_user`.
    pub(crate) fn must_log_out(
        &self,
        logout_authenticated_user: bool,
        logout_staff_user: Option<bool>,
        logout_superuser: Option<bool>,
    ) -> bool {
        if !self.is_authenticated {
            return false;
        }
        let own_rule = if self.is_superuser {
            logout_superuser
        } else if self.is_staff {
            logout_staff_user
        } else {
            None
        };
        own_rule.unwrap_or(logout_authenticated_user)
    }
}

/// Stores `user` in the session under `key` (call it at login).
///
/// ```
/// # use actix_web::test::TestRequest;
/// # use actix_session::SessionExt;
/// use maint_actix::{user, MaintenanceUser};
///
/// # let req = TestRequest::default().to_http_request();
/// # let session = req.get_session();
/// user::login(&session, "maint_user", &MaintenanceUser::authenticated("ada").staff()).unwrap();
/// assert_eq!(user::current(&session, "maint_user").unwrap().name.as_deref(), Some("ada"));
/// user::logout(&session);
/// assert!(!user::current(&session, "maint_user").unwrap().is_authenticated);
/// ```
pub fn login(
    session: &Session,
    key: &str,
    user: &MaintenanceUser,
) -> Result<(), SessionInsertError> {
    session.renew();
    // A token minted for the previous user must not serve the next one.
    session.remove(CSRF_SESSION_KEY);
    session.insert(key, user)
}

/// The user stored in the session under `key`, or the anonymous user.
pub fn current(session: &Session, key: &str) -> Result<MaintenanceUser, SessionGetError> {
    Ok(session.get::<MaintenanceUser>(key)?.unwrap_or_default())
}

/// Ends the session, as Django's `logout()` does: its state is removed and the
/// cookie is cleared on the response.
pub fn logout(session: &Session) {
    session.purge();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logout_rule(
        user: &MaintenanceUser,
        all: bool,
        staff: Option<bool>,
        su: Option<bool>,
    ) -> bool {
        user.must_log_out(all, staff, su)
    }

    #[test]
    fn anonymous_is_never_logged_out() {
        let anon = MaintenanceUser::anonymous();
        assert!(!logout_rule(&anon, true, Some(true), Some(true)));
    }

    #[test]
    fn authenticated_follows_the_general_rule() {
        let user = MaintenanceUser::authenticated("u");
        assert!(logout_rule(&user, true, Some(false), Some(false)));
        assert!(!logout_rule(&user, false, Some(true), Some(true)));
    }

    #[test]
    fn staff_rule_overrides_the_general_one() {
        let staff = MaintenanceUser::authenticated("s").staff();
        assert!(!logout_rule(&staff, true, Some(false), None));
        assert!(logout_rule(&staff, false, Some(true), None));
        assert!(logout_rule(&staff, true, None, Some(false)));
    }

    #[test]
    fn superuser_rule_comes_first() {
        let admin = MaintenanceUser::authenticated("a").staff().superuser();
        assert!(!logout_rule(&admin, true, Some(true), Some(false)));
        assert!(logout_rule(&admin, false, Some(false), Some(true)));
        // Without a superuser rule, a superuser (staff or not) follows the
        // general rule, never the staff rule (django-maintenance-mode's order).
        assert!(!logout_rule(&admin, false, Some(true), None));
        assert!(logout_rule(&admin, true, Some(false), None));
        let bare = MaintenanceUser::authenticated("b").superuser();
        assert!(!logout_rule(&bare, false, Some(true), None));
        assert!(logout_rule(&bare, true, Some(false), None));
    }
}
