//! A minimal HTTP/1.1 client for probes and propagation polling
//! (keep-alive, `GET` only), and waiting for a server to answer.
//!
//! The soak run's clients speak raw bytes instead (`soak`'s own exchange):
//! they send malformed requests on purpose and classify every way an answer
//! can fail, which this client does not.

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    thread,
    time::{Duration, Instant},
};

use super::process::START_TIMEOUT;

/// An answer to [`HttpClient::get`].
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body (lossy UTF-8).
    pub body: String,
    /// The first `Set-Cookie` header's value, if any.
    pub set_cookie: Option<String>,
}

/// A keep-alive connection to one server, opened on first use and again
/// whenever the server closes it.
pub struct HttpClient {
    /// The server.
    addr: SocketAddr,
    /// The kept-alive connection, when open.
    stream: Option<BufReader<TcpStream>>,
}

impl HttpClient {
    /// A client of the server on `addr` (not connected yet).
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, stream: None }
    }

    /// `GET path` with extra header lines; reconnects once when the kept-alive connection is gone.
    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        match self.try_get(path, headers) {
            Ok(reply) => Ok(reply),
            Err(_) => {
                self.stream = None;
                self.try_get(path, headers)
            }
        }
    }

    /// One `GET` on the open connection (opened first when there is none).
    fn try_get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
                .map_err(|e| format!("connect {}: {e}", self.addr))?;
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().expect("connected");
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
        request.push_str("\r\n");
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed".to_owned());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        let mut set_cookie = None;
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("connection closed in headers".to_owned());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    "set-cookie" if set_cookie.is_none() => set_cookie = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                reader.read_line(&mut line).map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|e| e.to_string())?;
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).map_err(|e| e.to_string())?;
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        } else {
            reader.read_to_end(&mut body).map_err(|e| e.to_string())?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            set_cookie,
        })
    }
}

/// Polls `GET path` until the server on `addr` answers at all, while
/// `alive()` says it runs, for at most [`START_TIMEOUT`].
pub fn await_http(
    addr: SocketAddr,
    path: &str,
    mut alive: impl FnMut() -> bool,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if HttpClient::new(addr).get(path, &[]).is_ok() {
            return Ok(());
        }
        if !alive() {
            return Err(format!("the server on {addr} exited"));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!("no answer on {addr} within {START_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The `name=value` a `Set-Cookie` header value sets: what a client sends
/// back in its `Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_pair_drops_the_attributes() {
        assert_eq!(cookie_pair("id=abc; Path=/; HttpOnly"), "id=abc");
        assert_eq!(cookie_pair(" id=abc"), "id=abc");
        assert_eq!(cookie_pair(""), "");
    }
}
