//! One `Engine` shared by many threads decides every request exactly as a single thread
//! does: the example policies, their requests and a few hostile ones, in different orders,
//! on the interpreter and on the JIT (whose tool groups compile on first use, so the
//! threads also race to compile them), and the two backends give the same answers.

mod common;

use common::examples;
use gavel::{Backend, DecideOptions, Engine, Policy};
use std::path::Path;

const THREADS: usize = 8;
const ROUNDS: usize = 20;

fn requests(example: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        std::fs::read_dir(example.join("requests")).expect("requests/").map(|e| std::fs::read(e.expect("entry").path()).expect("readable")).collect();
    out.sort();
    out.push(b"{\"tool\": 1}".to_vec());
    out.push(b"\xff".to_vec());
    out.push(b"{\"tool\": \"undeclared.tool\", \"args\": {}}".to_vec());
    out
}

/// Windows make a decision depend on the ones before it, so a policy with windows is not
/// decided the same in every order (its store's own concurrency is tested in `store`).
fn has_windows(policy: &Policy) -> bool {
    !policy.program().windows.is_empty()
}

/// The decision as JSON with a fixed clock, so repeated decisions compare equal.
fn decide(engine: &Engine, request: &[u8], explain: bool) -> serde_json::Value {
    engine.decide_with(request, DecideOptions { explain, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_773_000_000)) }).to_json()
}

/// Each request's decision, without and with explanations, decided by one thread.
fn single_threaded(engine: &Engine, requests: &[Vec<u8>]) -> Vec<[serde_json::Value; 2]> {
    requests.iter().map(|r| [decide(engine, r, false), decide(engine, r, true)]).collect()
}

/// Many threads share `engine` and each decides every request `ROUNDS` times (explanations
/// on every other round); every answer must equal `expected`.
fn assert_shared_engine_agrees(engine: &Engine, requests: &[Vec<u8>], expected: &[[serde_json::Value; 2]], what: &str) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for round in 0..ROUNDS {
                    let explain = (round + t) % 2 == 1;
                    // Each thread walks the requests from a different starting point.
                    for k in 0..requests.len() {
                        let i = (k + t + round) % requests.len();
                        assert_eq!(decide(engine, &requests[i], explain), expected[i][usize::from(explain)], "{what} request {i} (explain: {explain})");
                    }
                }
            });
        }
    });
}

#[test]
fn shared_interpreter_decides_like_a_single_thread() {
    for example in examples() {
        let policy = Policy::from_paths(&[&example]).expect("the example compiles");
        if has_windows(&policy) {
            continue;
        }
        let engine = policy.engine(Backend::Interpreter).expect("interpreter");
        let requests = requests(&example);
        let expected = single_threaded(&engine, &requests);
        assert_shared_engine_agrees(&engine, &requests, &expected, &format!("interpreter, {}", example.display()));
    }
}

#[cfg(feature = "jit")]
#[test]
fn shared_jit_decides_like_a_single_thread_and_like_the_interpreter() {
    for example in examples() {
        let requests = requests(&example);
        // The single-threaded answers come from one compilation of the policy; the threads
        // share a JIT engine of a second, fresh compilation, so no tool group is compiled
        // yet when they start and they race to compile each one.
        let reference = Policy::from_paths(&[&example]).expect("the example compiles");
        if has_windows(&reference) {
            continue;
        }
        let interpreter = single_threaded(&reference.engine(Backend::Interpreter).expect("interpreter"), &requests);
        let jit = single_threaded(&reference.engine(Backend::Jit).expect("the example compiles to machine code"), &requests);
        assert_eq!(jit, interpreter, "{}: the JIT decides like the interpreter on one thread", example.display());
        let fresh = Policy::from_paths(&[&example]).expect("the example compiles");
        let shared = fresh.engine(Backend::Jit).expect("the example compiles to machine code");
        assert_shared_engine_agrees(&shared, &requests, &jit, &format!("jit, {}", example.display()));
    }
}
