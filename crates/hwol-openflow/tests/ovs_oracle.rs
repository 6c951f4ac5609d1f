//! Oracle test: every flow of the corpus (and a few tricky extras) goes
//! through the real `ovs-ofctl parse-flow` and through our parser, and
//!
//! - our printed match (with `priority=`) equals OVS's byte for byte,
//! - our parse of OVS's canonical output means the same as our parse of
//!   the original (`load` vs `set_field`, `mod_dl_src` vs `set_field`,
//!   `goto_table` vs OpenFlow 1.0's `resubmit` are treated as equal),
//! - re-printing OVS's canonical actions gives OVS's text back, except for
//!   spellings hwol deliberately stores as `set_field` (`mod_nw_*`,
//!   `mod_tp_*`).
//!
//! It fails when ovs-ofctl is missing: CI installs it (scripts/setup.sh,
//! Debian's openvswitch-common).

use std::process::Command;

use hwol_openflow::text::{format_flow, format_match, parse_flow, parse_flows, PortMap};
use hwol_openflow::{FlowSpec, OfAction, SubField};

const CORPUS: &str = include_str!("data/corpus.flows");

const EXTRAS: &[&str] = &[
    "ct_state=new|trk,actions=drop",
    "ct_state=0x21/0x2f,actions=drop",
    "tcp,tcp_flags=0x012/0x0ff,actions=drop",
    "tcp6,tcp_flags=syn|ack,actions=drop",
    "xreg1=0x100000002,actions=drop",
    "dl_vlan=0xffff,actions=drop",
    "vlan_tci=0x1000/0x1000,actions=drop",
    "vlan_tci=0x3005/0xffff,actions=drop",
    "dl_vlan_pcp=7,actions=drop",
    "ip,ip_dscp=5,nw_ecn=2,actions=drop",
    "in_port=65534,actions=in_port",
    "ipv6,ipv6_src=fe80::1/64,ipv6_dst=::ffff:1.2.3.4,actions=drop",
    "ipv6,ipv6_src=2001:db8::/ffff:ffff::ffff,actions=drop",
    "arp,nw_src=1.2.3.4,arp_tpa=10.0.0.0/255.0.255.0,arp_tha=00:00:00:00:00:01/00:00:00:00:00:ff,actions=drop",
    "tcp,ip_proto=17,tp_dst=5,actions=drop",
    "reg0[0..3]=5,reg15=0/0x1,actions=drop",
    "ip,nw_frag=first,actions=drop",
    "ip,nw_frag=not_later,actions=drop",
    "ip,nw_frag=yes,actions=drop",
    "udp6,tp_src=0/0xff00,actions=drop",
    "ct_mark=0,ct_label=0xffffffffffffffffffffffffffffffff,ct_zone=0,actions=drop",
    "metadata=0,pkt_mark=0xffffffff,conj_id=4294967295,actions=drop",
    "rarp,arp_op=3,actions=drop",
    "dl_type=0x8847,actions=drop",
    "priority=32768,ip,actions=drop",
    "priority=65535,cookie=0xfffffffffffffffe,idle_timeout=1,ip,actions=drop",
    "actions=resubmit(3)",
    "actions=resubmit(LOCAL,0)",
    "actions=controller",
    "actions=note:ab",
    "actions=note:0102030405060708",
    "actions=output:65279",
    "actions=output:NXM_NX_REG1[0..15],output:NXM_OF_IN_PORT[]",
    "actions=load:0->NXM_NX_REG0[],load:0xffffffff->NXM_NX_REG1[]",
    "actions=move:NXM_NX_REG0[0..15]->NXM_NX_REG1[16..31]",
    "actions=set_field:1->in_port,set_field:5->pkt_mark,set_field:0x800->vlan_tci",
    "ip,actions=dec_ttl,mod_nw_tos:16,mod_nw_ttl:5",
    "udp,actions=mod_tp_dst:53",
    "ipv6,actions=set_field:fe80::1->ipv6_src,set_field:0x12345->ipv6_label",
    "ip,actions=ct(),ct(nat),ct(commit,nat(dst)),ct(commit,table=0)",
    "ip,actions=ct(commit,nat(src=10.0.0.1,persistent))",
    "ip,actions=ct(commit,nat(src=10.0.0.1:80))",
    "ipv6,actions=ct(commit,nat(dst=[fe80::1]-[fe80::2]:80-90,hash))",
    "ipv6,actions=ct(commit,nat(dst=fe80::1))",
    "udp,actions=ct(commit,alg=tftp,exec(set_field:0xff00/0xff00->ct_label,load:3->NXM_NX_CT_MARK[0..1]))",
    "actions=conjunction(4294967295,64/64),conjunction(7,1/2),note:00",
];

