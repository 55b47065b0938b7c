//! Every engine gives the same answers on every scenario's check requests (the bench checks
//! this too before timing; here it runs as a plain test:
//! `cargo test --release --manifest-path benches/peers/Cargo.toml`).

use gavel_peers::scenario::SCENARIOS;
use gavel_peers::Setup;

#[test]
fn every_engine_gives_the_same_answers_in_every_scenario() {
    for scenario in SCENARIOS {
        let mut setup = Setup::new(scenario).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        if let Err(e) = setup.check_agreement() {
            panic!("{e}");
        }
    }
}

#[test]
fn the_check_requests_cover_a_deny_and_an_allow_for_every_engine() {
    for scenario in SCENARIOS {
        let mut setup = Setup::new(scenario).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        let checks = scenario.checks();
        let denied = setup.answers(&checks[0].0).unwrap_or_else(|e| panic!("{e}"));
        let allowed = setup.answers(&checks[1].0).unwrap_or_else(|e| panic!("{e}"));
        assert!(denied.len() >= 6, "every engine answered: {denied:?}");
        assert!(denied.iter().all(|(_, a)| a.deny && a.fired == ["r0"]), "{denied:?}");
        assert!(allowed.iter().all(|(_, a)| !a.deny && a.fired.is_empty()), "{allowed:?}");
    }
}

#[test]
fn the_policies_have_one_rule_per_rule_in_every_language() {
    let scenario = SCENARIOS[2];
    let setup = Setup::new(scenario).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(setup.gavel_source.matches("deny when").count(), 1000);
    assert_eq!(setup.cedar_source.matches("forbid(").count(), 1000);
    assert_eq!(setup.rego_source.matches("deny contains").count(), 1000);
    assert_eq!(setup.cel_sources.len(), 1000);
    assert_eq!(setup.gavel.program().rules.len(), 1000);
}
