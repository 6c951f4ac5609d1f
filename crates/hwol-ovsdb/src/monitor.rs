//! Monitors (RFC 7047 §4.1.5-4.1.6) and the in-memory replica they keep up
//! to date.
//!
//! ```text
//! -> {"method":"monitor","params":["Open_vSwitch",<monitor-id>,{"Bridge":{"columns":["name","ports"]}}],"id":1}
//! <- {"result":{"Bridge":{"<uuid>":{"new":{"name":"br-int","ports":["uuid","…"]}}}},"error":null,"id":1}
//! <- {"method":"update","params":[<monitor-id>,{"Bridge":{"<uuid>":{"old":{…},"new":{…}}}}],"id":null}
//! ```
//!
//! The reply holds the initial contents (every row as `new` only); each
//! `update` notification then holds changes: `new` only for an insert,
//! `old` only for a delete, both for a modify, where `old` holds just the
//! columns that changed and `new` holds every monitored column. [`Replica`]
//! applies them.
//!
//! `monitor_cond` answers and notifies (`update2`) in another form: each
//! row change is `initial`, `insert`, `delete` or `modify`, and a `modify`
//! carries diffs, whose meaning depends on the column's type: a column of
//! at most one element (`max` 1, so optional scalars too) holds its new
//! value (`["set",[]]` when cleared; checked against ovsdb-server 3.1), a
//! set column the elements added or removed (symmetric difference), a map
//! column the pairs added, removed (same key and value) or changed (same
//! key, new value). So
//! [`Replica::apply2`] needs the [`Schema`] (from `get_schema`). The daemon
//! uses plain `monitor`, which needs no schema; `monitor_cond` is decoded
//! and checked against the real server in the tests.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::datum::{row_from_json, Datum, Row, Uuid};
use crate::Error;

/// What to monitor: table name to column names (empty = every column).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorRequest {
    /// Columns per table.
    pub tables: BTreeMap<String, Vec<String>>,
}

impl MonitorRequest {
    /// Add a table with the given columns.
    pub fn table(mut self, table: &str, columns: &[&str]) -> MonitorRequest {
        self.tables.insert(table.to_string(), columns.iter().map(|c| c.to_string()).collect());
        self
    }

    /// The `params` of a `monitor` request on database `db`.
    pub fn params(&self, db: &str, monitor_id: &Value) -> Value {
        let tables: serde_json::Map<String, Value> = self
            .tables
            .iter()
            .map(|(t, cols)| {
                let req = if cols.is_empty() { json!({}) } else { json!({"columns": cols}) };
                (t.clone(), req)
            })
            .collect();
        json!([db, monitor_id, tables])
    }
}

/// The change to one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowUpdate {
    /// The row before (only the changed columns for a modify); `None` on insert.
    pub old: Option<Row>,
    /// The row after (every monitored column); `None` on delete.
    pub new: Option<Row>,
}

/// Changes per table, per row.
pub type TableUpdates = BTreeMap<String, BTreeMap<Uuid, RowUpdate>>;

/// Decode a `<table-updates>` object (a monitor reply's result, or the second
/// parameter of an `update` notification).
pub fn table_updates_from_json(v: &Value) -> Result<TableUpdates, Error> {
    let tables = v.as_object().ok_or_else(|| Error::Protocol(format!("table updates {v} is not an object")))?;
    let mut out = TableUpdates::new();
    for (table, rows) in tables {
        let rows =
            rows.as_object().ok_or_else(|| Error::Protocol(format!("updates of table {table} not an object")))?;
        let t = out.entry(table.clone()).or_default();
        for (uuid, update) in rows {
            let side = |name: &str| update.get(name).map(row_from_json).transpose();
            t.insert(Uuid::parse(uuid)?, RowUpdate { old: side("old")?, new: side("new")? });
        }
    }
    Ok(out)
}

/// If `params` are those of an `update` notification for `monitor_id`, its
/// table updates.
pub fn update_notification(params: &Value, monitor_id: &Value) -> Result<Option<TableUpdates>, Error> {
    match params.as_array().map(Vec::as_slice) {
        Some([id, updates]) if id == monitor_id => table_updates_from_json(updates).map(Some),
        Some([_, _]) => Ok(None),
        _ => Err(Error::Protocol(format!("update notification params {params} are not [monitor-id, updates]"))),
    }
}

/// What the `update2` diffs need from the schema: which columns are scalars
/// and which are maps (every other column is a set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// (table, column) to its kind.
    columns: BTreeMap<(String, String), ColumnKind>,
}

/// The shape of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// At most one atom (`max` 1, no value type): a diff is the new value.
    Scalar,
    /// A set of atoms that may hold more than one: a diff is the symmetric difference.
    Set,
    /// A map.
    Map,
}

