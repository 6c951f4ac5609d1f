//! The daemon's own unixctl commands (`ovs-appctl -t hwol-vswitchd hwol/...`):
//! ports and pods. The CNI plugin uses the `hwol/pod-*` ones.
//!
//! | command | arguments | prints |
//! |---|---|---|
//! | `hwol/add-port` | NAME [OFPORT] [KEY=VALUE...] | `ofport=N` |
//! | `hwol/del-port` | NAME | `deleted` or `no such port` |
//! | `hwol/ports` | | one line per port: `NAME ofport=N [key=value...]` |
//! | `hwol/pod-add` | IFACE NAMESPACE NAME CONTAINER_ID MAC IPV4 | `ofport=N` |
//! | `hwol/pod-del` | IFACE | `deleted` or `not attached` |
//! | `hwol/pod-show` | IFACE | one line of JSON; an error if not attached |

use std::collections::BTreeMap;
use std::sync::Arc;

use hwol_unixctl::Commands;

use crate::node::{Node, Pod};

pub(crate) fn register(cmds: &mut Commands, node: &Arc<Node>) {
    let n = node.clone();
    cmds.register("hwol/add-port", "NAME [OFPORT] [KEY=VALUE...]", 1, 64, move |a| {
        let mut ofport = None;
        let mut ids = BTreeMap::new();
        for arg in &a[1..] {
            match arg.split_once('=') {
                Some((k, v)) => {
                    ids.insert(k.to_string(), v.to_string());
                }
                None if ofport.is_none() => {
                    ofport = Some(arg.parse::<u32>().map_err(|_| format!("{arg:?} is not a port number"))?)
                }
                None => return Err(format!("{arg:?}: expected KEY=VALUE")),
            }
        }
        n.add_port(&a[0], ofport, ids).map(|p| format!("ofport={p}\n")).map_err(|e| e.to_string())
    });
    let n = node.clone();
    cmds.register("hwol/del-port", "NAME", 1, 1, move |a| {
        Ok(if n.del_port(&a[0]).map_err(|e| e.to_string())? { "deleted\n" } else { "no such port\n" }.to_string())
    });
    let n = node.clone();
    cmds.register("hwol/ports", "", 0, 0, move |_| {
        let mut out = String::new();
        for p in n.ports() {
            out += &format!("{} ofport={}", p.name, p.ofport);
            for (k, v) in &p.external_ids {
                out += &format!(" {k}={v}");
            }
            out.push('\n');
        }
        Ok(out)
    });
    let n = node.clone();
    cmds.register("hwol/pod-add", "IFACE NAMESPACE NAME CONTAINER_ID MAC IPV4", 6, 6, move |a| {
        let ip = a[5].parse().map_err(|_| format!("pod {}: {:?} is not an IPv4 address", a[0], a[5]))?;
        let pod = Pod {
            iface: a[0].clone(),
            namespace: a[1].clone(),
            name: a[2].clone(),
            container_id: a[3].clone(),
            mac: a[4].clone(),
            ip,
        };
        n.pod_add(pod).map(|p| format!("ofport={p}\n")).map_err(|e| e.to_string())
    });
    let n = node.clone();
    cmds.register("hwol/pod-del", "IFACE", 1, 1, move |a| {
        Ok(if n.pod_del(&a[0]).map_err(|e| e.to_string())? { "deleted\n" } else { "not attached\n" }.to_string())
    });
    let n = node.clone();
    cmds.register("hwol/pod-show", "IFACE", 1, 1, move |a| {
        n.pod_show(&a[0]).map(|j| j + "\n").ok_or_else(|| format!("{}: no pod attached on this interface", a[0]))
    });
}
