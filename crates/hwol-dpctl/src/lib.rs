//! The `dpctl/*` views of the datapath, in OVS's formats, plus what no peer
//! shows: for every flow, whether it is offloaded and, if not, why.
//!
//! - [`dump_flows`]: `ovs-appctl dpctl/dump-flows [--names] [-m]
//!   [type=offloaded|ovs|non-offloaded|partially-offloaded|all|<provider>]`.
//!   Offloaded flows print `offloaded:yes, dp:<provider>` with `-m`; flows
//!   handled in software print `dp:ovs` and, with `-m`, a
//!   `dp-extra-info:offload(...)` field saying why they are not offloaded
//!   (pending, refused with the provider's reason, or failed with its error).
//!   A flow the provider holds but the NIC does not (tc flower's
//!   `not_in_hw`) prints `dp:<provider>` without `offloaded:yes`, as OVS
//!   prints it, and with `-m` says why it is not in hardware.
//! - [`dump_conntrack`]: `dpctl/dump-conntrack [zone=N] [-s]`, with
//!   `,offloaded` appended to connections the fast path is carrying.
//!
//! Every flow is installed in the software datapath whether or not it is
//! offloaded (software is the fallback and the source of truth), so "type=ovs"
//! means "handled by software": every flow that is not offloaded.
//!
//! Pure formatting: no I/O, `now` passed in.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use hwol_conntrack::CtEntry;
use hwol_datapath::Megaflow;
use hwol_odp::{FormatOpts, FromFlowOpts, OdpFlow, OdpKey, Offloaded, PortNames, Used};
use hwol_offload::OffloadState;

/// The `type=` filter of `dpctl/dump-flows`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FlowType {
    /// `type=all` (also the default).
    #[default]
    All,
    /// `type=ovs`: flows handled by the software datapath (`dp:ovs`).
    Software,
    /// `type=non-offloaded`: flows not in hardware: the `dp:ovs` ones plus
    /// those a provider runs in the kernel's software path (tc flower's
    /// `not_in_hw`), as OVS counts them.
    NonOffloaded,
    /// `type=offloaded`: flows in the fast path.
    Offloaded,
    /// `type=partially-offloaded`: none in hwol (a flow is offloaded whole or not at all).
    Partial,
    /// `type=<provider>` (e.g. `xdp`, `tc`): the flows that provider holds.
    Provider(String),
}

/// An unknown `type=` value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown flow type {0:?}: use all, ovs, offloaded, non-offloaded, partially-offloaded or {1}")]
pub struct BadType(String, String);

impl FlowType {
    /// Parse a `type=` value; `provider` is the active provider's name.
    pub fn parse(s: &str, provider: &str) -> Result<FlowType, BadType> {
        Ok(match s {
            "all" => FlowType::All,
            "ovs" => FlowType::Software,
            "non-offloaded" => FlowType::NonOffloaded,
            "offloaded" => FlowType::Offloaded,
            "partially-offloaded" => FlowType::Partial,
            p if p == provider => FlowType::Provider(p.to_string()),
            other => return Err(BadType(other.to_string(), provider.to_string())),
        })
    }
}

/// Options of `dpctl/dump-flows`.
#[derive(Clone, Debug, Default)]
pub struct DumpOpts<'a> {
    /// `--names`: ports by name.
    pub names: Option<&'a PortNames>,
    /// `-m`: verbose.
    pub verbose: bool,
    /// `type=`.
    pub filter: FlowType,
}

/// The offload side of one flow, as the dump needs it.
pub trait OffloadView {
    /// The active provider's name (`dp:` of offloaded flows).
    fn provider(&self) -> &str;
    /// The flow's offload state, if the offload manager knows it.
    fn state(&self, ufid: u128) -> Option<OffloadState>;
}

/// No offload at all: every flow is software.
pub struct NoOffload;

impl OffloadView for NoOffload {
    fn provider(&self) -> &str {
        "none"
    }
    fn state(&self, _ufid: u128) -> Option<OffloadState> {
        None
    }
}

/// Whether a flow passes the `type=` filter, given whether it is in hardware
/// (`offloaded:yes`) and which layer runs it (`dp:`).
fn keep(filter: &FlowType, offloaded: bool, dp: &str) -> bool {
    match filter {
        FlowType::All => true,
        FlowType::Software => dp == "ovs",
        FlowType::NonOffloaded => !offloaded,
        FlowType::Offloaded => offloaded,
        FlowType::Partial => false,
        FlowType::Provider(p) => p == dp,
    }
}

