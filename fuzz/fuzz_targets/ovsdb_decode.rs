//! The OVSDB stream decoder and data model on arbitrary bytes: never panics;
//! every message decoded re-encodes to a message that decodes the same; every
//! datum and table update it holds survives a JSON round trip; a replica
//! takes any table updates.
#![no_main]

use hwol_ovsdb::monitor::table_updates_from_json;
use hwol_ovsdb::rpc::{Decoder, Message};
use hwol_ovsdb::{Datum, Replica};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn check_values(v: &Value, replica: &mut Replica) {
    if let Ok(d) = Datum::from_json(v) {
        assert_eq!(Datum::from_json(&d.to_json()).ok(), Some(d));
    }
    if let Ok(updates) = table_updates_from_json(v) {
        replica.apply(&updates);
    }
    match v {
        Value::Array(items) => items.iter().for_each(|x| check_values(x, replica)),
        Value::Object(map) => map.values().for_each(|x| check_values(x, replica)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into two reads, to exercise framing.
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = usize::from(cut).min(rest.len());
    let mut dec = Decoder::new();
    let mut replica = Replica::new();
    for chunk in [&rest[..cut], &rest[cut..]] {
        dec.push(chunk);
        loop {
            match dec.next_value() {
                Ok(Some(v)) => {
                    if let Ok(m) = Message::from_json(&v) {
                        assert_eq!(Message::from_json(&m.to_json()).ok(), Some(m));
                    }
                    check_values(&v, &mut replica);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
