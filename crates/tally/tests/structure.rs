//! STRUCTURE.md's table of crates says what each crate's Cargo.toml says:
//! every crate of the workspace has a row, and its "depends on" column names
//! exactly the workspace crates in its `[dependencies]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace crates `[dependencies]` names in a Cargo.toml (those given by path).
fn path_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut section = "";
    let mut names = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[dependencies]" && line.contains("path = \"../") {
            names.insert(line.split('=').next().unwrap().trim().to_owned());
        }
    }
    names
}

/// The rows of STRUCTURE.md's "Crates" table: crate → the crates it depends on.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace().join("STRUCTURE.md")).unwrap();
    let table = text.split("## Crates").nth(1).expect("STRUCTURE.md has a Crates section");
    let ticked = |cell: &str| -> BTreeSet<String> { cell.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    table
        .lines()
        .skip_while(|l| !l.starts_with("| crate"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let name = ticked(cells[1]).into_iter().next().expect("a crate name in backticks");
            (name, ticked(cells[3]))
        })
        .collect()
}

#[test]
fn the_crates_table_says_what_the_manifests_say() {
    let documented = documented();
    let mut crates = BTreeSet::new();
    for entry in std::fs::read_dir(workspace().join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("a package name")
            .to_owned();
        let row = documented.get(&name).unwrap_or_else(|| panic!("STRUCTURE.md has no row for {name}"));
        assert_eq!(row, &path_dependencies(&text), "{name}: STRUCTURE.md against {}", manifest.display());
        crates.insert(name);
    }
    let rows: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(rows, crates, "every row is a crate of the workspace");
}
