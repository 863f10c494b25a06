//! Compile tests of the handler attributes, in the layout of actix-web-codegen's.

#[test]
fn compile_macros() {
    let t = trybuild::TestCases::new();

    t.pass("tests/trybuild/off-placements.rs");
    t.pass("tests/trybuild/off-signatures.rs");
    t.pass("tests/trybuild/off-attributes.rs");
    t.pass("tests/trybuild/on-placements.rs");
    t.pass("tests/trybuild/on-signatures.rs");
    t.pass("tests/trybuild/on-attributes.rs");
    t.pass("tests/trybuild/routes.rs");

    t.compile_fail("tests/trybuild/on-struct.rs");
    t.compile_fail("tests/trybuild/on-const.rs");
    t.compile_fail("tests/trybuild/on-impl.rs");
    t.compile_fail("tests/trybuild/with-arguments.rs");
    t.compile_fail("tests/trybuild/with-value.rs");
    t.compile_fail("tests/trybuild/not-async.rs");
    t.compile_fail("tests/trybuild/method.rs");
    t.compile_fail("tests/trybuild/generic.rs");
    t.compile_fail("tests/trybuild/off-then-on.rs");
    t.compile_fail("tests/trybuild/on-then-off.rs");
    t.compile_fail("tests/trybuild/duplicate.rs");
    t.compile_fail("tests/trybuild/duplicate-around-route.rs");
    t.compile_fail("tests/trybuild/where-clause.rs");
    t.compile_fail("tests/trybuild/documented-struct.rs");
    t.compile_fail("tests/trybuild/not-async-routed.rs");
    t.compile_fail("tests/trybuild/bad-route-arguments.rs");
    t.compile_fail("tests/trybuild/lone-routes.rs");
    t.compile_fail("tests/trybuild/off-below-route.rs");
    t.compile_fail("tests/trybuild/off-by-hand.rs");
}
