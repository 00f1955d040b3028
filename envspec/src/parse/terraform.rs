//! `terraform { … }`: what a plan or state given to the run may be.
//!
//! ```hcl
//! terraform {
//!   max_plan_age  = "6h"            # the default; "off" judges a plan of any age
//!   extra_regions = ["us-east-1"]   # regions besides `region` a plan or state may name
//! }
//! ```

use super::*;

/// What `max_plan_age` takes besides a duration.
const OFF: &str = "off";

pub(super) fn settings(doc: &Doc, block: &Block) -> Result<TerraformInputs, SpecError> {
    let mut s = Section::of_block(doc, block)?;
    let max_plan_age = max_plan_age(&mut s)?;
    let extra_regions = extra_regions(&mut s)?;
    s.finish()?;
    Ok(TerraformInputs {
        max_plan_age,
        extra_regions,
        ..TerraformInputs::default()
    })
}

/// A duration above zero (read as every duration of the spec is), or
/// `"off"` (`None`); the default when not set.
fn max_plan_age(s: &mut Section) -> Result<Option<Duration>, SpecError> {
    const KEY: &str = "max_plan_age";
    const EXPECTED: &str = "a duration such as \"6h\" or \"90m\", or \"off\"";
    let Some(attr) = s.attribute(KEY) else {
        return Ok(Some(DEFAULT_MAX_PLAN_AGE));
    };
    let Expression::String(text) = &attr.value else {
        return Err(s.wrong_type(attr, EXPECTED));
    };
    let text = text.value().trim();
    if text == OFF {
        return Ok(None);
    }
    let age = humantime::parse_duration(text).map_err(|e| {
        s.doc.error(
            attr.value.span(),
            format!(
                "{}: `{KEY}` = \"{text}\" is not a valid duration ({e}); expected {EXPECTED}",
                s.what
            ),
        )
    })?;
    if age.is_zero() {
        return Err(s.invalid_value(KEY, &format!("above zero: {EXPECTED}")));
    }
    Ok(Some(age))
}

/// AWS region names (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`), each
/// once; a bad one is named at its own position in the list.
fn extra_regions(s: &mut Section) -> Result<Vec<String>, SpecError> {
    const KEY: &str = "extra_regions";
    let Some(regions) = s.strings(KEY)? else {
        return Ok(Vec::new());
    };
    for (i, region) in regions.iter().enumerate() {
        let problem = if !is_region(region) {
            Some(format!(
                "must be a list of AWS region names such as \"us-east-1\", found {region:?}"
            ))
        } else if regions[..i].contains(region) {
            Some(format!("lists {region:?} twice"))
        } else {
            None
        };
        if let Some(problem) = problem {
            let span = item_span(s, KEY, i);
            return Err(s.doc.error(span, format!("{}: `{KEY}` {problem}", s.what)));
        }
    }
    Ok(regions)
}

/// Where item `index` of list attribute `key` is written, else the
/// attribute's value (a list taken from a Terraform output).
fn item_span(s: &mut Section, key: &'static str, index: usize) -> Option<Range<usize>> {
    let value = &s.attribute(key)?.value;
    match value {
        Expression::Array(items) => items.iter().nth(index).and_then(|item| item.span()),
        _ => None,
    }
    .or_else(|| value.span())
}

