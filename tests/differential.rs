//! Differential testing of the two backends. In: a seed; a small PRNG generates random
//! well-typed policy sets (as `.pol` text, with `on` blocks of block `let`s, `set`/`redact`
//! rules, `window` declarations over past decisions and `data` declarations with generated
//! data) and random requests (valid, invalid, and broken JSON bytes), decided with the
//! default limits and under a small work budget. A policy's requests are decided in order,
//! each engine with its own in-memory window store, so the windows see the same history on
//! both. Out: a failure listing every case where the interpreter's and the JIT's decision
//! JSON differ, with the policy, data and request to reproduce it.
//!
//! `GAVEL_DIFF_CASES` sets the number of cases (default 10,000); `GAVEL_DIFF_SEED` the seed.
//! `scripts/differential` runs a million.

#![cfg(feature = "jit")]

use gavel::{Backend, DecideOptions, Limits, Policy};

#[path = "common/policies.rs"]
mod policies;

use policies::{json_num, policy, Rng};

fn json_str(rng: &mut Rng) -> String {
    rng.pick(&["\"\"", "\"a\"", "\"x\"", "\"low\"", "\"high\"", "\"a,b\"", "\"Hello World\"", "\"x-y\"", "\"10.0.0.1\"", "\"abc123\"", "\"é\""]).to_string()
}

fn request(rng: &mut Rng) -> Vec<u8> {
    let tool = *rng.pick(&["t.a", "t.a", "t.b", "t.b", "t.c", "u.x", "other"]);
    let mut fields: Vec<String> = vec![format!("\"tool\": \"{tool}\"")];
    let list_num = |rng: &mut Rng| format!("[{}]", (0..rng.below(4)).map(|_| json_num(rng)).collect::<Vec<_>>().join(", "));
    let list_str = |rng: &mut Rng| format!("[{}]", (0..rng.below(4)).map(|_| json_str(rng)).collect::<Vec<_>>().join(", "));
    let mut args: Vec<String> = Vec::new();
    match tool {
        "t.a" => {
            args.push(format!("\"n\": {}", json_num(rng)));
            if rng.chance(50) {
                args.push(format!("\"m\": {}", json_num(rng)));
            }
            args.push(format!("\"s\": {}", json_str(rng)));
            args.push(format!("\"e\": \"{}\"", rng.pick(&["x", "y", "z"])));
            args.push(format!("\"b\": {}", rng.pick(&["true", "false"])));
            args.push(format!("\"l\": {}", list_num(rng)));
            args.push(format!("\"ls\": {}", list_str(rng)));
            args.push(format!("\"p\": {{\"k\": {}, \"v\": {}}}", json_str(rng), json_num(rng)));
            if rng.chance(50) {
                args.push(format!("\"mp\": {{\"a\": {}, \"x\": {}}}", json_num(rng), json_num(rng)));
            }
            args.push(format!("\"d\": {}", rng.pick(&["\"30s\"", "\"2h\"", "60", "\"1d\""])));
            if rng.chance(50) {
                args.push(format!("\"o\": {}", json_str(rng)));
            }
        }
        "t.b" => {
            args.push(format!("\"n\": {}", json_num(rng)));
            if rng.chance(50) {
                args.push(format!("\"s\": {}", json_str(rng)));
            }
            if rng.chance(50) {
                args.push(format!("\"ls\": {}", list_str(rng)));
            }
            let ps: Vec<String> = (0..rng.below(3)).map(|_| format!("{{\"k\": {}, \"v\": {}}}", json_str(rng), json_num(rng))).collect();
            args.push(format!("\"ps\": [{}]", ps.join(", ")));
        }
        _ => args.push("\"whatever\": 1".into()),
    }
    // Invalid requests: drop a field or give one the wrong type.
    if !args.is_empty() && rng.chance(8) {
        let i = rng.below(args.len());
        args.remove(i);
    }
    if !args.is_empty() && rng.chance(5) {
        let i = rng.below(args.len());
        let key = args[i].split(':').next().unwrap_or("\"n\"").to_string();
        args[i] = format!("{key}: {}", rng.pick(&["\"wrong\"", "17", "[true]", "null", "{}"]));
    }
    fields.push(format!("\"args\": {{{}}}", args.join(", ")));
    let mut agent = vec![format!("\"id\": {}", json_str(rng)), format!("\"trust\": \"{}\"", rng.pick(&["low", "high"]))];
    if rng.chance(50) {
        agent.push(format!("\"level\": {}", json_num(rng)));
    }
    fields.push(format!("\"agent\": {{{}}}", agent.join(", ")));
    fields.push(format!("\"workspace\": {}", json_str(rng)));
    fields.push(if rng.chance(50) { format!("\"context\": {{\"ticket\": {}}}", json_str(rng)) } else { "\"context\": {}".into() });
    if rng.chance(60) {
        fields.push(format!(
            "\"time\": \"{}\"",
            rng.pick(&[
                "2026-11-25T10:00:00Z",
                "2026-11-25T10:09:59Z",
                "2026-11-25T10:10:00Z",
                "2026-11-25T11:00:00Z",
                "2026-11-26T10:00:00Z",
                "2026-11-28T23:59:59Z",
                "1970-01-01T00:00:00Z",
            ])
        ));
    }
    if rng.chance(5) {
        fields.remove(1 + rng.below(fields.len() - 1));
    }
    let mut bytes = format!("{{{}}}", fields.join(", ")).into_bytes();
    if rng.chance(3) {
        bytes.truncate(rng.below(bytes.len()));
    }
    bytes
}

