//! OVSDB values (RFC 7047 §5.1): atoms, sets, maps, UUIDs and named UUIDs,
//! and rows, with their JSON notation.
//!
//! ```text
//! atom      42 | 1.5 | true | "br-int" | ["uuid","550e8400-…"] | ["named-uuid","row1"]
//! set       <atom>                      a set of exactly one element may be written bare
//!           ["set",[<atom>,…]]          any size, including empty
//! map       ["map",[[<key>,<value>],…]]
//! ```
//!
//! Without the schema, a bare atom cannot be told apart from a one-element
//! set, so both decode to [`Datum::Set`] with one element; accessors such as
//! [`Datum::as_str`] read such a set as a scalar. Encoding writes a
//! one-element set bare, which the server accepts for scalar and set columns
//! alike (and a map is always written as a map). Decoding keeps the order the
//! server sent; [`Datum`]'s equality compares sets and maps as unordered, as
//! OVSDB does.
//!
//! Not covered: checking values against column types (the server does that
//! and answers with an error).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use crate::Error;

/// A row UUID in its canonical text form (36 characters, lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(String);

impl Uuid {
    /// Check and wrap the text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn parse(text: &str) -> Result<Uuid, Error> {
        let ok = text.len() == 36
            && text.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if ok {
            Ok(Uuid(text.to_ascii_lowercase()))
        } else {
            Err(Error::Protocol(format!("{text:?} is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")))
        }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One OVSDB atom.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// `integer` (64-bit signed).
    Integer(i64),
    /// `real`.
    Real(f64),
    /// `boolean`.
    Boolean(bool),
    /// `string`.
    String(String),
    /// `uuid`: a reference to a row.
    Uuid(Uuid),
    /// A row inserted earlier in the same transaction, by its `uuid-name`.
    NamedUuid(String),
}

impl Atom {
    /// A string atom.
    pub fn string(s: impl Into<String>) -> Atom {
        Atom::String(s.into())
    }

    /// Decode one atom.
    pub fn from_json(v: &Value) -> Result<Atom, Error> {
        match v {
            Value::Bool(b) => Ok(Atom::Boolean(*b)),
            Value::String(s) => Ok(Atom::String(s.clone())),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Atom::Integer(i))
                } else {
                    n.as_f64().map(Atom::Real).ok_or_else(|| Error::Protocol(format!("number {n} is out of range")))
                }
            }
            Value::Array(a) => match (a.first().and_then(Value::as_str), a.get(1), a.len()) {
                (Some("uuid"), Some(Value::String(u)), 2) => Ok(Atom::Uuid(Uuid::parse(u)?)),
                (Some("named-uuid"), Some(Value::String(n)), 2) => Ok(Atom::NamedUuid(n.clone())),
                _ => Err(Error::Protocol(format!("{v} is not an atom (expected [\"uuid\",…] or [\"named-uuid\",…])"))),
            },
            _ => Err(Error::Protocol(format!("{v} is not an atom"))),
        }
    }

    /// Encode.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u.as_str()]),
            Atom::NamedUuid(n) => json!(["named-uuid", n]),
        }
    }

    /// The string, if this is a string atom.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer atom.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The UUID, if this is a UUID atom.
    pub fn as_uuid(&self) -> Option<&Uuid> {
        match self {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::String(s.to_string())
    }
}

impl From<String> for Atom {
    fn from(s: String) -> Atom {
        Atom::String(s)
    }
}

impl From<i64> for Atom {
    fn from(i: i64) -> Atom {
        Atom::Integer(i)
    }
}

impl From<bool> for Atom {
    fn from(b: bool) -> Atom {
        Atom::Boolean(b)
    }
}

impl From<Uuid> for Atom {
    fn from(u: Uuid) -> Atom {
        Atom::Uuid(u)
    }
}

/// A column value: a set (scalars are one-element sets) or a map.
#[derive(Debug, Clone)]
pub enum Datum {
    /// A set of atoms; a scalar is a set of one.
    Set(Vec<Atom>),
    /// Key/value pairs with unique keys.
    Map(Vec<(Atom, Atom)>),
}

impl PartialEq for Datum {
    /// Sets and maps compare as unordered collections.
    fn eq(&self, other: &Datum) -> bool {
        match (self, other) {
            (Datum::Set(a), Datum::Set(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)),
            (Datum::Map(a), Datum::Map(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)),
            // An empty map and an empty set look the same on the wire.
            (Datum::Set(s), Datum::Map(m)) | (Datum::Map(m), Datum::Set(s)) => s.is_empty() && m.is_empty(),
        }
    }
}

impl Datum {
    /// The empty set (what an unset optional column holds).
    pub fn empty() -> Datum {
        Datum::Set(Vec::new())
    }

    /// A one-element set, i.e. a scalar.
    pub fn scalar(a: impl Into<Atom>) -> Datum {
        Datum::Set(vec![a.into()])
    }

    /// A map of strings to strings (`other_config`, `external_ids`, `status`).
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Datum {
        Datum::Map(pairs.into_iter().map(|(k, v)| (Atom::from(k), Atom::from(v))).collect())
    }

