//! `dependent "<name>" { … }` inside a drill's block: what must work again
//! after the drill saw recovery ([`Dependent`]).
//!
//! ```hcl
//! dependent "core_api" {
//!   url            = "https://api.example.com/v1/health"
//!   recover_within = "60s"
//! }
//! dependent "t0" {
//!   canary         = "t0"
//!   recover_within = "2m"
//! }
//! ```

use super::*;

/// Every `dependent` block of the drill block `s` reads. `canaries` are the
/// spec's, which a `canary = "<name>"` must name.
pub(super) fn dependents(
    doc: &Doc,
    s: &mut Section,
    canaries: &[CanarySpec],
) -> Result<Vec<Dependent>, SpecError> {
    let mut out = Vec::new();
    for (name, block) in s.labelled_blocks("dependent")? {
        let mut d = Section::of_block(doc, block)?;
        gates::check_label(doc, block, &name)?;
        let canary = d.string("canary")?;
        let url = d.string("url")?;
        let target = match (canary, url) {
            (Some(_), Some(_)) => {
                return Err(d.invalid_value(
                    "url",
                    "left out when `canary` is set (a dependent is one canary or one URL)",
                ));
            }
            (None, None) => {
                return Err(d.missing(
                    "canary",
                    "the name of a `canary` block of this spec, or `url` for an https URL that must answer 2xx",
                ));
            }
            (Some(canary), None) => {
                if !canaries.iter().any(|c| c.name == canary) {
                    let declared: Vec<&str> = canaries.iter().map(|c| c.name.as_str()).collect();
                    return Err(d.invalid_value(
                        "canary",
                        &format!(
                            "the name of a `canary` block of this spec ({}); \"{canary}\" is not one",
                            if declared.is_empty() {
                                "it declares none".to_string()
                            } else {
                                declared.join(", ")
                            }
                        ),
                    ));
                }
                DependentTarget::Canary(canary)
            }
            (None, Some(url)) => {
                if !valid_url(&url) {
                    return Err(d.invalid_value(
                        "url",
                        "an absolute https:// URL with a host, no credentials (`user:password@`) \
                         and no placeholders, e.g. \"https://api.example.com/health\"",
                    ));
                }
                DependentTarget::Url(url)
            }
        };
        let recover_within = match d.duration("recover_within")? {
            None => {
                return Err(d.missing(
                    "recover_within",
                    "how long after recovery it may take to succeed again, e.g. \"60s\"",
                ));
            }
            Some(within) if within.is_zero() => {
                return Err(d.invalid_value("recover_within", "a duration above zero"));
            }
            Some(within) => within,
        };
        d.finish()?;
        out.push(Dependent {
            name,
            target,
            recover_within,
        });
    }
    Ok(out)
}