/// Runs `cases` requests over generated policies; returns the mismatches (and counts).
/// Half the policies are also decided under a small work budget (`max_work` of 0 to 80
/// units), so that running out of work is compared too.
fn run(seed: u64, cases: usize) -> (Vec<String>, usize, usize) {
    let mut rng = Rng(seed);
    let (mut done, mut policies, mut bad) = (0, 0, Vec::new());
    let requests_per_policy = 25;
    while done < cases {
        let generated = policy(&mut rng);
        let text = generated.shown();
        let mut limits = vec![Limits::default()];
        if rng.chance(50) {
            limits.push(Limits { max_work: rng.below(80), ..Limits::default() });
        }
        let compiled: Vec<(Policy, Limits)> = limits
            .into_iter()
            .map(|l| match generated.build(&l) {
                Ok(p) => (p, l),
                Err(d) => panic!("generated policy does not compile (generator bug):\n{text}\n{}", d.render()),
            })
            .collect();
        policies += 1;
        let mut engines = Vec::new();
        for (p, l) in &compiled {
            let interp = p.engine(Backend::Interpreter).expect("interpreter");
            match p.engine(Backend::Jit) {
                Ok(jit) => engines.push((interp, jit, l.max_work)),
                Err(e) => bad.push(format!("JIT failed to compile:\n{text}\n{e}")),
            }
        }
        if engines.is_empty() {
            done += requests_per_policy;
            continue;
        }
        for _ in 0..requests_per_policy.min(cases - done) {
            let req = request(&mut rng);
            let options = DecideOptions { explain: rng.chance(20), now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) };
            for (interp, jit, max_work) in &engines {
                let a = interp.decide_with(&req, options).to_json();
                let b = jit.decide_with(&req, options).to_json();
                if a != b {
                    bad.push(format!("policy (max_work {max_work}):\n{text}\nrequest: {}\ninterpreter: {a}\njit:         {b}", String::from_utf8_lossy(&req)));
                }
            }
            done += 1;
        }
    }
    (bad, done, policies)
}

#[test]
fn interpreter_and_jit_decide_alike() {
    let cases = std::env::var("GAVEL_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let seed = std::env::var("GAVEL_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x6a76_656c);
    let (bad, done, policies) = run(seed, cases);
    eprintln!("differential: {done} cases over {policies} policies, seed {seed}, {} mismatches", bad.len());
    assert!(done >= cases);
    assert!(bad.is_empty(), "{} mismatches; first:\n{}", bad.len(), bad.iter().take(3).cloned().collect::<Vec<_>>().join("\n\n"));
}

