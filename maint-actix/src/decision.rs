//! The per-request decision, django-maintenance-mode's `need_maintenance_response()`.

use std::net::IpAddr;

use regex::RegexSet;

use crate::{
    bypass::BypassKey, ip_ranges::IpRanges, settings::SettingsError, user::MaintenanceUser,
};

/// A handler's own say on maintenance, set by `#[maintenance_off]` / `#[maintenance_on]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Force {
    /// Always served, even during maintenance.
    Off,
    /// Always the maintenance response, even when maintenance is off.
    On,
}

/// What the decision reads of a request. Each method is called only when its
/// step is reached, so a request pays only for the steps it gets to.
pub(crate) trait RequestFacts {
    /// The request path (Django's `path_info`).
    fn path(&self) -> &str;
    /// Whether the request is for a route maint always serves: the toggle-off
    /// route (a superuser can always switch maintenance off) and the bypass link.
    fn is_always_served_route(&self) -> bool;
    /// Whether the method only reads (`GET`, `HEAD`, `OPTIONS`): what
    /// read-only mode serves.
    fn is_read_method(&self) -> bool;
    /// Whether the request carries a valid bypass cookie or token for `key`.
    fn carries_bypass(&mut self, key: &BypassKey) -> bool;
    /// The user, or `None` when there is no user source at all.
    fn user(&mut self) -> Option<MaintenanceUser>;
    /// Logs the user out.
    fn logout(&mut self);
    /// The client IP, if known.
    fn client_ip(&mut self) -> Option<ClientIp>;
}

/// A client IP: resolved by maint, or given as text by the `get_client_ip_address` hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientIp {
    Addr(IpAddr),
    Text(String),
}

impl ClientIp {
    /// Whether the IP's text (Django compares strings) matches one of `patterns`.
    fn text_matches(&self, patterns: &RegexSet) -> bool {
        match self {
            Self::Text(text) => patterns.is_match(text),
            Self::Addr(IpAddr::V4(ip)) => patterns.is_match(&ipv4_text(ip)),
            Self::Addr(ip) => patterns.is_match(&ip.to_string()),
        }
    }

    fn addr(&self) -> Option<IpAddr> {
        match self {
            Self::Addr(ip) => Some(*ip),
            Self::Text(text) => text.parse().ok(),
        }
    }
}

/// Dotted-quad text of an IPv4 address, without the formatting machinery
/// (this runs per request when `ignore_ip_addresses` is set).
fn ipv4_text(ip: &std::net::Ipv4Addr) -> String {
    let mut text = String::with_capacity(15);
    for (index, octet) in ip.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// Maintenance as it applies to a request, when it is in effect.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InEffect<'a> {
    /// Read-only mode: reads are served.
    pub(crate) read_only: bool,
    /// The bypass secret, when one is set.
    pub(crate) bypass: Option<&'a BypassKey>,
}

/// The compiled exemption settings: everything steps 3–9 need, built once.
#[derive(Debug, Default)]
pub(crate) struct Exemptions {
    pub(crate) ignore_anonymous_user: bool,
    pub(crate) ignore_authenticated_user: bool,
    pub(crate) ignore_staff: bool,
    pub(crate) ignore_superuser: bool,
    pub(crate) logout_authenticated_user: bool,
    pub(crate) logout_staff_user: Option<bool>,
    pub(crate) logout_superuser: Option<bool>,
    pub(crate) admin_url: Option<String>,
    pub(crate) running_tests: bool,
    pub(crate) ip_addresses: Option<RegexSet>,
    /// `ignore_ip_networks`; `None` when there are none.
    pub(crate) ip_networks: Option<IpRanges>,
    pub(crate) urls: Option<RegexSet>,
    pub(crate) redirect_target: Option<RedirectTarget>,
    /// `health_urls`, matched exactly.
    pub(crate) health_urls: Box<[Box<str>]>,
}

/// Where `redirect_url` points, reduced to what tells whether a request is for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedirectTarget {
    /// The path, for a target on this site; `None` for a URL on another host
    /// (absolute, or scheme-relative `//host/...`), which is never served here
    /// whatever `Host` a request names: the client chooses that header.
    local_path: Option<String>,
}

