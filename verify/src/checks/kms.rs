//! `kms.*`: customer-managed keys rotate automatically, and have rotated.

use crate::check::Check;

// --- what: the checks, declared ----------------------------------------------

pub fn checks() -> Vec<Check> {
    Vec::new()
}
