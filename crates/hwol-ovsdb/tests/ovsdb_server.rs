//! The client against a real `ovsdb-server` (Debian's OVS 3.1, installed by
//! scripts/setup.sh) with the real vswitch schema: monitor, updates made by
//! `ovs-vsctl`, transactions read back by `ovs-vsctl`, echo, and reconnect
//! after the server is killed and restarted.

use std::time::{Duration, Instant};

use hwol_ovs_harness::OvsDb;
use hwol_ovsdb::client::{Connection, Event, Remote, Session};
use hwol_ovsdb::transact::{Condition, Operation};
use hwol_ovsdb::vswitch::monitor_request;
use hwol_ovsdb::{Datum, Row, DATABASE};
use serde_json::json;

/// Poll until `done` holds on the session's replica, or panic after 10 s.
fn poll_until(s: &mut Session, what: &str, done: impl Fn(&Session) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    while !done(s) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}; events: {events:?}");
        let e = s.poll(Duration::from_millis(100));
        if !matches!(e, Event::Idle) {
            events.push(format!("{e:?}"));
        }
    }
    events
}

fn bridge_names(s: &Session) -> Vec<String> {
    s.replica().rows("Bridge").filter_map(|(_, r)| r.get("name")?.as_str().map(str::to_string)).collect()
}

#[test]
fn monitor_follows_vsctl_and_transactions_land() {
    let db = OvsDb::start().expect("start ovsdb-server");
    let remote = Remote::parse(&db.remote()).unwrap();

    // echo, answered by the server with its params.
    let mut conn = Connection::connect(&remote).unwrap();
    assert_eq!(conn.call("echo", json!(["hwol", 1]), Duration::from_secs(5)).unwrap(), json!(["hwol", 1]));
    let dbs = conn.call("list_dbs", json!([]), Duration::from_secs(5)).unwrap();
    assert!(dbs.as_array().unwrap().contains(&json!(DATABASE)), "{dbs}");
    let err = conn.call("transact", json!(["No_Such_DB"]), Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("unknown database"), "{err}");
    drop(conn);

    let mut s = Session::new(remote, DATABASE, monitor_request());
    let ev = s.poll(Duration::from_secs(1));
    assert!(matches!(ev, Event::Connected), "{ev:?}: {}", db.log_tail(10));
    assert_eq!(s.replica().rows("Open_vSwitch").count(), 1, "init made the root row");

    db.vsctl(10, &["--no-wait", "add-br", "br0", "--", "add-port", "br0", "p1"]).unwrap();
    poll_until(&mut s, "br0 in the replica", |s| bridge_names(s) == ["br0"]);
    poll_until(&mut s, "interfaces br0 and p1", |s| s.replica().rows("Interface").count() == 2);

    // Write ofport and error on p1, read them back with ovs-vsctl.
    let (p1, _) = s
        .replica()
        .rows("Interface")
        .find(|(_, r)| r["name"].as_str() == Some("p1"))
        .map(|(u, r)| (u.clone(), r.clone()))
        .unwrap();
    let row: Row = [
        ("ofport".to_string(), Datum::scalar(7)),
        ("error".to_string(), Datum::scalar("could not open network device p1 (No such device)")),
    ]
    .into();
    let ops = [
        Operation::Update { table: "Interface".into(), conditions: vec![Condition::uuid(&p1)], row },
        Operation::Comment("hwol-ovsdb test".into()),
    ];
    let id = s.transact(&ops).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no transact reply");
        if let Event::TransactDone { id: got, result } = s.poll(Duration::from_millis(100)) {
            assert_eq!(got, id);
            let results = result.unwrap();
            assert_eq!(results[0].count, Some(1));
            break;
        }
    }
    assert_eq!(db.vsctl(10, &["get", "Interface", "p1", "ofport"]).unwrap().trim(), "7");
    assert_eq!(
        db.vsctl(10, &["get", "Interface", "p1", "error"]).unwrap().trim(),
        "\"could not open network device p1 (No such device)\""
    );
    // The update of our own write comes back through the monitor.
    poll_until(&mut s, "ofport 7 in the replica", |s| {
        s.replica().row("Interface", &p1).and_then(|r| r["ofport"].as_i64()) == Some(7)
    });

    // A transaction the server refuses is reported with its reason.
    let bad = [Operation::Update {
        table: "Interface".into(),
        conditions: vec![Condition::uuid(&p1)],
        row: [("no_such_column".to_string(), Datum::scalar(1))].into(),
    }];
    let id = s.transact(&bad).unwrap();
    loop {
        assert!(Instant::now() < deadline, "no transact reply");
        if let Event::TransactDone { id: got, result } = s.poll(Duration::from_millis(100)) {
            assert_eq!(got, id);
            let e = result.unwrap_err().to_string();
            assert!(e.contains("no_such_column"), "{e}");
            break;
        }
    }

    db.vsctl(10, &["--no-wait", "del-port", "p1"]).unwrap();
    poll_until(&mut s, "p1 gone", |s| s.replica().rows("Interface").count() == 1);
}

