//! Whether a Cloudflare Rules language expression matches the requests to
//! one hostname, judged conservatively: `Some(true)` when it matches every
//! request to that host, `Some(false)` when it matches none, `None` when
//! that depends on something else or on syntax not understood here.
//!
//! Understood: `true`, `false`; `http.host` compared with `eq`/`==`,
//! `ne`/`!=`, `in {…}` and `contains` against string literals;
//! `ends_with(http.host, "…")` and `starts_with(http.host, "…")`; `not`/`!`,
//! `and`/`&&`, `or`/`||`, `xor`/`^^` and parentheses. Any other field or
//! function is unknown, and logic over it is three-valued (`false and
//! unknown` is `false`, `true and unknown` unknown), so a `None` never turns
//! into a guess. Hostnames compare ASCII case-insensitively.

/// See the module: the three-valued match of `expression` for `host`.
pub fn matches_host(expression: &str, host: &str) -> Option<bool> {
    let tokens = tokenize(expression)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        host: host.to_ascii_lowercase(),
    };
    let value = parser.or()?;
    // Anything left over is syntax not understood.
    (parser.at == parser.tokens.len()).then_some(value)?
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Word(String),
    Sym(&'static str),
}

const SYMBOLS: [&str; 17] = [
    "==", "!=", "&&", "||", "^^", "<=", ">=", "(", ")", "{", "}", "[", "]", ",", "!", "<", ">",
];

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i)? {
                    '"' => break,
                    '\\' => {
                        s.push(*chars.get(i + 1)?);
                        i += 2;
                    }
                    other => {
                        s.push(*other);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(Token::Str(s));
        } else if c == '~' {
            out.push(Token::Word("matches".into()));
            i += 1;
        } else if let Some(sym) = SYMBOLS
            .iter()
            .find(|s| chars[i..].iter().take(s.len()).copied().eq(s.chars()))
        {
            out.push(Token::Sym(sym));
            i += sym.len();
        } else if c.is_ascii_alphanumeric() || "_.:/-$*".contains(c) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || "_.:/-$*".contains(chars[i]))
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            return None;
        }
    }
    Some(out)
}

