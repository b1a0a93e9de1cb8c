//! Lookups by a primary or unique key, without `LIMIT ?`.
//!
//! sea-orm's `one()` appends `LIMIT ?` and binds the 1. SQLite lets the
//! value of a bound LIMIT steer its query plan, so binding one marks the
//! statement stale: every run re-parses and re-plans it, and the statement
//! cache never helps (a cached `… LIMIT ?` statement counted one re-prepare
//! per run; in a complete code flow, re-preparing took ~12 % of the SQLite
//! threads' time). A lookup by a key matches at most one row anyway, so
//! [`Unique::unique`] runs the same query without LIMIT and takes that row.
//! Use it only with a primary-key or unique-column filter: anything else
//! would read every matching row.

use std::future::Future;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Select, SelectTwo, Selector, SelectorTrait};

pub trait Unique {
    type Row;

    /// The row the key names, if any.
    fn unique<C: ConnectionTrait>(
        self,
        db: &C,
    ) -> impl Future<Output = Result<Option<Self::Row>, DbErr>> + Send;
}

impl<E: EntityTrait> Unique for Select<E> {
    type Row = E::Model;

    async fn unique<C: ConnectionTrait>(self, db: &C) -> Result<Option<E::Model>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}

impl<E: EntityTrait, F: EntityTrait> Unique for SelectTwo<E, F> {
    type Row = (E::Model, Option<F::Model>);

    async fn unique<C: ConnectionTrait>(self, db: &C) -> Result<Option<Self::Row>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}

impl<S: SelectorTrait + Send + Sync> Unique for Selector<S>
where
    S::Item: Send,
{
    type Row = S::Item;

    async fn unique<C: ConnectionTrait>(self, db: &C) -> Result<Option<S::Item>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}
