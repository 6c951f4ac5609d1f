//! `transact` (RFC 7047 §4.1.3, §5.2): operations and their results.
//!
//! ```text
//! -> {"method":"transact","params":["Open_vSwitch",
//!        {"op":"update","table":"Interface","where":[["_uuid","==",["uuid","…"]]],"row":{"ofport":1}},
//!        {"op":"comment","comment":"hwol: port p1 added"}],"id":7}
//! <- {"result":[{"count":1},{}],"error":null,"id":7}
//! ```
//!
//! The result array has one entry per operation; a failed operation carries
//! `error` (and the server appends one more entry when a commit-time check
//! fails). [`results_from_json`] turns the first error into an [`Error`].

use serde_json::{json, Value};

use crate::datum::{row_to_json, Datum, Row, Uuid};
use crate::rpc::error_text;
use crate::Error;

/// A condition function (`"=="`, `"includes"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `includes`
    Includes,
    /// `excludes`
    Excludes,
}

impl Function {
    fn as_str(self) -> &'static str {
        match self {
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Gt => ">",
            Function::Ge => ">=",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// `[column, function, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Column name (`_uuid` for the row id).
    pub column: String,
    /// How to compare.
    pub function: Function,
    /// What to compare with.
    pub value: Datum,
}

impl Condition {
    /// `["_uuid", "==", ["uuid", uuid]]`: exactly this row.
    pub fn uuid(uuid: &Uuid) -> Condition {
        Condition { column: "_uuid".into(), function: Function::Eq, value: Datum::scalar(uuid.clone()) }
    }

    /// `column == value`.
    pub fn eq(column: &str, value: Datum) -> Condition {
        Condition { column: column.into(), function: Function::Eq, value }
    }

    fn to_json(&self) -> Value {
        json!([self.column, self.function.as_str(), self.value.to_json()])
    }
}

/// A mutator (`"+="`, `"insert"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
    /// `insert` (into a set or map)
    Insert,
    /// `delete` (from a set or map; for a map, by key set or by key/value map)
    Delete,
}

impl Mutator {
    fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

/// `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// Column name.
    pub column: String,
    /// How to change it.
    pub mutator: Mutator,
    /// The operand.
    pub value: Datum,
}

/// `until` of a `wait` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// Wait until the selected rows equal `rows`.
    Equal,
    /// Wait until they differ.
    NotEqual,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Insert a row; `uuid_name` lets later operations refer to it as a named UUID.
    Insert {
        /// Table.
        table: String,
        /// Column values (others take their defaults).
        row: Row,
        /// Name for `["named-uuid", name]` references.
        uuid_name: Option<String>,
    },
    /// Set columns of the matching rows.
    Update {
        /// Table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition>,
        /// New column values.
        row: Row,
    },
    /// Change columns of the matching rows in place.
    Mutate {
        /// Table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition>,
        /// The changes.
        mutations: Vec<Mutation>,
    },
    /// Delete the matching rows.
    Delete {
        /// Table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition>,
    },
    /// Abort unless (after `timeout_ms`) the selected columns of the matching
    /// rows compare to `rows` as `until` says.
    Wait {
        /// Table.
        table: String,
        /// Which rows.
        conditions: Vec<Condition>,
        /// Columns compared.
        columns: Vec<String>,
        /// Equal or not.
        until: WaitUntil,
        /// Expected rows (only `columns`).
        rows: Vec<Row>,
        /// How long the server may wait (0 = check once).
        timeout_ms: Option<u64>,
    },
    /// A comment logged by the server with the transaction.
    Comment(String),
}

fn conditions_json(conds: &[Condition]) -> Value {
    Value::Array(conds.iter().map(Condition::to_json).collect())
}

impl Operation {
    /// Encode.
    pub fn to_json(&self) -> Value {
        match self {
            Operation::Insert { table, row, uuid_name } => {
                let mut op = json!({"op": "insert", "table": table, "row": row_to_json(row)});
                if let Some(name) = uuid_name {
                    op["uuid-name"] = json!(name);
                }
                op
            }
            Operation::Update { table, conditions, row } => {
                json!({"op": "update", "table": table, "where": conditions_json(conditions), "row": row_to_json(row)})
            }
            Operation::Mutate { table, conditions, mutations } => {
                let muts: Vec<Value> =
                    mutations.iter().map(|m| json!([m.column, m.mutator.as_str(), m.value.to_json()])).collect();
                json!({"op": "mutate", "table": table, "where": conditions_json(conditions), "mutations": muts})
            }
            Operation::Delete { table, conditions } => {
                json!({"op": "delete", "table": table, "where": conditions_json(conditions)})
            }
            Operation::Wait { table, conditions, columns, until, rows, timeout_ms } => {
                let until = match until {
                    WaitUntil::Equal => "==",
                    WaitUntil::NotEqual => "!=",
                };
                let mut op = json!({
                    "op": "wait", "table": table, "where": conditions_json(conditions), "columns": columns,
                    "until": until, "rows": rows.iter().map(row_to_json).collect::<Vec<_>>(),
                });
                if let Some(t) = timeout_ms {
                    op["timeout"] = json!(t);
                }
                op
            }
            Operation::Comment(text) => json!({"op": "comment", "comment": text}),
        }
    }
}

