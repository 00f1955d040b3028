//! `dependent "<name>" { … }` inside a drill's block: what must work again
//! after the drill saw recovery ([`Dependent`]).

use super::*;

/// Every `dependent` block of the drill block `s` reads. `canaries` are the
/// spec's, which a `canary = "<name>"` must name.
pub(super) fn dependents(
    _doc: &Doc,
    _s: &mut Section,
    _canaries: &[CanarySpec],
) -> Result<Vec<Dependent>, SpecError> {
    // Issue 21 in progress: the reader comes with the drills' dependents.
    Ok(Vec::new())
}
