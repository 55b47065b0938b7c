//! Generates the parser from `grammar/*.lalrpop` (LALRPOP) into `OUT_DIR`, rerun when a
//! grammar file changes.

fn main() {
    lalrpop::Configuration::new().set_in_dir("grammar").emit_rerun_directives(true).process().expect("grammar/*.lalrpop must be valid LALRPOP");
}
