use super::*;

fn mac(s: &str) -> EthAddr {
    s.parse().unwrap()
}

fn port(ofport: u16, name: &str, m: &str, ip: [u8; 4]) -> Port {
    Port { ofport, name: name.to_string(), mac: mac(m), ip: Ipv4Addr::from(ip) }
}

/// The seed's two pods (192.168.1.16 talks to 192.168.1.17) and a gateway.
fn two_pods() -> PipelineConfig {
    PipelineConfig::seed_example()
}

#[test]
fn seed_example_is_valid_and_as_documented() {
    let c = two_pods();
    assert_eq!(c.gateway, port(3, "antrea-gw0", "ae:9d:4c:c8:20:01", [192, 168, 1, 1]));
    assert_eq!(c.pods[0], port(1, "rep1", "42:66:d7:45:0d:7e", [192, 168, 1, 16]));
    assert_eq!(c.pods[1], port(2, "rep2", "16:fd:c6:0b:60:52", [192, 168, 1, 17]));
    assert_eq!((c.subnet.to_string(), c.ct_zone), ("192.168.1.0/24".to_string(), 65520));
}

#[test]
fn two_pod_pipeline_text() {
    let p = Pipeline::build(&two_pods()).unwrap();
    insta::assert_snapshot!(p.to_ofctl_text());
}

#[test]
fn flows_are_in_table_then_priority_order() {
    let p = Pipeline::build(&two_pods()).unwrap();
    for w in p.flows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert!(a.table < b.table || (a.table == b.table && a.priority >= b.priority), "{a} before {b}");
    }
    let tables: BTreeSet<Table> = p.flows.iter().map(|f| f.table).collect();
    assert_eq!(tables.into_iter().collect::<Vec<_>>(), Table::ALL.to_vec(), "every table has flows");
}

#[test]
fn every_table_ends_in_a_priority_zero_catch_all() {
    let p = Pipeline::build(&two_pods()).unwrap();
    for t in Table::ALL {
        let last = p.table(t).last().unwrap();
        assert_eq!((last.priority, last.matches.as_str()), (0, ""), "table {}", t.name());
    }
}

/// The first megaflow must not carry dl_dst or nw_dst: no table the packet
/// crosses before conntrack may look at them.
#[test]
fn nothing_before_conntrack_matches_destinations() {
    let p = Pipeline::build(&two_pods()).unwrap();
    for f in p.flows.iter().filter(|f| f.table <= Table::ConntrackZone) {
        assert!(!f.matches.contains("dl_dst") && !f.matches.contains("nw_dst"), "{f}");
    }
}

/// A per-pod /32 on nw_dst is only safe if the rule also matches a field
/// pod-to-pod traffic fails on earlier (the gateway MAC, L2 stage).
#[test]
fn host_routes_in_l3_are_guarded_by_gateway_mac() {
    let c = two_pods();
    let p = Pipeline::build(&c).unwrap();
    let host_routes: Vec<&Flow> =
        p.table(Table::L3Forwarding).filter(|f| f.matches.contains("nw_dst=192.168.1.1")).collect();
    assert_eq!(host_routes.len(), 2);
    for f in host_routes {
        assert!(f.matches.contains(&format!("dl_dst={}", c.gateway.mac)), "{f}");
    }
}

#[test]
fn established_rules_outrank_new_and_invalid() {
    let p = Pipeline::build(&two_pods()).unwrap();
    let prio = |needle: &str| p.table(Table::ConntrackState).find(|f| f.matches.contains(needle)).unwrap().priority;
    let est = prio("+est+trk");
    assert!(est > prio("+inv+trk") && est > prio("+new+trk"));
}

#[test]
fn ct_zone_is_configurable() {
    let mut c = two_pods();
    c.ct_zone = 7;
    let text = Pipeline::build(&c).unwrap().to_ofctl_text();
    assert!(text.contains("ct(table=30,zone=7)") && text.contains("ct(commit,zone=7)"), "{text}");
    assert!(!text.contains("65520"));
}

#[test]
fn no_pods_still_serves_the_gateway() {
    let c = PipelineConfig::new(port(3, "gw", "ae:9d:4c:c8:20:01", [10, 0, 0, 1]), "10.0.0.0/8".parse().unwrap());
    let p = Pipeline::build(&c).unwrap();
    assert!(p
        .flows
        .iter()
        .any(|f| f.to_string() == "table=0,priority=200,in_port=3 actions=load:0x1->NXM_NX_REG0[0..3],goto_table:10"));
    assert!(p.table(Table::SpoofGuard).all(|f| !f.matches.contains("nw_src")));
}

#[test]
fn rejects_inconsistent_configs() {
    let mut c = two_pods();
    c.pods[1].ofport = 1;
    let e = Pipeline::build(&c).unwrap_err();
    assert_eq!(
        e,
        PipelineError::Duplicate {
            first: "rep1".into(),
            second: "rep2".into(),
            what: "OpenFlow port",
            value: "1".into()
        }
    );

    let mut c = two_pods();
    c.pods[0].mac = c.gateway.mac;
    assert!(matches!(Pipeline::build(&c), Err(PipelineError::Duplicate { what: "MAC", .. })));

    let mut c = two_pods();
    c.pods[0].ip = c.pods[1].ip;
    assert!(matches!(Pipeline::build(&c), Err(PipelineError::Duplicate { what: "IP", .. })));

    let mut c = two_pods();
    c.pods[1].ip = Ipv4Addr::new(10, 1, 1, 1);
    let e = Pipeline::build(&c).unwrap_err();
    assert_eq!(
        e.to_string(),
        "port rep2: 10.1.1.1 is outside the pod subnet 192.168.1.0/24; use an address from the subnet"
    );

    for bad in [0, 0xff00, 0xfffe] {
        let mut c = two_pods();
        c.pods[0].ofport = bad;
        assert!(matches!(Pipeline::build(&c), Err(PipelineError::BadOfport { ofport, .. }) if ofport == bad));
    }

    let mut c = two_pods();
    c.pods[1].name = "rep1".into();
    assert!(matches!(Pipeline::build(&c), Err(PipelineError::Duplicate { what: "name", .. })));
}

#[test]
fn ipv4_net_parse_print_contains() {
    let n: Ipv4Net = "192.168.1.0/24".parse().unwrap();
    assert_eq!(n.to_string(), "192.168.1.0/24");
    assert!(n.contains(Ipv4Addr::new(192, 168, 1, 255)));
    assert!(!n.contains(Ipv4Addr::new(192, 168, 2, 0)));
    let all: Ipv4Net = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains(Ipv4Addr::new(8, 8, 8, 8)));
    let host: Ipv4Net = "10.0.0.1/32".parse().unwrap();
    assert!(host.contains(Ipv4Addr::new(10, 0, 0, 1)) && !host.contains(Ipv4Addr::new(10, 0, 0, 2)));
    for bad in ["192.168.1.1/24", "192.168.1.0/33", "192.168.1.0", "x/24", "192.168.1.0/y"] {
        let e = bad.parse::<Ipv4Net>().unwrap_err();
        assert!(e.to_string().contains("host bits zero"), "{bad}: {e}");
    }
}
