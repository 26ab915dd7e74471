//! deterministic-copy (front end not written yet).
fn main() {
    eprintln!("deterministic-copy: not implemented yet");
    std::process::exit(2);
}
