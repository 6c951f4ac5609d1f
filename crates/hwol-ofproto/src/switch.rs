//! An [`Ofproto`] wired to an in-memory [`Datapath`]: the whole software
//! switch minus packet I/O. Tests and benchmarks drive it with frames; the
//! daemon does the same with frames from real interfaces.

use std::time::Duration;

use hwol_datapath::{ActionSink, Datapath, DatapathConfig, DatapathSink, FlowKey, Packet, PacketFate};
use hwol_flow::action::UserspaceAction;
use hwol_flow::Metadata;

use crate::upcall::{DumpedFlow, RevalOp, Revalidation};
use crate::{Ofproto, OfprotoConfig};

/// Frames the switch sent, by port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs(pub Vec<(u32, Vec<u8>)>);

#[derive(Default)]
struct Collect {
    out: Vec<(u32, Vec<u8>)>,
    misses: Vec<(Vec<u8>, FlowKey)>,
}

impl ActionSink for Collect {
    fn output(&mut self, port: u32, pkt: &Packet) -> bool {
        self.out.push((port, pkt.data().to_vec()));
        true
    }
    fn userspace(&mut self, _pkt: &Packet, _key: &FlowKey, _a: &UserspaceAction) {}
}

impl DatapathSink for Collect {
    fn miss(&mut self, pkt: &Packet, key: &FlowKey) {
        self.misses.push((pkt.data().to_vec(), *key));
    }
}

/// A bridge and its datapath.
pub struct SoftSwitch {
    /// The OpenFlow side.
    pub ofproto: Ofproto,
    /// The datapath side.
    pub datapath: Datapath,
    /// Upcalls handled so far.
    pub upcalls: u64,
}

impl SoftSwitch {
    /// A switch with an empty bridge named `name`.
    pub fn new(name: &str) -> Self {
        SoftSwitch {
            ofproto: Ofproto::new(name, OfprotoConfig::default()),
            datapath: Datapath::new(DatapathConfig::default()),
            upcalls: 0,
        }
    }

    /// Receive `frame` on `port`: datapath first, upcalls for misses
    /// (including misses after recirculation). Returns the frames sent.
    pub fn receive(&mut self, port: u32, frame: &[u8], now: Duration) -> Outputs {
        let mut sink = Collect::default();
        let mut pkt = Packet::from_bytes(frame);
        self.datapath.process(&mut pkt, Metadata::on_port(port), now, &mut sink);
        // Each miss: translate, install, execute on the missed packet. The
        // execution can miss again (after a recirc) and queue another.
        let mut guard = 0;
        while let Some((bytes, key)) = sink.misses.pop() {
            guard += 1;
            if guard > 64 {
                break;
            }
            self.upcalls += 1;
            let up = self.ofproto.upcall(&key, now);
            self.ofproto.credit(up.ufid, bytes.len() as u64, now);
            self.datapath.flow_put(up.key, up.mask, up.actions.clone());
            let mut p = Packet::from_bytes(&bytes);
            let fate = self.datapath.execute_actions(&mut p, Metadata::from_key(&key), &up.actions, now, &mut sink);
            debug_assert!(!matches!(fate, PacketFate::Upcall) || !sink.misses.is_empty());
        }
        Outputs(sink.out)
    }

    /// One revalidation round: dump, decide, apply.
    pub fn revalidate(&mut self, now: Duration) -> Revalidation {
        let dump: Vec<DumpedFlow> =
            self.datapath.flow_dump().into_iter().map(|f| DumpedFlow::from_megaflow(&f)).collect();
        let r = self.ofproto.revalidate(&dump, now);
        for op in &r.ops {
            match op {
                RevalOp::Delete { ufid, .. } => {
                    let _ = self.datapath.flow_del(*ufid);
                }
                RevalOp::Modify { ufid, actions } => {
                    if let Some(f) = self.datapath.flow_get(*ufid) {
                        self.datapath.flow_put(f.key, f.mask, actions.clone());
                    }
                }
            }
        }
        r
    }
}
