//! The service's metrics (PRODUCT.md §4.1 names) and their Prometheus text for `/metrics`.
//! In: what the handlers count. Out: the OpenMetrics text exposition.

use gavel::decision::Outcome;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabel {
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: String,
}

pub struct Metrics {
    registry: Registry,
    /// `decisions`' counters for allow, deny and require_approval, taken once: counting one
    /// is an atomic add, no label lookup.
    by_outcome: [Counter; 3],
    rules: Family<RuleLabel, Counter>,
    duration: Histogram,
    reloads: Family<ResultLabel, Counter>,
    approvals: Family<ActionLabel, Counter>,
    log_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabel, Counter>::default();
        let rules = Family::<RuleLabel, Counter>::default();
        // 10 µs to ~1.3 s: a decision takes microseconds; its log and store writes more.
        let duration = Histogram::new(exponential_buckets(0.000_01, 2.0, 18));
        let reloads = Family::<ResultLabel, Counter>::default();
        let approvals = Family::<ActionLabel, Counter>::default();
        let log_errors = Counter::default();
        registry.register("gavel_decisions", "Decisions answered, by outcome", decisions.clone());
        registry.register("gavel_rule_fired", "Rules that fired in answered decisions (shadow rules too)", rules.clone());
        registry.register("gavel_decision_duration_seconds", "Time to decide, log and answer one call", duration.clone());
        registry.register("gavel_reloads", "Policy reloads, by result (ok, error)", reloads.clone());
        registry.register("gavel_approvals", "Approval actions (created, approved, rejected, expired, consumed)", approvals.clone());
        registry.register("gavel_log_errors", "Decision log writes that failed (each answered 503)", log_errors.clone());
        // Every outcome is present from the start, so dashboards see zeros, not gaps.
        let by_outcome =
            [Outcome::Allow, Outcome::Deny, Outcome::RequireApproval].map(|o| decisions.get_or_create(&DecisionLabel { decision: o.as_str().into() }).clone());
        for r in ["ok", "error"] {
            let _ = reloads.get_or_create(&ResultLabel { result: r.into() });
        }
        Metrics { registry, by_outcome, rules, duration, reloads, approvals, log_errors }
    }
}

impl Metrics {
    pub fn decided(&self, decision: Outcome, fired: &[String], seconds: f64) {
        let i = match decision {
            Outcome::Allow => 0,
            Outcome::Deny => 1,
            Outcome::RequireApproval => 2,
        };
        self.by_outcome[i].inc();
        for rule in fired {
            self.rules.get_or_create(&RuleLabel { rule: rule.clone() }).inc();
        }
        self.duration.observe(seconds);
    }

    pub fn reloaded(&self, ok: bool) {
        self.reloads.get_or_create(&ResultLabel { result: if ok { "ok" } else { "error" }.into() }).inc();
    }

    pub fn approval(&self, action: &str) {
        self.approvals.get_or_create(&ActionLabel { action: action.to_string() }).inc();
    }

    pub fn log_error(&self) {
        self.log_errors.inc();
    }

    pub fn log_errors(&self) -> u64 {
        self.log_errors.get()
    }

    /// The text exposition (OpenMetrics, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // INVARIANT: writing to a `String` cannot fail.
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("encoding into a String");
        out
    }
}

/// The content type of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