#[test]
fn generated_requests_reach_every_outcome() {
    // The generator must produce rule errors, fired rules and input errors, or the
    // differential test compares only trivial decisions.
    let mut rng = Rng(7);
    let (mut errors, mut fired, mut invalid) = (0, 0, 0);
    for _ in 0..40 {
        let generated = policy(&mut rng);
        let p = generated.build(&Limits::default()).unwrap_or_else(|d| panic!("{}\n{}", generated.shown(), d.render()));
        let e = p.engine(Backend::Jit).expect("jit");
        for _ in 0..25 {
            let d = e
                .decide_with(
                    &request(&mut rng),
                    DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) },
                )
                .to_json();
            let errs = d["errors"].as_array().cloned().unwrap_or_default();
            errors += errs.iter().filter(|e| e["kind"] == "rule").count();
            invalid += usize::from(errs.iter().any(|e| e["kind"] != "rule"));
            fired += d["rules"].as_array().map_or(0, Vec::len);
        }
    }
    assert!(errors > 0 && fired > 0 && invalid > 0, "errors {errors}, fired {fired}, invalid {invalid}");
}

#[test]
fn generated_policies_use_block_lets_and_run_out_of_work() {
    // Block lets and budget errors must occur, or the differential test does not cover them.
    let mut rng = Rng(11);
    let (mut blocks, mut out_of_work) = (0, 0);
    for _ in 0..40 {
        let generated = policy(&mut rng);
        blocks += usize::from(generated.text.contains("  let v"));
        let limits = Limits { max_work: rng.below(80), ..Limits::default() };
        let p = generated.build(&limits).unwrap_or_else(|d| panic!("{}\n{}", generated.shown(), d.render()));
        let e = p.engine(Backend::Jit).expect("jit");
        for _ in 0..25 {
            let d = e
                .decide_with(
                    &request(&mut rng),
                    DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) },
                )
                .to_json();
            out_of_work += d["errors"].as_array().into_iter().flatten().filter(|e| e["message"].as_str().is_some_and(|m| m.contains("max_work"))).count();
        }
    }
    assert!(blocks > 0 && out_of_work > 0, "blocks {blocks}, out of work {out_of_work}");
}

#[test]
fn generated_policies_use_windows_data_and_modifications() {
    // Windows that count something, data lists long enough to be hashed, and `set`/`redact`
    // applied to allowed calls must occur, or the differential test does not compare them.
    let mut rng = Rng(13);
    let (mut windowed, mut hashed, mut modified, mut counted) = (0, 0, 0, 0);
    for _ in 0..60 {
        let generated = policy(&mut rng);
        windowed += usize::from(generated.text.contains("window w0"));
        hashed += usize::from(generated.data.iter().any(|(name, json)| *name == "ids" && json.matches(',').count() >= 8));
        let p = generated.build(&Limits::default()).unwrap_or_else(|d| panic!("{}\n{}", generated.shown(), d.render()));
        // One engine keeps the history; a fresh one per request has none: where their
        // decisions differ, a window counted something.
        let e = p.engine(Backend::Interpreter).expect("interpreter");
        for _ in 0..25 {
            let options = DecideOptions { explain: false, now: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_064_800)) };
            let req = request(&mut rng);
            let d = e.decide_with(&req, options).to_json();
            modified += usize::from(d["modifications"].as_array().is_some_and(|m| !m.is_empty()));
            if generated.text.contains("window w0") {
                counted += usize::from(p.engine(Backend::Interpreter).expect("interpreter").decide_with(&req, options).to_json() != d);
            }
        }
    }
    assert!(windowed > 0 && hashed > 0 && modified > 0 && counted > 0, "windowed {windowed}, hashed {hashed}, modified {modified}, counted {counted}");
}
