//! What the figures and the soak run ([`crate::soak`]) share to start, stop
//! and talk to the processes they measure. Nothing here depends on the rest
//! of the driver or on the benchmark app.
//!
//! - [`process`]: child processes stopped on drop, commands bounded in time,
//!   free loopback ports;
//! - [`http_client`]: a minimal keep-alive HTTP/1.1 client for probes and
//!   polling, and waiting for a server to answer;
//! - [`redis_server`]: a throwaway `redis-server` on a loopback port;
//! - [`example_site`]: the release `example-site` and its
//!   `maintenance_mode on|off` command.

pub mod example_site;
pub mod http_client;
pub mod process;
pub mod redis_server;
