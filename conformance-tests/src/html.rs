//! Just enough HTML reading for the scripted browser: the forms of a page and
//! its visible text.
//!
//! The provider's pages follow a fixed contract (forms with hidden `tx` and
//! `csrf` fields, named buttons), so a full HTML5 parser (html5ever) would
//! cost compile time for nothing. This reader still copes with what any
//! template engine may emit: attributes in any order, double, single or no
//! quotes, self-closing tags, comments, `<script>`/`<style>` bodies, and
//! character references in values (minijinja escapes `'` as `&#x27;` and `/`
//! as `&#x2f;`, and a `state` may hold any of them).

/// A form as written in the page; its action is not resolved yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawForm {
    /// The `action` attribute with character references decoded, when present.
    pub action: Option<String>,
    /// The `method` attribute in lower case; `get` when absent, as in HTML.
    pub method: String,
    /// Named controls a browser would submit, in document order.
    pub fields: Vec<(String, String)>,
    /// Named submit buttons; only the one pressed is submitted.
    pub buttons: Vec<(String, String)>,
}

/// The forms of a page, in document order.
pub(crate) fn parse_forms(html: &str) -> Vec<RawForm> {
    let mut forms = Vec::new();
    let mut open: Option<RawForm> = None;
    let mut textarea: Option<(String, String)> = None;
    for token in Tokens::new(html) {
        match token {
            Token::Start(tag) if tag.name == "form" => {
                // Browsers ignore a form start tag inside an open form.
                if open.is_none() {
                    open = Some(RawForm {
                        action: tag.attr("action").map(str::to_owned),
                        method: tag.attr("method").unwrap_or("get").to_ascii_lowercase(),
                        fields: Vec::new(),
                        buttons: Vec::new(),
                    });
                }
            }
            Token::End(name) if name == "form" => forms.extend(open.take()),
            Token::Start(tag) => {
                if let Some(form) = open.as_mut() {
                    add_control(form, &tag, &mut textarea);
                }
            }
            Token::Text(text) => {
                if let Some((_, content)) = textarea.as_mut() {
                    content.push_str(&decode_entities(text));
                }
            }
            Token::End(name) if name == "textarea" => {
                if let (Some(form), Some(field)) = (open.as_mut(), textarea.take()) {
                    form.fields.push(field);
                }
            }
            Token::End(_) => {}
        }
    }
    forms.extend(open);
    forms
}

/// Records one control of an open form the way a browser would submit it.
fn add_control(form: &mut RawForm, tag: &Tag, textarea: &mut Option<(String, String)>) {
    let Some(name) = tag.attr("name") else {
        return;
    };
    let value = tag.attr("value").unwrap_or_default().to_owned();
    match tag.name.as_str() {
        "input" => {
            let kind = tag.attr("type").unwrap_or("text").to_ascii_lowercase();
            match kind.as_str() {
                "submit" | "image" => form.buttons.push((name.to_owned(), value)),
                "checkbox" | "radio" if tag.attr("checked").is_none() => {}
                "checkbox" | "radio" if !tag.has("value") => {
                    form.fields.push((name.to_owned(), "on".to_owned()));
                }
                "button" | "reset" | "file" => {}
                _ => form.fields.push((name.to_owned(), value)),
            }
        }
        "button" => {
            let kind = tag.attr("type").unwrap_or("submit").to_ascii_lowercase();
            if kind == "submit" {
                form.buttons.push((name.to_owned(), value));
            }
        }
        "textarea" => *textarea = Some((name.to_owned(), String::new())),
        _ => {}
    }
}

/// The text a person reads: no tags, no scripts or styles, references decoded,
/// runs of white space folded into one space.
pub(crate) fn visible_text(html: &str) -> String {
    let mut words = String::new();
    let mut hidden_depth = 0_usize;
    for token in Tokens::new(html) {
        match token {
            Token::Start(tag) if is_raw_text(&tag.name) => hidden_depth += 1,
            Token::End(name) if is_raw_text(&name) => hidden_depth = hidden_depth.saturating_sub(1),
            Token::Text(text) if hidden_depth == 0 => {
                for word in decode_entities(text).split_whitespace() {
                    if !words.is_empty() {
                        words.push(' ');
                    }
                    words.push_str(word);
                }
            }
            _ => {}
        }
    }
    words
}