/// `dpctl/dump-flows` text: one line per flow, after OVS's header line.
pub fn dump_flows(flows: &[Arc<Megaflow>], offload: &dyn OffloadView, opts: &DumpOpts<'_>, now: Duration) -> String {
    let mut out = String::new();
    let mut lines: Vec<String> = Vec::new();
    for f in flows {
        let state = offload.state(f.ufid);
        let offloaded = matches!(state, Some(OffloadState::Offloaded));
        // As OVS does for tc: a flow the provider holds outside the NIC
        // (`not_in_hw`) is `dp:tc` without `offloaded:yes`.
        let dp =
            if offloaded || matches!(state, Some(OffloadState::NotInHardware(_))) { offload.provider() } else { "ovs" };
        if !keep(&opts.filter, offloaded, dp) {
            continue;
        }
        let used = match f.stats.used() {
            None => Used::Never,
            Some(u) => Used::Ago(now.saturating_sub(u).as_millis() as u64),
        };
        let extra = match (&state, opts.verbose) {
            (_, false) | (Some(OffloadState::Offloaded), _) => None,
            (None, true) => Some("offload(none)".to_string()),
            (Some(OffloadState::Pending), true) => Some("offload(pending)".to_string()),
            (Some(OffloadState::NotOffloaded(r)), true) => Some(format!("offload(refused: {r})")),
            (Some(OffloadState::NotInHardware(r)), true) => Some(format!("offload(not in hardware: {r})")),
            (Some(OffloadState::Failed(e)), true) => Some(format!("offload(failed: {e})")),
        };
        let flow = OdpFlow {
            ufid: Some(f.ufid),
            key: OdpKey::from_flow(&f.key, &f.mask, &FromFlowOpts::default()),
            stats: Some(hwol_odp::FlowStats {
                packets: f.stats.packets(),
                bytes: f.stats.bytes(),
                used,
                tcp_flags: f.stats.tcp_flags(),
            }),
            offloaded: offloaded.then_some(Offloaded::Yes),
            dp: Some(dp.to_string()),
            actions: f.actions.clone(),
            dp_extra_info: extra,
            ..Default::default()
        };
        lines.push(flow.format(&FormatOpts { names: opts.names, verbose: opts.verbose }));
    }
    if !lines.is_empty() {
        out.push_str("flow-dump from the main thread:\n");
    }
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// `dpctl/dump-conntrack [-s]` text; `offloaded(zone, entry)` says whether
/// the fast path carries a connection.
pub fn dump_conntrack(entries: &[CtEntry], verbose: bool, offloaded: &dyn Fn(&CtEntry) -> bool) -> String {
    let mut s = String::new();
    for e in entries {
        let _ = write!(s, "{}", hwol_conntrack::format_entry(e, verbose));
        if offloaded(e) {
            s.push_str(",offloaded");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_datapath::{Datapath, DatapathConfig};
    use hwol_flow::{Action, CtAction, FlowKey, FlowMask};
    use hwol_offload::NotOffloadedReason;
    use std::collections::HashMap;

    struct View(HashMap<u128, OffloadState>);

    impl OffloadView for View {
        fn provider(&self) -> &str {
            "xdp"
        }
        fn state(&self, ufid: u128) -> Option<OffloadState> {
            self.0.get(&ufid).cloned()
        }
    }

    fn setup() -> (Vec<Arc<Megaflow>>, View, PortNames) {
        let dp: Datapath = Datapath::new(DatapathConfig::default());
        let mut k = FlowKey {
            in_port: 1,
            eth_type: 0x0800,
            eth_src: [0x16, 0xfd, 0xc6, 0x0b, 0x60, 0x52],
            nw_src: [192, 168, 1, 17],
            ..Default::default()
        };
        let mut m = FlowMask::default();
        m.0.recirc_id = !0;
        m.0.in_port = !0;
        m.0.eth_type = !0;
        m.0.eth_src = [0xff; 6];
        m.0.nw_src = [0xff; 4];
        m.0.nw_frag = !0;
        m.0.vlans[0].tpid = !0;
        let a =
            dp.flow_put(k, m, vec![Action::Ct(CtAction { zone: 65520, ..Default::default() }), Action::Recirc(0x18)]);
        a.stats.merge(2235857, 147599302, Some(Duration::from_millis(9450)), 0);
        k.recirc_id = 0x18;
        k.ct_state = 0x22;
        m.0.ct_state = 0x22;
        let b = dp.flow_put(k, m, vec![Action::Output(2)]);
        b.stats.merge(2235857, 147599302, Some(Duration::from_millis(9450)), 0);
        k.ct_state = 0x21;
        m.0.ct_state = 0x21;
        let c = dp.flow_put(
            k,
            m,
            vec![Action::Ct(CtAction { zone: 65520, commit: true, ..Default::default() }), Action::Output(2)],
        );
        c.stats.merge(1, 74, Some(Duration::from_millis(5000)), 0x02);
        let mut states = HashMap::new();
        states.insert(a.ufid, OffloadState::Offloaded);
        states.insert(b.ufid, OffloadState::Offloaded);
        states.insert(
            c.ufid,
            OffloadState::NotOffloaded(NotOffloadedReason::SlowPathOnly { why: "matches new connections" }),
        );
        let mut names = PortNames::new();
        names.insert("eth0", 1);
        names.insert("eth1", 2);
        let mut flows = dp.flow_dump();
        flows.sort_by_key(|f| (f.key.recirc_id, f.key.ct_state));
        (flows, View(states), names)
    }

    #[test]
    fn offloaded_filter_shows_the_seed_flows() {
        let (flows, view, names) = setup();
        let filter = FlowType::parse("offloaded", "xdp").unwrap();
        let text = dump_flows(
            &flows,
            &view,
            &DumpOpts { names: Some(&names), verbose: false, filter },
            Duration::from_secs(10),
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn verbose_dump_says_why_a_flow_is_not_offloaded() {
        let (flows, view, names) = setup();
        let text = dump_flows(
            &flows,
            &view,
            &DumpOpts { names: Some(&names), verbose: true, filter: FlowType::All },
            Duration::from_secs(10),
        );
        assert!(text.contains("offloaded:yes, dp:xdp"), "{text}");
        assert!(text.contains("dp:ovs"), "{text}");
        assert!(text.contains("dp-extra-info:offload(refused: slow path only: matches new connections)"), "{text}");
        let software = dump_flows(
            &flows,
            &view,
            &DumpOpts { names: None, verbose: false, filter: FlowType::Software },
            Duration::from_secs(10),
        );
        assert_eq!(software.lines().count(), 2, "header + the one software flow:\n{software}");
    }

    /// A flow tc holds outside the NIC is `dp:tc` without `offloaded:yes`:
    /// `type=offloaded` and `type=ovs` leave it out, `type=non-offloaded`
    /// and `type=tc` keep it, and `-m` says why.
    #[test]
    fn a_flow_not_in_hardware_is_dp_tc_and_non_offloaded() {
        struct Tc(View);
        impl OffloadView for Tc {
            fn provider(&self) -> &str {
                "tc"
            }
            fn state(&self, ufid: u128) -> Option<OffloadState> {
                self.0.state(ufid)
            }
        }
        let (flows, mut view, _) = setup();
        let first = flows[0].ufid;
        view.0.insert(first, OffloadState::NotInHardware("the NIC did not take it (not_in_hw)".into()));
        let view = Tc(view);
        let count = |ty: &str| {
            let filter = FlowType::parse(ty, "tc").unwrap();
            let text = dump_flows(&flows, &view, &DumpOpts { names: None, verbose: false, filter }, Duration::ZERO);
            // The first flow is the only one that recirculates.
            text.lines().filter(|l| l.contains("recirc(0x18)")).count()
        };
        assert_eq!(
            (count("offloaded"), count("ovs"), count("non-offloaded"), count("tc"), count("all")),
            (0, 0, 1, 1, 1)
        );
        let text = dump_flows(
            &flows,
            &view,
            &DumpOpts { names: None, verbose: true, filter: FlowType::NonOffloaded },
            Duration::ZERO,
        );
        let line = text.lines().find(|l| l.contains("not in hardware")).expect(&text);
        assert!(line.contains("dp:tc") && !line.contains("offloaded:yes"), "{line}");
        assert!(line.contains("offload(not in hardware: the NIC did not take it (not_in_hw))"), "{line}");
    }

    #[test]
    fn unknown_type_is_an_error_naming_the_choices() {
        let e = FlowType::parse("kernel", "tc").unwrap_err();
        assert!(e.to_string().contains("offloaded") && e.to_string().contains("tc"));
    }
}