#[test]
fn session_reconnects_after_the_server_restarts() {
    let mut db = OvsDb::start().expect("start ovsdb-server");
    let mut s = Session::new(Remote::parse(&db.remote()).unwrap(), DATABASE, monitor_request());
    assert!(matches!(s.poll(Duration::from_secs(1)), Event::Connected));

    db.kill();
    let events = poll_until(&mut s, "the disconnect", |s| !s.is_connected());
    assert!(events.iter().any(|e| e.contains("Disconnected")), "{events:?}");
    // While the server is down the session keeps failing, with backoff, and
    // keeps the last replica.
    assert_eq!(s.replica().rows("Open_vSwitch").count(), 1);
    std::thread::sleep(Duration::from_millis(300));

    db.restart().unwrap();
    db.vsctl(10, &["--no-wait", "add-br", "br-after"]).unwrap();
    poll_until(&mut s, "reconnect and br-after", |s| s.is_connected() && bridge_names(s) == ["br-after"]);
}

#[test]
fn a_hung_server_is_detected_by_the_inactivity_probe() {
    let db = OvsDb::start().expect("start ovsdb-server");
    let mut s = Session::new(Remote::parse(&db.remote()).unwrap(), DATABASE, monitor_request());
    s.set_probe_interval(Some(Duration::from_millis(300)));
    assert!(matches!(s.poll(Duration::from_secs(1)), Event::Connected));
    // Answered probes keep the connection up.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1500) {
        let e = s.poll(Duration::from_millis(50));
        assert!(!matches!(e, Event::Disconnected { .. }), "{e:?}");
    }
    db.pause(true).unwrap();
    let events = poll_until(&mut s, "the probe to time out", |s| !s.is_connected());
    db.pause(false).unwrap();
    assert!(events.iter().any(|e| e.contains("inactivity probe")), "{events:?}");
    poll_until(&mut s, "the reconnect", Session::is_connected);
}

