//! The encoder against iproute2: each rule below is built with this crate
//! for the same `tc` command that produced the vector in `vectors.rs`, and
//! must encode to the same bytes (nlmsg_seq/pid aside); each vector must
//! also decode and re-encode unchanged.
//!
//! Regenerate the vectors with `crates/hwol-tcflower/scripts/golden.sh`.

mod vectors;

use hwol_tcflower::nla::Be16;
use hwol_tcflower::rule::{clsact_del_msg, clsact_msg, dump_msg, FilterId, FlowerAction, FlowerRule, PeditKey};
use hwol_tcflower::tc::{FilterMsg, FlowerAttr};
use hwol_tcflower::uapi::*;
use vectors::*;

/// `tc filter add` sends these.
const ADD: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
/// hwfa: the filter's device; hwfb: the mirred target.
const HWFA: i32 = 2;
const HWFB: u32 = 3;

fn norm(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v[8..16].fill(0);
    v
}

fn hex(b: &[u8]) -> String {
    b.chunks(16).map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ") + "\n").collect()
}

fn check(golden: &[u8], built: FilterMsg) {
    assert_eq!(hex(&norm(&built.emit())), hex(&norm(golden)), "encoder differs from tc");
    let parsed = FilterMsg::parse(golden).expect("golden vector decodes");
    assert_eq!(hex(&parsed.emit()), hex(golden), "decode + encode is not the identity");
    let mut built = built;
    built.header.seq = parsed.header.seq;
    built.header.pid = parsed.header.pid;
    assert_eq!(parsed, built, "decoded vector differs from the built message");
}

fn redirect() -> FlowerAction {
    FlowerAction::Mirred { redirect: true, ifindex: HWFB }
}

fn rule(prio: u16, protocol: u16, keys: Vec<FlowerAttr>, actions: Vec<FlowerAction>) -> FlowerRule {
    FlowerRule { chain: 0, prio, protocol, keys, actions, flags: 0, cookie: None }
}

#[test]
fn l2_match_and_mirred_redirect() {
    let mut r = rule(
        1,
        ETH_P_ALL,
        vec![
            FlowerAttr::KeyEthDst([2, 0, 0, 0, 0, 2]),
            FlowerAttr::KeyEthDstMask([0xff; 6]),
            FlowerAttr::KeyEthSrc([2, 0, 0, 0, 0, 1]),
            FlowerAttr::KeyEthSrcMask([0xff; 6]),
        ],
        vec![redirect()],
    );
    r.flags = TCA_CLS_FLAGS_SKIP_SW;
    check(L2_MIRRED, r.new_msg(HWFA, 1, ADD));
}