impl Schema {
    /// Read a `get_schema` result.
    pub fn from_json(v: &Value) -> Result<Schema, Error> {
        let tables = v
            .get("tables")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Protocol("schema has no \"tables\" object".into()))?;
        let mut columns = BTreeMap::new();
        for (t, table) in tables {
            let Some(cols) = table.get("columns").and_then(Value::as_object) else { continue };
            for (c, col) in cols {
                let ty = col.get("type").ok_or_else(|| Error::Protocol(format!("column {t}.{c} has no type")))?;
                let kind = match ty {
                    Value::String(_) => ColumnKind::Scalar,
                    Value::Object(o) if o.contains_key("value") => ColumnKind::Map,
                    Value::Object(o) => {
                        let max = o.get("max").map_or(Some(1), Value::as_u64);
                        if max == Some(1) {
                            ColumnKind::Scalar
                        } else {
                            ColumnKind::Set
                        }
                    }
                    other => return Err(Error::Protocol(format!("column {t}.{c}: type {other} not understood"))),
                };
                columns.insert((t.clone(), c.clone()), kind);
            }
        }
        Ok(Schema { columns })
    }

    /// The kind of `table.column` (a set if unknown).
    pub fn kind(&self, table: &str, column: &str) -> ColumnKind {
        self.columns.get(&(table.to_string(), column.to_string())).copied().unwrap_or(ColumnKind::Set)
    }
}

/// One row change of an `update2`.
#[derive(Debug, Clone, PartialEq)]
pub enum RowUpdate2 {
    /// In the initial contents (every monitored column).
    Initial(Row),
    /// Inserted.
    Insert(Row),
    /// Deleted.
    Delete,
    /// Modified: per changed column, its diff.
    Modify(Row),
}

/// `update2` changes per table, per row.
pub type TableUpdates2 = BTreeMap<String, BTreeMap<Uuid, RowUpdate2>>;

/// Decode a `<table-updates2>` object (a `monitor_cond` reply's result, or the
/// second parameter of an `update2` notification).
pub fn table_updates2_from_json(v: &Value) -> Result<TableUpdates2, Error> {
    let tables = v.as_object().ok_or_else(|| Error::Protocol(format!("table updates2 {v} is not an object")))?;
    let mut out = TableUpdates2::new();
    for (table, rows) in tables {
        let rows = rows.as_object().ok_or_else(|| Error::Protocol(format!("updates2 of {table} not an object")))?;
        let t = out.entry(table.clone()).or_default();
        for (uuid, update) in rows {
            let obj = update.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
                Error::Protocol(format!("row update2 {update} is not one of initial/insert/delete/modify"))
            })?;
            let (kind, row) = obj.iter().next().ok_or_else(|| Error::Protocol("empty row update2".into()))?;
            let change = match kind.as_str() {
                "initial" => RowUpdate2::Initial(row_from_json(row)?),
                "insert" => RowUpdate2::Insert(row_from_json(row)?),
                "delete" => RowUpdate2::Delete,
                "modify" => RowUpdate2::Modify(row_from_json(row)?),
                other => return Err(Error::Protocol(format!("row update2 kind {other:?} unknown"))),
            };
            t.insert(Uuid::parse(uuid)?, change);
        }
    }
    Ok(out)
}

