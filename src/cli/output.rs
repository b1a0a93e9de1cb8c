//! Output for people (text) or programs (`--json`): every command builds one
//! JSON value and a text rendering of it, so both say the same thing.

use std::io::Write as _;

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as JSON, or `text` for a person.
    pub fn emit(&self, value: &serde_json::Value, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = if self.json {
            writeln!(stdout, "{value}")
        } else {
            writeln!(stdout, "{text}")
        };
    }

    /// Prints a failure on stderr: `{"error": …}` or `error: …`.
    pub fn error(&self, message: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = if self.json {
            writeln!(stderr, "{}", serde_json::json!({ "error": message }))
        } else {
            writeln!(stderr, "error: {message}")
        };
    }
}
