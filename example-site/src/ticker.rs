//! A background job that pauses during maintenance, as Laravel's queue
//! workers do: it "works" (logs `background ticker: tick N`) every few
//! seconds while maintenance is off, logs `background ticker paused for
//! maintenance` when maintenance comes on, waits with
//! [`MaintenanceMode::wait_until_off`], and logs `background ticker resumed`
//! when it ends.

use std::time::Duration;

use actix_web::rt::time::{Instant, sleep, timeout};
use maint_actix::MaintenanceMode;

/// How often the ticker ticks when `[site] ticker_seconds` is not set.
pub const DEFAULT_TICK: Duration = Duration::from_secs(10);

/// How often the ticker looks at the state while it rests: a window opens by
/// the clock, with no change to wake it.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Runs the ticker until the runtime stops; a tick every `every`.
pub async fn run(maint: MaintenanceMode, every: Duration) {
    let mut ticks: u64 = 0;
    loop {
        if maint.is_on() {
            tracing::info!("background ticker paused for maintenance");
            maint.wait_until_off().await;
            tracing::info!("background ticker resumed");
        }
        rest(&maint, every).await;
        if maint.is_on() {
            continue;
        }
        ticks += 1;
        tracing::info!("background ticker: tick {ticks}");
    }
}

/// Waits `every`, or less when maintenance comes on meanwhile: a change wakes
/// it at once, a window that opens by the clock within [`LOOK_EVERY`].
async fn rest(maint: &MaintenanceMode, every: Duration) {
    let deadline = Instant::now() + every;
    let mut changes = maint.subscribe();
    loop {
        let now = Instant::now();
        if now >= deadline || maint.is_on() {
            return;
        }
        let nap = (deadline - now).min(LOOK_EVERY);
        match timeout(nap, changes.changed()).await {
            // A change (looked at above), or the nap is over.
            Ok(Ok(())) | Err(_) => {}
            // No more changes will come: rest by the clock alone.
            Ok(Err(_)) => sleep(nap).await,
        }
    }
}
