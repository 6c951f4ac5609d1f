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
//! `monitor_cond` (OVSDB 2.x, `update2` with diffs) is not used: its diffs
//! cannot be applied without the column types from the schema, and the
//! plain `monitor` gives the same information for the handful of tables hwol
//! watches.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::datum::{row_from_json, Row, Uuid};
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
    use crate::datum::Datum;

    const B: &str = "11111111-2222-3333-4444-555555555555";

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