/// Decodes the character references our templates can emit: the five XML
/// ones, `&nbsp;`, and numeric references in decimal or hex. Anything else is
/// left as written, which is what a browser does with an unknown name.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest
            .find(';')
            .filter(|&semi| semi <= 10)
            .and_then(|semi| reference(&rest[1..semi]).map(|c| (c, semi)));
        if let Some((character, semi)) = decoded {
            out.push(character);
            rest = &rest[semi + 1..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference (without `&` and `;`) stands for.
fn reference(name: &str) -> Option<char> {
    let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if let Some(decimal) = name.strip_prefix('#') {
        decimal.parse().ok()?
    } else {
        return match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => None,
        };
    };
    char::from_u32(code)
}

/// Elements whose content is not markup.
fn is_raw_text(name: &str) -> bool {
    matches!(name, "script" | "style" | "textarea")
}

/// A start tag with its attributes (names lower-cased, values decoded).
#[derive(Debug)]
struct Tag {
    name: String,
    attributes: Vec<(String, Option<String>)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or_default())
    }

    fn has(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|(n, v)| n == name && v.is_some())
    }
}

#[derive(Debug)]
enum Token<'a> {
    Start(Tag),
    End(String),
    Text(&'a str),
}

/// Splits HTML into start tags, end tags and text. Markup characters are
/// ASCII, so every slice boundary falls on a UTF-8 character boundary.
struct Tokens<'a> {
    html: &'a str,
    position: usize,
    /// Inside `<script>`, `<style>` or `<textarea>`: text until this end tag.
    raw_until: Option<String>,
}

impl<'a> Tokens<'a> {
    fn new(html: &'a str) -> Self {
        Self {
            html,
            position: 0,
            raw_until: None,
        }
    }

    fn raw_text(&mut self, name: &str) -> Token<'a> {
        let rest = &self.html[self.position..];
        let end = rest
            .to_ascii_lowercase()
            .find(&format!("</{name}"))
            .unwrap_or(rest.len());
        self.position += end;
        Token::Text(&rest[..end])
    }

    /// Parses the tag starting at `self.position` (which holds `<`).
    fn tag(&mut self) -> Option<Token<'a>> {
        let rest = &self.html[self.position..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").map_or(rest.len(), |i| i + 3);
            self.position += end;
            return None;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            self.position += end;
            return None;
        }
        let closing = rest.starts_with("</");
        let name_start = if closing { 2 } else { 1 };
        let name_len = rest[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len() - name_start);
        let name = rest[name_start..name_start + name_len].to_ascii_lowercase();
        let (attributes, length) = attributes(&rest[name_start + name_len..]);
        self.position += name_start + name_len + length;
        if closing {
            return Some(Token::End(name));
        }
        if is_raw_text(&name) {
            self.raw_until = Some(name.clone());
        }
        Some(Token::Start(Tag { name, attributes }))
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            if let Some(name) = self.raw_until.take() {
                let text = self.raw_text(&name);
                if !matches!(text, Token::Text("")) {
                    return Some(text);
                }
            }
            let rest = &self.html[self.position..];
            if rest.is_empty() {
                return None;
            }
            let starts_tag = |r: &str| {
                r.starts_with('<')
                    && r[1..].starts_with(|c: char| c.is_ascii_alphabetic() || "/!?".contains(c))
            };
            if !starts_tag(rest) {
                let end = rest
                    .char_indices()
                    .skip(1)
                    .find(|&(i, _)| starts_tag(&rest[i..]))
                    .map_or(rest.len(), |(i, _)| i);
                self.position += end;
                return Some(Token::Text(&rest[..end]));
            }
            if let Some(token) = self.tag() {
                return Some(token);
            }
        }
    }
}

