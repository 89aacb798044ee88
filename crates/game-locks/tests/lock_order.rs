//! The lock order is a compile-time property: each case under `tests/lock_order/` breaks
//! it in one way and must fail to compile with exactly the error in its `.stderr`
//! snapshot, so a case that fails for another reason (a renamed method, a missing
//! import) fails this test instead of passing. After a compiler upgrade changes the
//! wording, regenerate the snapshots with `TRYBUILD=overwrite` and review the diff.

#[test]
fn locking_out_of_order_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/lock_order/*.rs");
}
