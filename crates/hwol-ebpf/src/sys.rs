//! The only module with `unsafe`: a synchronous detach of a pinned bpf_link
//! (`BPF_OBJ_GET` + `BPF_LINK_DETACH`), which aya 0.14 has no safe wrapper
//! for. (Reading misses with their port tag is `hwol-netdev`'s
//! `PacketPort::recv_copy_tagged`.)

#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `BPF_OBJ_GET`.
const BPF_OBJ_GET: libc::c_long = 7;
/// `BPF_LINK_DETACH`.
const BPF_LINK_DETACH: libc::c_long = 34;

/// The `obj_get` member of `union bpf_attr`.
#[repr(C)]
struct ObjGetAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// Detach the bpf_link pinned at `path` now (`BPF_LINK_DETACH`), instead of
/// when its last reference goes, which the kernel does from a workqueue.
/// The pin itself stays; the caller removes it.
pub(crate) fn detach_pinned_link(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let attr = ObjGetAttr { pathname: c.as_ptr() as u64, bpf_fd: 0, file_flags: 0 };
    // SAFETY: `attr` is a valid obj_get attribute whose pathname points to a
    // NUL-terminated string that outlives the call; the size is its own.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_OBJ_GET, &attr as *const ObjGetAttr, size_of::<ObjGetAttr>()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just gave us this descriptor; we own it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let link_fd: u32 = fd.as_raw_fd() as u32;
    // SAFETY: the link_detach attribute is one u32 (the link fd); the size is its own.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_LINK_DETACH, &link_fd as *const u32, size_of::<u32>()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
