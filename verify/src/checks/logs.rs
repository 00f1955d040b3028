//! `logs.*`: log groups keep their events as long as declared, and no longer.

use crate::check::Check;

// --- what: the checks, declared ----------------------------------------------

pub fn checks() -> Vec<Check> {
    Vec::new()
}
