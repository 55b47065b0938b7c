//! Tests of the request decoder: slots filled from valid requests, and the exact path,
//! expected and found of each kind of input error.

use super::*;
use crate::types::{RecordType, Type};
use crate::value::Value;
use std::sync::Arc;

const NOW: f64 = 1_700_000_000.0;

fn field(name: &str, ty: Type) -> FieldType {
    FieldType { name: name.into(), ty, optional: false, lenient: false }
}

fn opt(name: &str, ty: Type) -> FieldType {
    FieldType { name: name.into(), ty, optional: true, lenient: false }
}

fn record(name: Option<&str>, fields: Vec<FieldType>) -> Type {
    Type::Record(Arc::new(RecordType { name: name.map(str::to_owned), fields }))
}

fn trust() -> Type {
    Type::Enum(Arc::new(vec!["low".into(), "medium".into(), "high".into()]))
}

fn schema() -> RequestSchema {
    let agent = record(None, vec![field("trust", trust()), field("id", Type::String)]);
    let user = record(None, vec![field("name", Type::String)]);
    let recipient = record(Some("Recipient"), vec![field("name", Type::String), field("country", Type::String), opt("iban", Type::String)]);
    let item = record(Some("Item"), vec![field("sku", Type::String), field("qty", Type::Number)]);
    let mut tools = IndexMap::new();
    tools.insert(
        "payments.transfer".to_string(),
        vec![
            field("amount", Type::Number),
            field("currency", Type::String),
            field("recipient", recipient),
            opt("memo", Type::String),
            opt("delay", Type::Duration),
            opt("at", Type::Timestamp),
        ],
    );
    tools.insert(
        "forms.submit".to_string(),
        vec![
            field("fields", Type::List(Box::new(Type::String))),
            opt("items", Type::List(Box::new(item))),
            opt("tags", Type::Map(Box::new(Type::Number))),
            opt("amount", Type::Number),
        ],
    );
    RequestSchema {
        envelope: vec![field("agent", agent), opt("user", user), opt("context", Type::Map(Box::new(Type::String)))],
        tools,
        // `payments.transfer` is open (`...`), `forms.submit` closed.
        open_tools: ["payments.transfer".to_string()].into_iter().collect(),
    }
}

// Slot indices, in the order of `slot_paths`.
const TOOL: usize = 0;
const TIME: usize = 1;
const AMOUNT: usize = 2;
const COUNTRY: usize = 3;
const RECIPIENT: usize = 4;
const TRUST: usize = 5;
const MEMO: usize = 6;
const ITEMS: usize = 7;
const TAGS: usize = 8;
const USER_NAME: usize = 9;
const FIELDS: usize = 10;
const DELAY: usize = 11;
const AT: usize = 12;

fn slot_paths() -> Vec<InputPath> {
    let paths: [&[&str]; 13] = [
        &["tool"],
        &["time"],
        &["args", "amount"],
        &["args", "recipient", "country"],
        &["args", "recipient"],
        &["agent", "trust"],
        &["args", "memo"],
        &["args", "items"],
        &["args", "tags"],
        &["user", "name"],
        &["args", "fields"],
        &["args", "delay"],
        &["args", "at"],
    ];
    paths.iter().map(|p| p.iter().map(|s| s.to_string()).collect()).collect()
}

fn decoder() -> Decoder {
    Decoder::new(&schema(), &slot_paths())
}

fn decode(json: &str) -> Result<Frame, InputFailure> {
    decoder().decode(json.as_bytes(), NOW)
}

fn ok(json: &str) -> Frame {
    match decode(json) {
        Ok(frame) => frame,
        Err(failure) => panic!("expected success, got {failure:#?}"),
    }
}

fn errors(json: &str) -> Vec<InputError> {
    match decode(json) {
        Ok(frame) => panic!("expected input errors, got {frame:#?}"),
        Err(failure) => failure.errors,
    }
}

fn one_error(json: &str) -> InputError {
    let mut errs = errors(json);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    errs.remove(0)
}

fn s(text: &str) -> Value {
    Value::str(text)
}

const AGENT: &str = r#""agent": {"trust": "high", "id": "a1"}"#;

