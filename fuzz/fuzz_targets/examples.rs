//! The example policies the request targets decide on (shared by `request` and
//! `request_engines`; not a fuzz target itself).

pub const POLICIES: &[(&str, &str)] = &[
    ("payments.pol", include_str!("../../examples/payments/policy.pol")),
    ("messaging.pol", include_str!("../../examples/messaging/policy.pol")),
    ("devops.pol", include_str!("../../examples/devops/policy.pol")),
    ("data-export.pol", include_str!("../../examples/data-export/policy.pol")),
    ("support.pol", include_str!("../../examples/support/policy.pol")),
];
