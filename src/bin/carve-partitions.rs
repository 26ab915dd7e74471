//! carve-partitions (front end not written yet).
fn main() {
    eprintln!("carve-partitions: not implemented yet");
    std::process::exit(2);
}
