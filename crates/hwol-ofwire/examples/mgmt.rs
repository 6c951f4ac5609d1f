//! Serve an in-memory bridge on a socket, for poking at with ovs-ofctl:
//! `cargo run -p hwol-ofwire --example mgmt -- /tmp/br0.mgmt`.
#![allow(missing_docs)]

use std::sync::Arc;

use hwol_ofwire::server::{MemoryBridge, Server};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/hwol-br0.mgmt".into());
    let b = Arc::new(MemoryBridge::new("br0", &[(1, "p1"), (2, "p2"), (3, "p3")]));
    let _s = Server::start(std::path::Path::new(&path), b).expect("bind");
    eprintln!("listening on {path}");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