fn transfer(args: &str) -> String {
    format!(r#"{{"tool": "payments.transfer", {AGENT}, "args": {args}}}"#)
}

const GOOD_ARGS: &str = r#"{"amount": 25000, "currency": "USD", "recipient": {"name": "Acme", "country": "FR"}}"#;

// ---------- valid requests ----------

#[test]
fn scalars_and_nested_record_fields_fill_their_slots() {
    let frame = ok(&transfer(GOOD_ARGS));
    assert_eq!(frame.tool_name, "payments.transfer");
    assert_eq!(frame.tool, Some(0));
    assert_eq!(frame.slots[TOOL], s("payments.transfer"));
    assert_eq!(frame.slots[AMOUNT], Value::Num(25000.0));
    assert_eq!(frame.slots[COUNTRY], s("FR"));
    assert_eq!(frame.slots[TRUST], s("high"));
    assert_eq!(frame.slots.len(), slot_paths().len());
}

#[test]
fn a_record_slot_holds_its_fields_in_declaration_order() {
    // Keys out of order, an undeclared field, the optional `iban` missing.
    let args = r#"{"amount": 1, "currency": "EUR",
        "recipient": {"country": "DE", "extra": [1, {"x": 2}], "name": "Bob"}}"#;
    let frame = ok(&transfer(args));
    let expected = Value::Record(Arc::from(vec![s("Bob"), s("DE"), Value::Absent]));
    assert_eq!(frame.slots[RECIPIENT], expected);
    assert_eq!(frame.slots[COUNTRY], s("DE"));
}

#[test]
fn optional_fields_missing_or_null_are_absent() {
    let frame = ok(&transfer(
        r#"{"amount": 1, "currency": "EUR", "memo": null,
        "recipient": {"name": "Bob", "country": "DE", "iban": null}}"#,
    ));
    assert_eq!(frame.slots[MEMO], Value::Absent);
    assert_eq!(frame.slots[DELAY], Value::Absent);
    assert_eq!(frame.slots[RECIPIENT], Value::Record(Arc::from(vec![s("Bob"), s("DE"), Value::Absent])));
    // `user` is optional in the envelope: its field's slot stays absent.
    assert_eq!(frame.slots[USER_NAME], Value::Absent);
    let frame = ok(&format!(r#"{{"tool": "x", {AGENT}, "user": null}}"#));
    assert_eq!(frame.slots[USER_NAME], Value::Absent);
}

#[test]
fn durations_and_timestamps_are_numbers_of_seconds() {
    let frame = ok(&transfer(
        r#"{"amount": 1, "currency": "EUR", "delay": 90.5,
        "at": "2024-01-01T00:00:01.25Z", "recipient": {"name": "Bob", "country": "DE"}}"#,
    ));
    assert_eq!(frame.slots[DELAY], Value::Num(90.5));
    assert_eq!(frame.slots[AT], Value::Num(1_704_067_201.25));
}

#[test]
fn a_list_of_records_and_a_map_are_built_for_their_slots() {
    let json = format!(
        r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": ["a", "b"],
        "items": [{{"sku": "x1", "qty": 2}}, {{"qty": 3, "sku": "y2"}}],
        "tags": {{"b": 1, "a": 2.5}}}}}}"#
    );
    let frame = ok(&json);
    assert_eq!(frame.tool, Some(1));
    assert_eq!(frame.slots[FIELDS], Value::List(Arc::from(vec![s("a"), s("b")])));
    let items =
        Value::List(Arc::from(vec![Value::Record(Arc::from(vec![s("x1"), Value::Num(2.0)])), Value::Record(Arc::from(vec![s("y2"), Value::Num(3.0)]))]));
    assert_eq!(frame.slots[ITEMS], items);
    let Value::Map(tags) = &frame.slots[TAGS] else { panic!("tags is {:?}", frame.slots[TAGS]) };
    let tags: Vec<(&str, &Value)> = tags.iter().map(|(k, v)| (&**k, v)).collect();
    assert_eq!(tags, vec![("b", &Value::Num(1.0)), ("a", &Value::Num(2.5))]);
    // The same `args.amount` slot is declared by both tools; here it is optional and absent.
    assert_eq!(frame.slots[AMOUNT], Value::Absent);
    // Slots only `payments.transfer` declares stay absent.
    assert_eq!(frame.slots[COUNTRY], Value::Absent);
}

#[test]
fn the_same_args_path_is_read_from_whichever_tool_is_named() {
    let json = format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": [], "amount": 7}}}}"#);
    assert_eq!(ok(&json).slots[AMOUNT], Value::Num(7.0));
}

