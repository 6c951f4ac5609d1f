//! OVS's unixctl protocol: how `ovs-appctl` talks to a daemon.
//!
//! # Wire format (facts from OVS's `lib/unixctl.c`, `lib/jsonrpc.c`)
//!
//! JSON-RPC 1.0 over a unix stream socket, one JSON object per message, sent
//! back to back with no delimiter:
//!
//! ```text
//! -> {"method":"dpctl/dump-flows","params":["--names","type=offloaded"],"id":0}
//! <- {"result":"<text>","error":null,"id":0}       success
//! <- {"result":null,"error":"<text>","id":0}       failure: ovs-appctl prints it and exits 2
//! ```
//!
//! Every parameter is a string. A daemon named `NAME` writes its pid to
//! `<rundir>/NAME.pid` and listens on `<rundir>/NAME.<pid>.ctl`, where the
//! rundir is `$OVS_RUNDIR` (default `/var/run/openvswitch`); `ovs-appctl -t
//! NAME` reads the pidfile to find the socket, and `ovs-appctl -t
//! /abs/path.ctl` connects directly.
//!
//! # This crate
//!
//! [`Server`] binds the socket (and writes the pidfile), accepts connections
//! on a thread of its own, and dispatches each request to a registered
//! [`Command`] handler; `list-commands` and `version` are built in, as in OVS.
//! A malformed request gets a JSON-RPC error, never a dropped connection or a
//! panic. [`call`] is the client side, for hwol's own CLI and for tests.

#![forbid(unsafe_code)]

