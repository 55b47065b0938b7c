use super::*;

fn cmds(line: &str) -> Vec<Vec<String>> {
    parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}")).commands
}

fn progs(line: &str) -> Vec<String> {
    cmds(line).into_iter().map(|c| c.first().cloned().unwrap_or_default()).collect()
}

fn into_shell(line: &str) -> bool {
    parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}")).pipes_into(&["curl", "wget"], &["sh", "bash", "eval", "source", "."])
}

#[test]
fn words_remove_quotes_and_split_operators() {
    let w = |s: &str| parse(s).unwrap().words;
    assert_eq!(w("echo 'a b' \"c d\" e\\ f"), ["echo", "a b", "c d", "e f"]);
    assert_eq!(w("r\"\"m -rf /"), ["rm", "-rf", "/"]);
    assert_eq!(w("a;b&&c||d|e|&f&"), ["a", ";", "b", "&&", "c", "||", "d", "|", "e", "|&", "f", "&"]);
    assert_eq!(w("echo $'\\x2f' $'\\057'"), ["echo", "/", "/"]);
    assert_eq!(w("echo \"$(ls 'x')\" $HOME"), ["echo", "$(ls 'x')", "$HOME"]);
    assert_eq!(w("ls 2>&1 >/dev/null"), ["ls", "2", ">&", "1", ">", "/dev/null"]);
    assert_eq!(w("a # it's a comment\nb"), ["a", ";", "b"]);
    assert_eq!(w("rm -rf \\\n /"), ["rm", "-rf", "/"]);
    // As `bash -c` and `shell-words` read it: a backslash ending the text stays.
    assert_eq!(w("echo a\\"), ["echo", "a\\"]);
}

#[test]
fn commands_are_normalized() {
    assert_eq!(cmds("sudo -u root rm -rf /"), [["rm", "-rf", "/"]]);
    assert_eq!(cmds("/usr/bin/env -i A=1 /bin/rm -rf /"), [["rm", "-rf", "/"]]);
    assert_eq!(cmds("A=1 B=2 command exec nohup nice -n 5 timeout 10 rm x"), [["rm", "x"]]);
    assert_eq!(cmds("ls > out.txt 2>&1"), [["ls"]]);
    assert_eq!(progs("cd /srv && rm -rf / ; echo ok || true & wait"), ["cd", "rm", "echo", "true", "wait"]);
    assert_eq!(progs("sudo -s"), ["sh"]);
    assert_eq!(progs("$SHELL -c id"), ["sh", "id"]);
    assert_eq!(progs("$(curl -s x)"), ["curl", "eval"]);
    assert_eq!(progs("xargs -0 -n 1 rm"), ["rm"]);
    assert_eq!(cmds("rm${IFS}-rf${IFS}/"), [["rm", "-rf", "/"]]);
    assert_eq!(cmds("rm$IFS-rf$IFS/"), [["rm", "-rf", "/"]]);
    assert_eq!(cmds("{rm,-rf,/}"), [["rm", "-rf", "/"]]);
    assert_eq!(cmds("rm -rf /{bin,etc}"), [["rm", "-rf", "/bin", "/etc"]]);
    assert_eq!(cmds("echo '{a,b}' ${x}"), [["echo", "{a,b}", "${x}"]]);
    assert_eq!(cmds("env -S 'bash -x' y"), [["bash", "-x", "y"]]);
    assert_eq!(cmds("env -i --split-string='rm -rf' /"), [["rm", "-rf", "/"]]);
}

#[test]
fn nested_commands_are_found() {
    assert_eq!(progs("echo $(rm -rf /)"), ["rm", "echo"]);
    assert_eq!(progs("echo `rm -rf /`"), ["rm", "echo"]);
    assert_eq!(progs("diff <(ls a) >(cat)"), ["ls", "cat", "diff"]);
    assert_eq!(progs("bash -c 'rm -rf /'"), ["bash", "rm"]);
    assert_eq!(progs("sh -ec \"cd / && rm -rf *\""), ["sh", "cd", "rm"]);
    assert_eq!(progs("su root -c 'rm -rf /'"), ["su", "rm"]);
    assert_eq!(progs("eval 'rm -rf /'"), ["eval", "rm"]);
    assert_eq!(progs("(cd /; rm -rf x) && { ls; }"), ["cd", "rm", "ls"]);
    assert_eq!(progs("if true; then rm -rf /; fi"), ["true", "rm"]);
    assert_eq!(progs("for f in a b; do rm $f; done"), ["rm"]);
    assert_eq!(progs("case $x in a) rm -rf /;; esac"), ["rm"]);
    assert_eq!(progs("echo \"${X:-$(rm -rf /)}\""), ["rm", "echo"]);
}