#[test]
fn time_is_read_from_the_request_or_defaults_to_now() {
    let frame = ok(&format!(r#"{{"tool": "x", {AGENT}, "time": "2024-05-01T12:00:00.5+02:00"}}"#));
    assert_eq!(frame.time, 1_714_557_600.5);
    assert_eq!(frame.slots[TIME], Value::Num(1_714_557_600.5));
    let frame = ok(&format!(r#"{{"tool": "x", {AGENT}}}"#));
    assert_eq!(frame.time, NOW);
    assert_eq!(frame.slots[TIME], Value::Num(NOW));
}

#[test]
fn tool_may_come_after_args() {
    let json = format!(r#"{{"args": {GOOD_ARGS}, {AGENT}, "tool": "payments.transfer"}}"#);
    let frame = ok(&json);
    assert_eq!(frame.tool, Some(0));
    assert_eq!(frame.slots[AMOUNT], Value::Num(25000.0));
    assert_eq!(frame.slots[COUNTRY], s("FR"));
    // ... and its args are still validated.
    let json = format!(r#"{{"args": {{"amount": "x"}}, {AGENT}, "tool": "payments.transfer"}}"#);
    let paths: Vec<String> = errors(&json).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["args.amount", "args.currency", "args.recipient"]);
}

#[test]
fn an_undeclared_tool_does_not_read_args() {
    let json = format!(r#"{{"tool": "shell.exec", {AGENT}, "args": {{"amount": "not a number", "amount": 1}}}}"#);
    let frame = ok(&json);
    assert_eq!(frame.tool, None);
    assert_eq!(frame.tool_name, "shell.exec");
    assert_eq!(frame.slots[TOOL], s("shell.exec"));
    assert_eq!(frame.slots[AMOUNT], Value::Absent);
    // Also when args comes first.
    let json = format!(r#"{{"args": [1, 2], {AGENT}, "tool": "shell.exec"}}"#);
    assert_eq!(ok(&json).tool, None);
}

#[test]
fn undeclared_top_level_fields_are_ignored() {
    let json = format!(r#"{{"tool": "x", {AGENT}, "trace_id": {{"a": [1, 2, null]}}, "extra": 1}}"#);
    assert!(decode(&json).is_ok());
}

#[test]
fn escaped_keys_and_strings_are_decoded() {
    let args = r#"{"am\u006funt": 3, "currency": "E\"UR", "recipient": {"name": "B", "country": "\u0046R"}}"#;
    let frame = ok(&transfer(args));
    assert_eq!(frame.slots[AMOUNT], Value::Num(3.0));
    assert_eq!(frame.slots[COUNTRY], s("FR"));
}

#[test]
fn integers_beyond_2_pow_53_are_accepted_as_numbers() {
    let args = r#"{"amount": 18446744073709551615, "currency": "EUR", "recipient": {"name": "B", "country": "FR"}}"#;
    assert_eq!(ok(&transfer(args)).slots[AMOUNT], Value::Num(18446744073709551615.0));
}

#[test]
fn decode_into_reuses_and_resets_the_frame() {
    let dec = decoder();
    let mut frame = Frame::default();
    dec.decode_into(transfer(GOOD_ARGS).as_bytes(), NOW, &mut frame).unwrap();
    assert_eq!(frame.slots[AMOUNT], Value::Num(25000.0));
    let other = format!(r#"{{"tool": "y", {AGENT}, "time": "1970-01-01T00:01:00Z"}}"#);
    dec.decode_into(other.as_bytes(), NOW, &mut frame).unwrap();
    assert_eq!(frame.tool_name, "y");
    assert_eq!(frame.tool, None);
    assert_eq!(frame.time, 60.0);
    assert_eq!(frame.slots[AMOUNT], Value::Absent);
}

#[test]
fn a_slot_on_args_itself_is_the_record_of_params() {
    let paths = vec![vec!["args".to_string()]];
    let dec = Decoder::new(&schema(), &paths);
    let json = format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": ["q"], "amount": 2}}}}"#);
    let frame = dec.decode(json.as_bytes(), NOW).unwrap();
    let fields = Value::List(Arc::from(vec![s("q")]));
    let expected = Value::Record(Arc::from(vec![fields, Value::Absent, Value::Absent, Value::Num(2.0)]));
    assert_eq!(frame.slots[0], expected);
}

// ---------- input errors ----------

#[test]
fn a_missing_required_field_is_reported() {
    let e = one_error(&transfer(r#"{"amount": 1, "recipient": {"name": "B", "country": "FR"}}"#));
    assert_eq!(e.path, "args.currency");
    assert_eq!(e.expected, "string");
    assert_eq!(e.found, "nothing");
    assert_eq!(e.message, "`args.currency` is required but missing");
}

#[test]
fn missing_args_of_a_declared_tool_counts_as_empty() {
    let paths: Vec<String> = errors(&format!(r#"{{"tool": "payments.transfer", {AGENT}}}"#)).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["args.amount", "args.currency", "args.recipient"]);
    let nulls = errors(&format!(r#"{{"tool": "payments.transfer", {AGENT}, "args": null}}"#));
    assert_eq!(nulls.len(), 3);
}

#[test]
fn a_value_of_the_wrong_type_is_reported() {
    let e = one_error(&transfer(r#"{"amount": "25000", "currency": "USD", "recipient": {"name": "A", "country": "FR"}}"#));
    assert_eq!(e.path, "args.amount");
    assert_eq!(e.expected, "number");
    assert_eq!(e.found, r#"string "25000""#);
    assert_eq!(e.message, r#"`args.amount` must be a number, found string "25000""#);
}

#[test]
fn found_values_are_described_by_kind() {
    let cases =
        [(r#"7"#, "number 7"), (r#"2.5"#, "number 2.5"), (r#"true"#, "bool true"), (r#"[1]"#, "a list"), (r#"{"a": 1}"#, "an object"), (r#"null"#, "null")];
    for (value, found) in cases {
        let args = format!(r#"{{"amount": 1, "currency": {value}, "recipient": {{"name": "A", "country": "FR"}}}}"#);
        let e = one_error(&transfer(&args));
        assert_eq!((e.path.as_str(), e.found.as_str()), ("args.currency", found), "for {value}");
    }
}

#[test]
fn long_strings_are_cut_in_found() {
    let long = "x".repeat(100);
    let args = format!(r#"{{"amount": "{long}", "currency": "E", "recipient": {{"name": "A", "country": "FR"}}}}"#);
    let e = one_error(&transfer(&args));
    assert_eq!(e.found, format!("string \"{}…\"", "x".repeat(40)));
}

#[test]
fn an_enum_value_outside_the_declaration_is_reported() {
    let e = one_error(r#"{"tool": "x", "agent": {"trust": "unknown", "id": "a"}}"#);
    assert_eq!(e.path, "agent.trust");
    assert_eq!(e.expected, r#""low" | "medium" | "high""#);
    assert_eq!(e.found, r#"string "unknown""#);
    assert_eq!(e.message, r#"`agent.trust` must be one of "low", "medium", "high", found string "unknown""#);
}

#[test]
fn a_bad_list_element_has_its_index_in_the_path() {
    let e = one_error(&format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": ["a", 7, "c"]}}}}"#));
    assert_eq!(e.path, "args.fields[1]");
    assert_eq!(e.expected, "string");
    assert_eq!(e.found, "number 7");
    assert_eq!(e.message, "`args.fields[1]` must be a string, found number 7");
}

#[test]
fn errors_inside_list_records_and_maps_have_full_paths() {
    let json = format!(
        r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": [],
        "items": [{{"sku": "a", "qty": 1}}, {{"sku": 5}}], "tags": {{"ok": 1, "a b": "x"}}}}}}"#
    );
    let got: Vec<(String, String)> = errors(&json).into_iter().map(|e| (e.path, e.found)).collect();
    assert_eq!(
        got,
        [
            ("args.items[1].sku".to_string(), "number 5".to_string()),
            ("args.items[1].qty".to_string(), "nothing".to_string()),
            (r#"args.tags["a b"]"#.to_string(), r#"string "x""#.to_string()),
        ]
    );
}

#[test]
fn a_nested_record_field_is_reported_with_its_path() {
    let e = one_error(&transfer(r#"{"amount": 1, "currency": "E", "recipient": {"name": "A", "country": 33}}"#));
    assert_eq!(e.path, "args.recipient.country");
    assert_eq!(e.found, "number 33");
    let e = one_error(&transfer(r#"{"amount": 1, "currency": "E", "recipient": "Acme"}"#));
    assert_eq!(e.path, "args.recipient");
    assert_eq!(e.expected, "Recipient");
    assert_eq!(e.message, r#"`args.recipient` must be a `Recipient` object, found string "Acme""#);
}

#[test]
fn null_on_a_required_field_is_an_error() {
    let e = one_error(&transfer(r#"{"amount": null, "currency": "E", "recipient": {"name": "A", "country": "F"}}"#));
    assert_eq!((e.path.as_str(), e.found.as_str()), ("args.amount", "null"));
}

#[test]
fn duplicate_keys_are_errors_everywhere_the_decoder_reads() {
    let e = one_error(&transfer(r#"{"amount": 1, "amount": 99999, "currency": "E", "recipient": {"name": "A", "country": "F"}}"#));
    assert_eq!(e.path, "args.amount");
    assert_eq!(e.message, "duplicate key `amount` in `args`");
    let e = one_error(&format!(r#"{{"tool": "a", "tool": "b", {AGENT}}}"#));
    assert_eq!((e.path.as_str(), e.message.as_str()), ("tool", "duplicate key `tool` in the request"));
    let e = one_error(&format!(r#"{{"tool": "a", {AGENT}, "context": {{"k": "1", "k": "2"}}}}"#));
    assert_eq!(e.path, "context.k");
    let e = one_error(&format!(r#"{{"tool": "a", {AGENT}, {AGENT}}}"#));
    assert_eq!(e.path, "agent");
    let e = one_error(&format!(r#"{{"tool": "payments.transfer", {AGENT}, "args": {GOOD_ARGS}, "args": {{}}}}"#));
    assert_eq!(e.path, "args");
    // Escapes do not hide a duplicate.
    let e = one_error(&format!(r#"{{"tool": "a", {AGENT}, "context": {{"k": "1", "\u006b": "2"}}}}"#));
    assert_eq!(e.path, "context.k");
}

#[test]
fn duplicate_map_keys_are_found_when_the_map_is_built_too() {
    let json = format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": [], "tags": {{"a": 1, "a": 2}}}}}}"#);
    let e = one_error(&json);
    assert_eq!(e.path, "args.tags.a");
    assert_eq!(e.expected, "number");
}

#[test]
fn malformed_json_is_one_error_with_its_position() {
    for bad in [r#"{"tool": "x", "#, r#"{"tool": "x"} trailing"#, r#"{"tool": "x",, }"#] {
        let e = one_error(bad);
        assert_eq!(e.path, "");
        assert!(e.message.starts_with("the request is not valid JSON: "), "{}", e.message);
        assert!(e.message.contains("line 1 column"), "{}", e.message);
    }
}

#[test]
fn malformed_json_keeps_the_tool_name_when_it_was_read() {
    let failure = decode(r#"{"tool": "pay", "args": {"#).unwrap_err();
    assert_eq!(failure.tool_name.as_deref(), Some("pay"));
    assert_eq!(failure.errors.len(), 1);
}

#[test]
fn a_declared_number_out_of_range_is_an_error_at_its_path() {
    let e = one_error(&transfer(r#"{"amount": 1e400, "currency": "E", "recipient": {"name": "A", "country": "F"}}"#));
    assert_eq!((e.path.as_str(), e.expected.as_str(), e.found.as_str()), ("args.amount", "number", "a number out of range"));
    assert!(e.message.starts_with("`args.amount` must be a number, found one beyond the largest number"), "{}", e.message);
    // Inside `args` read before `tool`, the position is still the request's.
    // (The envelope's missing fields are reported too: it was read to its end first.)
    let json = "{\"args\": {\"amount\": 1e400}, \"tool\": \"payments.transfer\"}";
    let errs = errors(json);
    let e = errs.iter().find(|e| e.path == "args.amount").unwrap_or_else(|| panic!("{errs:#?}"));
    assert!(e.message.ends_with("(at line 1 column 25)"), "{}", e.message);
}

#[test]
fn a_number_out_of_range_elsewhere_is_malformed_json() {
    // An undeclared argument of a closed tool: no declared number to name.
    let e = one_error(&transfer(r#"{"amount": 1, "extra": 1e400, "currency": "E", "recipient": {"name": "A", "country": "F"}}"#));
    assert_eq!(e.path, "");
    assert!(e.message.contains("not valid JSON: number out of range"), "{}", e.message);
}

#[test]
fn non_utf8_bytes_are_malformed_json() {
    let mut bytes = br#"{"tool": "x", "ignored": "#.to_vec();
    bytes.extend_from_slice(b"\"\xff\xfe\"}");
    let failure = decoder().decode(&bytes, NOW).unwrap_err();
    assert_eq!(failure.errors.len(), 1);
    assert_eq!(failure.errors[0].path, "");
    assert!(failure.errors[0].message.contains("line 1 column"), "{}", failure.errors[0].message);
}

#[test]
fn a_request_that_is_not_an_object_is_one_error() {
    for (json, found) in [("[1, 2]", "a list"), ("\"hi\"", r#"string "hi""#), ("null", "null"), ("3", "number 3")] {
        let e = one_error(json);
        assert_eq!((e.path.as_str(), e.found.as_str()), ("", found));
        assert_eq!(e.message, format!("the request must be a JSON object, found {found}"));
    }
}

#[test]
fn a_missing_or_non_string_tool_is_reported() {
    let failure = decode(&format!("{{{AGENT}}}")).unwrap_err();
    assert_eq!(failure.tool_name, None);
    let e = &failure.errors[0];
    assert_eq!((e.path.as_str(), e.found.as_str()), ("tool", "nothing"));
    assert_eq!(e.message, "`tool` is required but missing");
    let e = one_error(&format!(r#"{{"tool": 7, {AGENT}, "args": {{"x": 1}}}}"#));
    assert_eq!(e.message, "`tool` must be a string, found number 7");
}

#[test]
fn a_bad_timestamp_is_reported() {
    let e = one_error(&format!(r#"{{"tool": "x", {AGENT}, "time": "yesterday"}}"#));
    assert_eq!(e.path, "time");
    assert_eq!(e.expected, "timestamp");
    assert_eq!(e.found, r#"string "yesterday""#);
    assert_eq!(e.message, r#"`time` must be an RFC 3339 timestamp, found string "yesterday""#);
    let e = one_error(&transfer(r#"{"amount": 1, "currency": "E", "at": "2024-13-01T00:00:00Z", "recipient": {"name": "A", "country": "F"}}"#));
    assert_eq!((e.path.as_str(), e.expected.as_str()), ("args.at", "timestamp"));
    let e = one_error(&format!(r#"{{"tool": "x", {AGENT}, "time": 12}}"#));
    assert_eq!(e.found, "number 12");
}

#[test]
fn all_errors_are_reported_at_once() {
    let json = r#"{"agent": {"trust": "mid"}, "tool": "payments.transfer",
        "args": {"amount": "1", "currency": 5, "recipient": {"country": true}}}"#;
    let failure = decode(json).unwrap_err();
    assert_eq!(failure.tool_name.as_deref(), Some("payments.transfer"));
    let got: Vec<(&str, &str)> = failure.errors.iter().map(|e| (e.path.as_str(), e.found.as_str())).collect();
    assert_eq!(
        got,
        [
            ("agent.trust", r#"string "mid""#),
            ("agent.id", "nothing"),
            ("args.amount", r#"string "1""#),
            ("args.currency", "number 5"),
            ("args.recipient.country", "bool true"),
            ("args.recipient.name", "nothing"),
        ]
    );
}

#[test]
fn the_decoder_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Decoder>();
}

#[test]
fn records_with_many_fields_find_fields_and_duplicates() {
    // Past the linear-lookup limit and past 64 fields (the `Seen` bitmap's spill).
    let params: Vec<FieldType> = (0..70).map(|i| opt(&format!("f{i}"), Type::Number)).collect();
    let mut tools = IndexMap::new();
    tools.insert("wide".to_string(), params);
    let schema = RequestSchema { envelope: vec![], tools, open_tools: Default::default() };
    let dec = Decoder::new(&schema, &[vec!["args".into(), "f69".into()]]);
    let frame = dec.decode(br#"{"tool": "wide", "args": {"f69": 4, "f3": 1}}"#, NOW).unwrap();
    assert_eq!(frame.slots[0], Value::Num(4.0));
    let failure = dec.decode(br#"{"tool": "wide", "args": {"f69": 4, "f69": 5}}"#, NOW).unwrap_err();
    assert_eq!(failure.errors.len(), 1);
    assert_eq!(failure.errors[0].path, "args.f69");
}

// ---------- closed and open tools ----------

fn forms(args: &str) -> String {
    format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {args}}}"#)
}

#[test]
fn an_undeclared_argument_of_a_closed_tool_is_an_error_naming_it_and_the_tool() {
    let e = one_error(&forms(r#"{"fields": [], "recovery_email": "x@evil.io"}"#));
    assert_eq!(e.path, "args.recovery_email");
    assert_eq!(e.expected, "nothing (not declared)");
    assert_eq!(e.found, "an undeclared argument");
    assert_eq!(
        e.message,
        "`args.recovery_email` is not an argument that tool `forms.submit` declares, and the tool is closed; \
         declare it, or end the tool's parameter list with `...` to let undeclared arguments through unread"
    );
}

#[test]
fn records_inside_a_closed_tools_arguments_are_closed_too() {
    let args = r#"{"fields": [], "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2, "routing": "x"}]}"#;
    let e = one_error(&forms(args));
    assert_eq!(e.path, "args.items[1].routing");
    assert_eq!(e.found, "an undeclared field");
    assert!(e.message.contains("`args.items[1].routing` is not a field that tool `forms.submit` declares"), "{}", e.message);
    // A map's keys are its data, not declarations: any key is fine.
    assert!(decode(&forms(r#"{"fields": [], "tags": {"anything": 1}}"#)).is_ok());
}

#[test]
fn every_undeclared_argument_is_reported_with_the_other_errors() {
    let errs = errors(&forms(r#"{"b": 1, "fields": [7], "a": null, "b": 2}"#));
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["args.b", "args.fields[0]", "args.a", "args.b"]);
    // Read before `tool` (from the raw slice), the same.
    let json = format!(r#"{{"args": {{"recovery_email": 1, "fields": []}}, "tool": "forms.submit", {AGENT}}}"#);
    assert_eq!(one_error(&json).path, "args.recovery_email");
}

#[test]
fn an_open_tool_skips_undeclared_arguments_unread() {
    let args = r#"{"amount": 1, "currency": "EUR", "recipient": {"name": "B", "country": "FR", "extra": {"x": [1]}}, "recovery_email": "x"}"#;
    let frame = ok(&transfer(args));
    assert_eq!(frame.slots[COUNTRY], s("FR"));
    // The envelope is open whatever the tools are.
    assert!(decode(&format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": []}}, "trace": 1}}"#)).is_ok());
}

// ---------- the fast path agrees with the full decoder ----------

/// Requests the fast path must accept, and variants of them it must hand over.
fn corpus() -> Vec<(String, bool)> {
    let forms = format!(
        r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": ["a", "b"],
        "items": [{{"sku": "x1", "qty": 2}}, {{"qty": 3, "sku": "y2"}}],
        "tags": {{"b": 1, "a": 2.5}}}}}}"#
    );
    let forms_with =
        |extra: &str| format!(r#"{{"tool": "forms.submit", {AGENT}, "args": {{"fields": ["a"], {extra}"items": [{{"sku": "x1", "qty": 2, "note": 1}}]}}}}"#);
    let plain = [
        transfer(GOOD_ARGS),
        transfer(
            r#"{"amount": -1.5e2, "currency": "EUR", "memo": null, "delay": 0.25, "at": "2024-01-01T00:00:01.25Z",
            "recipient": {"country": "DE", "extra": [1, {"x": [true, false, null]}], "name": "Bob", "iban": null}}"#,
        ),
        transfer(
            r#"{"amount": 12345678901234567890, "currency": "", "recipient": {"name": "Émile ✓", "country": "FR"}, "memo": "a memo longer than twenty-three bytes"}"#,
        ),
        forms,
        format!(
            r#" {{ "time" : "2025-06-01T12:00:00+02:00" , "tool":"forms.submit","args":{{"fields":[]}}, {AGENT}, "user": {{"name": "ana"}}, "context": {{"k": "v"}} }} "#
        ),
        format!(r#"{{"tool": "unknown.tool", "args": {{"anything": [1, 2]}}, {AGENT}, "other": {{"deep": [[[0]]]}}}}"#),
        format!(r#"{{"tool": "unknown.tool", {AGENT}, "time": null}}"#),
        String::from_utf8(REQUEST_330.to_vec()).unwrap_or_default(),
    ];
    let handed_over = [
        // Errors of every kind, escapes, odd orders and malformed JSON.
        transfer(r#"{"amount": "25000", "currency": "USD", "recipient": {"name": "Acme", "country": "FR"}}"#),
        transfer(r#"{"amount": 1, "currency": "USD"}"#),
        transfer(r#"{"amount": 1, "amount": 2, "currency": "USD", "recipient": {"name": "Acme", "country": "FR"}}"#),
        transfer(r#"{"amount": 1, "currency": "U\u0053D", "recipient": {"name": "Acme", "country": "FR"}}"#),
        transfer(r#"{"amount": 1e999, "currency": "USD", "recipient": {"name": "Acme", "country": "FR"}}"#),
        transfer(r#"{"amount": 01, "currency": "USD", "recipient": {"name": "Acme", "country": "FR"}}"#),
        transfer(r#"{"amount": 1, "currency": "USD", "recipient": {"name": "Acme", "country": "FR"},}"#),
        transfer("null"),
        format!(r#"{{"args": {GOOD_ARGS}, "tool": "payments.transfer", {AGENT}}}"#),
        format!(r#"{{"tool": "payments.transfer", {AGENT}}}"#),
        format!(r#"{{"tool": "payments.transfer", "tool": "x", {AGENT}, "args": {GOOD_ARGS}}}"#),
        format!(r#"{{"tool": "x", {AGENT}, "time": "yesterday"}}"#),
        r#"{"tool": "x", "agent": {"trust": "root", "id": "a"}}"#.to_string(),
        format!(r#"{{"tool": "x", {AGENT}, "context": {{"k": "v", "k": "w"}}}}"#),
        format!(r#"{{"tool": "x", {AGENT}}} x"#),
        format!(r#"{{"tool": "x", {AGENT}, "other": "tab	inside"}}"#),
        format!(r#"{{"tool": "x", {AGENT}, "other": {}}}"#, "[".repeat(120) + &"]".repeat(120)),
        "[1, 2]".to_string(),
        String::new(),
        // Undeclared keys in a closed tool's arguments, at the top and in a record.
        forms_with(r#""recovery_email": "x@evil.io", "#),
        forms_with(""),
    ];
    plain.into_iter().map(|r| (r, true)).chain(handed_over.into_iter().map(|r| (r, false))).collect()
}

const REQUEST_330: &[u8] = br#"{"tool":"payments.transfer","args":{"amount":25000,"currency":"EUR","recipient":{"name":"acct-9912","country":"DE"},"memo":"invoice 2026-118 for consulting"},"agent":{"id":"pay-agent-7","trust":"medium"},"user":{"name":"u-ana","role":"finance"},"workspace":"acme-finance","environment":"prod","context":{}}"#;

/// The fast path accepts only what the full decoder accepts, with the same frame.
fn assert_agree(dec: &Decoder, bytes: &[u8]) -> bool {
    let full = dec.decode_full_only(bytes, NOW);
    let public = dec.decode(bytes, NOW);
    match (&full, &public) {
        (Ok(a), Ok(b)) => assert_same_frame(a, b, bytes),
        (Err(a), Err(b)) => assert_eq!(a, b, "{}", String::from_utf8_lossy(bytes)),
        _ => panic!("the decoders disagree on {}: {full:?} / {public:?}", String::from_utf8_lossy(bytes)),
    }
    let Some(fast) = dec.decode_fast_only(bytes, NOW) else { return false };
    match &full {
        Ok(full) => assert_same_frame(full, &fast, bytes),
        Err(e) => panic!("the fast path accepted {} but the full decoder says {e:?}", String::from_utf8_lossy(bytes)),
    }
    true
}

fn assert_same_frame(a: &Frame, b: &Frame, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert_eq!(a.slots, b.slots, "{text}");
    assert_eq!((&a.tool_name, a.tool), (&b.tool_name, b.tool), "{text}");
    assert_eq!(a.time.to_bits(), b.time.to_bits(), "{text}");
    assert_eq!(a.args_span, b.args_span, "{text}");
}

#[test]
fn the_fast_path_takes_plain_requests_and_hands_over_the_rest() {
    let dec = decoder();
    for (request, plain) in corpus() {
        assert_eq!(assert_agree(&dec, request.as_bytes()), plain, "{request}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Edited requests: whatever the fast path accepts, the full decoder accepts the same way.
    #[test]
    fn the_fast_path_agrees_with_the_full_decoder(
        pick in 0usize..100,
        edits in proptest::collection::vec((0usize..1000, 0u8..3, 0usize..24), 1..4),
    ) {
        const ALPHABET: &[u8] = br#"{}[]:,"\ 0123456789-+.eEtrufalsn"#;
        let requests = corpus();
        let mut bytes = requests[pick % requests.len()].0.clone().into_bytes();
        for (at, op, k) in edits {
            let at = if bytes.is_empty() { 0 } else { at % bytes.len() };
            let byte = ALPHABET[k % ALPHABET.len()];
            match op {
                0 if !bytes.is_empty() => { bytes.remove(at); }
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => bytes[at] = byte,
                _ => {}
            }
        }
        assert_agree(&decoder(), &bytes);
    }
}

#[test]
fn name_lookups_tell_apart_names_that_share_length_and_prefix() {
    use super::tree::NameIndex;
    let few = ["recipient_a", "recipient_b", "id", "idx", "", "a_name_longer_than_seven"];
    let many: Vec<String> = (0..40).map(|i| format!("svc{i:03}.call")).collect();
    let long = format!("abcdefg{}", "x".repeat(256));
    let long_names = ["abcdefg", long.as_str()];
    for names in [few.to_vec(), many.iter().map(String::as_str).collect(), long_names.to_vec()] {
        let index = NameIndex::new(names.iter().copied());
        for (i, name) in names.iter().enumerate() {
            assert_eq!(index.get(name.as_bytes()), Some(i), "{name}");
        }
        for absent in ["recipient_c", "i", "svc040.call", "svc000.cal", "abcdefgx", "abcdef"] {
            assert_eq!(index.get(absent.as_bytes()), None, "{absent}");
        }
    }
}

#[test]
fn a_key_summarized_from_a_word_of_the_request_is_the_same_summary() {
    use super::tree::Key;
    let text = b"abcdefghijklmnop\"\xff";
    for start in 0..8 {
        for len in 0..=9 {
            let bytes = &text[start..start + len];
            let mut word = [0u8; 8];
            word.copy_from_slice(&text[start..start + 8]);
            assert_eq!(Key::from_word(bytes, u64::from_le_bytes(word)).summary, Key::new(bytes).summary, "{start} {len}");
        }
    }
}

/// A `lenient number` takes a plain decimal string and nothing else, by the same reading as
/// a JSON number; the error for any other string says what the field accepts.
#[test]
fn lenient_numbers_take_numeric_strings_only() {
    use super::decode::numeric_string;
    for (text, want) in [("10", 10.0), ("10.0", 10.0), (" 2.5\n", 2.5), ("-3", -3.0), ("+4", 4.0), ("1e3", 1000.0), ("1.5E-1", 0.15), ("007", 7.0)] {
        assert_eq!(numeric_string(text), Some(want), "{text:?}");
    }
    for text in ["", "  ", "inf", "-inf", "NaN", "infinity", "0x10", "1_000", "1,000", "1.", ".5", "1e", "1e+", "--1", "1 2", "$5", "5€", "1e400", "١٢"] {
        assert_eq!(numeric_string(text), None, "{text:?}");
    }
    let mut tools = IndexMap::new();
    tools.insert("t".to_string(), vec![FieldType { name: "n".into(), ty: Type::Number, optional: false, lenient: true }]);
    let schema = RequestSchema { tools, ..RequestSchema::default() };
    let decoder = Decoder::new(&schema, &[vec!["args".into(), "n".into()]]);
    let frame = decoder.decode(br#"{"tool": "t", "args": {"n": "12.5"}}"#, NOW).expect("a numeric string decodes");
    assert_eq!(frame.slots.first(), Some(&Value::Num(12.5)));
    let failure = decoder.decode(br#"{"tool": "t", "args": {"n": "twelve"}}"#, NOW).expect_err("words are an input error");
    let e = &failure.errors[0];
    assert_eq!((e.path.as_str(), e.expected.as_str(), e.found.as_str()), ("args.n", "lenient number", "string \"twelve\""));
    assert_eq!(e.message, "`args.n` must be a number or a numeric string (a lenient number), found string \"twelve\"");
}
