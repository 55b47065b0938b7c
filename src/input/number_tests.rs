//! Numbers are correctly rounded on both decoder paths: every JSON number decodes to the
//! double `str::parse::<f64>` gives (Rust's parser is correctly rounded), bit for bit, and
//! one that parses to infinity is an input error. The generated strings sit where a parser
//! that is merely close goes wrong: exact halfway points between neighbouring doubles and
//! digits just either side of them, long expansions, subnormals, 2^53 + 1, the overflow
//! threshold, in fixed, exponent and integer forms.

use super::*;
use crate::types::Type;
use proptest::prelude::*;

fn decoder() -> Decoder {
    let mut tools = IndexMap::new();
    tools.insert("t".to_string(), vec![FieldType { name: "n".into(), ty: Type::Number, optional: false, lenient: false }]);
    let schema = RequestSchema { envelope: Vec::new(), tools, open_tools: Default::default() };
    Decoder::new(&schema, &[vec!["args".to_string(), "n".to_string()]])
}

/// The request with `number` as the number argument: plain (the fast path takes it), and
/// with `args` before `tool` (only the full decoder reads it, from a raw slice).
fn requests(number: &str) -> [String; 2] {
    [format!(r#"{{"tool": "t", "args": {{"n": {number}}}}}"#), format!(r#"{{"args": {{"n": {number}}}, "tool": "t"}}"#)]
}

fn slot(frame: &Frame) -> f64 {
    match frame.slots.first() {
        Some(Value::Num(n)) => *n,
        other => panic!("the slot holds {other:?}"),
    }
}

/// Every way of decoding `number` agrees with `str::parse::<f64>`, bit for bit, or all
/// refuse it when the reference overflows.
fn assert_correctly_rounded(number: &str) {
    let reference: f64 = number.parse().unwrap_or_else(|e| panic!("not a number: {number}: {e}"));
    let dec = decoder();
    for request in requests(number) {
        let bytes = request.as_bytes();
        let full = dec.decode_full_only(bytes, 0.0);
        let public = dec.decode(bytes, 0.0);
        let fast = dec.decode_fast_only(bytes, 0.0);
        if reference.is_infinite() {
            let e = full.expect_err(number);
            // A declared number: an input error at its path (`args.n`), not malformed JSON.
            assert_eq!((e.errors[0].path.as_str(), e.errors[0].found.as_str()), ("args.n", "a number out of range"), "{number}: {e:?}");
            assert_eq!(public.expect_err(number), e, "{number}");
            assert!(fast.is_none(), "the fast path accepted {number}");
            continue;
        }
        let want = reference.to_bits();
        let full = full.unwrap_or_else(|e| panic!("{number}: {e:?}"));
        assert_eq!(slot(&full).to_bits(), want, "full decoder: {number} gave {:e}, not {reference:e}", slot(&full));
        let public = public.unwrap_or_else(|e| panic!("{number}: {e:?}"));
        assert_eq!(slot(&public).to_bits(), want, "decode: {number} gave {:e}, not {reference:e}", slot(&public));
        if request.starts_with(r#"{"tool""#) {
            let fast = fast.unwrap_or_else(|| panic!("the fast path handed over {number}"));
            assert_eq!(slot(&fast).to_bits(), want, "fast path: {number} gave {:e}, not {reference:e}", slot(&fast));
        }
    }
}

// ---------- the issue's reproductions ----------

#[test]
fn a_number_just_above_the_halfway_point_above_10000_is_above_10000() {
    // 10000 + half an ulp (2^-40) + 10^-50: the nearest double is the one above 10000.
    let text = "10000.00000000000090949470177292823791503906250001";
    assert_correctly_rounded(text);
    let frame = decoder().decode(requests(text)[0].as_bytes(), 0.0).expect("valid");
    assert!(slot(&frame) > 10000.0);
}

#[test]
fn an_integer_and_the_same_number_with_a_fraction_are_the_same_double() {
    // 2^53 + 1 is halfway between 2^53 and 2^53 + 2: ties go to the even 2^53.
    for text in ["9007199254740993", "9007199254740993.0", "9007199254740993e0", "90071992547409930e-1", "-9007199254740993.0"] {
        assert_correctly_rounded(text);
    }
    let dec = decoder();
    let read = |text: &str| slot(&dec.decode(requests(text)[0].as_bytes(), 0.0).expect("valid"));
    assert_eq!(read("9007199254740993").to_bits(), read("9007199254740993.0").to_bits());
}

#[test]
fn known_hard_cases_are_correctly_rounded() {
    for text in [
        "0.9999999999999999",
        "1.5777777777770001",
        "117.63331139400017",
        "122.416294033786585",
        "10587.436593658975",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "179769313486231580793728971405301e276",
        "-0",
        "-0.0",
        "0e-999999",
        "1e-400",
        "1e400",
        "-1e400",
    ] {
        assert_correctly_rounded(text);
    }
}

// ---------- generated strings near thresholds ----------

/// The exact decimal expansion of a finite double, as an integer digit string and a power
/// of ten: `x = digits × 10^-FRACTION` (Rust formats doubles exactly at any precision).
const FRACTION: usize = 1100;

fn exact(x: f64) -> Vec<u8> {
    let text = format!("{:.*}", FRACTION, x.abs());
    text.bytes().filter(u8::is_ascii_digit).map(|d| d - b'0').collect()
}

/// `(a + b) / 2` of two digit strings of equal length (least significant digit last), one
/// digit longer so the half stays exact.
fn midpoint(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut sum = vec![0u8; a.len() + 1];
    let mut carry = 0;
    for i in (0..a.len()).rev() {
        let s = a[i] + b[i] + carry;
        sum[i + 1] = s % 10;
        carry = s / 10;
    }
    sum[0] = carry;
    // Halve, then append the digit the last odd remainder leaves (x.5 -> one more place).
    let mut out = Vec::with_capacity(sum.len() + 1);
    let mut rem = 0;
    for d in sum {
        let v = rem * 10 + d;
        out.push(v / 2);
        rem = v % 2;
    }
    out.push(rem * 5);
    out
}

/// A number written from `digits × 10^-scale` in one of several JSON forms.
fn render(negative: bool, digits: &[u8], scale: usize, form: u8) -> String {
    let start = digits.iter().position(|&d| d != 0).unwrap_or(digits.len().saturating_sub(1));
    let mut digits: Vec<u8> = digits[start..].to_vec();
    let mut scale = scale as i64;
    // Trailing zeros of the fraction carry no value.
    while digits.len() > 1 && digits.last() == Some(&0) && scale > 0 {
        digits.pop();
        scale -= 1;
    }
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let sign = if negative { "-" } else { "" };
    let len = text.len() as i64;
    match form % 4 {
        // Fixed: `123.456`, `0.000123`, `123000`.
        0 => {
            if scale <= 0 {
                format!("{sign}{text}{}", "0".repeat((-scale) as usize))
            } else if scale < len {
                let (int, frac) = text.split_at((len - scale) as usize);
                format!("{sign}{int}.{frac}")
            } else {
                format!("{sign}0.{}{text}", "0".repeat((scale - len) as usize))
            }
        }
        // Scientific: `1.23456e2`.
        1 => {
            let (first, rest) = text.split_at(1);
            let exp = len - 1 - scale;
            if rest.is_empty() {
                format!("{sign}{first}e{exp}")
            } else {
                format!("{sign}{first}.{rest}E{exp:+}")
            }
        }
        // An integer mantissa: `123456e-3`.
        2 => format!("{sign}{text}e{}", -scale),
        // Fixed with a trailing `.0`, or an exponent with leading zeros.
        _ => {
            if scale <= 0 && len - scale <= 40 {
                format!("{sign}{text}{}.0", "0".repeat((-scale) as usize))
            } else {
                format!("{sign}{text}e-{:04}", scale)
            }
        }
    }
}

/// Doubles worth probing: any bit pattern, near powers of ten and of two, near 10,000 and
/// 2^53, subnormals, near the largest double.
fn doubles() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (-30i32..30, 1u64..2000).prop_map(|(e, k)| 10f64.powi(e) * k as f64 / 1000.0),
        (-1074i32..1024).prop_map(|e| 2f64.powi(e)),
        (0u64..4096).prop_map(|k| f64::from_bits(10000f64.to_bits() - 2048 + k)),
        (0u64..64).prop_map(|k| 9007199254740992.0 - 32.0 + k as f64),
        (0u64..1 << 20).prop_map(f64::from_bits),
        (0u64..1024).prop_map(|k| f64::from_bits(f64::MAX.to_bits() - k)),
    ]
    .prop_filter("finite", |x| x.is_finite())
}

