//! The Handlebars helper `maintenance_mode`, Django's
//! `maintenance_mode.context_processors.maintenance_mode` for templates.
//!
//! After [`register_helper`], a template can write
//! `{{#if (maintenance_mode)}}…{{/if}}` or print `{{maintenance_mode}}`
//! (`true` / `false`), and `{{#if (maintenance_read_only)}}` tells read-only
//! mode from full maintenance. The helpers read the handle's in-memory state on every
//! render ([`MaintenanceMode::is_on`], no I/O), so it follows state changes
//! without being registered again.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, JsonValue, RenderContext, RenderError, ScopedJson,
};

use crate::handle::MaintenanceMode;

/// The name [`register_helper`] registers the helper under.
pub const HELPER_NAME: &str = "maintenance_mode";

/// The name [`register_helper`] registers the read-only helper under.
pub const READ_ONLY_HELPER_NAME: &str = "maintenance_read_only";

/// The `maintenance_mode` helper: a JSON boolean, whether maintenance is in
/// effect now. Register it under another name with
/// `registry.register_helper("name", Box::new(MaintenanceModeHelper::new(&maint)))`.
///
/// It holds a clone of the handle, so the handle lives as long as the registry.
#[derive(Debug, Clone)]
pub struct MaintenanceModeHelper {
    maint: MaintenanceMode,
    read_only: bool,
}

impl MaintenanceModeHelper {
    /// The helper reading `maint`'s state: whether maintenance is in effect.
    pub fn new(maint: &MaintenanceMode) -> Self {
        Self {
            maint: maint.clone(),
            read_only: false,
        }
    }

    /// The helper telling read-only mode from full maintenance: `true` while
    /// maintenance in read-only mode is in effect (pages are served, writes are not).
    pub fn read_only(maint: &MaintenanceMode) -> Self {
        Self {
            maint: maint.clone(),
            read_only: true,
        }
    }
}

impl HelperDef for MaintenanceModeHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let answer = if self.read_only {
            self.maint.is_read_only()
        } else {
            self.maint.is_on()
        };
        Ok(ScopedJson::Derived(JsonValue::Bool(answer)))
    }
}

/// Registers the helpers of `maint` in `registry`: [`HELPER_NAME`]
/// (`maintenance_mode`, whether maintenance is in effect) and
/// [`READ_ONLY_HELPER_NAME`] (`maintenance_read_only`, whether it is in
/// effect in read-only mode).
///
/// ```
/// use handlebars::Handlebars;
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, MaintenanceState};
/// use maint_actix::{settings::StateBackendKind, state::Schedule};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// let mut templates = Handlebars::new();
/// maint_actix::template::register_helper(&mut templates, &maint);
/// templates.register_template_string(
///     "banner",
///     "{{#if (maintenance_read_only)}}Read-only mode{{else if (maintenance_mode)}}Maintenance mode is on{{else}}Welcome{{/if}} ({{maintenance_mode}})",
/// )?;
///
/// assert_eq!(templates.render("banner", &())?, "Welcome (false)");
/// maint.set_maintenance_mode_blocking(true)?;
/// assert_eq!(templates.render("banner", &())?, "Maintenance mode is on (true)");
/// maint.set_blocking(MaintenanceState::Scheduled(Schedule::default().with_read_only(true)))?;
/// assert_eq!(templates.render("banner", &())?, "Read-only mode (true)");
/// # Ok(()) }
/// ```
pub fn register_helper(registry: &mut Handlebars<'_>, maint: &MaintenanceMode) {
    registry.register_helper(HELPER_NAME, Box::new(MaintenanceModeHelper::new(maint)));
    registry.register_helper(
        READ_ONLY_HELPER_NAME,
        Box::new(MaintenanceModeHelper::read_only(maint)),
    );
}
