//! JSON kept in `TEXT` columns: lists of names, JWK sets, audit details.
//!
//! Text rather than a JSON column type because SQLite has none and the same
//! migration must serve both backends. Parsing happens here, once, so a bad
//! value surfaces as [`DbError::Corrupt`] naming the column, never as a panic.

use serde_json::Value;

use super::DbError;

/// Encodes a list of names as a JSON array.
pub(crate) fn encode_list(items: &[String]) -> String {
    Value::Array(items.iter().cloned().map(Value::String).collect()).to_string()
}

/// Decodes a JSON array of strings read from `column`.
pub(crate) fn decode_list(text: &str, column: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(text).map_err(|_| DbError::Corrupt(column.to_owned()))
}

/// Decodes any JSON value read from `column`.
pub(crate) fn decode_value(text: &str, column: &str) -> Result<Value, DbError> {
    serde_json::from_str(text).map_err(|_| DbError::Corrupt(column.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_survives_a_round_trip_through_text() {
        let items = vec!["openid".to_owned(), "a \"quoted\" name".to_owned()];
        assert_eq!(decode_list(&encode_list(&items), "t.c").unwrap(), items);
    }

    #[test]
    fn malformed_list_is_reported_as_corrupt_with_its_column() {
        let err = decode_list("[1,", "clients.scopes").unwrap_err();
        assert!(matches!(&err, DbError::Corrupt(column) if column == "clients.scopes"));
        assert_eq!(err.to_string(), "the stored clients.scopes is unreadable");
    }
}