/// Reads attributes up to and including the closing `>`; returns them and the
/// number of bytes read.
fn attributes(text: &str) -> (Vec<(String, Option<String>)>, usize) {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (found, i);
        }
        if bytes[i] == b'>' {
            return (found, i + 1);
        }
        let name_start = i;
        while i < bytes.len() && !b" \t\r\n\x0c=>/".contains(&bytes[i]) {
            i += 1;
        }
        let name = text[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            found.push((name, None));
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if let Some(&quote @ (b'"' | b'\'')) = bytes.get(i) {
            let start = i + 1;
            let end = text[start..]
                .find(char::from(quote))
                .map_or(text.len(), |e| start + e);
            i = (end + 1).min(text.len());
            &text[start..end]
        } else {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                i += 1;
            }
            &text[start..i]
        };
        found.push((name, Some(decode_entities(value))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn forms_are_read_whatever_the_attribute_order_and_quoting() {
        let html = r#"<!doctype html><html><body>
            <form method="post" action="/login/username">
              <input type="hidden" name="tx" value="t-1">
              <input value='c&amp;1' name='csrf' type='hidden'/>
              <input id=username name=username autocomplete=username>
              <button>Next</button>
            </form>
            <FORM ACTION="/other"><INPUT NAME="q" VALUE="x"></FORM>
        </body></html>"#;
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].action.as_deref(), Some("/login/username"));
        assert_eq!(forms[0].method, "post");
        assert_eq!(
            forms[0].fields,
            pairs(&[("tx", "t-1"), ("csrf", "c&1"), ("username", "")])
        );
        assert!(
            forms[0].buttons.is_empty(),
            "an unnamed button submits nothing"
        );
        assert_eq!(forms[1].method, "get");
        assert_eq!(forms[1].fields, pairs(&[("q", "x")]));
    }

    #[test]
    fn character_references_in_values_are_decoded() {
        let html = r#"<form action="https://rp.example/cb?a=1&amp;b=2" method="post">
            <input type="hidden" name="state" value="&lt;a&gt; &quot;b&quot; &#39;c&#x27; &#x2f; &apos; &#233; &unknown; & x">
            </form>"#;
        let form = &parse_forms(html)[0];
        assert_eq!(
            form.action.as_deref(),
            Some("https://rp.example/cb?a=1&b=2")
        );
        assert_eq!(
            form.fields,
            pairs(&[("state", "<a> \"b\" 'c' / ' é &unknown; & x")])
        );
    }

    #[test]
    fn named_buttons_and_submit_inputs_are_buttons_not_fields() {
        let html = r#"<form method="post" action="/consent">
            <button name="decision" value="allow">Allow</button>
            <button type="submit" name="decision" value="deny">Deny</button>
            <button type="button" name="ignored" value="x">Nothing</button>
            <input type="submit" name="go" value="Go">
            </form>"#;
        let form = &parse_forms(html)[0];
        assert!(form.fields.is_empty());
        assert_eq!(
            form.buttons,
            pairs(&[("decision", "allow"), ("decision", "deny"), ("go", "Go")])
        );
    }

    #[test]
    fn unchecked_boxes_are_not_submitted_and_textareas_are() {
        let html = r#"<form><input type="checkbox" name="off" value="1">
            <input type="checkbox" name="on" checked>
            <input type="radio" name="pick" value="b" checked>
            <textarea name="note">a &amp; <b</textarea></form>"#;
        assert_eq!(
            parse_forms(html)[0].fields,
            pairs(&[("on", "on"), ("pick", "b"), ("note", "a & <b")])
        );
    }

    #[test]
    fn scripts_and_comments_do_not_produce_forms_or_text() {
        let html = r#"<h1>You are&nbsp;signed   out</h1>
            <!-- <form action="/hidden"></form> -->
            <script>document.write('<form action="/x">'); if (a < b) {}</script>
            <p>Come back <a href="/">soon</a>.</p>"#;
        assert!(parse_forms(html).is_empty());
        assert_eq!(visible_text(html), "You are signed out Come back soon .");
    }

    #[test]
    fn an_unclosed_form_still_counts() {
        let forms = parse_forms(r#"<form method=POST action=/device><input name="user_code">"#);
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].method, "post");
        assert_eq!(forms[0].action.as_deref(), Some("/device"));
        assert_eq!(forms[0].fields, pairs(&[("user_code", "")]));
    }

    #[test]
    fn text_keeps_non_ascii_characters() {
        assert_eq!(visible_text("<p>🔒 Zoë &lt;3</p>"), "🔒 Zoë <3");
    }
}