impl RedirectTarget {
    /// Parses `redirect_url`; only a same-site path is exempt.
    pub(crate) fn parse(url: &str) -> Result<Self, SettingsError> {
        let invalid = |reason: &str| SettingsError::InvalidValue {
            key: "redirect_url",
            reason: format!("{url:?}: {reason}"),
        };
        let uri: actix_web::http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        if uri.scheme().is_none() && !url.starts_with('/') {
            return Err(invalid("must be an absolute URL or a path starting with /"));
        }
        let on_this_site = uri.scheme().is_none()
            && uri.authority().is_none()
            && !(url.starts_with("//") || url.starts_with("/\\"));
        Ok(Self {
            local_path: on_this_site.then(|| uri.path().to_owned()),
        })
    }

    fn is_requested_by(&self, path: &str) -> bool {
        self.local_path.as_deref() == Some(path)
    }
}

impl Exemptions {
    /// django-maintenance-mode's `need_maintenance_response()`: `true` when the
    /// request gets the maintenance response instead of its handler. The steps
    /// run in order and stop at the first that decides; `in_effect` is asked
    /// only when no handler attribute decides. After the handler attributes
    /// and the state come maint's steps (read-only mode, the bypass link,
    /// maint's own routes, health checks), then Django's. Every step that
    /// serves comes before the user step, which may log the user out.
    pub(crate) fn need_maintenance_response<'a>(
        &self,
        force: Option<Force>,
        in_effect: impl FnOnce() -> Option<InEffect<'a>>,
        req: &mut impl RequestFacts,
    ) -> bool {
        match force {
            Some(Force::Off) => return false,
            Some(Force::On) => return true,
            None => {}
        }
        let Some(maintenance) = in_effect() else {
            return false;
        };
        let served = (maintenance.read_only && req.is_read_method())
            || maintenance
                .bypass
                .is_some_and(|key| req.carries_bypass(key))
            || req.is_always_served_route()
            || self.is_health_check(req.path())
            || self.exempts_user(req)
            || self.exempts_admin_site(req.path())
            || self.running_tests
            || self.exempts_client_ip(req)
            || self.exempts_url(req.path())
            || self.is_redirect_target(req);
        !served
    }

    fn is_health_check(&self, path: &str) -> bool {
        self.health_urls.iter().any(|url| **url == *path)
    }

    fn cares_about_users(&self) -> bool {
        self.ignore_anonymous_user
            || self.ignore_authenticated_user
            || self.ignore_staff
            || self.ignore_superuser
            || self.logout_authenticated_user
            || self.logout_staff_user == Some(true)
            || self.logout_superuser == Some(true)
    }

    fn exempts_user(&self, req: &mut impl RequestFacts) -> bool {
        if !self.cares_about_users() {
            return false;
        }
        let Some(mut user) = req.user() else {
            return false;
        };
        if user.must_log_out(
            self.logout_authenticated_user,
            self.logout_staff_user,
            self.logout_superuser,
        ) {
            req.logout();
            user = MaintenanceUser::anonymous();
        }
        (self.ignore_anonymous_user && !user.is_authenticated)
            || (self.ignore_authenticated_user && user.is_authenticated)
            || (self.ignore_staff && user.is_staff)
            || (self.ignore_superuser && user.is_superuser)
    }

    fn exempts_admin_site(&self, path: &str) -> bool {
        let Some(admin_url) = &self.admin_url else {
            return false;
        };
        // Django compares `path + "/"` so that `/admin` counts as under `/admin/`.
        path.starts_with(admin_url.as_str())
            || (!path.ends_with('/') && admin_url.strip_prefix(path) == Some("/"))
    }

    fn exempts_client_ip(&self, req: &mut impl RequestFacts) -> bool {
        if self.ip_addresses.is_none() && self.ip_networks.is_none() {
            return false;
        }
        let Some(ip) = req.client_ip() else {
            return false;
        };
        if self
            .ip_addresses
            .as_ref()
            .is_some_and(|set| ip.text_matches(set))
        {
            return true;
        }
        self.ip_networks
            .as_ref()
            .is_some_and(|networks| ip.addr().is_some_and(|ip| networks.contains(ip)))
    }

    fn exempts_url(&self, path: &str) -> bool {
        self.urls.as_ref().is_some_and(|set| set.is_match(path))
    }

    fn is_redirect_target(&self, req: &mut impl RequestFacts) -> bool {
        self.redirect_target
            .as_ref()
            .is_some_and(|target| target.is_requested_by(req.path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::compile_anchored;

    /// A request described by its facts, recording what the decision asked.
    #[derive(Default)]
    struct Facts {
        path: String,
        toggle_off: bool,
        writes: bool,
        bypass: bool,
        bypass_asked: bool,
        user: Option<MaintenanceUser>,
        ip: Option<String>,
        logged_out: bool,
        user_asked: bool,
        ip_asked: bool,
    }

    impl Facts {
        fn at(path: &str) -> Self {
            Self {
                path: path.to_owned(),
                user: Some(MaintenanceUser::anonymous()),
                ip: Some("127.0.0.1".to_owned()),
                ..Self::default()
            }
        }
        fn user(mut self, user: MaintenanceUser) -> Self {
            self.user = Some(user);
            self
        }
        fn ip(mut self, ip: &str) -> Self {
            self.ip = Some(ip.to_owned());
            self
        }
    }

    impl RequestFacts for Facts {
        fn path(&self) -> &str {
            &self.path
        }
        fn is_always_served_route(&self) -> bool {
            self.toggle_off
        }
        fn is_read_method(&self) -> bool {
            !self.writes
        }
        fn carries_bypass(&mut self, _: &BypassKey) -> bool {
            self.bypass_asked = true;
            self.bypass
        }
        fn user(&mut self) -> Option<MaintenanceUser> {
            self.user_asked = true;
            self.user.clone()
        }
        fn logout(&mut self) {
            self.logged_out = true;
            self.user = Some(MaintenanceUser::anonymous());
        }
        fn client_ip(&mut self) -> Option<ClientIp> {
            self.ip_asked = true;
            self.ip.clone().map(ClientIp::Text)
        }
    }

    fn decide(ex: &Exemptions, facts: &mut Facts) -> bool {
        ex.need_maintenance_response(None, || Some(InEffect::default()), facts)
    }

    fn blocked(ex: &Exemptions, mut facts: Facts) -> bool {
        decide(ex, &mut facts)
    }

    fn staff() -> MaintenanceUser {
        MaintenanceUser::authenticated("s").staff()
    }

    fn superuser() -> MaintenanceUser {
        MaintenanceUser::authenticated("a").staff().superuser()
    }

    fn read_only() -> Option<InEffect<'static>> {
        Some(InEffect {
            read_only: true,
            bypass: None,
        })
    }

    #[test]
    fn read_only_mode_serves_reads_and_answers_writes() {
        let ex = Exemptions::default();
        let mut get = Facts::at("/");
        assert!(!ex.need_maintenance_response(None, read_only, &mut get));
        let mut post = Facts::at("/");
        post.writes = true;
        assert!(ex.need_maintenance_response(None, read_only, &mut post));
        let mut full = Facts::at("/");
        assert!(decide(&ex, &mut full), "full maintenance answers reads too");
    }

    #[test]
    fn read_only_writes_keep_the_exemptions_and_reads_keep_their_session() {
        let ex = Exemptions {
            ignore_staff: true,
            logout_authenticated_user: true,
            logout_staff_user: Some(false),
            ..Default::default()
        };
        let mut staff_post = Facts::at("/").user(staff());
        staff_post.writes = true;
        assert!(!ex.need_maintenance_response(None, read_only, &mut staff_post));
        let mut user_post = Facts::at("/").user(MaintenanceUser::authenticated("u"));
        user_post.writes = true;
        assert!(ex.need_maintenance_response(None, read_only, &mut user_post));
        assert!(
            user_post.logged_out,
            "a write is answered as in full maintenance"
        );
        let mut user_get = Facts::at("/").user(MaintenanceUser::authenticated("u"));
        assert!(!ex.need_maintenance_response(None, read_only, &mut user_get));
        assert!(!user_get.logged_out, "a served read does not log out");
        assert!(!user_get.user_asked);
    }

    #[test]
    fn forced_on_handlers_answer_even_reads_in_read_only_mode() {
        let ex = Exemptions::default();
        assert!(ex.need_maintenance_response(Some(Force::On), read_only, &mut Facts::at("/")));
    }

    #[test]
    fn a_bypass_is_asked_only_when_a_secret_is_set() {
        let ex = Exemptions::default();
        let key = BypassKey::new(&crate::bypass::BypassSecret::new("sixteen-chars-ok").unwrap());
        let with_secret = || {
            Some(InEffect {
                read_only: false,
                bypass: Some(&key),
            })
        };
        let mut carrying = Facts::at("/");
        carrying.bypass = true;
        assert!(!ex.need_maintenance_response(None, with_secret, &mut carrying));
        let mut plain = Facts::at("/");
        assert!(ex.need_maintenance_response(None, with_secret, &mut plain));
        assert!(plain.bypass_asked);
        let mut no_secret = Facts::at("/");
        no_secret.bypass = true;
        assert!(
            decide(&ex, &mut no_secret),
            "no secret set: nothing bypasses"
        );
        assert!(!no_secret.bypass_asked);
    }

    #[test]
    fn health_urls_match_exactly() {
        let ex = Exemptions {
            health_urls: ["/healthz".into(), "/up".into()].into(),
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/healthz")));
        assert!(!blocked(&ex, Facts::at("/up")));
        for path in [
            "/healthz/",
            "/healthz/x",
            "/health",
            "/upx",
            "/",
            "/Healthz",
        ] {
            assert!(blocked(&ex, Facts::at(path)), "{path}");
        }
        assert!(
            blocked(&Exemptions::default(), Facts::at("/healthz")),
            "[] turns it off"
        );
    }

    #[test]
    fn force_off_serves_even_during_maintenance() {
        let ex = Exemptions::default();
        assert!(!ex.need_maintenance_response(
            Some(Force::Off),
            || Some(InEffect::default()),
            &mut Facts::at("/")
        ));
    }

    #[test]
    fn force_on_beats_the_state_and_every_exemption() {
        let ex = Exemptions {
            ignore_anonymous_user: true,
            urls: compile_anchored("ignore_urls", &["/".into()]).unwrap(),
            ..Default::default()
        };
        let mut facts = Facts::at("/");
        facts.toggle_off = true;
        let state_read = std::cell::Cell::new(false);
        let on = || {
            state_read.set(true);
            None
        };
        assert!(ex.need_maintenance_response(Some(Force::On), on, &mut facts));
        assert!(
            !state_read.get(),
            "a forced handler does not read the state"
        );
    }

    #[test]
    fn maintenance_off_serves_without_looking_at_the_request() {
        let ex = Exemptions {
            ignore_staff: true,
            ..ips(&[".*"])
        };
        let mut facts = Facts::at("/");
        assert!(!ex.need_maintenance_response(None, || None, &mut facts));
        assert!(!facts.user_asked && !facts.ip_asked);
    }

    #[test]
    fn nothing_exempt_by_default() {
        let ex = Exemptions::default();
        let mut facts = Facts::at("/").user(superuser());
        assert!(decide(&ex, &mut facts));
        assert!(
            !facts.user_asked,
            "no user setting, so the user is not read"
        );
        assert!(!facts.ip_asked, "no IP setting, so the IP is not resolved");
    }

    #[test]
    fn toggle_off_route_is_served() {
        let ex = Exemptions::default();
        let mut facts = Facts::at("/maintenance-mode/off/");
        facts.toggle_off = true;
        assert!(!decide(&ex, &mut facts));
        assert!(blocked(&ex, Facts::at("/maintenance-mode/off/")));
    }

    #[test]
    fn ignore_anonymous_user() {
        let ex = Exemptions {
            ignore_anonymous_user: true,
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/")));
        assert!(blocked(
            &ex,
            Facts::at("/").user(MaintenanceUser::authenticated("u"))
        ));
        assert!(blocked(&Exemptions::default(), Facts::at("/")));
    }

    #[test]
    fn ignore_authenticated_user() {
        let ex = Exemptions {
            ignore_authenticated_user: true,
            ..Default::default()
        };
        assert!(!blocked(
            &ex,
            Facts::at("/").user(MaintenanceUser::authenticated("u"))
        ));
        assert!(blocked(&ex, Facts::at("/")));
    }

    #[test]
    fn ignore_staff() {
        let ex = Exemptions {
            ignore_staff: true,
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/").user(staff())));
        assert!(blocked(
            &ex,
            Facts::at("/").user(MaintenanceUser::authenticated("u"))
        ));
    }

    #[test]
    fn ignore_superuser() {
        let ex = Exemptions {
            ignore_superuser: true,
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/").user(superuser())));
        assert!(blocked(&ex, Facts::at("/").user(staff())));
    }

    #[test]
    fn no_user_source_skips_the_user_step() {
        let ex = Exemptions {
            ignore_anonymous_user: true,
            ..Default::default()
        };
        let mut facts = Facts::at("/");
        facts.user = None;
        assert!(decide(&ex, &mut facts));
    }

    #[test]
    fn logout_happens_before_the_user_exemptions() {
        let ex = Exemptions {
            ignore_superuser: true,
            logout_authenticated_user: true,
            ..Default::default()
        };
        let mut facts = Facts::at("/").user(superuser());
        assert!(
            decide(&ex, &mut facts),
            "logged out, so no longer a superuser"
        );
        assert!(facts.logged_out);
    }

    #[test]
    fn logout_superuser_false_keeps_superusers_in() {
        let ex = Exemptions {
            ignore_superuser: true,
            logout_authenticated_user: true,
            logout_superuser: Some(false),
            ..Default::default()
        };
        let mut facts = Facts::at("/").user(superuser());
        assert!(!decide(&ex, &mut facts));
        assert!(!facts.logged_out);
    }

    #[test]
    fn logout_staff_user_only() {
        let ex = Exemptions {
            logout_staff_user: Some(true),
            ..Default::default()
        };
        let mut facts = Facts::at("/").user(staff());
        assert!(decide(&ex, &mut facts));
        assert!(facts.logged_out);
        let mut plain = Facts::at("/").user(MaintenanceUser::authenticated("u"));
        assert!(decide(&ex, &mut plain));
        assert!(!plain.logged_out);
    }

    #[test]
    fn logged_out_user_counts_as_anonymous() {
        let ex = Exemptions {
            ignore_anonymous_user: true,
            logout_authenticated_user: true,
            ..Default::default()
        };
        let mut facts = Facts::at("/").user(MaintenanceUser::authenticated("u"));
        assert!(!decide(&ex, &mut facts));
        assert!(facts.logged_out);
    }

    fn admin(url: &str) -> Exemptions {
        Exemptions {
            admin_url: Some(url.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn ignore_admin_site_with_and_without_slash() {
        let ex = admin("/admin/");
        assert!(!blocked(&ex, Facts::at("/admin/")));
        assert!(!blocked(&ex, Facts::at("/admin")));
        assert!(!blocked(&ex, Facts::at("/admin/users/1")));
        assert!(blocked(&ex, Facts::at("/")));
        assert!(blocked(&ex, Facts::at("/administrator")));
        assert!(blocked(&ex, Facts::at("/adm")));
        assert!(blocked(&Exemptions::default(), Facts::at("/admin/")));
    }

    #[test]
    fn ignore_tests() {
        let ex = Exemptions {
            running_tests: true,
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/")));
    }

    fn ips(patterns: &[&str]) -> Exemptions {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        Exemptions {
            ip_addresses: compile_anchored("ignore_ip_addresses", &patterns).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn ignore_ip_addresses_match_at_the_start() {
        let ex = ips(&[r"127\.0\.0\.1", r"10\.0\."]);
        assert!(!blocked(&ex, Facts::at("/").ip("127.0.0.1")));
        assert!(!blocked(&ex, Facts::at("/").ip("10.0.3.4")));
        assert!(blocked(&ex, Facts::at("/").ip("192.168.10.0.5")));
        assert!(blocked(&ex, Facts::at("/").ip("1.2.3.4")));
    }

    #[test]
    fn unknown_client_ip_is_not_exempt() {
        let ex = ips(&[".*"]);
        let mut facts = Facts::at("/");
        facts.ip = None;
        assert!(decide(&ex, &mut facts));
    }

    #[test]
    fn ipv4_text_is_the_dotted_quad() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.0.100.255",
            "127.0.0.1",
            "255.255.255.255",
            "9.99.100.101",
        ] {
            assert_eq!(ipv4_text(&ip.parse().unwrap()), ip);
        }
    }

    #[test]
    fn resolved_addresses_match_like_their_text() {
        let set = compile_anchored("ignore_ip_addresses", &[r"127\.0\.".into(), "::1$".into()])
            .unwrap()
            .unwrap();
        assert!(ClientIp::Addr("127.0.0.1".parse().unwrap()).text_matches(&set));
        assert!(!ClientIp::Addr("128.0.0.1".parse().unwrap()).text_matches(&set));
        assert!(ClientIp::Addr("::1".parse().unwrap()).text_matches(&set));
        assert_eq!(
            ClientIp::Text("10.0.0.1".into()).addr(),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(ClientIp::Text("not an ip".into()).addr(), None);
    }

    #[test]
    fn ignore_ip_networks() {
        let ex = Exemptions {
            ip_networks: Some(
                ["10.0.0.0/8", "fd00::/8"]
                    .into_iter()
                    .map(|net| net.parse::<ipnet::IpNet>().unwrap())
                    .collect(),
            ),
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/").ip("10.200.0.1")));
        assert!(!blocked(&ex, Facts::at("/").ip("fd12::1")));
        assert!(blocked(&ex, Facts::at("/").ip("11.0.0.1")));
        assert!(blocked(&ex, Facts::at("/").ip("not an ip")));
        // The text of a `get_client_ip_address` hook is read as it is written:
        // an IPv4-mapped IPv6 address is an IPv6 address, not in 10.0.0.0/8
        // (an address maint resolves itself is made canonical first: IPv4).
        assert!(blocked(&ex, Facts::at("/").ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn ignore_urls_match_at_the_start_of_the_path() {
        let ex = Exemptions {
            urls: compile_anchored("ignore_urls", &["/api/".into(), "/health$".into()]).unwrap(),
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/api/v1")));
        assert!(!blocked(&ex, Facts::at("/health")));
        assert!(blocked(&ex, Facts::at("/health/deep")));
        assert!(blocked(&ex, Facts::at("/v1/api/")));
    }

    #[test]
    fn redirect_target_path_is_served() {
        let ex = Exemptions {
            redirect_target: Some(RedirectTarget::parse("/maintenance/").unwrap()),
            ..Default::default()
        };
        assert!(!blocked(&ex, Facts::at("/maintenance/")));
        assert!(blocked(&ex, Facts::at("/maintenance/x")));
        assert!(blocked(&ex, Facts::at("/")));
    }

    #[test]
    fn a_redirect_target_on_another_host_is_never_served_here() {
        for url in [
            "https://example.com/down?x=1",
            "//example.com/down",
            "/\\example.com/down",
        ] {
            let ex = Exemptions {
                redirect_target: Some(RedirectTarget::parse(url).unwrap()),
                ..Default::default()
            };
            assert!(blocked(&ex, Facts::at("/down")), "{url}");
            assert!(blocked(&ex, Facts::at("//example.com/down")), "{url}");
        }
    }

    #[test]
    fn redirect_url_must_be_a_url_or_path() {
        assert!(RedirectTarget::parse("maintenance").is_err());
        let err = RedirectTarget::parse("http://exa mple.com/").unwrap_err();
        assert!(err.to_string().contains("redirect_url"));
    }

    #[test]
    fn earlier_steps_win_and_later_ones_are_not_evaluated() {
        let mut ex = ips(&[".*"]);
        ex.ignore_anonymous_user = true;
        let mut facts = Facts::at("/");
        assert!(!decide(&ex, &mut facts));
        assert!(!facts.ip_asked);
    }
}
