//! mkimage (front end not written yet).
fn main() {
    eprintln!("mkimage: not implemented yet");
    std::process::exit(2);
}