/// A value an operand evaluates to, as far as known.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `http.host`.
    Host,
    /// A known boolean (`true`, `ends_with(http.host, …)`).
    Bool(bool),
    /// Anything else: another field, an unknown function.
    Unknown,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    host: String,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn eat_word(&mut self, words: &[&str]) -> bool {
        match self.peek() {
            Some(Token::Word(w)) if words.contains(&w.as_str()) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if self.peek() == Some(&Token::Sym(match_sym(sym))) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// `Some(v)` parsed (v three-valued); `None` syntax not understood.
    fn or(&mut self) -> Option<Option<bool>> {
        let mut value = self.xor()?;
        while self.eat_word(&["or"]) || self.eat_sym("||") {
            let rhs = self.xor()?;
            value = match (value, rhs) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            };
        }
        Some(value)
    }

    fn xor(&mut self) -> Option<Option<bool>> {
        let mut value = self.and()?;
        while self.eat_word(&["xor"]) || self.eat_sym("^^") {
            let rhs = self.and()?;
            value = value.zip(rhs).map(|(a, b)| a != b);
        }
        Some(value)
    }

    fn and(&mut self) -> Option<Option<bool>> {
        let mut value = self.not()?;
        while self.eat_word(&["and"]) || self.eat_sym("&&") {
            let rhs = self.not()?;
            value = match (value, rhs) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
        }
        Some(value)
    }

    fn not(&mut self) -> Option<Option<bool>> {
        if self.eat_word(&["not"]) || self.eat_sym("!") {
            return Some(self.not()?.map(|v| !v));
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Option<bool>> {
        if self.eat_sym("(") {
            let value = self.or()?;
            return self.eat_sym(")").then_some(value);
        }
        let operand = self.operand()?;
        let op = match self.peek() {
            Some(Token::Word(w))
                if matches!(
                    w.as_str(),
                    "eq" | "ne"
                        | "lt"
                        | "le"
                        | "gt"
                        | "ge"
                        | "in"
                        | "contains"
                        | "matches"
                        | "wildcard"
                        | "strict"
                ) =>
            {
                w.clone()
            }
            Some(Token::Sym(s)) if matches!(*s, "==" | "!=" | "<" | "<=" | ">" | ">=") => {
                s.to_string()
            }
            _ => {
                // No comparison: a boolean operand.
                return Some(match operand {
                    Operand::Bool(b) => Some(b),
                    Operand::Host | Operand::Unknown => None,
                });
            }
        };
        self.at += 1;
        if op == "strict" && !self.eat_word(&["wildcard"]) {
            return None;
        }
        let rhs = self.right_hand()?;
        if operand != Operand::Host {
            return Some(None);
        }
        let host = self.host.as_str();
        let literal = |values: &[Token]| -> Option<Vec<String>> {
            values
                .iter()
                .map(|v| match v {
                    Token::Str(s) => Some(s.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        };
        Some(match (op.as_str(), literal(&rhs)) {
            ("eq" | "==", Some(v)) if v.len() == 1 => Some(v[0] == host),
            ("ne" | "!=", Some(v)) if v.len() == 1 => Some(v[0] != host),
            ("in", Some(v)) => Some(v.iter().any(|s| s == host)),
            ("contains", Some(v)) if v.len() == 1 => Some(host.contains(v[0].as_str())),
            _ => None,
        })
    }

    /// A field, a function call, or a literal on the left of a comparison.
    fn operand(&mut self) -> Option<Operand> {
        match self.next()? {
            Token::Word(w) if self.peek() == Some(&Token::Sym("(")) => {
                self.at += 1;
                let mut args = Vec::new();
                if !self.eat_sym(")") {
                    loop {
                        args.push(self.argument()?);
                        if self.eat_sym(")") {
                            break;
                        }
                        if !self.eat_sym(",") {
                            return None;
                        }
                    }
                }
                let host = self.host.clone();
                Some(match (w.as_str(), args.as_slice()) {
                    ("ends_with", [Arg::Host, Arg::Str(s)]) => {
                        Operand::Bool(host.ends_with(&s.to_ascii_lowercase()))
                    }
                    ("starts_with", [Arg::Host, Arg::Str(s)]) => {
                        Operand::Bool(host.starts_with(&s.to_ascii_lowercase()))
                    }
                    _ => Operand::Unknown,
                })
            }
            Token::Word(w) if w == "true" => Some(Operand::Bool(true)),
            Token::Word(w) if w == "false" => Some(Operand::Bool(false)),
            Token::Word(w) if w == "http.host" => Some(Operand::Host),
            Token::Word(w) if w.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                // Another field, maybe indexed (`http.request.headers["x"][0]`).
                while self.eat_sym("[") {
                    match self.next()? {
                        Token::Str(_) | Token::Word(_) => {}
                        Token::Sym(_) => return None,
                    }
                    if !self.eat_sym("]") {
                        return None;
                    }
                }
                Some(Operand::Unknown)
            }
            _ => None,
        }
    }

    /// A function argument.
    fn argument(&mut self) -> Option<Arg> {
        match self.peek()? {
            Token::Str(s) => {
                let s = s.clone();
                self.at += 1;
                Some(Arg::Str(s))
            }
            _ => Some(match self.operand()? {
                Operand::Host => Arg::Host,
                _ => Arg::Other,
            }),
        }
    }

    /// A literal, a `{…}` set, or a named list (`$name`).
    fn right_hand(&mut self) -> Option<Vec<Token>> {
        if self.eat_sym("{") {
            let mut values = Vec::new();
            loop {
                match self.next()? {
                    Token::Sym("}") => return Some(values),
                    Token::Sym(",") => {}
                    Token::Sym(_) => return None,
                    t => values.push(t),
                }
            }
        }
        match self.next()? {
            t @ (Token::Str(_) | Token::Word(_)) => Some(vec![t]),
            Token::Sym(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Host,
    Str(String),
    Other,
}

fn match_sym(sym: &str) -> &'static str {
    SYMBOLS.iter().find(|s| **s == sym).copied().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::matches_host;

    #[test]
    fn a_table_of_expressions() {
        let h = "app.physio-bucharest.test";
        let cases: &[(&str, Option<bool>)] = &[
            ("true", Some(true)),
            ("false", Some(false)),
            ("(true)", Some(true)),
            (r#"http.host eq "app.physio-bucharest.test""#, Some(true)),
            (r#"http.host == "APP.physio-bucharest.test""#, Some(true)),
            (r#"http.host eq "api.restartix.test""#, Some(false)),
            (r#"http.host ne "api.restartix.test""#, Some(true)),
            (
                r#"http.host in {"app.physio-bucharest.test" "portal.kinetic-cluj.test"}"#,
                Some(true),
            ),
            (r#"http.host in {"api.restartix.test"}"#, Some(false)),
            (
                r#"not http.host in {"app.physio-bucharest.test"}"#,
                Some(false),
            ),
            (r#"not http.host in {"api.restartix.test"}"#, Some(true)),
            (r#"!(http.host in {"api.restartix.test"})"#, Some(true)),
            (r#"ends_with(http.host, ".test")"#, Some(true)),
            (r#"ends_with(http.host, ".restartix.test")"#, Some(false)),
            (r#"starts_with(http.host, "app.")"#, Some(true)),
            (r#"http.host contains "physio""#, Some(true)),
            // Three-valued: another field decides only when the host does not.
            (
                r#"http.host eq "api.restartix.test" and http.request.uri.path eq "/x""#,
                Some(false),
            ),
            (
                r#"http.host eq "app.physio-bucharest.test" and http.request.uri.path eq "/x""#,
                None,
            ),
            (
                r#"http.host eq "app.physio-bucharest.test" or http.request.uri.path eq "/x""#,
                Some(true),
            ),
            (r#"http.request.uri.path eq "/x""#, None),
            (r#"(cf.zone.plan eq "ENT")"#, None),
            ("cf.tls_client_auth.cert_verified", None),
            (r#"http.request.headers["x-a"][0] eq "b""#, None),
            (r#"http.host matches "^app\\.""#, None),
            (r#"http.host ~ "app""#, None),
            (r#"http.host wildcard "*.test""#, None),
            (r#"lower(http.host) eq "app.physio-bucharest.test""#, None),
            (r#"http.host in $saas_hosts"#, None),
            (r#"ip.src in {10.0.0.0/8 192.168.0.1}"#, None),
            // Not understood at all.
            ("", None),
            ("http.host eq", None),
            (r#"(true"#, None),
            (r#"true true"#, None),
            (r#"http.host eq "a" @"#, None),
        ];
        for (expression, expected) in cases {
            assert_eq!(matches_host(expression, h), *expected, "{expression}");
        }
    }
}
