//! `embed_migrations!` reads the migration folders at compile time but does not tell Cargo
//! about them; without this a new migration would not trigger a rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
