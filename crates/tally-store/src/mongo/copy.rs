//! One end of `tally copy` on MongoDB: a source read from one snapshot (a
//! snapshot session), a target written in one transaction with bulk
//! inserts.

use mongodb::bson::{doc, Document};
use mongodb::options::InsertOneModel;
use mongodb::sync::ClientSession;

use super::fields::{to_bson, value};
use super::{migrate, schema, Connection, Target};
use crate::copy::{CopyEnd, Row, Table};
use crate::StoreError;

/// A connection a copy reads from or writes to, with its open session.
pub(crate) struct MongoCopy {
    connection: Connection,
    session: Option<ClientSession>,
    writing: bool,
}

/// Connects for a copy, creating the collections when it is a target (as
/// any Tally command does).
pub(crate) fn open(target: &Target) -> Result<MongoCopy, StoreError> {
    let connection = target.connect()?;
    migrate(&connection)?;
    Ok(MongoCopy { connection, session: None, writing: false })
}

impl MongoCopy {
    fn session(&mut self) -> Result<&mut ClientSession, StoreError> {
        if self.session.is_none() {
            self.session = Some(self.connection.client.start_session().run()?);
        }
        Ok(self.session.as_mut().expect("just started"))
    }
}

impl CopyEnd for MongoCopy {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        let names = self.connection.database.list_collection_names().run()?;
        Ok(names.into_iter().filter(|name| !name.starts_with("system.")).collect())
    }

    fn column_names(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        schema::validated_fields(&self.connection.database, table)
    }

    fn begin_snapshot(&mut self) -> Result<(), StoreError> {
        self.session = Some(self.connection.client.start_session().snapshot(true).run()?);
        Ok(())
    }

    fn count(&mut self, table: &Table) -> Result<u64, StoreError> {
        let collection = self.connection.collection(table.name);
        Ok(match self.session.as_mut() {
            Some(session) => collection.count_documents(doc! {}).session(session).run()?,
            None => collection.count_documents(doc! {}).run()?,
        })
    }

    fn scan(&mut self, table: &Table, each: &mut dyn FnMut(Row) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let collection = self.connection.collection(table.name);
        let session = self.session()?;
        let mut cursor = collection.find(doc! {}).batch_size(10_000).session(&mut *session).run()?;
        for document in cursor.iter(session) {
            let document = document?;
            each(table.columns.iter().map(|(name, kind)| value(&document, name, *kind)).collect())?;
        }
        Ok(())
    }

    fn begin_write(&mut self) -> Result<(), StoreError> {
        let session = self.session()?;
        session.start_transaction().run()?;
        self.writing = true;
        Ok(())
    }

    fn clear(&mut self, table: &Table) -> Result<(), StoreError> {
        let collection = self.connection.collection(table.name);
        collection.delete_many(doc! {}).session(self.session()?).run()?;
        Ok(())
    }

    fn insert(&mut self, table: &Table, rows: &[Row]) -> Result<(), StoreError> {
        let namespace = self.connection.collection(table.name).namespace();
        let models: Vec<InsertOneModel> = rows
            .iter()
            .map(|row| {
                let mut document = Document::new();
                for ((name, _), value) in table.columns.iter().zip(row) {
                    document.insert(*name, to_bson(value));
                }
                InsertOneModel::builder().namespace(namespace.clone()).document(document).build()
            })
            .collect();
        let client = self.connection.client.clone();
        client.bulk_write(models).session(self.session()?).run()?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if let Some(mut session) = self.session.take() {
            if std::mem::take(&mut self.writing) {
                session.commit_transaction().run()?;
            }
        }
        Ok(())
    }
}
