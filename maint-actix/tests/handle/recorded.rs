//! What the command records of a change (issue 12): who (`user@host`), how
//! (`command`) and when, and the `changed AT by USER@HOST via command` that
//! `status` adds to its line.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use maint_actix::{
    MaintenanceMode,
    change::{Change, Via},
};

/// This machine's host name, as `hostname` prints it (the kernel's node
/// name), else the kernel's own file.
pub fn host_name() -> String {
    let from_command = std::process::Command::new("hostname")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    from_command
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
        })
        .expect("a host name (hostname or /proc/sys/kernel/hostname)")
}

/// The change stored with the state now, checked to be the command's: via
/// `command`, by `someone@{this host}`, made within the last minutes.
#[track_caller]
pub fn command_change(maint: &MaintenanceMode) -> Change {
    let record = pollster::block_on(maint.backend().get_record()).expect("a readable state");
    let change = record
        .change
        .unwrap_or_else(|| panic!("no change recorded with {:?}", record.state));
    assert_eq!(change.via, Via::Command, "{change:?}");
    let (user, host) = change
        .by
        .split_once('@')
        .unwrap_or_else(|| panic!("by is not user@host: {change:?}"));
    assert!(!user.is_empty(), "{change:?}");
    assert_eq!(host, host_name(), "{change:?}");
    let age = Timestamp::now().duration_since(change.at);
    assert!(
        age >= -SignedDuration::from_secs(1)
            && age < SignedDuration::try_from(Duration::from_secs(300)).unwrap(),
        "made {age} ago: {change:?}"
    );
    change
}

/// `changed AT by USER@HOST via command`: what `status` shows of the
/// change the command just stored (checked by [`command_change`]).
#[track_caller]
pub fn changed(maint: &MaintenanceMode) -> String {
    let change = command_change(maint);
    format!("changed {} by {} via command", change.at, change.by)
}
