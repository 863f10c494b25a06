//! Scoped guards, ported from django-maintenance-mode's `test_core`
//! (`TestOverrideMaintenanceMode`: context manager and decorator, on and off,
//! `test_core_schedule_override`) plus nesting, panics, async use and a fixed `mode`.

use std::{panic, time::Duration};

use jiff::Timestamp;
use maint_actix::{
    MaintenanceMode, MaintenanceSettings, MaintenanceState, StateError, guard::MaintenanceGuard,
    state::Schedule,
};
use maint_test_support::app::{build, memory};

fn file_backed(dir: &tempfile::TempDir) -> MaintenanceMode {
    build(MaintenanceSettings::default().state_file_path(dir.path().join("state.txt")))
}

/// Django's `override_cases`: (stored, override, seen inside).
const OVERRIDE_CASES: [(bool, bool, bool); 4] = [
    (true, true, true),
    (true, false, false),
    (false, true, true),
    (false, false, false),
];

#[test]
fn override_sets_then_restores() {
    let dir = tempfile::tempdir().unwrap();
    let maint = file_backed(&dir);
    for (stored, over, seen) in OVERRIDE_CASES {
        maint.set_maintenance_mode_blocking(stored).unwrap();
        {
            let _guard = maint.override_maintenance_mode(over).unwrap();
            assert_eq!(maint.is_on(), seen);
        }
        assert_eq!(maint.is_on(), stored);
    }
}

#[test]
fn closure_form_like_the_decorator() {
    let maint = build(memory());
    for stored in [true, false] {
        maint.set_maintenance_mode_blocking(stored).unwrap();
        assert!(maint.with_maintenance_on(|| maint.is_on()).unwrap());
        assert_eq!(maint.is_on(), stored);
        assert!(!maint.with_maintenance_off(|| maint.is_on()).unwrap());
        assert_eq!(maint.is_on(), stored);
    }
}

#[test]
fn on_and_off_guards_restore_the_stored_value() {
    let maint = build(memory());
    for stored in [true, false] {
        maint.set_maintenance_mode_blocking(stored).unwrap();
        {
            let _on = maint.maintenance_on().unwrap();
            assert!(maint.is_on());
        }
        assert_eq!(maint.is_on(), stored);
        {
            let _off = maint.maintenance_off().unwrap();
            assert!(!maint.is_on());
        }
        assert_eq!(maint.is_on(), stored);
    }
}

#[test]
fn a_schedule_is_restored_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let maint = file_backed(&dir);
    let schedule = MaintenanceState::Scheduled(
        Schedule::new(None, Some(Timestamp::now() + Duration::from_secs(3600)))
            .with_reason("database upgrade"),
    );
    maint.set_blocking(schedule.clone()).unwrap();
    let text_before = std::fs::read_to_string(dir.path().join("state.txt")).unwrap();
    {
        let guard = maint.maintenance_off().unwrap();
        assert_eq!(guard.previous(), Some(&schedule));
        assert!(!maint.is_on());
    }
    assert_eq!(maint.state(), schedule);
    assert!(maint.is_on());
    let text_after = std::fs::read_to_string(dir.path().join("state.txt")).unwrap();
    assert_eq!(text_after, text_before);
}

#[test]
fn an_ended_schedule_is_restored_though_it_could_not_be_set_now() {
    let maint = build(memory());
    let ends_soon = Timestamp::now() + Duration::from_millis(300);
    actix_rt::System::new()
        .block_on(maint.schedule(None, Some(ends_soon)))
        .unwrap();
    let guard = maint.maintenance_on().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    drop(guard);
    assert_eq!(
        maint.state().schedule().and_then(|s| s.end),
        Some(ends_soon)
    );
    assert!(!maint.is_on(), "the restored window has ended");
}

#[test]
fn nested_guards_restore_in_order() {
    let maint = build(memory());
    let outer = maint.maintenance_on().unwrap();
    assert!(maint.is_on());
    let inner = maint.maintenance_off().unwrap();
    assert!(!maint.is_on());
    let innermost = maint.maintenance_on().unwrap();
    assert!(maint.is_on());
    drop(innermost);
    assert!(!maint.is_on());
    drop(inner);
    assert!(maint.is_on());
    drop(outer);
    assert!(!maint.is_on());
}

#[test]
fn a_panic_inside_the_scope_still_restores() {
    let maint = build(memory());
    let result = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        let _guard = maint.maintenance_on().unwrap();
        assert!(maint.is_on());
        panic!("boom");
    }));
    assert!(result.is_err());
    assert!(!maint.is_on());

    let result = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        maint.with_maintenance_on(|| panic!("boom")).unwrap()
    }));
    assert!(result.is_err());
    assert!(!maint.is_on());
}

#[test]
fn fixed_mode_refuses_a_guard() {
    for mode in [true, false] {
        let maint = build(memory().mode(mode));
        let err = maint.maintenance_on().unwrap_err();
        assert!(
            matches!(err, StateError::FixedBySettings(m) if m == mode),
            "{err}"
        );
        assert!(maint.maintenance_off().is_err());
        assert!(maint.with_maintenance_on(|| ()).is_err());
        assert_eq!(maint.is_on(), mode);
    }
}

#[test]
fn an_unreadable_state_refuses_a_guard_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.txt");
    std::fs::write(&path, "garbage").unwrap();
    let maint = build(MaintenanceSettings::default().state_file_path(&path));
    let err = maint.maintenance_on().unwrap_err();
    assert!(err.to_string().contains("state.txt"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
}

fn assert_send<T: Send>(_: &T) {}

#[actix_rt::test]
async fn the_guard_is_send_and_lives_across_await() {
    let maint = build(memory());
    let guard: MaintenanceGuard = maint.maintenance_on_async().await.unwrap();
    assert_send(&guard);
    actix_rt::time::sleep(Duration::from_millis(1)).await;
    assert!(maint.is_on());
    guard.restore().await.unwrap();
    assert!(!maint.is_on());

    let handle = maint.clone();
    let spawned = tokio_spawn_checks_send(async move {
        let _guard = handle.maintenance_off_async().await.unwrap();
        handle.is_on()
    });
    assert!(!spawned.await);
}

/// Requires the future, and so the guard held across its `.await`, to be `Send`.
fn tokio_spawn_checks_send<F>(future: F) -> F
where
    F: std::future::Future + Send + 'static,
{
    future
}
