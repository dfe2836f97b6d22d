//! PostgreSQL arrays in their binary wire format: nested lists of [`Value`]s of one element
//! type, at most [`MAX_ARRAY_DIMS`] dimensions and [`MAX_ARRAY_ELEMENTS`] elements, as the
//! server allows.

use bytes::{BufMut, BytesMut};
use store_core::{StoreError, Value};
use tokio_postgres::types::{IsNull, Type};

use super::{base, decode, encode_binary, field_len};

/// The most dimensions a PostgreSQL array has (`MAXDIM`).
pub(crate) const MAX_ARRAY_DIMS: usize = 6;
/// The most elements a PostgreSQL array holds (`MaxArraySize`).
pub(crate) const MAX_ARRAY_ELEMENTS: usize = 0x3FF_FFFF / 8;

/// The shape of nested lists: one length per dimension. JSON elements are never split.
fn dimensions(items: &[Value], elem: &Type) -> Result<Vec<usize>, StoreError> {
    let mut dims = vec![items.len()];
    let nested = !matches!(*base(elem), Type::JSON | Type::JSONB);
    if nested && let Some(Value::List(first)) = items.first() {
        let inner = dimensions(first, elem)?;
        for item in items {
            match item {
                Value::List(l) if dimensions(l, elem)? == inner => {}
                _ => {
                    return Err(StoreError::invalid_input(
                        "a multi-dimensional array must be rectangular (lists of equal length)",
                    ));
                }
            }
        }
        dims.extend(inner);
    }
    if dims.len() > MAX_ARRAY_DIMS {
        return Err(StoreError::invalid_input(format!(
            "an array of {} dimensions is deeper than PostgreSQL's limit of {MAX_ARRAY_DIMS}",
            dims.len()
        )));
    }
    let elements = dims.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    if elements.is_none_or(|n| n > MAX_ARRAY_ELEMENTS) {
        return Err(StoreError::invalid_input(format!(
            "an array of more than {MAX_ARRAY_ELEMENTS} elements is larger than PostgreSQL allows"
        )));
    }
    Ok(dims)
}

fn leaves<'v>(items: &'v [Value], depth: usize, out: &mut Vec<&'v Value>) {
    for item in items {
        match item {
            Value::List(inner) if depth > 1 => leaves(inner, depth - 1, out),
            other => out.push(other),
        }
    }
}

pub(crate) fn encode_array(
    items: &[Value],
    elem: &Type,
    out: &mut BytesMut,
) -> Result<(), StoreError> {
    let dims = if items.is_empty() {
        Vec::new()
    } else {
        dimensions(items, elem)?
    };
    let mut flat = Vec::new();
    leaves(items, dims.len(), &mut flat);
    out.put_i32(dims.len() as i32);
    out.put_i32(i32::from(flat.iter().any(|v| v.is_null())));
    out.put_u32(elem.oid());
    for d in &dims {
        // Bounded by MAX_ARRAY_ELEMENTS in `dimensions`.
        out.put_i32(*d as i32);
        out.put_i32(1);
    }
    for v in flat {
        let at = out.len();
        out.put_i32(0);
        match encode_binary(v, elem, out)? {
            IsNull::Yes => out[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes()),
            IsNull::No => {
                let len = field_len(out.len() - at - 4)?;
                out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
    }
    Ok(())
}

pub(crate) fn decode_array(elem: &Type, raw: &[u8]) -> Result<Value, StoreError> {
    let bad = || StoreError::internal("malformed array from the server");
    let mut pos = 0usize;
    let next_i32 = |pos: &mut usize| -> Result<i32, StoreError> {
        let b = raw.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let ndim = next_i32(&mut pos)?;
    let _has_null = next_i32(&mut pos)?;
    let _elem_oid = next_i32(&mut pos)?;
    if !(0..=MAX_ARRAY_DIMS as i32).contains(&ndim) {
        return Err(bad());
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    for _ in 0..ndim {
        let len = next_i32(&mut pos)?;
        let _lower = next_i32(&mut pos)?;
        dims.push(usize::try_from(len).map_err(|_| bad())?);
    }
    let total: usize = if dims.is_empty() {
        0
    } else {
        dims.iter()
            .try_fold(1usize, |n, d| n.checked_mul(*d))
            .filter(|n| *n <= MAX_ARRAY_ELEMENTS)
            .ok_or_else(bad)?
    };
    let mut flat = Vec::with_capacity(total.min(1 << 16));
    for _ in 0..total {
        let len = next_i32(&mut pos)?;
        if len < 0 {
            flat.push(Value::Null);
        } else {
            let start = pos;
            let end = start + len as usize;
            let bytes = raw.get(start..end).ok_or_else(bad)?;
            flat.push(decode(elem, Some(bytes))?);
            pos = end;
        }
    }
    // Fold the flat elements into nested lists, innermost dimension first.
    let mut level = flat;
    for d in dims.iter().skip(1).rev() {
        let mut grouped = Vec::with_capacity(level.len() / d.max(&1));
        let mut it = level.into_iter();
        loop {
            let chunk: Vec<Value> = it.by_ref().take(*d).collect();
            if chunk.is_empty() {
                break;
            }
            grouped.push(Value::List(chunk));
        }
        level = grouped;
    }
    Ok(Value::List(level))
}
