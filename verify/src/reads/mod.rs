//! Reads that more than one area relies on, each made once per run through
//! the describe cache (so every check it serves is credited with its
//! operations). A check's own single-use reads stay in its area's module.

pub mod ec2;
pub mod ecs;
pub mod elb;
pub mod events;
pub mod ses;
pub mod sns;

pub use ec2::{
    Admitted, DESCRIBE_SGS, GET_PREFIX_LIST_ENTRIES, SourcePolicy, admitted_sources, covers_port,
    parse_ranges, prefix_list_entries, private_ranges, referenced_prefix_lists, security_groups,
};
