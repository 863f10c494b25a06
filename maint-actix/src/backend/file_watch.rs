//! Wakes the `local_file` backend's refresher when its files change, through
//! the OS's file notifications (inotify on Linux) on the state file's
//! directory.
//!
//! The directory is watched, not the file: a write replaces the file by a
//! rename, which would end a watch on the file itself.

use std::{ffi::OsString, path::Path};

use notify::{
    Event, EventKind, RecursiveMode, Watcher,
    event::{AccessKind, AccessMode, ModifyKind},
};
use tokio::sync::watch;

/// Whether the OS reports the close of a file written in place (inotify
/// does). Where it does, a write alone does not signal: `echo 1 > file`
/// truncates the file before writing it, and a read in between would see an
/// empty file, which reads as off.
const REPORTS_CLOSE_AFTER_WRITE: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// A watch on one directory for changes to some of its files. Dropping it
/// ends the OS watch and notify's thread.
pub(super) struct FileWatch {
    changes: watch::Sender<()>,
    _watcher: notify::RecommendedWatcher,
}

impl FileWatch {
    /// Watches `directory` for changes to the files called `names`.
    pub(super) fn start(directory: &Path, names: [OsString; 3]) -> notify::Result<Self> {
        let changes = watch::Sender::new(());
        let signal = changes.clone();
        let mut reported = false;
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            match event {
                Ok(event) if concerns(&event, &names) => {
                    signal.send_replace(());
                }
                Ok(_) => {}
                // The safety poll carries on; a re-read per error could spin.
                Err(error) if !reported => {
                    reported = true;
                    tracing::warn!(%error, "maintenance state file watch failed; changes may arrive only with the safety poll");
                }
                Err(_) => {}
            }
        })?;
        watcher.watch(directory, RecursiveMode::NonRecursive)?;
        Ok(Self {
            changes,
            _watcher: watcher,
        })
    }

    /// A receiver signalled after each change from now on.
    pub(super) fn subscribe(&self) -> watch::Receiver<()> {
        self.changes.subscribe()
    }
}

/// Whether `event` may have changed one of the files called `names`: a new
/// content, a rename over it, its creation or removal, or lost events.
fn concerns(event: &Event, names: &[OsString]) -> bool {
    if event.need_rescan() {
        return true;
    }
    changes_content(&event.kind)
        && event
            .paths
            .iter()
            .filter_map(|path| path.file_name())
            .any(|name| names.iter().any(|wanted| wanted == name))
}

/// Every read opens the file: access events (but the close of a write) and
/// metadata changes say nothing about the content.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => !REPORTS_CLOSE_AFTER_WRITE,
        _ => true,
    }
}
