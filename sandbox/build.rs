// The shipped API models are embedded with include_dir!, which does not notice new files:
// rebuild the crate whenever anything under content/ changes.
fn main() {
    println!("cargo:rerun-if-changed=../content");
}
