//! A TLS-only `redis-server` of one test, for `rediss://`.
//!
//! [`Ca::generate`] makes a CA with `openssl` in a directory of the test's;
//! [`TlsRedis::start_new`] makes one more, signs a certificate for
//! `127.0.0.1` and `localhost` with it, and starts `redis-server` with TLS
//! on a free loopback port and no plain port (`--port 0`). Clients are not
//! asked for certificates (`--tls-auth-clients no`), as on managed Redis.
//!
//! Without `redis-server` or `openssl` on `PATH`, a test skips loudly, or
//! fails when `CI` is set (see [`unavailable`]).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::{
    process::{find_on_path, run_bounded, with_free_port},
    redis::{Raw, program_or_unavailable, unavailable},
};

/// How long one `openssl` command may take.
const OPENSSL_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a fresh server may take to answer `PING` over TLS.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the certificates are valid: the test run, with room to spare.
const DAYS: &str = "2";

/// A CA generated for one test: its certificate and key, as PEM files.
pub struct Ca {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    /// A new CA named `name`, written as `{name}.pem` and `{name}.key` in `dir`.
    pub fn generate(openssl: &Path, dir: &Path, name: &str) -> Result<Self, String> {
        let ca = Self {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        };
        openssl_run(
            openssl,
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                DAYS,
                "-subj",
            ],
            &[&format!("/CN=maint test {name}")],
            &[("-keyout", &ca.key), ("-out", &ca.cert)],
        )?;
        Ok(ca)
    }

    /// The CA certificate's PEM.
    #[track_caller]
    pub fn pem(&self) -> Vec<u8> {
        std::fs::read(&self.cert).unwrap_or_else(|e| panic!("read {}: {e}", self.cert.display()))
    }

    /// A server key and certificate for `127.0.0.1` and `localhost`, signed
    /// by this CA: `(certificate, key)` files in `dir`.
    fn sign_server(&self, openssl: &Path, dir: &Path) -> Result<(PathBuf, PathBuf), String> {
        let (cert, key, csr) = (
            dir.join("server.pem"),
            dir.join("server.key"),
            dir.join("server.csr"),
        );
        let extensions = dir.join("server.ext");
        // A v3 end-entity certificate with the names rustls checks.
        std::fs::write(
            &extensions,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
             basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n",
        )
        .map_err(|e| format!("write {}: {e}", extensions.display()))?;
        openssl_run(
            openssl,
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ],
            &[],
            &[("-keyout", &key), ("-out", &csr)],
        )?;
        openssl_run(
            openssl,
            dir,
            &["x509", "-req", "-days", DAYS, "-set_serial", "1"],
            &[],
            &[
                ("-in", &csr),
                ("-CA", &self.cert),
                ("-CAkey", &self.key),
                ("-extfile", &extensions),
                ("-out", &cert),
            ],
        )?;
        Ok((cert, key))
    }
}

/// Runs `openssl` with `args`, then `more` texts, then `files` (flag, path) pairs.
fn openssl_run(
    openssl: &Path,
    dir: &Path,
    args: &[&str],
    more: &[&str],
    files: &[(&str, &Path)],
) -> Result<(), String> {
    let mut command = Command::new(openssl);
    command.current_dir(dir).args(args).args(more);
    for (flag, path) in files {
        command.arg(flag).arg(path);
    }
    let shown = format!("{command:?}");
    let run = run_bounded(command, OPENSSL_TIMEOUT);
    if run.status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {}", run.stderr))
    }
}

/// `openssl` on `PATH`; `None` after [`unavailable`] without it.
#[track_caller]
pub fn openssl_or_unavailable(test: &str) -> Option<PathBuf> {
    let openssl = find_on_path("openssl");
    if openssl.is_none() {
        unavailable(test, "openssl is not on PATH (Debian package `openssl`)");
    }
    openssl
}

/// A TLS-only `redis-server` with certificates of its own, killed when dropped.
pub struct TlsRedis {
    dir: tempfile::TempDir,
    openssl: PathBuf,
    ca: Ca,
    port: u16,
    child: Child,
}

impl TlsRedis {
    /// A running server; `None` (after [`unavailable`]) without
    /// `redis-server` or `openssl`.
    #[track_caller]
    pub fn start_new(test: &str) -> Option<Self> {
        let program = program_or_unavailable(test)?;
        let openssl = openssl_or_unavailable(test)?;
        let dir = tempfile::Builder::new()
            .prefix("maint-redis-tls-")
            .tempdir()
            .expect("create a temp dir");
        let ca = Ca::generate(&openssl, dir.path(), "ca").unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = ca
            .sign_server(&openssl, dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let ca_pem = ca.pem();
        let (port, child) = with_free_port("redis-server with TLS", 5, |port| {
            let child = spawn_tls_server(&program, port, dir.path(), &cert, &key, &ca.cert)?;
            await_tls_ping(child, port, dir.path(), &ca_pem).map(|child| (port, child))
        });
        Some(Self {
            dir,
            openssl,
            ca,
            port,
            child,
        })
    }

    /// `rediss://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA that signed the server's certificate (`redis_ca_file`).
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// A CA that did not sign it, generated on each call.
    #[track_caller]
    pub fn other_ca(&self, name: &str) -> Ca {
        Ca::generate(&self.openssl, self.dir.path(), name).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A raw client over TLS, trusting the server's CA.
    pub fn raw(&self) -> Raw {
        Raw::with_ca(&self.url(), &self.ca.pem())
    }

    /// The server's log (handshake failures are logged there).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_tls_server(
    program: &Path,
    port: u16,
    dir: &Path,
    cert: &Path,
    key: &Path,
    ca: &Path,
) -> Result<Child, String> {
    let mut command = Command::new(program);
    command
        .args(["--port", "0", "--tls-port"])
        .arg(port.to_string())
        .arg("--tls-cert-file")
        .arg(cert)
        .arg("--tls-key-file")
        .arg(key)
        .arg("--tls-ca-cert-file")
        .arg(ca)
        .args(["--tls-auth-clients", "no"])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--protected-mode", "yes"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))
}

/// Waits until the server answers `PING` over TLS; kills it when it does not.
fn await_tls_ping(mut child: Child, port: u16, dir: &Path, ca_pem: &[u8]) -> Result<Child, String> {
    let raw = Raw::with_ca(&format!("rediss://127.0.0.1:{port}"), ca_pem);
    let started = Instant::now();
    loop {
        if raw.ping().is_ok() {
            return Ok(child);
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
            return Err(format!(
                "redis-server with TLS on port {port} did not answer PING over TLS within \
                 {START_TIMEOUT:?} ({}); its log:\n{log}",
                raw.ping().err().map_or_else(String::new, |e| e.to_string())
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
}
