//! `s3.*`: the declared buckets are versioned, encrypted with the declared key, and closed to the public.

use crate::check::{Check, CheckDef};
use crate::spec::Environment;

// --- what: the checks, declared ----------------------------------------------

/// The checks a spec names, as templates for the catalogue.
pub(crate) const TEMPLATES: &[&CheckDef] = &[];

/// One check per declared item.
pub fn checks(_env: &Environment) -> Vec<Check> {
    Vec::new()
}
