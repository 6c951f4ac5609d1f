//! Named network namespaces the way `ip netns` keeps them (a bind mount of
//! the namespace file under `/run/netns/<name>`), and running code inside one.
//!
//! Not covered: `ip netns` identifiers (nsid), `/etc/netns` config files.

use std::fmt;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::error::{privilege_hint, Error, Result};
use crate::sys;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A network namespace, by `ip netns` name or by path (e.g. `/proc/<pid>/ns/net`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Netns {
    /// `/run/netns/<name>`.
    Named(String),
    /// Any path to a netns file.
    Path(PathBuf),
}

impl Netns {
    /// Parse a user's argument: an absolute path is a path, anything else a name.
    pub fn parse(s: &str) -> Netns {
        if s.starts_with('/') {
            Netns::Path(PathBuf::from(s))
        } else {
            Netns::Named(s.to_string())
        }
    }

    /// The file to open.
    pub fn path(&self) -> PathBuf {
        match self {
            Netns::Named(n) => Path::new(NETNS_RUN_DIR).join(n),
            Netns::Path(p) => p.clone(),
        }
    }

    /// Check a namespace name as `ip netns add` would accept it (and
    /// without whitespace or `=`, which the emulated NIC's records reserve).
    pub fn validate(&self) -> Result<()> {
        let s = self.to_string();
        let bad = match self {
            Netns::Named(n) => {
                n.is_empty()
                    || n == "."
                    || n == ".."
                    || n.len() > 200
                    || n.contains(['/', '='])
                    || n.contains(char::is_whitespace)
            }
            Netns::Path(p) => s.contains(char::is_whitespace) || s.contains('=') || !p.is_absolute(),
        };
        if bad {
            return Err(Error::InvalidArgument(format!(
                "network namespace {s:?} is not a valid name (no '/', '=', whitespace; not empty) or absolute path"
            )));
        }
        Ok(())
    }

    /// True if the namespace file exists.
    pub fn exists(&self) -> bool {
        self.path().exists()
    }

    /// Open the namespace file.
    pub fn open(&self) -> Result<OwnedFd> {
        let f = fs::File::open(self.path()).map_err(|e| self.err("open", e))?;
        Ok(OwnedFd::from(f))
    }

    fn err(&self, op: &str, e: io::Error) -> Error {
        let hint = if e.kind() == io::ErrorKind::NotFound {
            "; it does not exist (create it with `ip netns add`, or ask hwol to create it)".to_string()
        } else {
            privilege_hint(&e).to_string()
        };
        Error::Netns { netns: self.to_string(), op: op.to_string(), source: e, hint }
    }

    /// Create the named namespace like `ip netns add`. Returns false if it
    /// already existed (idempotent). Only [`Netns::Named`] can be created.
    pub fn create(&self) -> Result<bool> {
        let Netns::Named(_) = self else {
            return Err(Error::InvalidArgument(format!(
                "cannot create netns {self}: only named namespaces can be created"
            )));
        };
        self.validate()?;
        let path = self.path();
        if path.exists() && self.open().is_ok() {
            return Ok(false);
        }
        let dir = Path::new(NETNS_RUN_DIR);
        fs::create_dir_all(dir).map_err(|e| self.err("mkdir /run/netns", e))?;
        // Like iproute2: make /run/netns a shared mount point so namespaces
        // created later show up in other mount namespaces too.
        if sys::mount(Path::new("none"), dir, libc::MS_SHARED | libc::MS_REC).is_err() {
            sys::mount(dir, dir, libc::MS_BIND | libc::MS_REC).map_err(|e| self.err("bind-mount /run/netns", e))?;
            sys::mount(Path::new("none"), dir, libc::MS_SHARED | libc::MS_REC)
                .map_err(|e| self.err("make /run/netns shared", e))?;
        }
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| self.err("create the mount point file", e))?;
        let p2 = path.clone();
        let r = std::thread::scope(|s| {
            s.spawn(move || -> io::Result<()> {
                sys::unshare_net()?;
                sys::mount(Path::new("/proc/thread-self/ns/net"), &p2, libc::MS_BIND)
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netns creation thread panicked")))
        });
        if let Err(e) = r {
            let _ = fs::remove_file(&path);
            return Err(self.err("unshare + bind-mount", e));
        }
        Ok(true)
    }

    /// Delete the named namespace like `ip netns del`; a missing one is fine.
    /// Interfaces still inside are destroyed with it (veths take their peer along).
    pub fn delete(&self) -> Result<()> {
        let path = self.path();
        if !path.exists() {
            return Ok(());
        }
        match sys::umount_detach(&path) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {} // not mounted
            Err(e) => return Err(self.err("umount", e)),
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err("remove", e)),
        }
    }

    /// Run `f` on a new thread that has entered this namespace, and return its
    /// result. Sockets `f` creates stay bound to the namespace.
    pub fn run_in<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        let fd = self.open()?;
        std::thread::scope(|s| {
            s.spawn(move || {
                sys::setns_net(&fd).map_err(|e| self.err("setns", e))?;
                f()
            })
            .join()
            .unwrap_or_else(|_| Err(Error::InvalidArgument(format!("thread working in netns {self} panicked"))))
        })
    }
}

impl fmt::Display for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netns::Named(n) => f.write_str(n),
            Netns::Path(p) => write!(f, "{}", p.display()),
        }
    }
}
