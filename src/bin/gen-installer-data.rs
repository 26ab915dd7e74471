//! gen-installer-data (front end not written yet).
fn main() {
    eprintln!("gen-installer-data: not implemented yet");
    std::process::exit(2);
}