#[test]
fn tcp_remote() {
    let db = OvsDb::start().expect("start ovsdb-server");
    // A free port: bind, note it, release it, and let ovsdb-server listen there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ctl = db.dir().join("ovsdb-server.ctl");
    let out = std::process::Command::new("ovs-appctl")
        .arg("-t")
        .arg(&ctl)
        .args(["ovsdb-server/add-remote", &format!("ptcp:{port}:127.0.0.1")])
        .output()
        .expect("run ovs-appctl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let remote = Remote::parse(&format!("tcp:127.0.0.1:{port}")).unwrap();
    let mut s = Session::new(remote, DATABASE, monitor_request());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.is_connected() {
        assert!(Instant::now() < deadline, "no tcp connection: {}", db.log_tail(10));
        s.poll(Duration::from_millis(100));
    }
    db.vsctl(10, &["--no-wait", "add-br", "br-tcp"]).unwrap();
    poll_until(&mut s, "br-tcp over tcp", |s| bridge_names(s) == ["br-tcp"]);
}

/// A replica's rows without default-valued columns (update2 leaves those out).
fn non_default(r: &hwol_ovsdb::Replica, tables: &[&str]) -> Vec<(String, String, Row)> {
    use hwol_ovsdb::Atom;
    let is_default = |d: &Datum| {
        *d == Datum::empty()
            || matches!(d.as_atom(), Some(Atom::Integer(0) | Atom::Boolean(false)))
            || d.as_str() == Some("")
            || matches!(d.as_atom(), Some(Atom::Real(x)) if *x == 0.0)
    };
    let mut out = Vec::new();
    for t in tables {
        for (u, row) in r.rows(t) {
            let row: Row = row.iter().filter(|(_, d)| !is_default(d)).map(|(k, d)| (k.clone(), d.clone())).collect();
            out.push((t.to_string(), u.to_string(), row));
        }
    }
    out
}

#[test]
fn monitor_cond_update2_matches_monitor() {
    use hwol_ovsdb::monitor::table_updates2_from_json;
    use hwol_ovsdb::{Message, Replica, Schema};

    let db = OvsDb::start().expect("start ovsdb-server");
    let remote = Remote::parse(&db.remote()).unwrap();
    let request = monitor_request().table("Port", &["name", "interfaces", "trunks", "tag"]);
    let mut plain = Session::new(remote.clone(), DATABASE, request.clone());
    assert!(matches!(plain.poll(Duration::from_secs(1)), Event::Connected));

    let mut conn = Connection::connect(&remote).unwrap();
    let schema =
        Schema::from_json(&conn.call("get_schema", json!([DATABASE]), Duration::from_secs(5)).unwrap()).unwrap();
    let id = json!("cond");
    let initial = conn.call("monitor_cond", request.params(DATABASE, &id), Duration::from_secs(5)).unwrap();
    let mut cond = Replica::new();
    cond.apply2(&table_updates2_from_json(&initial).unwrap(), &schema);

    let tables = ["Open_vSwitch", "Bridge", "Port", "Interface"];
    let steps: &[&[&str]] = &[
        &["add-br", "br0"],
        &["add-port", "br0", "p1", "--", "set", "Interface", "p1", "ofport_request=3", "external_ids:a=1"],
        &["set", "Interface", "p1", "external_ids:a=2", "external_ids:b=3", "ofport=7", "mtu=9000"],
        &["remove", "Interface", "p1", "external_ids", "a"],
        &["set", "Open_vSwitch", ".", "other_config:hw-offload=true", "other_config:max-idle=500"],
        &["add-port", "br0", "p2", "--", "set", "Interface", "p2", "type=internal"],
        &["clear", "Interface", "p1", "ofport_request"],
        &["set", "Port", "p2", "trunks=1,2,3"],
        &["set", "Port", "p2", "trunks=2,3,4", "tag=7"],
        &["set", "Port", "p2", "tag=8"],
        &["del-port", "p1"],
        &["del-br", "br0"],
    ];
    for step in steps {
        let mut args = vec!["--no-wait"];
        args.extend_from_slice(step);
        let before = non_default(plain.replica(), &tables);
        db.vsctl(10, &args).unwrap();
        // Every step changes a monitored column: first see it through `monitor`.
        poll_until(&mut plain, "the monitor update", |s| non_default(s.replica(), &tables) != before);
        let deadline = Instant::now() + Duration::from_secs(10);
        while non_default(plain.replica(), &tables) != non_default(&cond, &tables) {
            assert!(
                Instant::now() < deadline,
                "after {step:?}:\nmonitor: {:#?}\nmonitor_cond: {:#?}",
                non_default(plain.replica(), &tables),
                non_default(&cond, &tables)
            );
            plain.poll(Duration::from_millis(20));
            if let Some(Message::Notification { method, params }) = conn.recv(Duration::from_millis(20)).unwrap() {
                assert_eq!(method, "update2");
                cond.apply2(&table_updates2_from_json(&params[1]).unwrap(), &schema);
            }
        }
    }
}