pub mod coverage;
pub mod vlog;

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket or pidfile could not be created.
    #[error("cannot listen on {path}: {source} (is another instance running, or is the directory missing/read-only?)")]
    Bind {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Talking to a daemon failed.
    #[error("cannot talk to {path}: {source} (is the daemon running? check the rundir and the pidfile)")]
    Connect {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The daemon answered with an error.
    #[error("{0}")]
    Remote(String),
    /// The daemon's answer was not a JSON-RPC reply.
    #[error("malformed reply: {0}")]
    Protocol(String),
}

/// A command handler: the parameters in, the reply text or an error text out.
pub type Handler = dyn Fn(&[String]) -> Result<String, String> + Send + Sync;

/// One registered command.
pub struct Command {
    /// Usage text shown by `list-commands` (e.g. `[--names] [-m] [type=TYPE]`).
    pub usage: String,
    /// Fewest parameters accepted.
    pub min_args: usize,
    /// Most parameters accepted.
    pub max_args: usize,
    /// What to run.
    pub handler: Box<Handler>,
}

/// The set of commands a server answers.
#[derive(Default)]
pub struct Commands {
    map: BTreeMap<String, Command>,
}

impl Commands {
    /// Register `name`. A later registration of the same name replaces it.
    pub fn register(
        &mut self,
        name: &str,
        usage: &str,
        min_args: usize,
        max_args: usize,
        handler: impl Fn(&[String]) -> Result<String, String> + Send + Sync + 'static,
    ) {
        self.map.insert(
            name.to_string(),
            Command { usage: usage.to_string(), min_args, max_args, handler: Box::new(handler) },
        );
    }

    /// `list-commands` text, in OVS's format.
    fn list(&self) -> String {
        let mut s = String::from("The available commands are:\n");
        for (name, c) in &self.map {
            let line = if c.usage.is_empty() { name.clone() } else { format!("{name} {}", c.usage) };
            s.push_str(&format!("  {line}\n"));
        }
        s
    }

    /// Run one request; the reply is `Ok(result)` or `Err(error text)`.
    pub fn dispatch(&self, method: &str, params: &[String], version: &str) -> Result<String, String> {
        match method {
            "list-commands" => Ok(self.list()),
            "version" => Ok(format!("{version}\n")),
            _ => {
                let c = self.map.get(method).ok_or_else(|| {
                    format!("\"{method}\" is not a valid command (use \"list-commands\" to see the available commands)")
                })?;
                if params.len() < c.min_args {
                    return Err(format!("\"{method}\" command requires at least {} arguments", c.min_args));
                }
                if params.len() > c.max_args {
                    return Err(format!("\"{method}\" command takes at most {} arguments", c.max_args));
                }
                (c.handler)(params)
            }
        }
    }
}

/// A running unixctl server. Dropping it stops accepting, removes the socket
/// and the pidfile.
pub struct Server {
    path: PathBuf,
    pidfile: Option<PathBuf>,
    /// The open, write-locked pidfile: `ovs-appctl` only trusts a pidfile
    /// that the process named in it holds an `fcntl` lock on.
    _pidfile_lock: Option<std::fs::File>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listen as daemon `name` in `rundir`: writes `<rundir>/<name>.pid` and
    /// binds `<rundir>/<name>.<pid>.ctl`, as OVS daemons do.
    pub fn start_named(
        rundir: &Path,
        name: &str,
        version: &str,
        commands: Arc<RwLock<Commands>>,
    ) -> Result<Server, Error> {
        let pid = std::process::id();
        let path = rundir.join(format!("{name}.{pid}.ctl"));
        let pidfile = rundir.join(format!("{name}.pid"));
        let lock =
            write_locked_pidfile(&pidfile, pid).map_err(|source| Error::Bind { path: pidfile.clone(), source })?;
        let mut s = Server::start(&path, version, commands)?;
        s.pidfile = Some(pidfile);
        s._pidfile_lock = Some(lock);
        Ok(s)
    }

    /// Listen on `path` (a stale socket file there is replaced).
    pub fn start(path: &Path, version: &str, commands: Arc<RwLock<Commands>>) -> Result<Server, Error> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|source| Error::Bind { path: path.to_path_buf(), source })?;
        // Non-blocking: poll says when to accept, and a client that went away
        // in between cannot stall the loop.
        listener.set_nonblocking(true).map_err(|source| Error::Bind { path: path.to_path_buf(), source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let version = version.to_string();
        let thread = std::thread::Builder::new()
            .name("unixctl".into())
            .spawn(move || accept_loop(listener, &stop2, &commands, &version))
            .map_err(|source| Error::Bind { path: path.to_path_buf(), source })?;
        Ok(Server { path: path.to_path_buf(), pidfile: None, _pidfile_lock: None, stop, thread: Some(thread) })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
        if let Some(p) = &self.pidfile {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Write `pid` to `path` and hold a POSIX write lock on the whole file for
/// as long as the returned `File` lives. A pidfile another live process holds
/// locked is refused. Note that POSIX locks belong to the process: closing
/// *any* descriptor of the file in this process drops the lock, so nothing
/// else in the daemon may open the pidfile.
fn write_locked_pidfile(path: &Path, pid: u32) -> std::io::Result<std::fs::File> {
    use nix::fcntl::{fcntl, FcntlArg};
    use std::os::fd::AsRawFd;
    let mut f = std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
    let lock = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as i16,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(f.as_raw_fd(), FcntlArg::F_SETLK(&lock)).map_err(|e| {
        std::io::Error::other(format!("{} is locked by another running instance ({e})", path.display()))
    })?;
    f.set_len(0)?;
    f.write_all(format!("{pid}\n").as_bytes())?;
    f.flush()?;
    Ok(f)
}

fn accept_loop(listener: UnixListener, stop: &AtomicBool, commands: &RwLock<Commands>, version: &str) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    while !stop.load(Ordering::Relaxed) {
        // Sleep in poll until a client connects: an idle daemon spends
        // nothing here. The timeout bounds how long a stop takes when the
        // socket file is already gone (Drop also wakes us by connecting).
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(500u16)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Ok((stream, _)) = listener.accept() {
            // One connection at a time, like OVS's main loop; a client
            // that stalls is cut off by the read timeout.
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            serve(stream, commands, version);
        }
    }
}

fn serve(stream: UnixStream, commands: &RwLock<Commands>, version: &str) {
    let Ok(mut out) = stream.try_clone() else { return };
    let reader = BufReader::new(stream);
    for msg in serde_json::Deserializer::from_reader(reader).into_iter::<Value>() {
        let Ok(msg) = msg else {
            // Not JSON: answer with an error and close, as there is no id to reply to.
            let _ = write_reply(&mut out, &json!({"result": null, "error": "malformed JSON-RPC request", "id": null}));
            return;
        };
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let reply = match parse_request(&msg) {
            Err(e) => json!({"result": null, "error": e, "id": id}),
            Ok((method, params)) => {
                let r = match commands.read() {
                    Ok(c) => c.dispatch(&method, &params, version),
                    Err(_) => Err("internal error: command table poisoned".to_string()),
                };
                match r {
                    Ok(text) => json!({"result": text, "error": null, "id": id}),
                    Err(text) => json!({"result": null, "error": text, "id": id}),
                }
            }
        };
        if write_reply(&mut out, &reply).is_err() {
            return;
        }
    }
}

fn parse_request(msg: &Value) -> Result<(String, Vec<String>), String> {
    let method = msg.get("method").and_then(Value::as_str).ok_or("request has no \"method\" string")?;
    let params = match msg.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|p| p.as_str().map(str::to_string).ok_or("every parameter must be a string"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("\"params\" must be an array of strings".into()),
    };
    Ok((method.to_string(), params))
}

fn write_reply(out: &mut UnixStream, v: &Value) -> std::io::Result<()> {
    out.write_all(v.to_string().as_bytes())?;
    out.flush()
}

/// Call `method` on the daemon listening at `path` (the client side).
pub fn call(path: &Path, method: &str, params: &[&str]) -> Result<String, Error> {
    let conn = |source| Error::Connect { path: path.to_path_buf(), source };
    let mut s = UnixStream::connect(path).map_err(conn)?;
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(conn)?;
    let req = json!({"method": method, "params": params, "id": 0});
    s.write_all(req.to_string().as_bytes()).map_err(conn)?;
    let mut it = serde_json::Deserializer::from_reader(BufReader::new(s)).into_iter::<Value>();
    let reply = it.next().ok_or_else(|| Error::Protocol("connection closed without a reply".into()))?;
    let reply = reply.map_err(|e| Error::Protocol(e.to_string()))?;
    match (reply.get("error"), reply.get("result")) {
        (Some(Value::String(e)), _) => Err(Error::Remote(e.clone())),
        (_, Some(Value::String(r))) => Ok(r.clone()),
        _ => Err(Error::Protocol(reply.to_string())),
    }
}

/// The socket of daemon `name` in `rundir`, found through its pidfile. Do
/// not call this from the daemon's own process: opening and closing the
/// pidfile there would release the daemon's lock on it.
pub fn socket_of(rundir: &Path, name: &str) -> Result<PathBuf, Error> {
    let pidfile = rundir.join(format!("{name}.pid"));
    let pid = std::fs::read_to_string(&pidfile).map_err(|source| Error::Connect { path: pidfile.clone(), source })?;
    Ok(rundir.join(format!("{name}.{}.ctl", pid.trim())))
}
