//! One `Engine` shared by many threads decides every request exactly as a single thread
//! does: the example policies, their requests and a few hostile ones, in different orders.

use gavel::{Backend, DecideOptions, Engine, Policy};
use std::path::Path;

const THREADS: usize = 8;
const ROUNDS: usize = 20;

fn requests(example: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(example.join("requests"))
        .expect("requests/")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("readable"))
        .collect();
    out.sort();
    out.push(b"{\"tool\": 1}".to_vec());
    out.push(b"\xff".to_vec());
    out.push(b"{\"tool\": \"undeclared.tool\", \"args\": {}}".to_vec());
    out
}

/// The decision as JSON with a fixed clock, so repeated decisions compare equal.
fn decide(engine: &Engine, request: &[u8]) -> serde_json::Value {
    engine.decide_with(request, DecideOptions { explain: true, now: Some(1_773_000_000.0) }).to_json()
}

#[test]
fn shared_engine_decides_like_a_single_thread() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<_> = std::fs::read_dir(&root).expect("examples/").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    examples.sort();
    assert!(examples.len() >= 5);
    for example in examples {
        let policy = Policy::from_paths(&[example.join("policy.pol")]).expect("the example compiles");
        let engine = policy.engine(Backend::Interpreter).expect("interpreter");
        let requests = requests(&example);
        let expected: Vec<serde_json::Value> = requests.iter().map(|r| decide(&engine, r)).collect();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (engine, requests, expected, example) = (&engine, &requests, &expected, &example);
                s.spawn(move || {
                    for round in 0..ROUNDS {
                        // Each thread walks the requests from a different starting point.
                        for k in 0..requests.len() {
                            let i = (k + t + round) % requests.len();
                            assert_eq!(decide(engine, &requests[i]), expected[i], "{} request {i}", example.display());
                        }
                    }
                });
            }
        });
    }
}
