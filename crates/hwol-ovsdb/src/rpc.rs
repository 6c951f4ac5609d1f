//! JSON-RPC 1.0 messages as OVSDB uses them (RFC 7047 §4), and the stream
//! framing: JSON objects sent back to back, no delimiter or length prefix.
//!
//! ```text
//! request       {"method":"transact","params":[…],"id":3}
//! response      {"result":[…],"error":null,"id":3}
//! error reply   {"result":null,"error":{"error":"…","details":"…"},"id":3}
//! notification  {"method":"update","params":[…],"id":null}
//! ```
//!
//! Either side may send `echo` requests; the answer echoes the params. The
//! codec does no I/O: [`Decoder`] is fed bytes and yields whole messages.

use serde_json::{json, Value};

use crate::Error;

/// Largest message the decoder buffers before giving up (a whole database
/// dump of a big switch is a few MiB).
pub const MAX_MESSAGE: usize = 64 << 20;

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A call that expects a response with the same `id`.
    Request {
        /// Method name.
        method: String,
        /// Parameters (an array).
        params: Value,
        /// Request id (any JSON value but null).
        id: Value,
    },
    /// A call without a response (`id` null).
    Notification {
        /// Method name.
        method: String,
        /// Parameters (an array).
        params: Value,
    },
    /// A successful response.
    Response {
        /// The result.
        result: Value,
        /// The id of the request answered.
        id: Value,
    },
    /// A failed response.
    Error {
        /// The error (OVSDB sends an object with `error` and `details`).
        error: Value,
        /// The id of the request answered.
        id: Value,
    },
}

impl Message {
    /// A request.
    pub fn request(method: &str, params: Value, id: u64) -> Message {
        Message::Request { method: method.to_string(), params, id: json!(id) }
    }

    /// Decode one message object.
    pub fn from_json(v: &Value) -> Result<Message, Error> {
        let obj = v.as_object().ok_or_else(|| Error::Protocol(format!("message {v} is not a JSON object")))?;
        let id = obj.get("id").cloned().unwrap_or(Value::Null);
        if let Some(method) = obj.get("method") {
            let method = method
                .as_str()
                .ok_or_else(|| Error::Protocol(format!("message {v}: \"method\" is not a string")))?
                .to_string();
            let params = obj.get("params").cloned().unwrap_or_else(|| json!([]));
            return Ok(if id.is_null() {
                Message::Notification { method, params }
            } else {
                Message::Request { method, params, id }
            });
        }
        match (obj.get("result"), obj.get("error")) {
            (_, Some(error)) if !error.is_null() => Ok(Message::Error { error: error.clone(), id }),
            (Some(result), _) => Ok(Message::Response { result: result.clone(), id }),
            _ => Err(Error::Protocol(format!("message {v} has neither \"method\" nor \"result\"/\"error\""))),
        }
    }

    /// Encode.
    pub fn to_json(&self) -> Value {
        match self {
            Message::Request { method, params, id } => json!({"method": method, "params": params, "id": id}),
            Message::Notification { method, params } => json!({"method": method, "params": params, "id": null}),
            Message::Response { result, id } => json!({"result": result, "error": null, "id": id}),
            Message::Error { error, id } => json!({"result": null, "error": error, "id": id}),
        }
    }

    /// Encode to bytes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing a Value cannot fail (its map keys are strings).
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    /// The answer to an `echo` request (its params sent back), or `None`
    /// if this is not an echo request.
    pub fn echo_reply(&self) -> Option<Message> {
        match self {
            Message::Request { method, params, id } if method == "echo" => {
                Some(Message::Response { result: params.clone(), id: id.clone() })
            }
            _ => None,
        }
    }
}

/// Splits a byte stream into JSON values.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Append bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as a message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` if more bytes are needed.
    ///
    /// Malformed JSON, or a message larger than [`MAX_MESSAGE`], is an
    /// error after which the stream cannot be resynchronised: close it.
    pub fn next_value(&mut self) -> Result<Option<Value>, Error> {
        let start = self.buf.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(self.buf.len());
        if start == self.buf.len() {
            self.buf.clear();
            return Ok(None);
        }
        let mut stream = serde_json::Deserializer::from_slice(&self.buf[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let used = start + stream.byte_offset();
                self.buf.drain(..used);
                Ok(Some(v))
            }
            Some(Err(e)) if e.is_eof() => {
                if self.buf.len() > MAX_MESSAGE {
                    return Err(Error::Protocol(format!("message longer than {MAX_MESSAGE} bytes")));
                }
                Ok(None)
            }
            Some(Err(e)) => Err(Error::Protocol(format!("malformed JSON from the server: {e}"))),
            None => Ok(None),
        }
    }

    /// The next complete [`Message`].
    pub fn next_message(&mut self) -> Result<Option<Message>, Error> {
        self.next_value()?.map(|v| Message::from_json(&v)).transpose()
    }
}

/// The error object of an OVSDB error reply or failed operation, as one line
/// (`"constraint violation: …"`).
pub fn error_text(error: &Value) -> String {
    match error {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let kind = o.get("error").and_then(Value::as_str).unwrap_or("error");
            match o.get("details").and_then(Value::as_str) {
                Some(d) => format!("{kind}: {d}"),
                None => kind.to_string(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_kinds_round_trip() {
        let msgs = [
            Message::request("echo", json!([]), 0),
            Message::Notification { method: "update".into(), params: json!([null, {}]) },
            Message::Response { result: json!({}), id: json!(3) },
            Message::Error { error: json!({"error": "unknown database"}), id: json!(4) },
        ];
        for m in msgs {
            assert_eq!(Message::from_json(&m.to_json()).unwrap(), m);
        }
        assert!(Message::from_json(&json!([1])).is_err());
        assert!(Message::from_json(&json!({"id": 1})).is_err());
        assert!(Message::from_json(&json!({"method": 1, "id": 1})).is_err());
    }

    #[test]
    fn echo_is_answered_with_its_params() {
        let req = Message::Request { method: "echo".into(), params: json!(["x"]), id: json!("echo") };
        assert_eq!(req.echo_reply(), Some(Message::Response { result: json!(["x"]), id: json!("echo") }));
        assert_eq!(Message::request("transact", json!([]), 1).echo_reply(), None);
    }

    #[test]
    fn decoder_splits_back_to_back_objects_across_reads() {
        let a = Message::request("echo", json!([]), 1).to_bytes();
        let b = Message::Response { result: json!(["Open_vSwitch"]), id: json!(2) }.to_bytes();
        let stream: Vec<u8> = [a.as_slice(), b"\n", b.as_slice()].concat();
        // Feed one byte at a time: messages appear exactly when complete.
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for byte in &stream {
            d.push(std::slice::from_ref(byte));
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], Message::Response { result: json!(["Open_vSwitch"]), id: json!(2) });
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn decoder_rejects_garbage() {
        let mut d = Decoder::new();
        d.push(b"{\"id\": ]");
        assert!(d.next_value().is_err());
    }

    #[test]
    fn error_text_reads_ovsdb_errors() {
        assert_eq!(
            error_text(&json!({"error": "constraint violation", "details": "x is not allowed"})),
            "constraint violation: x is not allowed"
        );
        assert_eq!(error_text(&json!("bad")), "bad");
    }
}
