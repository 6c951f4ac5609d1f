//! The tc flower and ctnetlink decoders on arbitrary bytes: never panic,
//! and a decoded filter message re-encodes to bytes that decode to the same
//! message (unknown attributes survive as `Other`).
#![no_main]

use hwol_tcflower::conntrack::parse_ct;
use hwol_tcflower::tc::FilterMsg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = FilterMsg::parse(data) {
        let again = FilterMsg::parse(&m.emit()).expect("an encoded message decodes");
        assert_eq!(again, m);
    }
    let _ = parse_ct(data);
});
