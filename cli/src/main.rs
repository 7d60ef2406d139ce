fn main() {
    println!("iosha");
}
