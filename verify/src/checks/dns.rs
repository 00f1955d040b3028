//! `dns.*`: the mail domains' MX records point at the declared provider.

use crate::check::Check;

// --- what: the checks, declared ----------------------------------------------

pub fn checks() -> Vec<Check> {
    Vec::new()
}
