//! ovs-ofctl flow text on arbitrary UTF-8: parsing never panics, and a flow
//! that parses prints to text that parses back to the same flow and prints
//! the same again (with and without port names).
#![no_main]

use hwol_openflow::text::{format_actions, format_flow, parse_actions, parse_flow, parse_flows, parse_match, PortMap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let ports: PortMap = [("rep1", 1), ("rep2", 2), ("br-int", 65534), ("p 3", 3)].into_iter().collect();
    for names in [None, Some(&ports)] {
        if let Ok(flow) = parse_flow(text, &ports) {
            let printed = format_flow(&flow, names);
            let again = parse_flow(&printed, &ports).unwrap_or_else(|e| panic!("printed flow does not parse: {e}\n{printed}"));
            assert_eq!(again, flow, "{printed}");
            assert_eq!(format_flow(&again, names), printed);
        }
    }
    if let Ok(actions) = parse_actions(text, &ports) {
        let printed = format_actions(&actions, Some(&ports));
        let again = parse_actions(&printed, &ports).unwrap_or_else(|e| panic!("printed actions do not parse: {e}\n{printed}"));
        assert_eq!(again, actions, "{printed}");
    }
    let _ = parse_match(text, &ports);
    let _ = parse_flows(text, &ports);
});