#[test]
fn ipv4_five_tuple() {
    let mut r = rule(
        2,
        ETH_P_IP,
        vec![
            FlowerAttr::KeyIpProto(6),
            FlowerAttr::KeyIpv4Src([10, 0, 0, 1]),
            FlowerAttr::KeyIpv4SrcMask([0xff; 4]),
            FlowerAttr::KeyIpv4Dst([10, 0, 0, 2]),
            FlowerAttr::KeyIpv4DstMask([0xff, 0xff, 0xff, 0]),
            FlowerAttr::KeyTcpSrc(Be16(40000)),
            FlowerAttr::KeyTcpDst(Be16(5201)),
        ],
        vec![redirect()],
    );
    r.flags = TCA_CLS_FLAGS_SKIP_HW;
    check(IPV4_5TUPLE, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn ct_state_zone_mark_in_chain_5() {
    let mut r = rule(
        3,
        ETH_P_IP,
        vec![
            FlowerAttr::KeyCtState(TCA_FLOWER_KEY_CT_FLAGS_TRACKED | TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED),
            FlowerAttr::KeyCtStateMask(
                TCA_FLOWER_KEY_CT_FLAGS_TRACKED | TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED | TCA_FLOWER_KEY_CT_FLAGS_NEW,
            ),
            FlowerAttr::KeyCtZone(7),
            FlowerAttr::KeyCtZoneMask(0xffff),
            FlowerAttr::KeyCtMark(0x2a),
            FlowerAttr::KeyCtMarkMask(0xff),
        ],
        vec![redirect()],
    );
    r.chain = 5;
    check(CT_STATE_CHAIN, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn act_ct_commit_with_mark_and_label_then_goto() {
    let mut label = [0u8; 16];
    label[0] = 1;
    let mut label_mask = [0u8; 16];
    label_mask[0] = 0xff;
    let r = rule(
        4,
        ETH_P_IP,
        vec![FlowerAttr::KeyIpProto(6)],
        vec![
            FlowerAction::Ct {
                zone: 7,
                commit: true,
                force: false,
                mark: Some((0x2a, 0xffff_ffff)),
                labels: Some((label, label_mask)),
            },
            FlowerAction::GotoChain(5),
        ],
    );
    check(CT_COMMIT_MARK, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn act_ct_then_goto_chain() {
    let r = rule(
        4,
        ETH_P_IP,
        vec![FlowerAttr::KeyIpProto(6)],
        vec![
            FlowerAction::Ct { zone: 7, commit: false, force: false, mark: None, labels: None },
            FlowerAction::GotoChain(5),
        ],
    );
    check(CT_GOTO_CHAIN, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn pedit_eth_dst_and_ttl_with_csum() {
    let eth = TCA_PEDIT_KEY_EX_HDR_TYPE_ETH;
    let ip4 = TCA_PEDIT_KEY_EX_HDR_TYPE_IP4;
    let r = rule(
        5,
        ETH_P_IP,
        vec![FlowerAttr::KeyIpProto(17)],
        vec![
            FlowerAction::Pedit(vec![
                PeditKey { htype: eth, off: 0, mask: [0; 4], val: [2, 0, 0, 0] },
                PeditKey { htype: eth, off: 4, mask: [0, 0, 0xff, 0xff], val: [0, 9, 0, 0] },
                PeditKey { htype: ip4, off: 8, mask: [0, 0xff, 0xff, 0xff], val: [63, 0, 0, 0] },
            ]),
            FlowerAction::Csum(TCA_CSUM_UPDATE_FLAG_IPV4HDR),
            redirect(),
        ],
    );
    check(PEDIT_ETH_CSUM, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn vlan_push_mirror_and_redirect() {
    let r = rule(
        6,
        ETH_P_ALL,
        vec![],
        vec![
            FlowerAction::VlanPush { vid: 100, prio: 3, tpid: ETH_P_8021Q },
            FlowerAction::Mirred { redirect: false, ifindex: HWFB },
            redirect(),
        ],
    );
    check(VLAN_PUSH, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn vlan_match_and_pop() {
    let r = rule(
        7,
        ETH_P_8021Q,
        vec![FlowerAttr::KeyVlanId(100), FlowerAttr::KeyVlanEthType(Be16(ETH_P_IP))],
        vec![FlowerAction::VlanPop, redirect()],
    );
    check(VLAN_POP, r.new_msg(HWFA, 0, ADD));
}

#[test]
fn delete_and_get_by_handle() {
    let id = FilterId { ifindex: HWFA, chain: 0, prio: 2, protocol: ETH_P_IP, handle: 1 };
    check(DEL_FILTER, id.del_msg());
    check(GET_FILTER, id.get_msg());
    let parsed = FilterMsg::parse(DEL_FILTER).unwrap();
    assert_eq!(FilterId::of(&parsed), id);
}

#[test]
fn dump_filters_and_add_clsact() {
    check(DUMP_FILTERS, dump_msg(HWFA));
    check(QDISC_CLSACT, clsact_msg(HWFA));
    check(QDISC_CLSACT_DEL, clsact_del_msg(HWFA));
}

// ---- The translation core against the same vectors: a megaflow whose
// ---- flower form is the tc command above each vector.

mod translation {
    use super::*;
    use hwol_flow::{Action, CtAction, FlowKey, FlowMask, Masked, SetAction, VlanHeader};
    use hwol_offload::OffloadFlow;
    use hwol_tcflower::translate::{translate, TcPolicy};
    use hwol_wire::EthAddr;

    /// Datapath port 1 is hwfa, port 2 is hwfb.
    fn ifindex_of(port: u32) -> Result<i32, String> {
        match port {
            1 => Ok(HWFA),
            2 => Ok(HWFB as i32),
            _ => Err("not attached".into()),
        }
    }

    /// in_port(1), recirc_id(chain), untagged; nothing else matched.
    fn base(chain: u32) -> (FlowKey, FlowMask) {
        let key = FlowKey { in_port: 1, recirc_id: chain, ..Default::default() };
        let mut mask = FlowMask::default();
        mask.0.in_port = !0;
        mask.0.recirc_id = !0;
        mask.0.vlans[0].tpid = !0;
        (key, mask)
    }

    fn ip(key: &mut FlowKey, mask: &mut FlowMask, proto: Option<u8>) {
        key.eth_type = ETH_P_IP;
        mask.0.eth_type = !0;
        if let Some(p) = proto {
            key.nw_proto = p;
            mask.0.nw_proto = !0;
        }
    }

    fn check_flow(
        golden: &[u8],
        key: FlowKey,
        mask: FlowMask,
        actions: Vec<Action>,
        prio: u16,
        policy: TcPolicy,
        handle: u32,
    ) {
        let flow = OffloadFlow { ufid: 0xabcd, key, mask, actions };
        let t = translate(&flow, policy, ifindex_of).expect("translates");
        assert_eq!(t.ifindex, HWFA);
        let mut rule = t.rule;
        assert_eq!(rule.cookie, Some(0xabcd));
        rule.cookie = None; // tc sends no cookie
        rule.prio = prio;
        check(golden, rule.new_msg(t.ifindex, handle, ADD));
    }

    #[test]
    fn l2_flow() {
        let (mut k, mut m) = base(0);
        k.eth_dst = [2, 0, 0, 0, 0, 2];
        k.eth_src = [2, 0, 0, 0, 0, 1];
        m.0.eth_dst = [0xff; 6];
        m.0.eth_src = [0xff; 6];
        check_flow(L2_MIRRED, k, m, vec![Action::Output(2)], 1, TcPolicy::SkipSw, 1);
    }

    #[test]
    fn ct_state_flow_in_recirc_5() {
        let (mut k, mut m) = base(5);
        ip(&mut k, &mut m, None);
        k.ct_state = hwol_flow::ct_state::TRK | hwol_flow::ct_state::EST;
        m.0.ct_state = hwol_flow::ct_state::TRK | hwol_flow::ct_state::EST | hwol_flow::ct_state::NEW;
        k.ct_zone = 7;
        m.0.ct_zone = !0;
        k.ct_mark = 0x2a;
        m.0.ct_mark = 0xff;
        check_flow(CT_STATE_CHAIN, k, m, vec![Action::Output(2)], 3, TcPolicy::None, 0);
    }

    #[test]
    fn ct_commit_flow() {
        let (mut k, mut m) = base(0);
        ip(&mut k, &mut m, Some(6));
        let ct = CtAction {
            commit: true,
            zone: 7,
            mark: Some(Masked::new(0x2a, !0)),
            label: Some(Masked::new(1, 0xff)),
            ..Default::default()
        };
        check_flow(CT_COMMIT_MARK, k, m, vec![Action::Ct(ct), Action::Recirc(5)], 4, TcPolicy::None, 0);
        let ct = CtAction { zone: 7, ..Default::default() };
        check_flow(CT_GOTO_CHAIN, k, m, vec![Action::Ct(ct), Action::Recirc(5)], 4, TcPolicy::None, 0);
    }

    #[test]
    fn set_eth_dst_and_ttl_flow() {
        let (mut k, mut m) = base(0);
        ip(&mut k, &mut m, Some(17));
        let eth = SetAction::Eth {
            src: Masked::new(EthAddr::default(), EthAddr::default()),
            dst: Masked::new(EthAddr([2, 0, 0, 0, 0, 9]), EthAddr([0xff; 6])),
        };
        let z4 = Masked::new([0; 4], [0; 4]);
        let ttl = SetAction::Ipv4 { src: z4, dst: z4, tos: Masked::new(0, 0), ttl: Masked::new(63, 0xff) };
        let actions =
            vec![Action::Set { set: eth, masked: true }, Action::Set { set: ttl, masked: true }, Action::Output(2)];
        check_flow(PEDIT_ETH_CSUM, k, m, actions, 5, TcPolicy::None, 0);
    }

    #[test]
    fn vlan_push_with_two_outputs_flow() {
        let (k, m) = base(0);
        let actions =
            vec![Action::PushVlan { tpid: ETH_P_8021Q, tci: (3 << 13) | 100 }, Action::Output(2), Action::Output(2)];
        check_flow(VLAN_PUSH, k, m, actions, 6, TcPolicy::None, 0);
    }

    #[test]
    fn vlan_pop_flow() {
        let (mut k, mut m) = base(0);
        k.vlans[0] = VlanHeader { tpid: ETH_P_8021Q, tci: 100 };
        m.0.vlans[0].tci = 0x0fff;
        k.eth_type = ETH_P_IP;
        m.0.eth_type = !0;
        check_flow(VLAN_POP, k, m, vec![Action::PopVlan, Action::Output(2)], 7, TcPolicy::None, 0);
    }
}

// ---- ctnetlink against conntrack-tools: the same connection, inserted by
// ---- `conntrack -I` (vector) and by hwol, must say the same things. The
// ---- tool leaves garbage in attribute padding and orders attributes
// ---- differently, so this compares decoded content, not bytes.

#[test]
fn ct_insert_says_what_conntrack_tools_says() {
    use hwol_conntrack::CtTuple;
    use hwol_offload::CtOffload;
    use hwol_tcflower::conntrack::{ct_new_msg, parse_ct};

    let theirs = parse_ct(CT_INSERT_TCP).expect("conntrack-tools vector decodes");
    let t = CtTuple::ports("198.51.100.1".parse().unwrap(), "198.51.100.2".parse().unwrap(), 6, 40000, 5201);
    let ours = parse_ct(&ct_new_msg(&CtOffload { zone: 7, orig: t, mark: 6, label: 0 }, 432000).unwrap()).unwrap();
    assert_eq!(theirs.orig, Some(t));
    assert_eq!(ours, theirs);
    // Same message type and flags (IPCTNL_MSG_CT_NEW, REQUEST|ACK|CREATE|EXCL) and family.
    let ours_raw = ct_new_msg(&CtOffload { zone: 7, orig: t, mark: 6, label: 0 }, 432000).unwrap();
    assert_eq!(ours_raw[4..8], CT_INSERT_TCP[4..8]);
    assert_eq!(ours_raw[16..20], CT_INSERT_TCP[16..20]);
}