/// Path of ovs-ofctl, or a failure that says how to get it.
fn ovs_ofctl() -> String {
    for p in ["/usr/bin/ovs-ofctl", "/usr/local/bin/ovs-ofctl"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("ovs-ofctl not found: this oracle test compares hwol's parser with OVS 3.1's. Install it with scripts/setup.sh (Debian: apt-get install openvswitch-common).");
}

/// OVS's canonical form of `line` under `proto` (None = ovs-ofctl's
/// default), as (table, match-with-priority, cookie, idle, hard, actions),
/// or None when OVS cannot encode the flow in that protocol.
fn ovs_parse(bin: &str, line: &str, proto: Option<&str>) -> Option<(String, String)> {
    let mut cmd = Command::new(bin);
    if let Some(p) = proto {
        cmd.args(["-O", p]);
    }
    let out = cmd.args(["parse-flow", line]).output().expect("run ovs-ofctl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(stderr.contains("no usable protocol"), "ovs-ofctl rejected corpus line {line:?}: {stderr}");
        return None;
    }
    let body = stdout.lines().find_map(|l| l.split_once(": ADD ").map(|(_, b)| b.to_string()))?;
    // "table:1 priority=5,ip cookie:0x5 idle:10 hard:20 actions=..."
    let (head, actions) = body.split_once("actions=").expect("actions in flow_mod");
    let mut flow = Vec::new();
    let mut matches = String::new();
    for tok in head.split_whitespace() {
        if let Some(t) = tok.strip_prefix("table:") {
            flow.push(format!("table={t}"));
        } else if let Some(c) = tok.strip_prefix("cookie:") {
            flow.push(format!("cookie={c}"));
        } else if let Some(i) = tok.strip_prefix("idle:") {
            flow.push(format!("idle_timeout={i}"));
        } else if let Some(h) = tok.strip_prefix("hard:") {
            flow.push(format!("hard_timeout={h}"));
        } else {
            assert!(matches.is_empty(), "unexpected token {tok:?} in {body:?}");
            matches = tok.to_string();
        }
    }
    flow.push(matches.clone());
    Some((format!("{} actions={actions}", flow.join(",")), format!("{matches}\n{actions}")))
}

/// Our text for the match part, as OVS prints it inside a flow_mod.
fn our_match(spec: &FlowSpec) -> String {
    let m = format_match(&spec.matches, None);
    match (spec.priority, m.is_empty()) {
        (32768, _) => m,
        (p, true) => format!("priority={p}"),
        (p, false) => format!("priority={p},{m}"),
    }
}

/// One meaning per action, whichever way it was spelled.
fn normalize(actions: &[OfAction]) -> Vec<OfAction> {
    use hwol_openflow::Field;
    let set = |field: Field, value: u128, mask: u128| OfAction::SetField { field, value, mask };
    let mac = |m: &hwol_flow::EthAddr| m.0.iter().fold(0u128, |a, b| (a << 8) | *b as u128);
    actions
        .iter()
        .map(|a| match a {
            OfAction::Load { dst: SubField { field, ofs, n_bits }, value } => {
                let sf = SubField { field: *field, ofs: *ofs, n_bits: *n_bits };
                set(*field, value << ofs, sf.mask())
            }
            // A full vlan_tci write without the "present" bit removes the tag.
            OfAction::SetField { field: Field::VlanTci, value, mask: 0xffff } if value & 0x1000 == 0 => {
                OfAction::PopVlan
            }
            OfAction::ModDlSrc(m) => set(Field::EthSrc, mac(m), 0xffff_ffff_ffff),
            OfAction::ModDlDst(m) => set(Field::EthDst, mac(m), 0xffff_ffff_ffff),
            OfAction::GotoTable(t) => OfAction::Resubmit { in_port: None, table: Some(*t) },
            OfAction::Ct(ct) => {
                let mut ct = ct.clone();
                ct.exec = normalize(&ct.exec);
                OfAction::Ct(ct)
            }
            a => a.clone(),
        })
        .fold(Vec::new(), |mut out: Vec<OfAction>, a| {
            // OVS splits loads wider than 64 bits into segments; merge them back.
            if let (
                Some(OfAction::SetField { field: f0, value: v0, mask: m0 }),
                OfAction::SetField { field, value, mask },
            ) = (out.last_mut(), &a)
            {
                if f0 == field && *m0 & mask == 0 {
                    *v0 |= value;
                    *m0 |= mask;
                    return out;
                }
            }
            out.push(a);
            out
        })
}

#[test]
fn ovs_ofctl_agrees_with_our_parser_and_printer() {
    let bin = ovs_ofctl();
    let none = PortMap::new();
    let mut lines: Vec<String> =
        CORPUS.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(String::from).collect();
    lines.extend(EXTRAS.iter().map(|s| s.to_string()));
    assert_eq!(parse_flows(CORPUS, &none).unwrap().len() + EXTRAS.len(), lines.len());
    let mut compared = 0;
    for line in &lines {
        let ours = parse_flow(line, &none).unwrap_or_else(|e| panic!("we reject {line:?}: {e}"));
        let mut match_checked = false;
        for proto in [None, Some("OpenFlow13")] {
            let Some((ovs_flow, ovs_text)) = ovs_parse(&bin, line, proto) else { continue };
            let (ovs_match, ovs_actions) = ovs_text.split_once('\n').unwrap();
            // Matches are compared in the first protocol OVS can use (OpenFlow
            // 1.0 + NXM, like dump-flows, when possible): OXM re-encodes some
            // (dl_vlan=0xffff becomes vlan_tci=0x0000/0x1fff).
            let check_match = !std::mem::replace(&mut match_checked, true);
            if check_match {
                assert_eq!(our_match(&ours), ovs_match, "match of {line:?} (ovs-ofctl {proto:?})");
            }
            if ovs_actions.contains("vlan_vid") || ovs_actions.contains("vlan_pcp") {
                continue; // OpenFlow 1.3 spells mod_vlan_* as push_vlan + set_field:vlan_vid, which hwol does not take.
            }
            let theirs = parse_flow(&ovs_flow, &none).unwrap_or_else(|e| panic!("we reject OVS's {ovs_flow:?}: {e}"));
            assert_eq!(
                (theirs.table, theirs.priority, theirs.cookie, theirs.idle_timeout, theirs.hard_timeout),
                (ours.table, ours.priority, ours.cookie, ours.idle_timeout, ours.hard_timeout),
                "{line:?} vs OVS's {ovs_flow:?}"
            );
            if check_match {
                assert_eq!(theirs.matches, ours.matches, "{line:?} vs OVS's {ovs_flow:?}");
            }
            assert_eq!(
                normalize(&theirs.actions),
                normalize(&ours.actions),
                "actions of {line:?} vs OVS's {ovs_actions:?}"
            );
            let reprinted = format_flow(&theirs, None);
            let reprinted = reprinted.split_once("actions=").unwrap().1;
            let respelled = ["mod_nw_", "mod_tp_", "pop_vlan"].iter().any(|s| ovs_actions.contains(s));
            if !respelled {
                assert_eq!(reprinted, ovs_actions, "printing OVS's canonical actions for {line:?}");
            }
            compared += 1;
        }
    }
    assert!(compared >= lines.len(), "only {compared} comparisons for {} flows", lines.len());
}
