//! Sysfs access relative to an injectable root.
//!
//! Every path this crate reads or writes is built by [`Sysfs`], so the same
//! code runs against the live system (`Sysfs::new("/")`) and against a
//! recorded tree under `tests/fixtures/` (symlinks in sysfs are relative, so
//! a copied tree resolves inside its root). Only the live root (`/`) may use
//! netlink; anything else sysfs does not show (eswitch mode, ethtool
//! features) is read from the recorder's side files under `hwol-recorded/`
//! when the root is a fixture, see [`Sysfs::recorded`].

use std::fs;
use std::path::{Path, PathBuf};

use crate::NicError;

/// A sysfs tree: `/` on a live system, a directory holding `sys/...` in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    /// A sysfs tree rooted at `root` (`/` for the live system); paths are
    /// `<root>/sys/...`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs { root: root.into() }
    }

    /// The root this tree was made with.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is the live system (root `/`), where netlink (devlink,
    /// ethtool, rtnetlink) describes the same devices as sysfs.
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// `<root>/<rel>`, `rel` given with or without a leading `/`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// `/sys/bus/pci/devices/<pci>`.
    pub fn pci_device(&self, pci: &str) -> PathBuf {
        self.path("sys/bus/pci/devices").join(pci)
    }

    /// `/sys/class/net/<ifname>`.
    pub fn class_net(&self, ifname: &str) -> PathBuf {
        self.path("sys/class/net").join(ifname)
    }

    /// A recorded side file (fixtures only): `<root>/hwol-recorded/<rel>`.
    /// Live systems return `None`: there the value comes from netlink.
    pub fn recorded(&self, rel: &str) -> Option<String> {
        if self.is_live() {
            return None;
        }
        read_trimmed(&self.path("hwol-recorded").join(rel))
    }

    /// The content of a sysfs attribute, trimmed; `None` if it cannot be read
    /// (missing, or an attribute the driver refuses, e.g. `phys_port_name`
    /// with EOPNOTSUPP).
    pub fn read(&self, path: &Path) -> Option<String> {
        read_trimmed(path)
    }

    /// The content of a sysfs attribute that must exist, with `what`/`hint`
    /// for the error.
    pub fn read_required(&self, path: &Path, what: &str, hint: &str) -> Result<String, NicError> {
        self.read(path).ok_or_else(|| NicError::Missing { what: what.into(), path: path.into(), hint: hint.into() })
    }

    /// A number from a sysfs attribute (decimal, or hex with `0x`).
    pub fn read_u32(&self, path: &Path) -> Result<Option<u32>, NicError> {
        let Some(s) = self.read(path) else { return Ok(None) };
        let parsed = match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        };
        parsed.map(Some).ok_or_else(|| NicError::Malformed {
            path: path.into(),
            content: s,
            hint: "expected a number".into(),
        })
    }

    /// The last component of a symlink's target (`virtfn0` → `0000:03:00.2`,
    /// `driver` → `mlx5_core`); `None` if `path` is not a symlink.
    pub fn link_name(&self, path: &Path) -> Option<String> {
        let target = fs::read_link(path).ok()?;
        target.file_name().map(|n| n.to_string_lossy().into_owned())
    }

    /// The entries of a directory, sorted; empty if it does not exist.
    pub fn list(&self, dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = match fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        };
        names.sort_by(|a, b| natural_cmp(a, b));
        names
    }

    /// Write `value` to a sysfs attribute (`sriov_numvfs`, `bind`, ...).
    pub fn write(&self, path: &Path, value: &str, hint: Option<&str>) -> Result<(), NicError> {
        fs::write(path, value).map_err(|source| NicError::Io {
            op: format!("writing {value:?} to"),
            path: path.into(),
            source,
            hint: hint.map(String::from),
        })
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// Compare names so that `virtfn2` sorts before `virtfn10` and `eth2` before
/// `eth10`: runs of digits compare by value.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(s: &str) -> (&str, Option<u64>) {
        let cut = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        (&s[..cut], s[cut..].parse().ok())
    }
    let (pa, na) = split(a);
    let (pb, nb) = split(b);
    pa.cmp(pb).then(na.cmp(&nb)).then(a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["virtfn10", "virtfn2", "virtfn0", "eth1", "eth10", "eth9"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["eth1", "eth9", "eth10", "virtfn0", "virtfn2", "virtfn10"]);
    }

    #[test]
    fn paths_are_under_the_root() {
        let s = Sysfs::new("/tmp/x");
        assert_eq!(s.pci_device("0000:03:00.2"), Path::new("/tmp/x/sys/bus/pci/devices/0000:03:00.2"));
        assert_eq!(s.class_net("eth0"), Path::new("/tmp/x/sys/class/net/eth0"));
        assert!(!s.is_live());
        assert!(Sysfs::new("/").is_live());
        assert_eq!(Sysfs::new("/").path("/sys/class/net"), Path::new("/sys/class/net"));
    }
}
