//! Flow-key extraction on arbitrary bytes: never panics, and every header
//! offset it reports lies inside the frame.
#![no_main]

use hwol_flow::{extract, Layout, Metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((key, layout)) = extract(data, &Metadata::on_port(1)) {
        for off in [layout.l3, layout.l4] {
            assert!(off == Layout::ABSENT || (off as usize) < data.len().max(1) + 1);
        }
        if layout.l4 != Layout::ABSENT {
            assert!(layout.l3 != Layout::ABSENT && layout.l4 > layout.l3);
        }
        assert!(key.vlans[1].tpid == 0 || key.vlans[0].tpid != 0);
    }
});