/// `<2 letters>-<word>[-<word>…]-<number>`, lowercase: the shape of every
/// AWS region name (`eu-central-1`, `us-gov-west-1`, `us-isob-east-1`).
///
/// An unknown but well-formed name passes: AWS adds regions.
fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let word = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [country, middle @ .., number] if !middle.is_empty() => {
            country.len() == 2
                && word(country)
                && middle.iter().all(word)
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "environment = \"p\"\nregion = \"eu-central-1\"\naccount_id = \"210987654321\"\n";

    fn parse_block(block: &str) -> Result<Environment, SpecError> {
        parse(&format!("{HEADER}{block}"), Path::new("p.hcl"))
    }

    #[test]
    fn the_defaults_hold_without_the_block() {
        let env = parse_block("").unwrap();
        assert_eq!(env.terraform.max_plan_age, Some(DEFAULT_MAX_PLAN_AGE));
        assert_eq!(DEFAULT_MAX_PLAN_AGE, Duration::from_secs(6 * 3600));
        assert!(env.terraform.extra_regions.is_empty());
        assert!(env.terraform.plan.is_none() && env.terraform.state.is_none());
        let env = parse_block("terraform {\n}\n").unwrap();
        assert_eq!(env.terraform, TerraformInputs::default());
    }

    #[test]
    fn a_declared_age_and_regions_are_read() {
        let env = parse_block(
            "terraform {\n  max_plan_age  = \"90m\"\n  extra_regions = [\"us-east-1\", \"us-gov-west-1\"]\n}\n",
        )
        .unwrap();
        assert_eq!(
            env.terraform.max_plan_age,
            Some(Duration::from_secs(90 * 60))
        );
        assert_eq!(env.terraform.extra_regions, ["us-east-1", "us-gov-west-1"]);
        let off = parse_block("terraform {\n  max_plan_age = \"off\"\n}\n").unwrap();
        assert_eq!(off.terraform.max_plan_age, None);
        assert!(env.declaration("terraform", None).is_some());
    }

    /// Each bad value at its own line and column, saying what is expected.
    #[test]
    fn bad_values_are_refused_where_they_are() {
        let cases = [
            (
                "  max_plan_age = \"-6h\"\n",
                "p.hcl:5:18:",
                "is not a valid duration",
            ),
            (
                "  max_plan_age = \"six hours\"\n",
                "p.hcl:5:18:",
                "or \"off\"",
            ),
            ("  max_plan_age = \"0s\"\n", "p.hcl:5:18:", "above zero"),
            (
                "  max_plan_age = \"Off\"\n",
                "p.hcl:5:18:",
                "is not a valid duration",
            ),
            ("  max_plan_age = 6\n", "p.hcl:5:18:", "found the number 6"),
            (
                "  max_plan_age = false\n",
                "p.hcl:5:18:",
                "or \"off\", found the bool false",
            ),
            (
                "  extra_regions = [\"us-east-1\", \"US-East-1\"]\n",
                "p.hcl:5:33:",
                "AWS region names such as \"us-east-1\", found \"US-East-1\"",
            ),
            (
                "  extra_regions = [\"global\"]\n",
                "p.hcl:5:20:",
                "found \"global\"",
            ),
            (
                "  extra_regions = [\"us-east\"]\n",
                "p.hcl:5:20:",
                "found \"us-east\"",
            ),
            ("  extra_regions = [\"\"]\n", "p.hcl:5:20:", "found \"\""),
            (
                "  extra_regions = [\"us-east-1\", \"us-east-1\"]\n",
                "p.hcl:5:33:",
                "lists \"us-east-1\" twice",
            ),
            (
                "  extra_regions = \"us-east-1\"\n",
                "p.hcl:5:19:",
                "must be a list of strings",
            ),
            (
                "  regions = [\"us-east-1\"]\n",
                "p.hcl:5:3:",
                "unknown attribute `regions`",
            ),
        ];
        for (attribute, at, says) in cases {
            let e = parse_block(&format!("terraform {{\n{attribute}}}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(at), "{attribute}: {e}");
            assert!(e.contains("block `terraform`"), "{attribute}: {e}");
            assert!(e.contains(says), "{attribute}: {e} lacks {says:?}");
        }
        let twice = parse_block("terraform {\n}\nterraform {\n}\n")
            .unwrap_err()
            .to_string();
        assert!(twice.contains("may appear only once"), "{twice}");
    }

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-central-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "cn-northwest-1",
            "us-isob-east-1",
            "il-central-1",
        ] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "",
            "us",
            "us-1",
            "us-east",
            "USA-east-1",
            "us-East-1",
            "us-east-1a",
            "us--1",
            "u-east-1",
            "us-east-",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
