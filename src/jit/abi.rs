//! A helper's Cranelift signature, derived from its Rust type. In: the type of an
//! `unsafe extern "C" fn` of `runtime` (a function pointer type, e.g. `unsafe extern "C"
//! fn(*const Value) -> f64`). Out: its parameter and return types as Cranelift sees them
//! (`HelperFn::PARAMS`, `AbiReturn::RETURNS`), its address, its `signature`, and what a
//! call of it gives codegen (`AbiReturn::Out`: a value, or nothing for a `()` helper).
//!
//! So a helper's ABI is written once, in its Rust declaration: codegen never lists a
//! helper's Cranelift types by hand, and a Rust type without a Cranelift counterpart does
//! not compile. The one table written by hand, Rust scalar to Cranelift type, is checked by
//! the tests below (size and integer-or-float of each entry).

use cranelift_codegen::ir::{types, AbiParam, Signature, Type, Value as V};
use cranelift_codegen::isa::CallConv;

/// A Rust type a helper takes or returns, and the Cranelift type of the same size and
/// class that carries it across the `extern "C"` boundary.
pub(super) trait AbiType {
    const TYPE: Type;
}

/// What a helper returns: nothing (`()`) or one `AbiType`.
pub(super) trait AbiReturn {
    const RETURNS: &'static [Type];
    /// What a call gives the generated code: nothing, or the one result.
    type Out;
    /// `Out` from the call's first result, if any (`None`: a value was wanted and the
    /// call gave none).
    fn out(first: Option<V>) -> Option<Self::Out>;
}

impl AbiReturn for () {
    const RETURNS: &'static [Type] = &[];
    type Out = ();
    fn out(_: Option<V>) -> Option<()> {
        Some(())
    }
}

/// Implements `AbiType` and `AbiReturn` for each `rust type => cranelift type`; the
/// pointers are 64-bit, as everywhere in the generated code (`codegen::PTR`).
macro_rules! abi_types {
    ($([$($generic:ident)?] $t:ty => $cl:ident),* $(,)?) => {
        $(
            impl$(<$generic>)? AbiType for $t {
                const TYPE: Type = types::$cl;
            }
            impl$(<$generic>)? AbiReturn for $t {
                const RETURNS: &'static [Type] = &[types::$cl];
                type Out = V;
                fn out(first: Option<V>) -> Option<V> {
                    first
                }
            }
        )*
    };
}

abi_types! {
    [] f64 => F64,
    [] u8 => I8,
    [] u32 => I32,
    [] i64 => I64,
    [] u64 => I64,
    [] usize => I64,
    [T] *const T => I64,
    [T] *mut T => I64,
}

/// An `unsafe extern "C" fn` pointer type whose parameters and result are `AbiType`s: the
/// signature generated code calls it with, and where it is.
pub(super) trait HelperFn: Copy {
    const PARAMS: &'static [Type];
    /// What it returns.
    type Ret: AbiReturn;

    /// The function's address, for `call_indirect`.
    fn addr(self) -> usize;
}

/// Implements `HelperFn` for `unsafe extern "C" fn(A, B, ...) -> R` of each arity listed.
macro_rules! helper_fns {
    ($(($($p:ident),+)),* $(,)?) => {
        $(
            impl<R: AbiReturn, $($p: AbiType),+> HelperFn for unsafe extern "C" fn($($p),+) -> R {
                const PARAMS: &'static [Type] = &[$($p::TYPE),+];
                type Ret = R;

                fn addr(self) -> usize {
                    self as usize
                }
            }
        )*
    };
}

helper_fns! {
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
}

/// The signature of a call under `call_conv` (the host's C convention) to a helper of
/// `HelperFn::PARAMS` `params` and `AbiReturn::RETURNS` `returns`.
pub(super) fn signature(call_conv: CallConv, params: &[Type], returns: &[Type]) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
    sig.returns.extend(returns.iter().map(|&t| AbiParam::new(t)));
    sig
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use std::any::TypeId;

    /// The hand-written table: each Rust type is carried by a Cranelift type of its size,
    /// a float exactly when it is one, as a return value too.
    #[test]
    fn each_abi_type_matches_its_rust_type() {
        fn check<T: AbiType + AbiReturn + 'static>(name: &str) {
            let float = TypeId::of::<T>() == TypeId::of::<f64>();
            assert_eq!(T::TYPE.bytes() as usize, std::mem::size_of::<T>(), "{name}: size");
            assert_eq!(T::TYPE.is_float(), float, "{name}: float or integer");
            assert_eq!(T::RETURNS, &[T::TYPE], "{name}: as a result");
        }
        check::<f64>("f64");
        check::<u8>("u8");
        check::<u32>("u32");
        check::<i64>("i64");
        check::<u64>("u64");
        check::<usize>("usize");
        check::<*const Value>("*const Value");
        check::<*mut u8>("*mut u8");
        assert!(<() as AbiReturn>::RETURNS.is_empty());
    }

    /// A function type's signature lists its parameters in order and its result.
    #[test]
    fn a_signature_follows_the_function_type() {
        type F = unsafe extern "C" fn(*const Value, u32, f64, usize) -> u8;
        let sig = signature(CallConv::SystemV, F::PARAMS, <F as HelperFn>::Ret::RETURNS);
        let params: Vec<Type> = sig.params.iter().map(|p| p.value_type).collect();
        assert_eq!(params, [types::I64, types::I32, types::F64, types::I64]);
        let returns: Vec<Type> = sig.returns.iter().map(|p| p.value_type).collect();
        assert_eq!(returns, [types::I8]);
        type G = unsafe extern "C" fn(*const Value, u64);
        assert_eq!(G::PARAMS, &[types::I64, types::I64]);
        assert!(<G as HelperFn>::Ret::RETURNS.is_empty());
    }
}
