//! A drill's dependents ([`envspec::Dependent`]): once the drill has seen
//! recovery, each must work again within its `recover_within`.

use std::time::Instant;

use envspec::Dependent;

use super::{Assertion, Mark};
use crate::gate::Gate;

/// Tries every dependent from now (the drill saw recovery) until it
/// succeeds or its `recover_within` passes, with a mark on the timeline
/// (at ms since `t0`) for each; the assertion `dependents_recovered`, or
/// `None` when the drill declares none.
#[allow(dead_code)] // wired into the drills in this issue
pub(crate) async fn recover(
    _gate: &Gate,
    dependents: &[Dependent],
    _t0: Instant,
    _marks: &mut Vec<Mark>,
) -> Option<Assertion> {
    if dependents.is_empty() {
        return None;
    }
    // Issue 21 in progress.
    None
}
