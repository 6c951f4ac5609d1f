//! The reconciler under random `ovs-vsctl add-port`/`del-port` sequences,
//! against a naive model of the database: after every step the switch has
//! exactly the database's ports, port numbers are unique, a free
//! `ofport_request` is honoured, the written-back numbers are the switch's,
//! `cur_cfg` reaches `next_cfg`, and a second pass changes and writes
//! nothing (the loop settles).

use std::collections::{BTreeMap, BTreeSet};

use hwol_ovsdb::monitor::table_updates_from_json;
use hwol_ovsdb::vswitch::{plan, write_back, IfaceFacts, Outcome, SwitchPort, SwitchView, OFPP_MAX};
use hwol_ovsdb::{Operation, Replica};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
enum Step {
    Add { port: u8, request: Option<u16> },
    Del { port: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..8, proptest::option::of(prop_oneof![1u16..6, Just(0u16), Just(0xff00u16)]))
            .prop_map(|(port, request)| Step::Add { port, request }),
        (0u8..8).prop_map(|port| Step::Del { port }),
    ]
}

fn uuid(n: u64) -> String {
    format!("00000000-0000-0000-0000-{n:012}")
}

/// The naive database: port name to (interface uuid, ofport_request, ofport column).
#[derive(Default)]
struct Db {
    ports: BTreeMap<String, (u64, Option<u16>, Option<i64>)>,
    next_uuid: u64,
    next_cfg: i64,
    cur_cfg: i64,
}

impl Db {
    fn replica(&self) -> Replica {
        let mut t = json!({"Open_vSwitch": {}, "Bridge": {}, "Port": {}, "Interface": {}});
        let mut ports = Vec::new();
        for (name, (n, req, ofport)) in &self.ports {
            let (pu, iu) = (uuid(*n), uuid(*n + 1));
            let req = req.map_or(json!(["set", []]), |r| json!(r));
            let ofport = ofport.map_or(json!(["set", []]), |o| json!(o));
            let e = json!(["set", []]);
            t["Interface"][&iu] = json!({"new": {"name": name, "type": "", "ofport_request": req, "ofport": ofport,
                "error": e, "ifindex": e, "mac_in_use": e, "admin_state": e, "link_state": e, "mtu": e,
                "status": ["map", []]}});
            t["Port"][&pu] = json!({"new": {"name": name, "interfaces": ["uuid", iu]}});
            ports.push(json!(["uuid", pu]));
        }
        t["Bridge"][uuid(999_999)] = json!({"new": {"name": "br-int", "ports": ["set", ports]}});
        t["Open_vSwitch"][uuid(0)] =
            json!({"new": {"bridges": ["uuid", uuid(999_999)], "next_cfg": self.next_cfg, "cur_cfg": self.cur_cfg}});
        let mut r = Replica::new();
        r.apply(&table_updates_from_json(&t).unwrap());
        r
    }

    /// Apply write-backs as ovsdb-server would.
    fn commit(&mut self, ops: &[Operation]) {
        for op in ops {
            let v = op.to_json();
            let Operation::Update { table, .. } = op else { panic!("{op:?}") };
            let target = v["where"][0][2][1].as_str().unwrap().to_string();
            match table.as_str() {
                "Open_vSwitch" => self.cur_cfg = v["row"]["cur_cfg"].as_i64().unwrap(),
                "Interface" => {
                    let (name, _) = self.ports.iter().find(|(_, (n, _, _))| uuid(*n + 1) == target).unwrap();
                    let name = name.clone();
                    if let Some(o) = v["row"].get("ofport").and_then(Value::as_i64) {
                        self.ports.get_mut(&name).unwrap().2 = Some(o);
                    }
                }
                other => panic!("unexpected write to {other}"),
            }
        }
    }
}

fn run(db: &Db, sw: &mut SwitchView) -> (Vec<Operation>, bool) {
    let r = db.replica();
    let p = plan(&r, sw);
    let changed = p.changes_switch();
    sw.bridge_in_db = true;
    sw.ports.retain(|q| !p.del.contains(&q.name));
    for a in &p.add {
        assert!(!sw.ports.iter().any(|q| q.ofport == a.ofport), "{} given {} which is taken", a.name, a.ofport);
        sw.ports.push(SwitchPort {
            name: a.name.clone(),
            ofport: a.ofport,
            from_ovsdb: true,
            external_ids: a.external_ids.clone(),
        });
        if a.auto {
            sw.last_auto = a.ofport;
        }
    }
    let mut out = Outcome::default();
    for q in &sw.ports {
        out.up.insert(q.name.clone(), IfaceFacts { ofport: q.ofport, ..IfaceFacts::default() });
    }
    (write_back(&r, "br-int", &out), changed)
}

proptest! {
    #[test]
    fn reconciler_tracks_the_database(steps in proptest::collection::vec(step(), 1..30)) {
        let mut db = Db::default();
        let devices: BTreeSet<String> = (0..8).map(|i| format!("p{i}")).collect();
        let mut sw = SwitchView { bridge: "br-int".into(), bridge_in_db: false, ports: vec![], last_auto: 0, devices };
        for s in steps {
            db.next_cfg += 1;
            match s {
                Step::Add { port, request } => {
                    let name = format!("p{port}");
                    if !db.ports.contains_key(&name) {
                        db.next_uuid += 2;
                        db.ports.insert(name, (db.next_uuid, request, None));
                    }
                }
                Step::Del { port } => {
                    db.ports.remove(&format!("p{port}"));
                }
            }
            let (ops, _) = run(&db, &mut sw);
            db.commit(&ops);
            prop_assert_eq!(db.cur_cfg, db.next_cfg);
            let names: BTreeSet<&String> = sw.ports.iter().map(|q| &q.name).collect();
            prop_assert_eq!(names, db.ports.keys().collect::<BTreeSet<_>>());
            let numbers: BTreeSet<u32> = sw.ports.iter().map(|q| q.ofport).collect();
            prop_assert_eq!(numbers.len(), sw.ports.len(), "unique numbers");
            for q in &sw.ports {
                prop_assert!((1..=OFPP_MAX).contains(&q.ofport));
                prop_assert_eq!(db.ports[&q.name].2, Some(i64::from(q.ofport)), "written back");
                // A valid request is honoured unless another port holds the number.
                let req = db.ports[&q.name].1.map(u32::from);
                if let Some(r) = req.filter(|r| (1..=OFPP_MAX).contains(r)) {
                    let held_by_other = sw.ports.iter().any(|o| o.ofport == r && o.name != q.name);
                    prop_assert!(q.ofport == r || held_by_other, "{} asked for {r}, got {}", q.name, q.ofport);
                }
            }
            // Settled.
            let (ops, changed) = run(&db, &mut sw);
            prop_assert!(!changed && ops.is_empty(), "second pass: {:?}", ops);
        }
    }
}
