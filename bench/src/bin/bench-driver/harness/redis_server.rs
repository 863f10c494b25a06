//! A throwaway `redis-server` on a loopback port (figure 4 and the soak run).

use std::{
    fs,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use super::process::{Proc, START_TIMEOUT};

/// Whether the server keeps its data across a `SIGKILL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// No snapshot, no append-only file (figure 4).
    None,
    /// An append-only file synced on every write (the soak run, whose Redis
    /// is killed and restarted).
    AppendOnlyFsyncAlways,
}

/// Starts `program` (a `redis-server`) on `127.0.0.1:port`, its data and
/// `redis.log` (appended to) in `dir`, and waits until it answers `PING`.
pub fn start(
    program: &str,
    port: u16,
    dir: &Path,
    persistence: Persistence,
) -> Result<Proc, String> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("redis.log"))
        .map_err(|e| e.to_string())?;
    let mut command = Command::new(program);
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", ""]);
    match persistence {
        Persistence::None => command.args(["--appendonly", "no"]),
        Persistence::AppendOnlyFsyncAlways => {
            command.args(["--appendonly", "yes", "--appendfsync", "always"])
        }
    };
    command
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(Stdio::null());
    let mut redis = Proc::spawn("redis-server", &mut command)?;
    let started = Instant::now();
    while !ping(port) {
        if redis.exited() || started.elapsed() > START_TIMEOUT {
            return Err(format!("redis-server on port {port} did not start"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(redis)
}

/// Whether a Redis on `127.0.0.1:port` answers `PING` (within about a second).
pub fn ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 16];
    stream.write_all(b"PING\r\n").is_ok()
        && stream
            .read(&mut buf)
            .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}
