//! [`SqlCapabilities`]: what a SQL backend can do beyond the portable core.

/// What a SQL backend can do beyond the portable core that every backend shares.
///
/// The conformance suite runs the behaviours that need a capability only on backends that
/// declare it, and prints an `opt-out:` line naming the capability for the others. PostgreSQL
/// declares [`all`](Self::all); SQLite declares [`none`](Self::none).
///
/// ```
/// use store_core::sql::SqlCapabilities;
/// let caps = SqlCapabilities::none().strict_types(true).jsonb(true);
/// assert!(caps.strict_types && caps.jsonb && !caps.concurrent_transactions);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SqlCapabilities {
    /// The server enforces declared column types: `varchar(n)` lengths, `numeric(p,s)`
    /// precision, `smallint` ranges, text refused where a number is declared and bytes where a
    /// boolean is; division by zero is an error, not NULL.
    pub strict_types: bool,
    /// `numeric` columns keep exact decimals at their declared scale (`42` in a
    /// `numeric(38,10)` reads back as `42.0000000000`) and the server computes with them
    /// exactly (`sum` of 38-digit values).
    pub exact_numeric: bool,
    /// PostgreSQL's `::` cast operator (`$1::bigint`, `NULL::text`).
    pub cast_operator: bool,
    /// `jsonb` operators and functions with PostgreSQL's semantics (`->` yielding `jsonb`,
    /// `->>` yielding text that casts to boolean, `jsonb_array_length`).
    pub jsonb: bool,
    /// Several write transactions may be open at once; when they collide, one fails with a
    /// serialization failure (`Conflict`) at its statement or commit.
    pub concurrent_transactions: bool,
    /// Each [`IsolationLevel`](super::IsolationLevel) runs as itself and the server reports it
    /// (`current_setting('transaction_isolation')`).
    pub isolation_levels: bool,
}

impl SqlCapabilities {
    /// Only the portable core (the same as `default()`); add flags with the setters.
    pub const fn none() -> Self {
        Self {
            strict_types: false,
            exact_numeric: false,
            cast_operator: false,
            jsonb: false,
            concurrent_transactions: false,
            isolation_levels: false,
        }
    }

    /// Every capability this version knows (PostgreSQL).
    pub const fn all() -> Self {
        Self {
            strict_types: true,
            exact_numeric: true,
            cast_operator: true,
            jsonb: true,
            concurrent_transactions: true,
            isolation_levels: true,
        }
    }

    /// Sets whether the server enforces declared column types.
    pub const fn strict_types(mut self, on: bool) -> Self {
        self.strict_types = on;
        self
    }

    /// Sets whether `numeric` columns are exact at their declared scale.
    pub const fn exact_numeric(mut self, on: bool) -> Self {
        self.exact_numeric = on;
        self
    }

    /// Sets whether the `::` cast operator works.
    pub const fn cast_operator(mut self, on: bool) -> Self {
        self.cast_operator = on;
        self
    }

    /// Sets whether PostgreSQL's `jsonb` operators and functions work.
    pub const fn jsonb(mut self, on: bool) -> Self {
        self.jsonb = on;
        self
    }

    /// Sets whether several write transactions may be open at once.
    pub const fn concurrent_transactions(mut self, on: bool) -> Self {
        self.concurrent_transactions = on;
        self
    }

    /// Sets whether each isolation level runs as itself.
    pub const fn isolation_levels(mut self, on: bool) -> Self {
        self.isolation_levels = on;
        self
    }
}