/// `https://host[:port][/path]`: a host, no userinfo, no whitespace, no
/// `{{placeholder}}` (a dependent's URL is shown in the report as written).
fn valid_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    !host.is_empty()
        && !authority.contains('@')
        && !url.contains("{{")
        && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "environment = \"s\"\nregion = \"eu-central-1\"\naccount_id = \"123456789012\"\n\
        rds \"core\" {\n  identifier = \"db\"\n}\n\
        canary \"health\" {\n  base_url = \"https://api.example.com\"\n  path = \"/health\"\n}\n";

    fn spec(dependents: &str) -> Result<Vec<Dependent>, SpecError> {
        let text =
            format!("{HEAD}drills {{\n  allowed = true\n  rds_failover {{\n{dependents}  }}\n}}\n");
        crate::parse(&text, "s.hcl".as_ref())
            .map(|env| env.drills.rds_failover.expect("rds_failover").dependents)
    }

    /// The refusal's message and where it points (line, column).
    fn refused(dependents: &str) -> (String, usize, usize) {
        match spec(dependents) {
            Err(SpecError::Invalid {
                message,
                line,
                column,
                ..
            }) => (message, line, column),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_canary_and_a_url_are_read_in_order() {
        let read = spec(
            "    dependent \"health\" {\n      url = \"https://api.example.com/v1/health\"\n      recover_within = \"60s\"\n    }\n\
             \x20   dependent \"canary\" {\n      canary = \"health\"\n      recover_within = \"2m\"\n    }\n",
        )
        .unwrap();
        assert_eq!(
            read,
            vec![
                Dependent {
                    name: "health".into(),
                    target: DependentTarget::Url("https://api.example.com/v1/health".into()),
                    recover_within: Duration::from_secs(60),
                },
                Dependent {
                    name: "canary".into(),
                    target: DependentTarget::Canary("health".into()),
                    recover_within: Duration::from_secs(120),
                },
            ]
        );
        assert_eq!(spec("").unwrap(), Vec::new());
    }

    /// Each refusal names the block and points at the line of the value at
    /// fault (the block itself when something is missing).
    #[test]
    fn bad_dependents_are_refused_at_their_line() {
        let cases: [(&str, &str, usize); 10] = [
            (
                "    dependent \"d\" {\n      canary = \"health\"\n      url = \"https://a.example/\"\n      recover_within = \"1m\"\n    }\n",
                "`url` must be left out when `canary` is set",
                16,
            ),
            (
                "    dependent \"d\" {\n      recover_within = \"1m\"\n    }\n",
                "missing required attribute `canary`",
                14,
            ),
            (
                "    dependent \"d\" {\n      canary = \"t0\"\n      recover_within = \"1m\"\n    }\n",
                "\"t0\" is not one",
                15,
            ),
            (
                "    dependent \"d\" {\n      url = \"http://api.example.com/health\"\n      recover_within = \"1m\"\n    }\n",
                "`url` must be an absolute https:// URL",
                15,
            ),
            (
                "    dependent \"d\" {\n      url = \"https://user:pw@api.example.com/\"\n      recover_within = \"1m\"\n    }\n",
                "no credentials",
                15,
            ),
            (
                "    dependent \"d\" {\n      url = \"https://a.example/\"\n      recover_within = \"0s\"\n    }\n",
                "`recover_within` must be a duration above zero",
                16,
            ),
            (
                "    dependent \"d\" {\n      url = \"https://a.example/\"\n    }\n",
                "missing required attribute `recover_within`",
                14,
            ),
            (
                "    dependent \"d\" {\n      url = \"https://a.example/\"\n      recover_within = \"1m\"\n    }\n\
                 \x20   dependent \"d\" {\n      url = \"https://b.example/\"\n      recover_within = \"1m\"\n    }\n",
                "block `dependent \"d\"` is declared twice",
                18,
            ),
            (
                "    dependent \"d\" {\n      url = \"https://a.example/\"\n      recover_within = \"1m\"\n      retries = 3\n    }\n",
                "unknown attribute `retries`",
                17,
            ),
            (
                "    dependent \"d e\" {\n      url = \"https://a.example/\"\n      recover_within = \"1m\"\n    }\n",
                "may hold only letters, digits",
                14,
            ),
        ];
        for (text, needle, line) in cases {
            let (message, at, column) = refused(text);
            assert!(message.contains(needle), "{needle:?} not in {message:?}");
            assert!(message.contains("dependent \"d"), "{message}");
            assert_eq!(at, line, "{message}");
            assert!(column > 0, "{message}");
        }
    }

    #[test]
    fn urls_are_https_with_a_host() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com:8443/v1/health?deep=1",
            "https://[::1]:8443/health",
        ] {
            assert!(valid_url(ok), "{ok}");
        }
        for bad in [
            "http://api.example.com/health",
            "https:///health",
            "https://u@api.example.com/",
            "https://api.example.com/{{token}}",
            "https://api.example.com/a b",
            "api.example.com/health",
        ] {
            assert!(!valid_url(bad), "{bad}");
        }
    }
}
