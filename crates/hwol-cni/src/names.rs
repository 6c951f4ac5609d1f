//! The host-side interface name of a pod, the way Antrea names it: the
//! first 8 characters of the pod name (leading `-` dropped), `-`, then the
//! first 6 hex digits of sha1(container id). At most 15 bytes, so it is a
//! valid interface name; the seed's `mofed-te-b5583b` has this shape.

use sha1::{Digest, Sha1};

/// The host interface name for pod `pod_name` in container `container_id`.
/// Without a pod name (a runtime that is not Kubernetes) the container id
/// stands in for it.
pub fn host_ifname(pod_name: Option<&str>, container_id: &str) -> String {
    let hash = Sha1::digest(container_id.as_bytes());
    let hex: String = hash.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let base = pod_name.unwrap_or(container_id);
    let head: String = base.chars().take(8).collect();
    let head = head.trim_start_matches('-');
    // Pod names are DNS labels; keep only what an interface name allows.
    let head: String = head.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.').collect();
    format!("{head}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn antrea_shape() {
        // sha1("abc") = a9993e36...
        assert_eq!(host_ifname(Some("ovs-offload-pod1"), "abc"), "ovs-offl-a9993e");
        assert_eq!(host_ifname(Some("mofed-test-pod"), "abc"), "mofed-te-a9993e");
        assert_eq!(host_ifname(Some("p1"), "abc"), "p1-a9993e");
        assert_eq!(host_ifname(Some("--abcdefgh"), "abc"), "abcdef-a9993e");
        assert_eq!(host_ifname(None, "abc"), "abc-a9993e");
        for n in ["a", "abcdefghijklmnopqrstuvwxyz", "x.y_z"] {
            hwol_netdev::emunic::validate_ifname(&host_ifname(Some(n), "0123456789abcdef")).unwrap();
        }
    }
}
