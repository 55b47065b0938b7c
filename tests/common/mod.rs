//! Helpers shared by the integration tests. In: the repository's folders. Out: paths.

use std::path::{Path, PathBuf};

/// Every bundled example, sorted: each folder of `examples/` with `.pol` files of its own, and
/// each folder of a folder without (a folder of packs: examples/agentdojo/<suite>).
pub fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out = Vec::new();
    for dir in subfolders(&root) {
        if has_policy_files(&dir) {
            out.push(dir);
        } else {
            out.extend(subfolders(&dir));
        }
    }
    out.sort();
    assert!(out.len() >= 5, "only {} examples under {}", out.len(), root.display());
    out
}

fn subfolders(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect()
}

fn has_policy_files(dir: &Path) -> bool {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == "pol"))
}
