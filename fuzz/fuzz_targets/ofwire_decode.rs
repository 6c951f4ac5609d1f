//! OpenFlow messages on arbitrary bytes: decoding never panics, and a
//! message that decodes encodes to bytes that decode to the same message.
//! The match (NXM/OXM) and action decoders get the raw bytes too, for every
//! version. Seed corpus: the messages Debian's ovs-ofctl 3.1 sent to a real
//! ovs-vswitchd (crates/hwol-ofwire/tests/data/ofctl_requests.txt).
//!
//! "The same message" up to one deliberate normalization: OpenFlow 1.5 has
//! no NXAST_REG_LOAD, so a `load` encodes as (and decodes back to) the
//! equivalent masked `set_field` of the bits the field has, as in OVS.
#![no_main]

use hwol_ofwire::actions::{decode_actions, decode_instructions};
use hwol_ofwire::msg::{decode_request, encode_request, Frame, Request};
use hwol_ofwire::nxm::decode_fields;
use hwol_openflow::OfAction;
use libfuzzer_sys::fuzz_target;

fn loads_as_set_fields(actions: &mut [OfAction]) {
    for a in actions.iter_mut() {
        match a {
            // Only the bits the field has: a load into NXM_OF_IP_TOS[0..3]
            // writes no ECN bits (nw_tos is the DSCP), in OVS as in hwol.
            OfAction::Load { dst, value } => {
                let bits = dst.field.all_ones();
                *a = OfAction::SetField { field: dst.field, value: (*value << dst.ofs) & bits, mask: dst.mask() & bits };
            }
            OfAction::Ct(ct) => loads_as_set_fields(&mut ct.exec),
            _ => {}
        }
    }
}

/// The frame with every load written as a set_field.
fn normalized(f: &Frame<Request>) -> Frame<Request> {
    let mut f = f.clone();
    match &mut f.msg {
        Request::FlowMod(m) => loads_as_set_fields(&mut m.actions),
        Request::PacketOut { actions, .. } => loads_as_set_fields(actions),
        _ => {}
    }
    f
}

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = decode_request(data) {
        let bytes = encode_request(&f);
        let g = decode_request(&bytes).unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}\n{f:?}"));
        if f != g {
            assert!(f.version >= hwol_ofwire::OFP15, "{f:?}\n!=\n{g:?}");
            assert_eq!(normalized(&f), normalized(&g));
        }
    }
    let _ = decode_fields(data);
    for v in 1..=6 {
        let _ = decode_actions(data, v);
        let _ = decode_instructions(data, v);
    }
});