#[test]
fn downloads_reaching_a_shell() {
    for yes in [
        "curl x | sh",
        "curl x|sh",
        "curl x | /bin/sh",
        "curl -fsSL x | sudo -E bash -s -- --flag",
        "curl x |& sh",
        "curl x | tee log | sh",
        "curl x | gunzip | base64 -d | /usr/bin/env bash",
        "bash <(curl x)",
        "sh < <(curl x)",
        "source <(curl x)",
        ". <(wget -qO- x)",
        "sh -c \"$(curl x)\"",
        "bash -c \"`curl x`\"",
        "eval \"$(curl x)\"",
        "$(curl x)",
        "bash <<< \"$(curl x)\"",
        "curl x > >(sh)",
        "curl x | (cd /tmp; sh)",
        "curl x | { read a; sh; }",
        "{ curl x; echo; } | sh",
        "curl x | bash -c 'cat | sh'",
        "sh -c 'curl x | sh'",
        "wget -O- x | busybox sh",
        "curl x | xargs -0 sh -c",
        "curl x | $SHELL",
        "curl x | sudo -s",
    ] {
        assert!(into_shell(yes), "{yes:?}");
    }
    for no in ["curl -o f.sh x && sh f.sh", "sh build.sh; curl x", "sh -c 'ls' | curl -d @- x", "echo curl | sh", "curl x > out.txt", "curl x | jq ."] {
        assert!(!into_shell(no), "{no:?}");
    }
}

#[test]
fn text_that_cannot_be_split_is_an_error() {
    for bad in ["echo 'x", "echo \"x", "echo `x", "echo $(x", "echo ${x", "cat <(x", "echo $'x", "rm -rf / ; echo 'unbalanced"] {
        assert!(!parses(bad), "{bad:?}");
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    let deep = format!("{}x{}", "$(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert_eq!(parse(&deep).err(), Some(ParseError::TooDeep));
    let ok = format!("{}x{}", "$(".repeat(MAX_DEPTH - 1), ")".repeat(MAX_DEPTH - 1));
    assert!(parses(&ok));
    let braces = "${\"".repeat(100_000);
    assert!(!parses(&braces));
    let groups = "{ ".repeat(100_000);
    assert!(!parses(&groups));
    // Each `eval` parses its arguments again, one level deeper.
    let evals = "eval ".repeat(MAX_DEPTH + 1) + "rm -rf /";
    assert_eq!(parse(&evals).err(), Some(ParseError::TooDeep));
    let evals = "eval ".repeat(MAX_DEPTH - 1) + "rm -rf /";
    assert!(progs(&evals).contains(&"rm".to_string()));
}

#[test]
fn long_and_odd_input_stays_linear_and_safe() {
    let long = "a | ".repeat(50_000) + "sh";
    let p = parse(&long).unwrap();
    assert_eq!(p.commands.len(), 50_001);
    assert!(p.pipes_into(&["a"], &["sh"]));
    let seps = ";".repeat(200_000);
    assert!(parse(&seps).unwrap().commands.is_empty());
    for s in ["", " ", ")", "))((", "|||", "&>", "<", "> >(", "$", "\\é", "é'ü'", "${}", "`", "$((1+2))", "\u{0}"] {
        let _ = parse(s);
    }
}

#[test]
fn flags_and_operands() {
    let f = |w: &[&str]| flags(w);
    assert_eq!(f(&["rm", "-rf", "--no-preserve-root", "/", "--force=yes", "--", "-x"]), ["-r", "-f", "--no-preserve-root", "--force"]);
    assert_eq!(operands(&["rm", "-rf", "/", "-", "--", "-x", "--y"]), ["/", "-", "-x", "--y"]);
    assert!(operands(&["rm"]).is_empty());
}

#[test]
fn paths_are_normalized() {
    for (p, want) in [
        ("/", "/"),
        ("/.", "/"),
        ("//", "/"),
        ("/./", "/"),
        ("/bin/..", "/"),
        ("/..", "/"),
        ("/usr//lib/./x/", "/usr/lib/x"),
        ("~", "~"),
        ("~/", "~"),
        ("$HOME", "~"),
        ("${HOME}/", "~"),
        ("$HOMER", "$HOMER"),
        ("~/a/../..", "~/.."),
        ("~root/x/..", "~root"),
        ("./build/", "build"),
        (".", "."),
        ("a/..", "."),
        ("../x", "../x"),
        ("/*", "/*"),
        ("", ""),
    ] {
        assert_eq!(normalize_path(p), want, "{p:?}");
    }
}

mod reference {
    //! Word splitting against `shell-words` (a reference model of POSIX quoting) on text
    //! without operators, substitutions, comments or line breaks, where the two must agree:
    //! the same words, and an error exactly when `shell-words` cannot split.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn words_agree_with_shell_words(
            parts in proptest::collection::vec(prop_oneof![
                Just("a"), Just("rm"), Just("-rf"), Just("/"), Just(" "), Just("\t"), Just("'"),
                Just("\""), Just("\\"), Just("é"), Just("x y"), Just("="),
            ], 0..16)
        ) {
            let line: String = parts.concat();
            match (shell_words::split(&line), parse(&line)) {
                (Ok(want), Ok(got)) => prop_assert_eq!(got.words, want, "{:?}", line),
                (Err(_), Err(_)) => {}
                (want, got) => prop_assert!(false, "{:?}: shell-words {:?}, parse {:?}", line, want, got.map(|p| p.words)),
            }
        }
    }
}
