//! Datapath-flow text parsing on arbitrary UTF-8: never panics, and a line
//! that parses prints (in its own style) to text that parses back to the
//! same flow, and prints the same again.
#![no_main]

use hwol_odp::{parse_actions, parse_flow, parse_key, PortNames};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut ports = PortNames::new();
    if let Ok(flow) = parse_flow(text, &mut ports) {
        let printed = flow.format_as_parsed(&ports);
        let mut again = parse_flow(&printed, &mut ports)
            .unwrap_or_else(|e| panic!("printed flow does not parse: {e}\n{printed}"));
        // The style is how the line looked, not what it means; an all-exact
        // verbose line reads back as terse.
        again.style = flow.style;
        assert_eq!(again, flow, "{printed}");
        assert_eq!(again.format_as_parsed(&ports), printed);
        let _ = flow.key.to_flow();
    }
    let _ = parse_key(text, &mut ports);
    let _ = parse_actions(text, &mut ports);
});
