//! The Spacewars HTTP server binary.

fn main() {
    println!("spacewars server: not wired yet");
}
