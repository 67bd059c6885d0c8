#include "phytoflow/storage/mongo/mongo_schema.h"

#include "phytoflow/core/version.h"

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace phytoflow::detail {
namespace {

struct IndexSpec {
  const char* name;
  std::vector<std::pair<const char*, int>> keys;  // field, 1 (ascending)
  bool unique = false;
};

void CreateIndexes(const MongoClient& client,
                   const char* collection_name,
                   std::span<const IndexSpec> indexes) {
  MongoCollection collection = client.Collection(collection_name);
  Bson command;
  command.Utf8("createIndexes", collection_name);
  command.Array("indexes", [&](BsonBuilder& array) {
    for (const IndexSpec& index : indexes) {
      array.Document(array.NextIndex(), [&](BsonBuilder& spec) {
        spec.Document("key", [&](BsonBuilder& keys) {
          for (const auto& [field, direction] : index.keys) {
            keys.Int32(field, direction);
          }
        });
        spec.Utf8("name", index.name);
        if (index.unique) {
          spec.Bool("unique", true);
        }
      });
    }
  });
  collection.RunCommand(command);
}

// Migration 1: the collections and their indexes. MongoDB creates a collection with its first
// index, so this is all the DDL there is.
void CreateCollections(const MongoClient& client) {
  const IndexSpec samples[] = {
      {.name = "fingerprint", .keys = {{"fingerprint", 1}}, .unique = true},
      {.name = "ingested_at_id", .keys = {{"ingested_at", 1}, {"_id", 1}}},
      {.name = "data_id", .keys = {{"data_id", 1}}},
      {.name = "label_set_id", .keys = {{"label_sets.set_id", 1}}},
  };
  CreateIndexes(client, kSamplesCollection, samples);
  const IndexSpec by_data_and_number[] = {
      {.name = "data_id_number", .keys = {{"data_id", 1}, {"number", 1}}, .unique = true},
  };
  CreateIndexes(client, kParticlesCollection, by_data_and_number);
  CreateIndexes(client, kImagesCollection, by_data_and_number);
  const IndexSpec labels[] = {
      {.name = "set_id_number", .keys = {{"set_id", 1}, {"number", 1}}},
      {.name = "data_id_number", .keys = {{"data_id", 1}, {"number", 1}}},
  };
  CreateIndexes(client, kLabelsCollection, labels);
  const IndexSpec label_history[] = {
      {.name = "sample_id_number", .keys = {{"sample_id", 1}, {"number", 1}}},
      {.name = "replaced_by", .keys = {{"replaced_by", 1}}},
  };
  CreateIndexes(client, kLabelHistoryCollection, label_history);
  const IndexSpec files[] = {
      {.name = "data_id_position", .keys = {{"data_id", 1}, {"position", 1}}, .unique = true},
  };
  CreateIndexes(client, kSampleFilesCollection, files);
  const IndexSpec pending[] = {
      {.name = "updated_at", .keys = {{"updated_at", 1}}},
  };
  CreateIndexes(client, kPendingWritesCollection, pending);
}

struct Migration {
  int version;
  const char* name;
  void (*apply)(const MongoClient& client);
};

// Never change a migration that has shipped: add the next number.
constexpr Migration kMigrations[] = {
    {.version = 1, .name = "collections and indexes", .apply = CreateCollections},
};

int StoredVersion(MongoCollection& schema) {
  Bson filter;
  filter.Utf8("_id", "schema");
  const std::optional<Bson> document = schema.FindOne(filter);
  if (!document) {
    return 0;
  }
  const std::optional<bson_iter_t> version = FindField(document->Get(), "version");
  return version ? static_cast<int>(ReadInt64(*version, "phytoflow_schema.version")) : 0;
}

}  // namespace

int MongoSchemaVersion() {
  return std::end(kMigrations)[-1].version;
}

void MigrateMongoSchema(const MongoClient& client, const MongoDatabase& database) {
  MongoCollection schema = client.Collection(kSchemaCollection);
  const int known = MongoSchemaVersion();
  const int stored = StoredVersion(schema);
  if (stored > known) {
    throw Error(ErrorCode::kUnavailable,
                "MongoDB store " + database.Target().redacted_uri + ": schema version " +
                    std::to_string(stored) + " is newer than this phytoflow (" +
                    std::to_string(known) + "); upgrade phytoflow");
  }
  if (stored == known) {
    return;
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version > stored) {
      migration.apply(client);
    }
  }
  // $max: a slower process that migrated from an older version never lowers the number.
  Bson filter;
  filter.Utf8("_id", "schema");
  Bson update;
  update.Document("$max", [&](BsonBuilder& max) { max.Int32("version", known); });
  update.Document("$set", [&](BsonBuilder& set) {
    set.DateTime("migrated_at", NowMs());
    set.Utf8("phytoflow_version", Version());
  });
  schema.UpdateOne(filter, update, /*upsert=*/true);
}

}  // namespace phytoflow::detail
