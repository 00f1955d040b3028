//! `secrets.*`: the declared secrets exist, rotate, and (opt-in) hold production values.

use crate::check::{Check, CheckDef};
use crate::spec::Environment;

// --- what: the checks, declared ----------------------------------------------

/// The checks a spec names, as templates for the catalogue.
pub(crate) const TEMPLATES: &[&CheckDef] = &[];

/// One check per declared item.
pub fn checks(_env: &Environment) -> Vec<Check> {
    Vec::new()
}
