//! Natives of `stdlib/pii.pol`: checksums and number scanners that the language cannot
//! express. In: strings from policy text or requests (any bytes, any length). Out: booleans
//! and lists of the substrings found. Every function is linear in its input and never panics.

/// Luhn (mod 10) check of `s`: ASCII digits with optional spaces and dashes between them,
/// at least two digits. Anything else (letters, non-ASCII digits, empty) is `false`.
pub fn luhn_valid(s: &str) -> bool {
    match digits_with_separators(s) {
        Some(digits) if digits.len() >= 2 => luhn(&digits),
        _ => false,
    }
}

/// The digits of `s` (as values 0–9) when `s` holds only ASCII digits, spaces and dashes.
fn digits_with_separators(s: &str) -> Option<Vec<u8>> {
    let mut digits = Vec::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => digits.push(b - b'0'),
            b' ' | b'-' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// Luhn over digit values: from the right, every second digit doubled (minus 9 above 9).
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A US Social Security number that could have been issued: `DDD-DD-DDDD`, `DDD DD DDDD` or
/// nine bare digits (surrounding whitespace ignored), with area not 000, 666 or 900–999,
/// group not 00 and serial not 0000.
pub fn ssn_valid(s: &str) -> bool {
    let b = s.trim().as_bytes();
    let digits: Vec<u8> = match b.len() {
        9 => b.to_vec(),
        11 => {
            let sep = b[3]; // INVARIANT: length checked to be 11
            if (sep != b'-' && sep != b' ') || b[6] != sep {
                return false;
            }
            b[..3].iter().chain(&b[4..6]).chain(&b[7..]).copied().collect()
        }
        _ => return false,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (area, group, serial) = (&digits[..3], &digits[3..5], &digits[5..]);
    area != b"000" && area != b"666" && area[0] != b'9' && group != b"00" && serial != b"0000"
}

/// One maximal run of ASCII digits in a text, by byte range.
#[derive(Clone, Copy, Debug)]
struct Group {
    start: usize,
    end: usize,
}

impl Group {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Maximal ASCII digit runs of `s`, in order.
fn digit_groups(s: &str) -> Vec<Group> {
    let b = s.as_bytes();
    let mut groups = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        groups.push(Group { start, end: i });
    }
    groups
}

/// A word character, or a `.`/`,` preceded by a digit, just before byte `at`: a number
/// starting there is part of a word, an identifier or a decimal number.
fn glued_before(s: &str, at: usize) -> bool {
    let mut prev = s[..at].chars().rev();
    match prev.next() {
        Some(c) if is_word_char(c) => true,
        Some('.' | ',') => prev.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// A word character, or a `.`/`,` followed by a digit, at byte `at`.
fn glued_after(s: &str, at: usize) -> bool {
    let mut next = s[at..].chars();
    match next.next() {
        Some(c) if is_word_char(c) => true,
        Some('.' | ',') => next.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// At most this many characters separate two groups of one card number.
const MAX_SEPARATOR_CHARS: usize = 3;

/// Whether the text between two digit groups can separate the groups of one card number:
/// one to three characters, none a letter, a digit, a line break or a control character
/// other than a tab. People (and agents dodging a filter) write cards with spaces, dashes, dots,
/// slashes, underscores, tabs, no-break spaces, en dashes, ... and mix them; the card
/// layout and the Luhn check, not the separator, keep other numbers out.
fn is_separator(between: &str) -> bool {
    let mut n = 0;
    for c in between.chars() {
        n += 1;
        let line_break_or_control = (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}');
        if n > MAX_SEPARATOR_CHARS || c.is_alphanumeric() || line_break_or_control {
            return false;
        }
    }
    n > 0
}

/// The group-length layouts in which card numbers are written: the first group always has
/// four digits (`4-4-4-4`, `4-4-4-4-3`, `4-6-5` (Amex), `4-6-4` (Diners), `4-4-4-1..3`).
fn is_card_layout(lens: &[usize]) -> bool {
    let total: usize = lens.iter().sum();
    if !(13..=19).contains(&total) {
        return false;
    }
    match lens {
        [_] => true,
        [4, 6, 4 | 5] => true,
        [4, rest @ ..] => match rest.split_last() {
            Some((last, middle)) => middle.iter().all(|&l| l == 4) && (1..=4).contains(last),
            None => false,
        },
        _ => false,
    }
}

/// Payment card numbers in `s`, as written: 13–19 ASCII digits, either contiguous or grouped
/// in a card layout (see [`is_card_layout`]) by separators of one to three characters that
/// are not letters, digits or line breaks (see [`is_separator`]: `4111 1111 1111 1111`,
/// `4111.1111.1111.1111`, `4111 - 1111 - 1111 - 1111`), not glued to words or decimals at
/// either end, not starting with 0, and passing the Luhn check. Groups of a longer sequence
/// are tried at every group, so `4111 1111 1111 1111 12 25` yields the card.
pub fn card_numbers(s: &str) -> Vec<String> {
    let groups = digit_groups(s);
    let mut found = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        match longest_card_from(s, &groups, i) {
            Some(last) => {
                found.push(s[groups[i].start..groups[last].end].to_string());
                i = last + 1;
            }
            None => i += 1,
        }
    }
    found
}

/// The index of the last group of the longest valid card number starting at group `first`.
/// At most five groups are considered, so the work per start is bounded.
fn longest_card_from(s: &str, groups: &[Group], first: usize) -> Option<usize> {
    let start = groups.get(first)?;
    if glued_before(s, start.start) || s.as_bytes().get(start.start) == Some(&b'0') {
        return None;
    }
    let mut lens = vec![start.len()];
    let mut digits: Vec<u8> = s.as_bytes()[start.start..start.end].iter().map(|b| b - b'0').collect();
    let mut best = None;
    let mut last = first;
    loop {
        let end = groups[last].end;
        if is_card_layout(&lens) && luhn(&digits) && !glued_after(s, end) {
            best = Some(last);
        }
        let Some(next) = groups.get(last + 1) else {
            break;
        };
        if lens.len() >= 5 || digits.len() >= 19 || !is_separator(&s[end..next.start]) {
            break;
        }
        lens.push(next.len());
        digits.extend(s.as_bytes()[next.start..next.end].iter().map(|b| b - b'0'));
        last += 1;
    }
    best
}

/// `(country, IBAN length)` from the SWIFT IBAN registry.
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16),
    ("BG", 22), ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22),
    ("CY", 28), ("CZ", 24), ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20),
    ("EG", 29), ("ES", 24), ("FI", 18), ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22),
    ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HN", 28), ("HR", 21),
    ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30),
    ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20),
    ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20),
    ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23),
    ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22),
    ("RU", 33), ("SA", 24), ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24),
    ("SM", 27), ("SO", 23), ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26),
    ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
];

fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS.iter().find(|(c, _)| c.as_bytes() == country).map(|&(_, n)| n)
}

/// An IBAN, spaced or not, any case: a registered country code, the country's length,
/// check digits 02–98, an alphanumeric account part, and the ISO 7064 mod-97 check.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|&b| b != b' ').map(|b| b.to_ascii_uppercase()).collect();
    iban_compact_valid(&compact)
}

/// [`iban_valid`] for an uppercase IBAN without spaces.
fn iban_compact_valid(iban: &[u8]) -> bool {
    let Some((head, _)) = iban.split_first_chunk::<4>() else {
        return false;
    };
    let [c1, c2, d1, d2] = *head;
    if !(c1.is_ascii_uppercase() && c2.is_ascii_uppercase()) {
        return false;
    }
    if !(d1.is_ascii_digit() && d2.is_ascii_digit()) || matches!(&head[2..], b"00" | b"01" | b"99") {
        return false;
    }
    if iban_length(&head[..2]) != Some(iban.len()) {
        return false;
    }
    if !iban.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return false;
    }
    mod97(iban[4..].iter().chain(&iban[..4])) == 1
}

/// The remainder modulo 97 of the number formed by replacing letters with 10–35.
fn mod97<'a>(chars: impl Iterator<Item = &'a u8>) -> u32 {
    chars.fold(0u32, |rem, &b| if b.is_ascii_digit() { (rem * 10 + u32::from(b - b'0')) % 97 } else { (rem * 100 + u32::from(b - b'A') + 10) % 97 })
}

