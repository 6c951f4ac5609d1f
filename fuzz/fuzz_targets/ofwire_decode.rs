//! OpenFlow messages on arbitrary bytes: decoding never panics, and a
//! message that decodes encodes to bytes that decode to the same message.
//! The match (NXM/OXM) and action decoders get the raw bytes too, for every
//! version. Seed corpus: the messages Debian's ovs-ofctl 3.1 sent to a real
//! ovs-vswitchd (crates/hwol-ofwire/tests/data/ofctl_requests.txt).
#![no_main]

use hwol_ofwire::actions::{decode_actions, decode_instructions};
use hwol_ofwire::msg::{decode_request, encode_request};
use hwol_ofwire::nxm::decode_fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = decode_request(data) {
        let bytes = encode_request(&f);
        let g = decode_request(&bytes).unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}\n{f:?}"));
        assert_eq!(f, g);
    }
    let _ = decode_fields(data);
    for v in 1..=6 {
        let _ = decode_actions(data, v);
        let _ = decode_instructions(data, v);
    }
});