    /// Decode a column value.
    pub fn from_json(v: &Value) -> Result<Datum, Error> {
        if let Value::Array(a) = v {
            match (a.first().and_then(Value::as_str), a.get(1), a.len()) {
                (Some("set"), Some(Value::Array(items)), 2) => {
                    return items.iter().map(Atom::from_json).collect::<Result<_, _>>().map(Datum::Set);
                }
                (Some("map"), Some(Value::Array(pairs)), 2) => {
                    let mut out = Vec::with_capacity(pairs.len());
                    for p in pairs {
                        match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => out.push((Atom::from_json(k)?, Atom::from_json(v)?)),
                            _ => return Err(Error::Protocol(format!("map entry {p} is not a [key, value] pair"))),
                        }
                    }
                    return Ok(Datum::Map(out));
                }
                _ => {}
            }
        }
        Atom::from_json(v).map(|a| Datum::Set(vec![a]))
    }

    /// Encode: a one-element set bare, anything else tagged.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(items) if items.len() == 1 => items[0].to_json(),
            Datum::Set(items) => json!(["set", items.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            Datum::Map(pairs) => {
                json!(["map", pairs.iter().map(|(k, v)| json!([k.to_json(), v.to_json()])).collect::<Vec<_>>()])
            }
        }
    }

    /// The single atom of a one-element set.
    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Datum::Set(items) if items.len() == 1 => Some(&items[0]),
            _ => None,
        }
    }

    /// The string of a one-element string set.
    pub fn as_str(&self) -> Option<&str> {
        self.as_atom().and_then(Atom::as_str)
    }

    /// The integer of a one-element integer set.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_atom().and_then(Atom::as_i64)
    }

    /// The atoms of a set (empty for a map).
    pub fn atoms(&self) -> &[Atom] {
        match self {
            Datum::Set(items) => items,
            Datum::Map(_) => &[],
        }
    }

    /// The UUIDs in a set of references, in order.
    pub fn uuids(&self) -> impl Iterator<Item = &Uuid> {
        self.atoms().iter().filter_map(Atom::as_uuid)
    }

    /// The value under string key `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Atom> {
        match self {
            Datum::Map(pairs) => pairs.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            Datum::Set(_) => None,
        }
    }

    /// A string-to-string map as a sorted map (other kinds of entries are skipped).
    pub fn to_string_map(&self) -> BTreeMap<String, String> {
        match self {
            Datum::Map(pairs) => {
                pairs.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string()))).collect()
            }
            Datum::Set(_) => BTreeMap::new(),
        }
    }
}

/// A row: column name to value. A monitor's `modify` update carries only
/// some columns.
pub type Row = BTreeMap<String, Datum>;

/// Decode a row object `{"column": <value>, …}`.
pub fn row_from_json(v: &Value) -> Result<Row, Error> {
    let obj = v.as_object().ok_or_else(|| Error::Protocol(format!("row {v} is not an object")))?;
    obj.iter().map(|(k, v)| Ok((k.clone(), Datum::from_json(v)?))).collect()
}

/// Encode a row.
pub fn row_to_json(row: &Row) -> Value {
    Value::Object(row.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "550e8400-e29b-41d4-a716-446655440000";

    #[test]
    fn atoms_round_trip() {
        for v in [
            json!(42),
            json!(-1),
            json!(1.5),
            json!(true),
            json!("br-int"),
            json!(["uuid", U]),
            json!(["named-uuid", "p"]),
        ] {
            assert_eq!(Atom::from_json(&v).unwrap().to_json(), v);
        }
        assert!(Atom::from_json(&json!(["uuid", "nope"])).is_err());
        assert!(Atom::from_json(&json!(null)).is_err());
        assert!(Atom::from_json(&json!({})).is_err());
    }

    #[test]
    fn sets_and_maps() {
        // ovsdb-server sends `"ofport": ["set",[]]` for an unset optional column.
        let empty = Datum::from_json(&json!(["set", []])).unwrap();
        assert_eq!(empty, Datum::empty());
        assert_eq!(empty.to_json(), json!(["set", []]));
        let one = Datum::from_json(&json!(7)).unwrap();
        assert_eq!(one.as_i64(), Some(7));
        assert_eq!(Datum::from_json(&json!(["set", [7]])).unwrap(), one);
        let two = Datum::from_json(&json!(["set", [["uuid", U], ["uuid", U.replace('5', "6")]]])).unwrap();
        assert_eq!(two.uuids().count(), 2);
        assert_eq!(Datum::from_json(&two.to_json()).unwrap(), two);
        let map = Datum::from_json(&json!(["map", [["hw-offload", "true"], ["max-idle", "500"]]])).unwrap();
        assert_eq!(map.get("max-idle").and_then(Atom::as_str), Some("500"));
        assert_eq!(map.to_string_map().len(), 2);
        assert_eq!(map, Datum::string_map([("max-idle", "500"), ("hw-offload", "true")]), "unordered equality");
        assert!(Datum::from_json(&json!(["map", [["only-key"]]])).is_err());
    }

    #[test]
    fn rows() {
        let v = json!({"name": "br-int", "ports": ["set", []], "external_ids": ["map", []]});
        let row = row_from_json(&v).unwrap();
        assert_eq!(row["name"].as_str(), Some("br-int"));
        assert_eq!(row_to_json(&row)["name"], json!("br-int"));
        assert!(row_from_json(&json!([1])).is_err());
    }
}
