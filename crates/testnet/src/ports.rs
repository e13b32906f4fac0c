//! Free TCP ports on loopback.

use std::net::{Ipv4Addr, TcpListener};

/// A TCP port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("the loopback interface accepts a listener on an ephemeral port")
}
