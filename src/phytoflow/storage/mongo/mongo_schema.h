#pragma once

// Private to storage/mongo: the collections of the MongoDB store and the numbered migrations that
// create them. docs/formats/mongodb-schema.md describes every field.

#include "phytoflow/storage/mongo/mongo_support.h"

namespace phytoflow::detail {

inline constexpr const char* kSchemaCollection = "phytoflow_schema";  // {_id: "schema", version}
inline constexpr const char* kSamplesCollection = "samples";
inline constexpr const char* kParticlesCollection = "particles";
inline constexpr const char* kImagesCollection = "images";
inline constexpr const char* kLabelsCollection = "labels";
inline constexpr const char* kLabelHistoryCollection = "label_history";
inline constexpr const char* kSampleFilesCollection = "sample_files";
inline constexpr const char* kPendingWritesCollection = "pending_writes";
inline constexpr const char* kExpertLabelsCollection = "expert_labels";  // one batch per document
inline constexpr const char* kSequencesCollection = "sequences";  // {_id: "expert_labels", last}

// Reserves `count` (> 0) consecutive numbers of the store's expert label sequence with one
// findAndModify of the sequences document, and returns the first. Numbers are never given twice
// and increase in the order they are reserved.
int64_t ReserveExpertSequences(const MongoClient& client, int64_t count);

// The schema version this phytoflow writes: the number of the last migration.
int MongoSchemaVersion();

// Applies the migrations newer than the database's version, in order, and records the new
// version. Migrations are idempotent (creating an index that exists is a no-op), so two processes
// opening a fresh database at once both succeed. Throws Error{kUnavailable} if the database was
// written by a newer phytoflow.
void MigrateMongoSchema(const MongoClient& client, const MongoDatabase& database);

}  // namespace phytoflow::detail