/// Apply one column diff of an `update2` modify to `old`.
fn apply_diff(kind: ColumnKind, old: Option<&Datum>, diff: &Datum) -> Datum {
    match kind {
        ColumnKind::Scalar => diff.clone(),
        ColumnKind::Map => {
            let mut out = match old {
                Some(Datum::Map(m)) => m.clone(),
                _ => Vec::new(),
            };
            let Datum::Map(changes) = diff else { return Datum::Map(out) };
            for (k, v) in changes {
                match out.iter().position(|(ok, _)| ok == k) {
                    Some(i) if out[i].1 == *v => {
                        out.remove(i);
                    }
                    Some(i) => out[i].1 = v.clone(),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Datum::Map(out)
        }
        ColumnKind::Set => {
            let mut out: Vec<_> = old.map(|d| d.atoms().to_vec()).unwrap_or_default();
            for a in diff.atoms() {
                match out.iter().position(|x| x == a) {
                    Some(i) => {
                        out.remove(i);
                    }
                    None => out.push(a.clone()),
                }
            }
            Datum::Set(out)
        }
    }
}

/// The monitored tables, as the server last told us.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replica {
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
}

impl Replica {
    /// An empty replica.
    pub fn new() -> Replica {
        Replica::default()
    }

    /// Apply a monitor reply or update. A modify replaces the row with its
    /// `new` side, which holds every monitored column.
    pub fn apply(&mut self, updates: &TableUpdates) {
        for (table, rows) in updates {
            let t = self.tables.entry(table.clone()).or_default();
            for (uuid, update) in rows {
                match &update.new {
                    Some(new) => {
                        t.insert(uuid.clone(), new.clone());
                    }
                    None => {
                        t.remove(uuid);
                    }
                }
            }
        }
    }

    /// Apply a `monitor_cond` reply or `update2` notification.
    pub fn apply2(&mut self, updates: &TableUpdates2, schema: &Schema) {
        for (table, rows) in updates {
            let t = self.tables.entry(table.clone()).or_default();
            for (uuid, update) in rows {
                match update {
                    RowUpdate2::Initial(row) | RowUpdate2::Insert(row) => {
                        t.insert(uuid.clone(), row.clone());
                    }
                    RowUpdate2::Delete => {
                        t.remove(uuid);
                    }
                    RowUpdate2::Modify(diff) => {
                        let row = t.entry(uuid.clone()).or_default();
                        for (col, d) in diff {
                            let new = apply_diff(schema.kind(table, col), row.get(col), d);
                            row.insert(col.clone(), new);
                        }
                    }
                }
            }
        }
    }

    /// Forget everything (before a fresh monitor after a reconnect).
    pub fn clear(&mut self) {
        self.tables.clear();
    }

    /// One row.
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table)?.get(uuid)
    }

    /// Every row of a table, by UUID.
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(table).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::Atom;

    const B: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn update2_diffs_follow_the_column_kind() {
        let schema = Schema::from_json(&json!({"tables": {"Interface": {"columns": {
            "name": {"type": "string"},
            "ofport": {"type": {"key": "integer", "min": 0, "max": 1}},
            "trunks": {"type": {"key": "integer", "min": 0, "max": 4096}},
            "mtu": {"type": {"key": {"type": "integer"}}},
            "ports": {"type": {"key": {"type": "uuid"}, "min": 0, "max": "unlimited"}},
            "status": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
        }}}}))
        .unwrap();
        assert_eq!(schema.kind("Interface", "name"), ColumnKind::Scalar);
        assert_eq!(schema.kind("Interface", "mtu"), ColumnKind::Scalar);
        assert_eq!(schema.kind("Interface", "ofport"), ColumnKind::Scalar);
        assert_eq!(schema.kind("Interface", "trunks"), ColumnKind::Set);
        assert_eq!(schema.kind("Interface", "status"), ColumnKind::Map);
        let mut r = Replica::new();
        let initial = json!({"Interface": {B: {"initial": {"name": "a", "ofport": 1, "mtu": 1500,
            "trunks": ["set", [1, 2]], "status": ["map", [["k1", "v1"], ["k2", "v2"]]]}}}});
        r.apply2(&table_updates2_from_json(&initial).unwrap(), &schema);
        // ofport (at most one) and mtu are replaced; trunks {1,2} -> {2,3} is
        // the symmetric difference {1,3}; status: k1 removed (same value), k2
        // changed, k3 added.
        let modify = json!({"Interface": {B: {"modify": {"ofport": ["set", []], "mtu": 9000,
            "trunks": ["set", [1, 3]], "status": ["map", [["k1", "v1"], ["k2", "x"], ["k3", "v3"]]]}}}});
        r.apply2(&table_updates2_from_json(&modify).unwrap(), &schema);
        let row = r.row("Interface", &Uuid::parse(B).unwrap()).unwrap();
        assert_eq!(row["ofport"], Datum::empty());
        assert_eq!(row["trunks"], Datum::Set(vec![Atom::Integer(2), Atom::Integer(3)]));
        assert_eq!(row["mtu"], Datum::scalar(9000));
        assert_eq!(row["status"], Datum::string_map([("k2", "x"), ("k3", "v3")]));
        r.apply2(&table_updates2_from_json(&json!({"Interface": {B: {"delete": null}}})).unwrap(), &schema);
        assert_eq!(r.rows("Interface").count(), 0);
        assert!(table_updates2_from_json(&json!({"Interface": {B: {"move": {}}}})).is_err());
    }

    #[test]
    fn request_params() {
        let req = MonitorRequest::default().table("Bridge", &["name", "ports"]).table("Open_vSwitch", &[]);
        assert_eq!(
            req.params("Open_vSwitch", &json!("m")),
            json!(["Open_vSwitch", "m", {"Bridge": {"columns": ["name", "ports"]}, "Open_vSwitch": {}}])
        );
    }

    #[test]
    fn replica_follows_insert_modify_delete() {
        let mut r = Replica::new();
        let insert = json!({"Bridge": {B: {"new": {"name": "br-int", "datapath_id": ["set", []]}}}});
        r.apply(&table_updates_from_json(&insert).unwrap());
        assert_eq!(r.rows("Bridge").count(), 1);
        let uuid = Uuid::parse(B).unwrap();
        let modify = json!([
            "m",
            {"Bridge": {B: {"old": {"datapath_id": ["set", []]}, "new": {"name": "br-int", "datapath_id": "0000aa"}}}}
        ]);
        let up = update_notification(&modify, &json!("m")).unwrap().unwrap();
        r.apply(&up);
        assert_eq!(r.row("Bridge", &uuid).unwrap()["datapath_id"], Datum::scalar("0000aa"));
        assert_eq!(update_notification(&modify, &json!("other")).unwrap(), None, "another monitor's update");
        r.apply(&table_updates_from_json(&json!({"Bridge": {B: {"old": {"name": "br-int"}}}})).unwrap());
        assert_eq!(r.rows("Bridge").count(), 0);
        assert!(table_updates_from_json(&json!({"Bridge": {"not-a-uuid": {}}})).is_err());
        assert!(update_notification(&json!([1]), &json!("m")).is_err());
    }
}