/// Digits just around the halfway point between `x` and the next double up, the double
/// itself, and cuts of their expansions.
fn near(x: f64, pick: u8, cut: usize, tail: u64) -> (Vec<u8>, usize) {
    let up = x.abs().next_up();
    let lo = exact(x.abs());
    // Above the largest double the next "double" is the overflow threshold's other side:
    // MAX + ulp, whose halfway point is where parsing starts to give infinity.
    let hi = if up.is_infinite() { exact_max_plus_ulp() } else { exact(up) };
    let (lo, hi) = if lo.len() == hi.len() { (lo, hi) } else { pad(lo, hi) };
    let mid = midpoint(&lo, &hi);
    let scale = FRACTION + 1;
    let mut digits = match pick % 6 {
        0 => mid.clone(),
        1 => {
            // Just above halfway: many zeros, then more digits.
            let mut d = mid.clone();
            d.extend(std::iter::repeat_n(0, cut % 40));
            d.extend(tail.to_string().bytes().map(|b| b - b'0'));
            return (d.clone(), scale + cut % 40 + tail.to_string().len());
        }
        2 => below(&mid),
        3 => {
            let mut d = lo.clone();
            d.push(0);
            d
        }
        _ => mid.clone(),
    };
    // Cut the expansion short at a digit count that keeps it near (rounds toward zero).
    if pick % 6 >= 4 {
        let first = digits.iter().position(|&d| d != 0).unwrap_or(0);
        let keep = (first + 1 + cut % 800).min(digits.len());
        for d in digits.iter_mut().skip(keep) {
            *d = 0;
        }
    }
    (digits, scale)
}

