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

// Migration 2: expert labels become events (docs/validation.md), one document per batch in
// expert_labels. The label sets of source "expert" that version 1 wrote become batches of
// validated events, in the order they were written. Safe to run twice at once: a set's batch has
// a fixed _id (a second insert is a duplicate, ignored), and the sample's set is removed with a
// $pull, which changes nothing the second time.
void ExpertLabelEvents(const MongoClient& client) {
  const IndexSpec expert_labels[] = {
      {.name = "data_id_number", .keys = {{"data_id", 1}, {"events.number", 1}}},
  };
  CreateIndexes(client, kExpertLabelsCollection, expert_labels);

  struct ExpertSet {
    std::string sample_id;
    std::string data_id;
    std::string set_id;
  };
  std::vector<ExpertSet> sets;
  MongoCollection samples = client.Collection(kSamplesCollection);
  {
    Bson filter;
    filter.Utf8("label_sets.source", "expert");
    Bson options;
    options.Document("projection", [](BsonBuilder& projection) {
      projection.Int32("data_id", 1).Int32("label_sets", 1);
    });
    MongoCursor cursor = samples.Find(filter, options);
    while (const bson_t* document = cursor.Next()) {
      std::string sample_id;
      std::string data_id;
      std::vector<std::string> set_ids;
      bson_iter_t iter;
      bson_iter_init(&iter, document);
      while (bson_iter_next(&iter)) {
        if (Key(iter) == "_id") {
          sample_id = ReadUtf8(iter, "samples._id");
        } else if (Key(iter) == "data_id") {
          data_id = ReadUtf8(iter, "samples.data_id");
        } else if (Key(iter) == "label_sets") {
          bson_iter_t item = ReadChildren(iter, "samples.label_sets");
          while (bson_iter_next(&item)) {
            std::string source;
            std::string set_id;
            bson_iter_t part = ReadChildren(item, "samples.label_sets[]");
            while (bson_iter_next(&part)) {
              if (Key(part) == "source") {
                source = ReadUtf8(part, "samples.label_sets.source");
              } else if (Key(part) == "set_id") {
                set_id = ReadUtf8(part, "samples.label_sets.set_id");
              }
            }
            if (source == "expert") {
              set_ids.push_back(set_id);
            }
          }
        }
      }
      for (std::string& set_id : set_ids) {
        sets.push_back({.sample_id = sample_id, .data_id = data_id, .set_id = std::move(set_id)});
      }
    }
  }

  MongoCollection labels = client.Collection(kLabelsCollection);
  MongoCollection batches = client.Collection(kExpertLabelsCollection);
  for (const ExpertSet& set : sets) {
    Bson filter;
    filter.Utf8("set_id", set.set_id);
    Bson options;
    options.Document("sort", [](BsonBuilder& sort) { sort.Int32("seq", 1); });
    std::vector<Bson> events;
    {
      MongoCursor cursor = labels.Find(filter, options);
      while (const bson_t* label = cursor.Next()) {
        Bson event;
        bson_iter_t iter;
        bson_iter_init(&iter, label);
        while (bson_iter_next(&iter)) {
          const std::string_view key = Key(iter);
          if (key == "number" || key == "name" || key == "classification" || key == "author" ||
              key == "created_at") {
            bson_append_iter(event.Get(), bson_iter_key(&iter), -1, &iter);
          }
        }
        event.Utf8("status", "validated").Int64("undoes", 0).Int64("restores", 0);
        events.push_back(std::move(event));
      }
    }
    if (!events.empty()) {
      const int64_t first = ReserveExpertSequences(client, static_cast<int64_t>(events.size()));
      Bson batch;
      batch.Utf8("_id", "schema-2-" + set.set_id)
          .Utf8("sample_id", set.sample_id)
          .Utf8("data_id", set.data_id)
          .DateTime("written_at", NowMs());
      batch.Array("events", [&](BsonBuilder& array) {
        for (size_t index = 0; index < events.size(); ++index) {
          Bson& event = events[index];
          event.Int64("seq", first + static_cast<int64_t>(index));
          array.CopyDocument(array.NextIndex(), event.Get());
        }
      });
      try {
        batches.InsertOne(batch);
      } catch (const Error& error) {
        if (error.Code() != ErrorCode::kConflict) {
          throw;  // a duplicate _id: another process moved this set first
        }
      }
    }
    Bson sample_filter;
    sample_filter.Utf8("_id", set.sample_id);
    Bson update;
    update.Document("$pull", [&](BsonBuilder& pull) {
      pull.Document("label_sets", [&](BsonBuilder& match) { match.Utf8("set_id", set.set_id); });
    });
    // A ReplaceLabels of an older phytoflow that read the sets before this must not put it back.
    update.Document("$inc", [](BsonBuilder& inc) { inc.Int64("labels_revision", 1); });
    samples.UpdateOne(sample_filter, update);
    labels.DeleteMany(filter);
  }
}

struct Migration {
  int version;
  const char* name;
  void (*apply)(const MongoClient& client);
};

// Never change a migration that has shipped: add the next number.
constexpr Migration kMigrations[] = {
    {.version = 1, .name = "collections and indexes", .apply = CreateCollections},
    {.version = 2, .name = "expert label events", .apply = ExpertLabelEvents},
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

int64_t ReserveExpertSequences(const MongoClient& client, int64_t count) {
  MongoCollection sequences = client.Collection(kSequencesCollection);
  Bson filter;
  filter.Utf8("_id", kExpertLabelsCollection);
  Bson update;
  update.Document("$inc", [&](BsonBuilder& inc) { inc.Int64("last", count); });
  // The first reservations of a store may race to upsert the missing counter: one creates it,
  // the others find no document or fail on the duplicate _id, depending on the server. Trying
  // again increments the created counter. (A retried failure that had been applied leaves a gap,
  // which is harmless: sequences need only be unique and increasing.)
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    std::optional<Bson> document;
    try {
      document = sequences.FindOneAndUpdate(filter, update, /*upsert=*/true);
    } catch (const Error&) {
      if (attempt == kAttempts) {
        throw;
      }
      continue;
    }
    const std::optional<bson_iter_t> last =
        document ? FindField(document->Get(), "last") : std::nullopt;
    if (last) {
      return ReadInt64(*last, "sequences.last") - count + 1;
    }
    if (attempt == kAttempts) {
      throw Error(ErrorCode::kInternal, "sequences: findAndModify returned no document");
    }
  }
}

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
