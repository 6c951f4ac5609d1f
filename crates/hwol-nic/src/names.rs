//! `phys_port_name` values, as switchdev drivers report them.
//!
//! - uplink (physical port): `p<N>` (mlx5: `p0`, `p1`; netdevsim: `p1`);
//! - VF representor: `pf<N>vf<M>`, or `c<C>pf<N>vf<M>` when the VF belongs to
//!   another controller (a SmartNIC's host, seen from its Arm side);
//! - PF representor: `pf<N>` / `c<C>pf<N>`;
//! - anything else (split ports `p0s1`, SF representors `pf0sf1`, empty) is
//!   not one of these and is ignored by discovery.

/// What a `phys_port_name` says a netdev is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortName {
    /// `p<N>`: the uplink representor of physical port N.
    Uplink(u32),
    /// `[c<C>]pf<N>vf<M>`: the representor of VF M of PF N.
    VfRep {
        /// Controller number, when the name has a `c<C>` prefix.
        controller: Option<u32>,
        /// PF number.
        pf: u32,
        /// VF index.
        vf: u32,
    },
    /// `[c<C>]pf<N>`: a PF representor.
    PfRep {
        /// Controller number, when present.
        controller: Option<u32>,
        /// PF number.
        pf: u32,
    },
}

/// Parse a `phys_port_name`; `None` for names that are none of the above.
pub fn parse(name: &str) -> Option<PortName> {
    if let Some(n) = name.strip_prefix('p').and_then(number) {
        return Some(PortName::Uplink(n));
    }
    let (controller, rest) = match name.strip_prefix('c') {
        Some(r) => {
            let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            (Some(number(&r[..digits])?), &r[digits..])
        }
        None => (None, name),
    };
    let rest = rest.strip_prefix("pf")?;
    match rest.split_once("vf") {
        Some((pf, vf)) => Some(PortName::VfRep { controller, pf: number(pf)?, vf: number(vf)? }),
        None => Some(PortName::PfRep { controller, pf: number(rest)? }),
    }
}

/// A non-empty run of ASCII digits, as a number.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_forms() {
        assert_eq!(parse("p0"), Some(PortName::Uplink(0)));
        assert_eq!(parse("p1"), Some(PortName::Uplink(1)));
        assert_eq!(parse("pf0vf3"), Some(PortName::VfRep { controller: None, pf: 0, vf: 3 }));
        assert_eq!(parse("pf1vf12"), Some(PortName::VfRep { controller: None, pf: 1, vf: 12 }));
        assert_eq!(parse("c1pf0vf2"), Some(PortName::VfRep { controller: Some(1), pf: 0, vf: 2 }));
        assert_eq!(parse("pf0"), Some(PortName::PfRep { controller: None, pf: 0 }));
        assert_eq!(parse("c2pf1"), Some(PortName::PfRep { controller: Some(2), pf: 1 }));
    }

    #[test]
    fn others_are_ignored() {
        for s in ["", "p", "p0s1", "pf0sf1", "pfvf1", "pf0vf", "c", "cpf0vf1", "eth0", "p-1", "pf0vf1x", "vf1"] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trip(c in proptest::option::of(0u32..100), pf in 0u32..8, vf in 0u32..1000) {
            let name = match c { Some(c) => format!("c{c}pf{pf}vf{vf}"), None => format!("pf{pf}vf{vf}") };
            proptest::prop_assert_eq!(parse(&name), Some(PortName::VfRep { controller: c, pf, vf }));
        }
    }
}