/// The longest IBAN is 34 characters; with one space between each it spans 67 bytes.
const IBAN_MAX_SPAN: usize = 67;

/// Valid IBANs in `s`, as written: starting at a word boundary with two letters and two
/// digits, spaced by single spaces or not, exactly as long as the country's IBAN, and not
/// followed directly by another letter or digit.
pub fn ibans(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let starts_here = b[i].is_ascii_alphabetic()
            && b[i + 1].is_ascii_alphabetic()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && !s[..i].chars().next_back().is_some_and(is_word_char);
        if starts_here {
            if let Some(end) = iban_end(s, i) {
                found.push(s[i..end].to_string());
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The end of the valid IBAN starting at byte `start` (the first four bytes are ASCII).
fn iban_end(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    let country = [b[start].to_ascii_uppercase(), b[start + 1].to_ascii_uppercase()];
    let want = iban_length(&country)?;
    let mut compact = Vec::with_capacity(want);
    let mut i = start;
    let limit = (start + IBAN_MAX_SPAN).min(b.len());
    while compact.len() < want && i < limit {
        let c = b[i];
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
        } else if !(c == b' ' && i > start && b[i - 1] != b' ') {
            return None;
        }
        i += 1;
    }
    let end_is_boundary = !s[i..].chars().next().is_some_and(is_word_char);
    (compact.len() == want && end_is_boundary && iban_compact_valid(&compact)).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_rejects_typos() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("4111-1111-1111-1111"));
        assert!(luhn_valid("378282246310005"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("1234567812345678"));
    }

    #[test]
    fn luhn_rejects_non_digits_and_trivial_input() {
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("0"));
        assert!(!luhn_valid("   "));
        assert!(!luhn_valid("4111x111111111111"));
        assert!(!luhn_valid("٤١١١١١١١١١١١١١١١"));
        assert!(!luhn_valid("4111.1111.1111.1111"));
    }

    #[test]
    fn ssn_formats_and_impossible_numbers() {
        assert!(ssn_valid("123-45-6789"));
        assert!(ssn_valid("123 45 6789"));
        assert!(ssn_valid("123456789"));
        assert!(ssn_valid(" 078-05-1121 "));
        assert!(!ssn_valid("000-45-6789"));
        assert!(!ssn_valid("666-45-6789"));
        assert!(!ssn_valid("900-45-6789"));
        assert!(!ssn_valid("999-45-6789"));
        assert!(!ssn_valid("123-00-6789"));
        assert!(!ssn_valid("123-45-0000"));
        assert!(!ssn_valid("123-45 6789"));
        assert!(!ssn_valid("12-345-6789"));
        assert!(!ssn_valid("1234567890"));
        assert!(!ssn_valid(""));
        assert!(!ssn_valid("abc-de-fghi"));
        assert!(!ssn_valid("१२३-४५-६७८९"));
        assert!(!ssn_valid("123-45-678é"));
    }

    #[test]
    fn finds_cards_in_every_usual_layout() {
        assert_eq!(card_numbers("card 4111111111111111 please"), ["4111111111111111"]);
        assert_eq!(card_numbers("4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
        assert_eq!(card_numbers("4111-1111-1111-1111."), ["4111-1111-1111-1111"]);
        assert_eq!(card_numbers("amex 3782 822463 10005"), ["3782 822463 10005"]);
        assert_eq!(card_numbers("diners 3056 930902 5904"), ["3056 930902 5904"]);
        assert_eq!(card_numbers("(5555555555554444)"), ["5555555555554444"]);
    }

    #[test]
    fn finds_a_card_inside_a_longer_digit_sequence_of_groups() {
        assert_eq!(card_numbers("4111 1111 1111 1111 12 25"), ["4111 1111 1111 1111"]);
        assert_eq!(card_numbers("ref 1234-5678 4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
        assert_eq!(card_numbers("a 4111111111111111 b 5555555555554444").len(), 2);
    }

    #[test]
    fn finds_cards_behind_any_short_separator() {
        for card in [
            "4111.1111.1111.1111",
            "4111/1111/1111/1111",
            "4111_1111_1111_1111",
            "4111 - 1111 - 1111 - 1111",
            "4111  1111  1111  1111",
            "4111-1111 1111-1111",
            "4111\t1111\t1111\t1111",
            "4111\u{a0}1111\u{a0}1111\u{a0}1111",
            "4111\u{2013}1111\u{2013}1111\u{2013}1111",
            "4111,1111,1111,1111",
            "3782.822463.10005",
        ] {
            assert_eq!(card_numbers(&format!("card {card}.")), [card], "{card:?}");
        }
        assert!(card_numbers("4111....1111....1111....1111").is_empty());
        assert!(card_numbers("4111\n1111\n1111\n1111").is_empty());
        assert!(card_numbers("4111.1111.1111.1112").is_empty());
        assert!(card_numbers("12.4111111111111111").is_empty());
        assert!(card_numbers("4111111111111111.5").is_empty());
        assert!(card_numbers("4111x1111x1111x1111").is_empty());
    }

    #[test]
    fn ignores_numbers_that_are_not_cards() {
        assert!(card_numbers("order 4111111111111112").is_empty());
        assert!(card_numbers("order 1234567812345678").is_empty());
        assert!(card_numbers("0000 0000 0000 0000").is_empty());
        assert!(card_numbers("0000000000000000").is_empty());
        assert!(card_numbers("id abc4111111111111111").is_empty());
        assert!(card_numbers("4111111111111111_x").is_empty());
        assert!(card_numbers("pi 3.4111111111111111").is_empty());
        assert!(card_numbers("41111111111111110000").is_empty());
        assert!(card_numbers("call 555-123-4567 on 2024-01-15").is_empty());
        assert!(card_numbers("").is_empty());
    }

    #[test]
    fn card_scan_survives_odd_and_long_input() {
        assert!(card_numbers("é4111111111111111").is_empty());
        assert_eq!(card_numbers("€ 4111111111111111 €"), ["4111111111111111"]);
        let long = "1 ".repeat(200_000);
        assert!(card_numbers(&long).is_empty());
        let digits = "7".repeat(300_000);
        assert!(card_numbers(&digits).is_empty());
        let groups = "4111 ".repeat(100_000);
        let _ = card_numbers(&groups);
    }

    #[test]
    fn iban_checksums() {
        assert!(iban_valid("DE89370400440532013000"));
        assert!(iban_valid("DE89 3704 0044 0532 0130 00"));
        assert!(iban_valid("gb29 nwbk 6016 1331 9268 19"));
        assert!(iban_valid("FR1420041010050500013M02606"));
        assert!(iban_valid("NL91ABNA0417164300"));
        assert!(iban_valid("BE68539007547034"));
        assert!(iban_valid("CH9300762011623852957"));
        assert!(iban_valid("NO9386011117947"));
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(!iban_valid("DE8937040044053201300"));
        assert!(!iban_valid("XX89370400440532013000"));
        assert!(!iban_valid("DE00370400440532013000"));
        assert!(!iban_valid(""));
        assert!(!iban_valid("DE"));
        assert!(!iban_valid("DE89-3704-0044-0532-0130-00"));
        assert!(!iban_valid("DÉ89370400440532013000"));
    }

    #[test]
    fn finds_ibans_in_text() {
        assert_eq!(ibans("pay to DE89 3704 0044 0532 0130 00 today"), ["DE89 3704 0044 0532 0130 00"]);
        assert_eq!(ibans("iban:GB29NWBK60161331926819."), ["GB29NWBK60161331926819"]);
        assert_eq!(ibans("NL91ABNA0417164300 and BE68539007547034").len(), 2);
        assert!(ibans("DE89 3704 0044 0532 0130 01").is_empty());
        assert!(ibans("XDE89370400440532013000").is_empty());
        assert!(ibans("DE89370400440532013000X").is_empty());
        assert!(ibans("DE89  3704 0044 0532 0130 00").is_empty());
        assert!(ibans("ISO 9001 certified").is_empty());
        assert!(ibans("").is_empty());
    }

    #[test]
    fn iban_scan_survives_odd_and_long_input() {
        assert!(ibans("éDE89370400440532013000").is_empty());
        assert_eq!(ibans("→DE89370400440532013000←"), ["DE89370400440532013000"]);
        let long = "DE89 ".repeat(100_000);
        assert!(ibans(&long).is_empty());
        assert!(ibans("DE8").is_empty());
    }
}
