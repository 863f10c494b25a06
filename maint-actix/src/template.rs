//! The Handlebars helper `maintenance_mode`, Django's
//! `maintenance_mode.context_processors.maintenance_mode` for templates.
//!
//! After [`register_helper`], a template can write
//! `{{#if (maintenance_mode)}}…{{/if}}` or print `{{maintenance_mode}}`
//! (`true` / `false`). The helper reads the handle's in-memory state on every
//! render ([`MaintenanceMode::is_on`], no I/O), so it follows state changes
//! without being registered again.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, JsonValue, RenderContext, RenderError, ScopedJson,
};

use crate::handle::MaintenanceMode;

/// The name [`register_helper`] registers the helper under.
pub const HELPER_NAME: &str = "maintenance_mode";

/// The `maintenance_mode` helper: a JSON boolean, whether maintenance is in
/// effect now. Register it under another name with
/// `registry.register_helper("name", Box::new(MaintenanceModeHelper::new(&maint)))`.
///
/// It holds a clone of the handle, so the handle lives as long as the registry.
#[derive(Debug, Clone)]
pub struct MaintenanceModeHelper {
    maint: MaintenanceMode,
}

impl MaintenanceModeHelper {
    /// The helper reading `maint`'s state.
    pub fn new(maint: &MaintenanceMode) -> Self {
        Self {
            maint: maint.clone(),
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
        Ok(ScopedJson::Derived(JsonValue::Bool(self.maint.is_on())))
    }
}

/// Registers the [`MaintenanceModeHelper`] of `maint` in `registry` under
/// [`HELPER_NAME`] (`maintenance_mode`).
///
/// ```
/// use handlebars::Handlebars;
/// use maint_actix::{MaintenanceMode, MaintenanceSettings, settings::StateBackendKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let maint = MaintenanceMode::new(
///     MaintenanceSettings::default().state_backend(StateBackendKind::Memory),
/// )?;
/// let mut templates = Handlebars::new();
/// maint_actix::template::register_helper(&mut templates, &maint);
/// templates.register_template_string(
///     "banner",
///     "{{#if (maintenance_mode)}}Maintenance mode is on{{else}}Welcome{{/if}} ({{maintenance_mode}})",
/// )?;
///
/// assert_eq!(templates.render("banner", &())?, "Welcome (false)");
/// maint.set_maintenance_mode_blocking(true)?;
/// assert_eq!(templates.render("banner", &())?, "Maintenance mode is on (true)");
/// # Ok(()) }
/// ```
pub fn register_helper(registry: &mut Handlebars<'_>, maint: &MaintenanceMode) {
    registry.register_helper(HELPER_NAME, Box::new(MaintenanceModeHelper::new(maint)));
}
