// The shipped content and the migrations are embedded (include_dir!, sqlx::migrate!), and
// neither notices new files by itself: rebuild the crate whenever either folder changes.
fn main() {
    println!("cargo:rerun-if-changed=../content");
    println!("cargo:rerun-if-changed=../migrations");
}