fn pad(mut lo: Vec<u8>, mut hi: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    while lo.len() < hi.len() {
        lo.insert(0, 0);
    }
    while hi.len() < lo.len() {
        hi.insert(0, 0);
    }
    (lo, hi)
}

/// MAX + one ulp of MAX (2^1024), exactly.
fn exact_max_plus_ulp() -> Vec<u8> {
    let half = exact(2f64.powi(1023));
    let sum = midpoint(&half, &half); // 2^1023, one digit longer
                                      // Doubling back: 2^1024 = 2 × 2^1023.
    let mut out = vec![0u8; sum.len() + 1];
    let mut carry = 0;
    for i in (0..sum.len()).rev() {
        let v = sum[i] * 2 + carry;
        out[i + 1] = v % 10;
        carry = v / 10;
    }
    out[0] = carry;
    // Back to FRACTION fractional digits: drop the digit `midpoint` added.
    out.pop();
    out
}

/// The digit string just below `digits` (one unit less in its last place, 0 stays 0).
fn below(digits: &[u8]) -> Vec<u8> {
    let mut d = digits.to_vec();
    for i in (0..d.len()).rev() {
        if d[i] > 0 {
            d[i] -= 1;
            return d;
        }
        d[i] = 9;
    }
    digits.to_vec()
}

#[test]
fn the_test_arithmetic_is_exact() {
    // The midpoint between 1 and the next double is 1 + 2^-53, exactly.
    let (one, next) = (exact(1.0), exact(1f64.next_up()));
    let text = render(false, &midpoint(&one, &next), FRACTION + 1, 0);
    assert_eq!(text, "1.00000000000000011102230246251565404236316680908203125");
    assert_eq!(render(false, &exact(2.5), FRACTION, 2), "25e-1");
    assert_eq!(render(true, &exact(0.015625), FRACTION, 1), "-1.5625E-2");
    // The overflow threshold: MAX + half an ulp parses to infinity, a digit less does not.
    let max = exact(f64::MAX);
    let (max, top) = pad(max, exact_max_plus_ulp());
    let threshold = render(false, &midpoint(&max, &top), FRACTION + 1, 1);
    assert!(threshold.parse::<f64>().unwrap().is_infinite(), "{threshold}");
    assert!(render(false, &below(&midpoint(&max, &top)), FRACTION + 1, 1).parse::<f64>().unwrap().is_finite());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn numbers_near_thresholds_decode_as_std_parses_them(
        x in doubles(),
        pick in 0u8..6,
        cut in 0usize..1000,
        tail in 1u64..1_000_000,
        form in 0u8..4,
    ) {
        let (digits, scale) = near(x, pick, cut, tail);
        assert_correctly_rounded(&render(x.is_sign_negative(), &digits, scale, form));
    }

    #[test]
    fn shortest_and_long_forms_of_doubles_decode_as_std_parses_them(x in doubles(), digits in 1usize..30, form in 0u8..4) {
        // The shortest representation, and the expansion cut after some digits.
        assert_correctly_rounded(&format!("{x:?}"));
        let exact = exact(x);
        let first = exact.iter().position(|&d| d != 0).unwrap_or(0);
        let mut cut = exact.clone();
        for d in cut.iter_mut().skip(first + digits) {
            *d = 0;
        }
        assert_correctly_rounded(&render(x.is_sign_negative(), &cut, FRACTION, form));
    }
}
