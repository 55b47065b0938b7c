fn main() {
    lalrpop::Configuration::new().set_in_dir("grammar").emit_rerun_directives(true).process().expect("grammar/*.lalrpop must be valid LALRPOP");
}