/// The `params` of a `transact` request on database `db`.
pub fn transact_params(db: &str, ops: &[Operation]) -> Value {
    let mut params = vec![json!(db)];
    params.extend(ops.iter().map(Operation::to_json));
    Value::Array(params)
}

/// What one successful operation returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpResult {
    /// `insert`: the new row's UUID.
    pub uuid: Option<Uuid>,
    /// `update`, `mutate`, `delete`: rows affected.
    pub count: Option<u64>,
}

/// Decode a `transact` result; the first failed operation becomes
/// [`Error::Transaction`].
pub fn results_from_json(v: &Value) -> Result<Vec<OpResult>, Error> {
    let items = v.as_array().ok_or_else(|| Error::Protocol(format!("transact result {v} is not an array")))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if item.is_null() {
            // Operations after a failed one are not executed.
            out.push(OpResult::default());
            continue;
        }
        if item.get("error").is_some() {
            return Err(Error::Transaction { index: i, message: error_text(item) });
        }
        let uuid = match item.get("uuid") {
            Some(u) => Some(
                crate::datum::Atom::from_json(u)?
                    .as_uuid()
                    .cloned()
                    .ok_or_else(|| Error::Protocol(format!("transact result {item}: \"uuid\" is not a UUID")))?,
            ),
            None => None,
        };
        out.push(OpResult { uuid, count: item.get("count").and_then(Value::as_u64) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::Atom;

    const U: &str = "550e8400-e29b-41d4-a716-446655440000";

    #[test]
    fn operations_encode_as_rfc7047() {
        let uuid = Uuid::parse(U).unwrap();
        let row: Row = [("ofport".to_string(), Datum::scalar(1))].into();
        let ops = [
            Operation::Insert { table: "Port".into(), row: Row::new(), uuid_name: Some("p".into()) },
            Operation::Update { table: "Interface".into(), conditions: vec![Condition::uuid(&uuid)], row },
            Operation::Mutate {
                table: "Open_vSwitch".into(),
                conditions: vec![],
                mutations: vec![Mutation { column: "next_cfg".into(), mutator: Mutator::Add, value: Datum::scalar(1) }],
            },
            Operation::Delete { table: "Bridge".into(), conditions: vec![Condition::eq("name", Datum::scalar("br0"))] },
            Operation::Wait {
                table: "Open_vSwitch".into(),
                conditions: vec![],
                columns: vec!["cur_cfg".into()],
                until: WaitUntil::Equal,
                rows: vec![[("cur_cfg".to_string(), Datum::scalar(Atom::Integer(3)))].into()],
                timeout_ms: Some(0),
            },
            Operation::Comment("hwol".into()),
        ];
        let v = transact_params("Open_vSwitch", &ops);
        assert_eq!(v[0], json!("Open_vSwitch"));
        assert_eq!(v[1], json!({"op": "insert", "table": "Port", "row": {}, "uuid-name": "p"}));
        assert_eq!(v[2]["where"], json!([["_uuid", "==", ["uuid", U]]]));
        assert_eq!(v[2]["row"], json!({"ofport": 1}));
        assert_eq!(v[3]["mutations"], json!([["next_cfg", "+=", 1]]));
        assert_eq!(v[4]["where"], json!([["name", "==", "br0"]]));
        assert_eq!(v[5]["until"], json!("=="));
        assert_eq!(v[5]["timeout"], json!(0));
        assert_eq!(v[6], json!({"op": "comment", "comment": "hwol"}));
    }

    #[test]
    fn results_and_errors() {
        let ok = results_from_json(&json!([{"uuid": ["uuid", U]}, {"count": 1}, {}])).unwrap();
        assert_eq!(ok[0].uuid.as_ref().map(Uuid::as_str), Some(U));
        assert_eq!(ok[1].count, Some(1));
        let err = results_from_json(&json!([{"count": 1}, {"error": "constraint violation", "details": "bad"}, null]))
            .unwrap_err();
        assert!(matches!(err, Error::Transaction { index: 1, .. }), "{err}");
        assert!(err.to_string().contains("constraint violation: bad"), "{err}");
        assert!(results_from_json(&json!({})).is_err());
    }
}
