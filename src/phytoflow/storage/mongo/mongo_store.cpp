#include "phytoflow/storage/mongo/mongo_store.h"

#include "phytoflow/core/error.h"
#include "phytoflow/storage/mongo/mongo_schema.h"
#include "phytoflow/storage/mongo/mongo_support.h"
#include "phytoflow/storage/store_checks.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_set>
#include <utility>

#include <unistd.h>  // getpid, gethostname

namespace phytoflow {
namespace {

using detail::Bson;
using detail::BsonBuilder;
using detail::BulkInsert;
using detail::FindField;
using detail::Key;
using detail::MongoClient;
using detail::MongoCollection;
using detail::MongoCursor;
using detail::MongoDatabase;
using detail::ReadBinary;
using detail::ReadChildren;
using detail::ReadDouble;
using detail::ReadInt64;
using detail::ReadOptionalDouble;
using detail::ReadOptionalInt64;
using detail::ReadUtf8;

// A writer touches its pending_writes document at most this often (on a batch send), so that a
// live write never looks stale to garbage collection.
constexpr std::chrono::milliseconds kTouchInterval{60'000};
// How often a commit or delete starts again when another process changed the sample meanwhile.
constexpr int kMaxAttempts = 5;
// A file is one document, and a document is at most 16 MiB; GridFS would be needed beyond.
constexpr size_t kMaxFileBytes = size_t{15} << 20;
// Ids per $in list when deleting orphans.
constexpr size_t kIdsPerDelete = 1000;

// The kinds of pending_writes documents.
constexpr const char* kSampleWrite = "sample";
constexpr const char* kLabelsWrite = "labels";
constexpr const char* kDeleteWrite = "delete";

Bson ById(std::string_view id) {
  Bson filter;
  filter.Utf8("_id", id);
  return filter;
}

Bson ByField(std::string_view key, std::string_view value) {
  Bson filter;
  filter.Utf8(key, value);
  return filter;
}

Bson Projection(std::initializer_list<const char*> fields, int include) {
  Bson projection;
  for (const char* field : fields) {
    projection.Int32(field, include);
  }
  return projection;
}

Bson SortBy(std::initializer_list<const char*> fields) {
  Bson options;
  options.Document("sort", [&](BsonBuilder& sort) {
    for (const char* field : fields) {
      sort.Int32(field, 1);
    }
  });
  return options;
}

std::string NotFoundMessage(const std::string& sample_id) {
  return "no sample '" + sample_id + "' in the store";
}

// ---------------------------------------------------------------------------------------------
// Sample documents: the fields of Sample under the names of the SQLite columns

struct TextField {
  std::string_view name;
  std::string Sample::* member;
};
constexpr std::array<TextField, 14> kTextFields = {{
    {"run_name", &Sample::run_name},
    {"fingerprint", &Sample::fingerprint},
    {"source_path", &Sample::source_path},
    {"software", &Sample::software},
    {"software_version", &Sample::software_version},
    {"instrument_serial", &Sample::instrument_serial},
    {"camera", &Sample::camera},
    {"flow_cell", &Sample::flow_cell},
    {"run_start_utc", &Sample::run_start_utc},
    {"run_end_utc", &Sample::run_end_utc},
    {"run_start_local", &Sample::run_start_local},
    {"notes", &Sample::notes},
    {"ingested_at", &Sample::ingested_at},
    {"phytoflow_version", &Sample::phytoflow_version},
}};

struct OptionalNumberField {
  std::string_view name;
  std::optional<double> Sample::* member;
};
constexpr std::array<OptionalNumberField, 7> kOptionalNumberFields = {{
    {"magnification", &Sample::magnification},
    {"calibration_um_per_px", &Sample::calibration_um_per_px},
    {"flow_cell_depth_um", &Sample::flow_cell_depth_um},
    {"flow_rate_ml_per_min", &Sample::flow_rate_ml_per_min},
    {"volume_imaged_ml", &Sample::volume_imaged_ml},
    {"volume_processed_ml", &Sample::volume_processed_ml},
    {"particles_per_ml", &Sample::particles_per_ml},
}};

struct OptionalIntegerField {
  std::string_view name;
  std::optional<int64_t> Sample::* member;
};
constexpr std::array<OptionalIntegerField, 2> kOptionalIntegerFields = {{
    {"frames_total", &Sample::frames_total},
    {"frames_used", &Sample::frames_used},
}};

struct StringListField {
  std::string_view name;
  std::vector<std::string> Sample::* member;
};
constexpr std::array<StringListField, 3> kStringListFields = {{
    {"measurement_names", &Sample::measurement_names},
    {"classifications", &Sample::classifications},
    {"warnings", &Sample::warnings},
}};

struct ContextField {
  std::string_view name;
  std::vector<ContextEntry> Sample::* member;
};
constexpr std::array<ContextField, 2> kContextFields = {{
    {"context", &Sample::context},
    {"summary", &Sample::summary},
}};

// Sample::metadata, as the sub-document `metadata`; unset keys are left out.
struct MetadataField {
  std::string_view name;
  std::string SampleMetadata::* text = nullptr;
  std::optional<double> SampleMetadata::* number = nullptr;
};
constexpr std::array<MetadataField, 15> kMetadataFields = {{
    {.name = "station", .text = &SampleMetadata::station},
    {.name = "campaign", .text = &SampleMetadata::campaign},
    {.name = "latitude", .number = &SampleMetadata::latitude},
    {.name = "longitude", .number = &SampleMetadata::longitude},
    {.name = "sampled_at", .text = &SampleMetadata::sampled_at},
    {.name = "depth_min_m", .number = &SampleMetadata::depth_min_m},
    {.name = "depth_max_m", .number = &SampleMetadata::depth_max_m},
    {.name = "sampling_protocol", .text = &SampleMetadata::sampling_protocol},
    {.name = "gear", .text = &SampleMetadata::gear},
    {.name = "water_body", .text = &SampleMetadata::water_body},
    {.name = "country_code", .text = &SampleMetadata::country_code},
    {.name = "dilution_factor", .number = &SampleMetadata::dilution_factor},
    {.name = "concentration_factor", .number = &SampleMetadata::concentration_factor},
    {.name = "temperature_c", .number = &SampleMetadata::temperature_c},
    {.name = "salinity", .number = &SampleMetadata::salinity},
}};

void AppendMetadata(BsonBuilder& document, const SampleMetadata& metadata) {
  for (const MetadataField& field : kMetadataFields) {
    if (field.text != nullptr && !(metadata.*field.text).empty()) {
      document.Utf8(field.name, metadata.*field.text);
    } else if (field.number != nullptr && (metadata.*field.number).has_value()) {
      document.Double(field.name, *(metadata.*field.number));
    }
  }
  if (!metadata.environment.empty()) {
    // An array of {name, value}, not an object: names are data, and keys may not hold '.' or '$'.
    document.Array("environment", [&](BsonBuilder& values) {
      for (const auto& [name, value] : metadata.environment) {
        values.Document(values.NextIndex(),
                        [&](BsonBuilder& item) { item.Utf8("name", name).Double("value", value); });
      }
    });
  }
}

SampleMetadata ReadMetadata(const bson_iter_t& field) {
  SampleMetadata metadata;
  bson_iter_t iter = ReadChildren(field, "samples.metadata");
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "environment") {
      bson_iter_t item = ReadChildren(iter, "samples.metadata.environment");
      while (bson_iter_next(&item)) {
        bson_iter_t pair = ReadChildren(item, "samples.metadata.environment[]");
        std::string name;
        double value = std::nan("");
        while (bson_iter_next(&pair)) {
          if (Key(pair) == "name") {
            name = ReadUtf8(pair, "samples.metadata.environment.name");
          } else if (Key(pair) == "value") {
            value = ReadDouble(pair, "samples.metadata.environment.value");
          }
        }
        metadata.environment[name] = value;
      }
      continue;
    }
    for (const MetadataField& known : kMetadataFields) {
      if (known.name == key) {
        if (known.text != nullptr) {
          metadata.*known.text = ReadUtf8(iter, "samples.metadata.text");
        } else {
          metadata.*known.number = ReadOptionalDouble(iter, "samples.metadata.number");
        }
        break;
      }
    }
  }
  return metadata;
}

// Every field of `sample` but its files (kept in sample_files) and its id.
void AppendSample(BsonBuilder& document, const Sample& sample) {
  for (const TextField& field : kTextFields) {
    document.Utf8(field.name, sample.*field.member);
  }
  for (const OptionalNumberField& field : kOptionalNumberFields) {
    document.OptionalDouble(field.name, sample.*field.member);
  }
  for (const OptionalIntegerField& field : kOptionalIntegerFields) {
    document.OptionalInt64(field.name, sample.*field.member);
  }
  for (const StringListField& field : kStringListFields) {
    document.Array(field.name, [&](BsonBuilder& array) {
      for (const std::string& text : sample.*field.member) {
        array.Utf8(array.NextIndex(), text);
      }
    });
  }
  for (const ContextField& field : kContextFields) {
    document.Array(field.name, [&](BsonBuilder& array) {
      for (const ContextEntry& entry : sample.*field.member) {
        array.Document(array.NextIndex(), [&](BsonBuilder& item) {
          item.Utf8("section", entry.section).Utf8("key", entry.key).Utf8("value", entry.value);
        });
      }
    });
  }
  document.Utf8("volume_source", VolumeSourceName(sample.volume_source));
  document.Double("dilution_factor", sample.dilution_factor);
  document.Int64("particle_count", sample.particle_count);
  document.Document("metadata",
                    [&](BsonBuilder& metadata) { AppendMetadata(metadata, sample.metadata); });
}

Sample ReadSample(const bson_t* document) {
  Sample sample;
  bson_iter_t iter;
  bson_iter_init(&iter, document);
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "_id") {
      sample.id = ReadUtf8(iter, "samples._id");
    } else if (key == "volume_source") {
      const std::string name = ReadUtf8(iter, "samples.volume_source");
      const std::optional<VolumeSource> source = ParseVolumeSource(name);
      if (!source) {
        throw Error(ErrorCode::kInternal, "stored sample: unknown volume_source '" + name + "'");
      }
      sample.volume_source = *source;
    } else if (key == "dilution_factor") {
      sample.dilution_factor = ReadDouble(iter, "samples.dilution_factor");
    } else if (key == "particle_count") {
      sample.particle_count = ReadInt64(iter, "samples.particle_count");
    } else if (key == "metadata") {
      sample.metadata = ReadMetadata(iter);
    } else {
      for (const TextField& field : kTextFields) {
        if (field.name == key) {
          sample.*field.member = ReadUtf8(iter, "samples text field");
        }
      }
      for (const OptionalNumberField& field : kOptionalNumberFields) {
        if (field.name == key) {
          sample.*field.member = ReadOptionalDouble(iter, "samples number field");
        }
      }
      for (const OptionalIntegerField& field : kOptionalIntegerFields) {
        if (field.name == key) {
          sample.*field.member = ReadOptionalInt64(iter, "samples integer field");
        }
      }
      for (const StringListField& field : kStringListFields) {
        if (field.name == key) {
          bson_iter_t item = ReadChildren(iter, "samples string list");
          while (bson_iter_next(&item)) {
            (sample.*field.member).push_back(ReadUtf8(item, "samples string list item"));
          }
        }
      }
      for (const ContextField& field : kContextFields) {
        if (field.name == key) {
          bson_iter_t item = ReadChildren(iter, "samples context");
          while (bson_iter_next(&item)) {
            ContextEntry entry;
            bson_iter_t part = ReadChildren(item, "samples context entry");
            while (bson_iter_next(&part)) {
              const std::string_view part_key = Key(part);
              if (part_key == "section") {
                entry.section = ReadUtf8(part, "samples context section");
              } else if (part_key == "key") {
                entry.key = ReadUtf8(part, "samples context key");
              } else if (part_key == "value") {
                entry.value = ReadUtf8(part, "samples context value");
              }
            }
            (sample.*field.member).push_back(std::move(entry));
          }
        }
      }
    }
  }
  return sample;
}

// The fields of a sample document that only the store uses: which data and labels it shows.
struct LabelSet {
  std::string source;
  std::string classification;
  std::string set_id;
};

struct SampleState {
  std::string data_id;
  std::vector<LabelSet> label_sets;
  int64_t next_label_seq = 0;   // sequence number of the next label written: keeps add order
  int64_t labels_revision = 0;  // +1 on every ReplaceLabels, so two cannot overwrite each other
};

Bson StateProjection() {
  return Projection({"data_id", "label_sets", "next_label_seq", "labels_revision"}, 1);
}

SampleState ReadState(const bson_t* document) {
  SampleState state;
  bson_iter_t iter;
  bson_iter_init(&iter, document);
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "data_id") {
      state.data_id = ReadUtf8(iter, "samples.data_id");
    } else if (key == "next_label_seq") {
      state.next_label_seq = ReadInt64(iter, "samples.next_label_seq");
    } else if (key == "labels_revision") {
      state.labels_revision = ReadInt64(iter, "samples.labels_revision");
    } else if (key == "label_sets") {
      bson_iter_t item = ReadChildren(iter, "samples.label_sets");
      while (bson_iter_next(&item)) {
        LabelSet set;
        bson_iter_t part = ReadChildren(item, "samples.label_sets[]");
        while (bson_iter_next(&part)) {
          const std::string_view part_key = Key(part);
          if (part_key == "source") {
            set.source = ReadUtf8(part, "samples.label_sets.source");
          } else if (part_key == "classification") {
            set.classification = ReadUtf8(part, "samples.label_sets.classification");
          } else if (part_key == "set_id") {
            set.set_id = ReadUtf8(part, "samples.label_sets.set_id");
          }
        }
        state.label_sets.push_back(std::move(set));
      }
    }
  }
  return state;
}

// Reads are not snapshots: a replace or delete that commits during a read deletes the data (or
// label sets) being read. So a read checks afterwards that the sample still shows what it read
// (its data, and with `labels` its label sets), and otherwise throws Error{kConflict} rather than
// return part of a sample.
void CheckUnchangedSinceRead(MongoCollection& samples,
                             const std::string& sample_id,
                             const SampleState& read,
                             bool labels) {
  const std::optional<Bson> document = samples.FindOne(ById(sample_id), StateProjection().Get());
  bool unchanged = false;
  if (document) {
    const SampleState now = ReadState(document->Get());
    const auto set_ids = [](const SampleState& state) {
      std::vector<std::string> ids;
      for (const LabelSet& set : state.label_sets) {
        ids.push_back(set.set_id);
      }
      return ids;
    };
    unchanged =
        now.data_id == read.data_id &&
        (!labels || (now.labels_revision == read.labels_revision && set_ids(now) == set_ids(read)));
  }
  if (!unchanged) {
    throw Error(
        ErrorCode::kConflict,
        "sample '" + sample_id + "' was replaced or deleted while being read; read it again");
  }
}

void AppendLabelSets(BsonBuilder& document, const std::vector<LabelSet>& sets) {
  document.Array("label_sets", [&](BsonBuilder& array) {
    for (const LabelSet& set : sets) {
      array.Document(array.NextIndex(), [&](BsonBuilder& item) {
        item.Utf8("source", set.source)
            .Utf8("classification", set.classification)
            .Utf8("set_id", set.set_id);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Particle, image, label and file documents

void BuildParticle(Bson& document, const std::string& data_id, const Particle& particle) {
  document.Utf8("data_id", data_id)
      .Int64("number", particle.number)
      .Utf8OrNull("guid", particle.guid)
      .Utf8("collage_file", particle.collage_file)
      .Document("box",
                [&](BsonBuilder& box) {
                  box.Int32("x", particle.box.x)
                      .Int32("y", particle.box.y)
                      .Int32("width", particle.box.width)
                      .Int32("height", particle.box.height);
                })
      .Int64("particles_per_chain", particle.particles_per_chain)
      .Utf8("timestamp", particle.timestamp)
      .DoubleOrNull("esd_um", particle.esd_um)
      .DoubleOrNull("abd_um", particle.abd_um)
      .DoubleOrNull("biovolume_esd_um3", particle.biovolume_esd_um3)
      .DoubleOrNull("biovolume_abd_um3", particle.biovolume_abd_um3)
      .Array("measurements", [&](BsonBuilder& values) {
        for (double value : particle.measurements) {
          values.DoubleOrNull(values.NextIndex(), value);
        }
      });
  if (!particle.outlines.empty()) {
    document.Array("outlines", [&](BsonBuilder& outlines) {
      for (const ChainCode& chain : particle.outlines) {
        outlines.Document(outlines.NextIndex(), [&](BsonBuilder& item) {
          item.Int32("start_x", chain.start_x)
              .Int32("start_y", chain.start_y)
              .Utf8("directions", chain.directions);
        });
      }
    });
  }
}

int ReadInt(const bson_iter_t& iter, const char* what) {
  const int64_t value = ReadInt64(iter, what);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    throw Error(ErrorCode::kInternal,
                std::string(what) + ": " + std::to_string(value) + " is out of range");
  }
  return static_cast<int>(value);
}

// Reads a particle document into `particle` (reused between particles: every field is set).
// Measurements are padded with kMissing to `measurement_count`.
void ReadParticle(const bson_t* document, size_t measurement_count, Particle& particle) {
  particle.guid.clear();
  particle.outlines.clear();
  particle.image_png.clear();
  particle.mask_png.clear();
  particle.measurements.assign(measurement_count, kMissing);
  bson_iter_t iter;
  bson_iter_init(&iter, document);
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "number") {
      particle.number = ReadInt64(iter, "particles.number");
    } else if (key == "guid") {
      particle.guid = ReadUtf8(iter, "particles.guid");
    } else if (key == "collage_file") {
      particle.collage_file = ReadUtf8(iter, "particles.collage_file");
    } else if (key == "box") {
      bson_iter_t part = ReadChildren(iter, "particles.box");
      while (bson_iter_next(&part)) {
        const std::string_view part_key = Key(part);
        if (part_key == "x") {
          particle.box.x = ReadInt(part, "particles.box.x");
        } else if (part_key == "y") {
          particle.box.y = ReadInt(part, "particles.box.y");
        } else if (part_key == "width") {
          particle.box.width = ReadInt(part, "particles.box.width");
        } else if (part_key == "height") {
          particle.box.height = ReadInt(part, "particles.box.height");
        }
      }
    } else if (key == "particles_per_chain") {
      particle.particles_per_chain = ReadInt64(iter, "particles.particles_per_chain");
    } else if (key == "timestamp") {
      particle.timestamp = ReadUtf8(iter, "particles.timestamp");
    } else if (key == "esd_um") {
      particle.esd_um = ReadDouble(iter, "particles.esd_um");
    } else if (key == "abd_um") {
      particle.abd_um = ReadDouble(iter, "particles.abd_um");
    } else if (key == "biovolume_esd_um3") {
      particle.biovolume_esd_um3 = ReadDouble(iter, "particles.biovolume_esd_um3");
    } else if (key == "biovolume_abd_um3") {
      particle.biovolume_abd_um3 = ReadDouble(iter, "particles.biovolume_abd_um3");
    } else if (key == "measurements") {
      bson_iter_t value = ReadChildren(iter, "particles.measurements");
      for (size_t index = 0; bson_iter_next(&value) && index < measurement_count; ++index) {
        particle.measurements[index] = ReadDouble(value, "particles.measurements[]");
      }
    } else if (key == "outlines") {
      bson_iter_t item = ReadChildren(iter, "particles.outlines");
      while (bson_iter_next(&item)) {
        ChainCode chain;
        bson_iter_t part = ReadChildren(item, "particles.outlines[]");
        while (bson_iter_next(&part)) {
          const std::string_view part_key = Key(part);
          if (part_key == "start_x") {
            chain.start_x = ReadInt(part, "particles.outlines.start_x");
          } else if (part_key == "start_y") {
            chain.start_y = ReadInt(part, "particles.outlines.start_y");
          } else if (part_key == "directions") {
            chain.directions = ReadUtf8(part, "particles.outlines.directions");
          }
        }
        particle.outlines.push_back(std::move(chain));
      }
    }
  }
}

void BuildImage(Bson& document, const std::string& data_id, const Particle& particle) {
  document.Utf8("data_id", data_id)
      .Int64("number", particle.number)
      .BinaryOrNull("image", particle.image_png)
      .BinaryOrNull("mask", particle.mask_png);
}

void BuildLabel(Bson& document,
                const std::string& set_id,
                const std::string& data_id,
                const std::string& sample_id,
                int64_t seq,
                const Label& label) {
  document.Utf8("set_id", set_id)
      .Utf8("data_id", data_id)
      .Utf8("sample_id", sample_id)
      .Int64("number", label.particle_number)
      .Int64("seq", seq)
      .Utf8("name", label.name)
      .Utf8("source", label.source)
      .Utf8("classification", label.classification)
      .Utf8("author", label.author)
      .Utf8("created_at", label.created_at)
      .OptionalDouble("probability", label.probability);
  if (!label.top_k.empty()) {
    document.Array("top_k", [&](BsonBuilder& array) {
      for (const LabelScore& score : label.top_k) {
        array.Document(array.NextIndex(), [&](BsonBuilder& item) {
          item.Utf8("name", score.name).Double("probability", score.probability);
        });
      }
    });
  }
}

// A label with its sequence number, which orders the labels of one particle.
struct StoredLabel {
  int64_t seq = 0;
  Label label;
};

StoredLabel ReadLabel(const bson_t* document) {
  StoredLabel stored;
  Label& label = stored.label;
  bson_iter_t iter;
  bson_iter_init(&iter, document);
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "number") {
      label.particle_number = ReadInt64(iter, "labels.number");
    } else if (key == "seq") {
      stored.seq = ReadInt64(iter, "labels.seq");
    } else if (key == "name") {
      label.name = ReadUtf8(iter, "labels.name");
    } else if (key == "source") {
      label.source = ReadUtf8(iter, "labels.source");
    } else if (key == "classification") {
      label.classification = ReadUtf8(iter, "labels.classification");
    } else if (key == "author") {
      label.author = ReadUtf8(iter, "labels.author");
    } else if (key == "created_at") {
      label.created_at = ReadUtf8(iter, "labels.created_at");
    } else if (key == "probability") {
      label.probability = ReadOptionalDouble(iter, "labels.probability");
    } else if (key == "top_k") {
      bson_iter_t item = ReadChildren(iter, "labels.top_k");
      while (bson_iter_next(&item)) {
        LabelScore score;
        bson_iter_t part = ReadChildren(item, "labels.top_k[]");
        while (bson_iter_next(&part)) {
          if (Key(part) == "name") {
            score.name = ReadUtf8(part, "labels.top_k.name");
          } else if (Key(part) == "probability") {
            score.probability = ReadDouble(part, "labels.top_k.probability");
          }
        }
        label.top_k.push_back(std::move(score));
      }
    }
  }
  return stored;
}

// ---------------------------------------------------------------------------------------------
// Expert label events (docs/validation.md): one expert_labels document per batch, so that a
// batch appears all at once without transactions.

// A batch document must stay under the server's 16 MiB limit.
constexpr size_t kMaxBatchBytes = size_t{15} << 20;

void AppendEvent(
    BsonBuilder& event, const Label& label, int64_t sequence, int64_t undoes, int64_t restores) {
  event.Int64("number", label.particle_number)
      .Int64("seq", sequence)
      .Utf8("name", label.name)
      .Utf8("status", ExpertStatusName(label.status))
      .Utf8("classification", label.classification)
      .Utf8("author", label.author)
      .Utf8("created_at", label.created_at)
      .Int64("undoes", undoes)
      .Int64("restores", restores);
}

Label ReadEvent(const bson_iter_t& field) {
  Label label{.source = kLabelSourceExpert};
  bson_iter_t iter = ReadChildren(field, "expert_labels.events[]");
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "number") {
      label.particle_number = ReadInt64(iter, "expert_labels.events.number");
    } else if (key == "seq") {
      label.sequence = ReadInt64(iter, "expert_labels.events.seq");
    } else if (key == "name") {
      label.name = ReadUtf8(iter, "expert_labels.events.name");
    } else if (key == "status") {
      const std::string name = ReadUtf8(iter, "expert_labels.events.status");
      const std::optional<ExpertStatus> status = ParseExpertStatus(name);
      if (!status) {
        throw Error(ErrorCode::kInternal, "stored expert label: unknown status '" + name + "'");
      }
      label.status = *status;
    } else if (key == "classification") {
      label.classification = ReadUtf8(iter, "expert_labels.events.classification");
    } else if (key == "author") {
      label.author = ReadUtf8(iter, "expert_labels.events.author");
    } else if (key == "created_at") {
      label.created_at = ReadUtf8(iter, "expert_labels.events.created_at");
    } else if (key == "undoes") {
      label.undoes = ReadInt64(iter, "expert_labels.events.undoes");
    } else if (key == "restores") {
      label.restores = ReadInt64(iter, "expert_labels.events.restores");
    }
  }
  return label;
}

// The expert events written under `data_id` (of the particles `numbers`, or all when empty),
// by sequence.
std::vector<Label> ReadExpertEvents(const MongoClient& client,
                                    const std::string& data_id,
                                    const std::vector<int64_t>& numbers = {}) {
  Bson filter = ByField("data_id", data_id);
  if (!numbers.empty()) {
    filter.Document("events.number", [&](BsonBuilder& condition) {
      condition.Array("$in", [&](BsonBuilder& array) {
        for (int64_t number : numbers) {
          array.Int64(array.NextIndex(), number);
        }
      });
    });
  }
  const std::set<int64_t> wanted(numbers.begin(), numbers.end());
  std::vector<Label> events;
  MongoCursor cursor = client.Collection(detail::kExpertLabelsCollection).Find(filter, Bson());
  while (const bson_t* batch = cursor.Next()) {
    const std::optional<bson_iter_t> field = FindField(batch, "events");
    if (!field) {
      continue;
    }
    bson_iter_t item = ReadChildren(*field, "expert_labels.events");
    while (bson_iter_next(&item)) {
      Label event = ReadEvent(item);
      if (wanted.empty() || wanted.contains(event.particle_number)) {
        events.push_back(std::move(event));
      }
    }
  }
  std::sort(events.begin(), events.end(), [](const Label& a, const Label& b) {
    return a.sequence < b.sequence;
  });
  return events;
}

// The current expert labels among `events` (by sequence): per particle and classification the
// newest event, unless it withdrew its label; ordered by particle, then sequence.
std::vector<Label> CurrentExpertLabels(std::vector<Label> events) {
  std::map<std::pair<int64_t, std::string>, size_t> newest;
  for (size_t index = 0; index < events.size(); ++index) {
    newest[{events[index].particle_number, events[index].classification}] = index;
  }
  std::vector<Label> current;
  for (const auto& [key, index] : newest) {
    if (events[index].status != ExpertStatus::kWithdrawn) {
      current.push_back(std::move(events[index]));
    }
  }
  std::sort(current.begin(), current.end(), [](const Label& a, const Label& b) {
    return std::tie(a.particle_number, a.sequence) < std::tie(b.particle_number, b.sequence);
  });
  return current;
}

// Inserts `labels` as one batch document under `data_id`, with `count` numbers reserved from
// `first`; `references(label)` gives the (undoes, restores) to store. Throws Error{kInvalidInput}
// when the batch does not fit one document.
void InsertExpertBatch(const MongoClient& client,
                       const std::string& batch_id,
                       const std::string& sample_id,
                       const std::string& data_id,
                       std::span<const Label> labels,
                       int64_t first,
                       const std::function<std::pair<int64_t, int64_t>(size_t)>& references) {
  Bson batch;
  batch.Utf8("_id", batch_id)
      .Utf8("sample_id", sample_id)
      .Utf8("data_id", data_id)
      .DateTime("written_at", detail::NowMs());
  batch.Array("events", [&](BsonBuilder& array) {
    for (size_t index = 0; index < labels.size(); ++index) {
      const auto [undoes, restores] = references(index);
      array.Document(array.NextIndex(), [&](BsonBuilder& event) {
        AppendEvent(event, labels[index], first + static_cast<int64_t>(index), undoes, restores);
      });
    }
  });
  if (batch.SizeBytes() > kMaxBatchBytes) {
    throw Error(ErrorCode::kInvalidInput,
                "sample '" + sample_id + "': " + std::to_string(labels.size()) +
                    " expert labels take " + std::to_string(batch.SizeBytes()) +
                    " bytes, more than one MongoDB document holds (15 MiB); append fewer at once");
  }
  client.Collection(detail::kExpertLabelsCollection).InsertOne(batch);
}

void InsertFiles(MongoCollection& files, const std::string& data_id, const Sample& sample) {
  for (size_t position = 0; position < sample.files.size(); ++position) {
    const SampleFile& file = sample.files[position];
    if (file.bytes.size() > kMaxFileBytes) {
      throw Error(ErrorCode::kInvalidInput,
                  "sample '" + sample.id + "': file '" + file.name + "' has " +
                      std::to_string(file.bytes.size()) +
                      " bytes; the MongoDB store keeps files of up to 15 MiB");
    }
    Bson document;
    document.Utf8("data_id", data_id)
        .Int64("position", static_cast<int64_t>(position))
        .Utf8("name", file.name)
        .Utf8("kind", file.kind)
        .Utf8("media_type", file.media_type)
        .Binary("bytes", file.bytes);
    files.InsertOne(document);
  }
}

std::vector<SampleFile> ReadFiles(MongoCollection& files, const std::string& data_id) {
  std::vector<SampleFile> result;
  MongoCursor cursor = files.Find(ByField("data_id", data_id), SortBy({"position"}));
  while (const bson_t* document = cursor.Next()) {
    SampleFile file;
    bson_iter_t iter;
    bson_iter_init(&iter, document);
    while (bson_iter_next(&iter)) {
      const std::string_view key = Key(iter);
      if (key == "name") {
        file.name = ReadUtf8(iter, "sample_files.name");
      } else if (key == "kind") {
        file.kind = ReadUtf8(iter, "sample_files.kind");
      } else if (key == "media_type") {
        file.media_type = ReadUtf8(iter, "sample_files.media_type");
      } else if (key == "bytes") {
        file.bytes = ReadBinary(iter, "sample_files.bytes");
      }
    }
    result.push_back(std::move(file));
  }
  return result;
}

// Particle measurements are positional, so duplicate names would be ambiguous (the SQLite store
// refuses them too).
void CheckMeasurementNames(const Sample& sample) {
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : sample.measurement_names) {
    if (!seen.insert(name).second) {
      throw Error(ErrorCode::kInvalidInput,
                  "sample '" + sample.id + "': measurement name '" + name +
                      "' appears twice; names must be unique");
    }
  }
}

std::function<void()>& AfterLabelFlipHook() {
  static std::function<void()> hook;
  return hook;
}

// ---------------------------------------------------------------------------------------------
// Pending writes and their clean-up

// Inserts the pending_writes document that announces a write before any of its data exists.
void AnnounceWrite(MongoCollection& pending,
                   const std::string& id,
                   const char* kind,
                   const std::string& sample_id,
                   const std::function<void(BsonBuilder&)>& extra = {}) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const int64_t now = detail::NowMs();
  Bson document;
  document.Utf8("_id", id)
      .Utf8("kind", kind)
      .Utf8("sample_id", sample_id)
      .DateTime("started_at", now)
      .DateTime("updated_at", now)
      .Utf8("host", host)
      .Int64("pid", getpid());
  if (extra) {
    extra(document);
  }
  pending.InsertOne(document);
}

// The `state` of a pending_writes document makes it a lease between its writer and garbage
// collection: the writer marks it committing just before its flip, a collection marks it
// collecting before it deletes anything, each only if the other has not, so that a write is either
// published whole or removed, never both.
constexpr const char* kCommitting = "committing";
constexpr const char* kCollecting = "collecting";

// Marks the write as committing (and touches it). False when garbage collection took it (or its
// document is gone): the write must then not be published.
bool MarkCommitting(MongoCollection& pending, const std::string& write_id) {
  Bson filter = ById(write_id);
  filter.Document("state", [&](BsonBuilder& condition) { condition.Utf8("$ne", kCollecting); });
  Bson update;
  update.Document("$set", [&](BsonBuilder& set) {
    set.Utf8("state", kCommitting).DateTime("updated_at", detail::NowMs());
  });
  return pending.UpdateOne(filter, update) == 1;
}

bool SampleShowsData(MongoCollection& samples, const std::string& data_id) {
  return samples.Count(ByField("data_id", data_id)) > 0;
}

bool SampleShowsLabelSet(MongoCollection& samples, const std::string& set_id) {
  return samples.Count(ByField("label_sets.set_id", set_id)) > 0;
}

// Removes the particles, images, labels and files written under `data_id`.
void DeleteData(const MongoClient& client,
                const std::string& data_id,
                MongoGarbageReport* removed = nullptr) {
  const Bson filter = ByField("data_id", data_id);
  MongoGarbageReport counts;
  counts.particles = client.Collection(detail::kParticlesCollection).DeleteMany(filter);
  counts.images = client.Collection(detail::kImagesCollection).DeleteMany(filter);
  counts.labels = client.Collection(detail::kLabelsCollection).DeleteMany(filter) +
                  client.Collection(detail::kExpertLabelsCollection).DeleteMany(filter);
  counts.files = client.Collection(detail::kSampleFilesCollection).DeleteMany(filter);
  if (removed != nullptr) {
    removed->particles += counts.particles;
    removed->images += counts.images;
    removed->labels += counts.labels;
    removed->files += counts.files;
  }
}

// The fields of a pending_writes document.
struct PendingWrite {
  std::string id;
  std::string kind;
  std::string sample_id;
  std::string set_id;                         // labels: the new set ("" when the set was emptied)
  std::string replaced_data_id;               // sample/delete: the data the sample showed before
  std::vector<std::string> replaced_set_ids;  // labels: the set it replaces
};

PendingWrite ReadPendingWrite(const bson_t* document) {
  PendingWrite write;
  bson_iter_t iter;
  bson_iter_init(&iter, document);
  while (bson_iter_next(&iter)) {
    const std::string_view key = Key(iter);
    if (key == "_id") {
      write.id = ReadUtf8(iter, "pending_writes._id");
    } else if (key == "kind") {
      write.kind = ReadUtf8(iter, "pending_writes.kind");
    } else if (key == "sample_id") {
      write.sample_id = ReadUtf8(iter, "pending_writes.sample_id");
    } else if (key == "set_id") {
      write.set_id = ReadUtf8(iter, "pending_writes.set_id");
    } else if (key == "replaces") {
      bson_iter_t part = ReadChildren(iter, "pending_writes.replaces");
      while (bson_iter_next(&part)) {
        if (Key(part) == "data_id") {
          write.replaced_data_id = ReadUtf8(part, "pending_writes.replaces.data_id");
        } else if (Key(part) == "set_ids") {
          bson_iter_t item = ReadChildren(part, "pending_writes.replaces.set_ids");
          while (bson_iter_next(&item)) {
            write.replaced_set_ids.push_back(ReadUtf8(item, "pending_writes.replaces.set_ids[]"));
          }
        }
      }
    }
  }
  return write;
}

// Whether the label write's flip happened: the sample shows its new set, or (a write that
// emptied a classification) no longer shows the set it replaced.
bool LabelFlipHappened(MongoCollection& samples,
                       const std::string& set_id,
                       const std::vector<std::string>& replaced_set_ids) {
  return !set_id.empty()
             ? SampleShowsLabelSet(samples, set_id)
             : !replaced_set_ids.empty() && !SampleShowsLabelSet(samples, replaced_set_ids.front());
}

// Claims a write untouched since `cutoff_ms` for clean-up. A write marked committing is left to
// its writer unless it is older than kMongoStaleWriteAge (its writer died during the commit).
bool ClaimStaleWrite(MongoCollection& pending, const std::string& write_id, int64_t cutoff_ms) {
  const int64_t dead_committer_ms =
      std::min(cutoff_ms, detail::NowMs() - std::chrono::milliseconds(kMongoStaleWriteAge).count());
  Bson filter = ById(write_id);
  filter.Document("updated_at",
                  [&](BsonBuilder& condition) { condition.DateTime("$lt", cutoff_ms); });
  filter.Array("$or", [&](BsonBuilder& either) {
    either.Document(either.NextIndex(), [&](BsonBuilder& not_committing) {
      not_committing.Document("state",
                              [&](BsonBuilder& condition) { condition.Utf8("$ne", kCommitting); });
    });
    either.Document(either.NextIndex(), [&](BsonBuilder& dead) {
      dead.Document("updated_at",
                    [&](BsonBuilder& condition) { condition.DateTime("$lt", dead_committer_ms); });
    });
  });
  Bson update;
  update.Document("$set", [&](BsonBuilder& set) { set.Utf8("state", kCollecting); });
  return pending.UpdateOne(filter, update) == 1;
}

// Finishes or undoes a write that stopped: whatever no sample shows is removed, whatever a sample
// shows is kept, so the outcome is right whether the write got to its commit or not. The caller
// has claimed the write (ClaimStaleWrite), so its writer can no longer publish it meanwhile.
void CleanUpWrite(const MongoClient& client,
                  const PendingWrite& write,
                  MongoGarbageReport& report) {
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  MongoCollection labels = client.Collection(detail::kLabelsCollection);
  MongoCollection history = client.Collection(detail::kLabelHistoryCollection);
  if (write.kind == kSampleWrite && !SampleShowsData(samples, write.id)) {
    DeleteData(client, write.id, &report);  // never committed
  }
  if (!write.replaced_data_id.empty() && !SampleShowsData(samples, write.replaced_data_id)) {
    DeleteData(client, write.replaced_data_id, &report);  // committed, old data left behind
  }
  if (write.kind == kLabelsWrite) {
    if (!LabelFlipHappened(samples, write.set_id, write.replaced_set_ids)) {
      if (!write.set_id.empty()) {
        report.labels += labels.DeleteMany(ByField("set_id", write.set_id));
      }
      report.label_history += history.DeleteMany(ByField("replaced_by", write.id));
    }
    for (const std::string& old_set : write.replaced_set_ids) {
      if (!SampleShowsLabelSet(samples, old_set)) {
        report.labels += labels.DeleteMany(ByField("set_id", old_set));
      }
    }
  }
  if (write.kind == kDeleteWrite && !samples.FindOne(ById(write.sample_id))) {
    report.label_history += history.DeleteMany(ByField("sample_id", write.sample_id));
  }
  client.Collection(detail::kPendingWritesCollection).DeleteOne(ById(write.id));
  ++report.writes;
}

// Cleans up the writes whose pending_writes document was not touched since `cutoff_ms`.
void CollectStaleWrites(const MongoClient& client, int64_t cutoff_ms, MongoGarbageReport& report) {
  MongoCollection pending = client.Collection(detail::kPendingWritesCollection);
  Bson filter;
  filter.Document("updated_at",
                  [&](BsonBuilder& condition) { condition.DateTime("$lt", cutoff_ms); });
  std::vector<PendingWrite> stale;
  {
    MongoCursor cursor = pending.Find(filter, Bson());
    while (const bson_t* document = cursor.Next()) {
      stale.push_back(ReadPendingWrite(document));
    }
  }
  for (const PendingWrite& write : stale) {
    // Touched or marked committing since the read: its writer is alive.
    if (ClaimStaleWrite(pending, write.id, cutoff_ms)) {
      CleanUpWrite(client, write, report);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The store

class MongoSampleWriter;

class MongoStore final : public Store {
 public:
  explicit MongoStore(const std::string& uri) : database_(uri) {
    const MongoClient client = database_.Connect();
    client.Ping();
    detail::MigrateMongoSchema(client, database_);
    MongoGarbageReport ignored;
    CollectStaleWrites(
        client, detail::NowMs() - std::chrono::milliseconds(kMongoStaleWriteAge).count(), ignored);
  }
  ~MongoStore() override {
    // A writer holds a client of this store's pool; it must be gone first.
    assert(!writer_open_);
  }

  std::unique_ptr<SampleWriter> BeginSample(const Sample& sample, WriteMode mode) override;
  std::vector<Sample> ListSamples() const override;
  std::optional<Sample> FindSample(const std::string& sample_id) const override;
  std::optional<Sample> FindSampleByFingerprint(const std::string& fingerprint) const override;
  void ScanParticles(const std::string& sample_id,
                     const ParticleScan& what,
                     const std::function<void(const Particle&)>& visit) const override;
  std::vector<Label> Labels(const std::string& sample_id) const override;
  std::vector<LabelCount> CountLabels(const std::string& sample_id) const override;
  std::vector<Label> LabelHistory(const std::string& sample_id,
                                  int64_t particle_number) const override;
  void ReplaceLabels(const std::string& sample_id,
                     const std::string& source,
                     const std::string& classification,
                     std::span<const Label> labels) override;
  std::vector<int64_t> AppendExpertLabels(const std::string& sample_id,
                                          std::span<const Label> labels) override;
  void UpdateSampleMetadata(const std::string& sample_id, const SampleMetadata& metadata) override;
  bool DeleteSample(const std::string& sample_id) override;

 private:
  friend class MongoSampleWriter;

  std::optional<Sample> FindSampleBy(const Bson& filter) const;
  // The data and label sets the sample shows, or nullopt for an unknown sample.
  std::optional<SampleState> State(const MongoClient& client, const std::string& sample_id) const;
  // The labels of the sample's label sets (the sources other than "expert"), ordered by particle
  // and then as written; only those of `particle_number` when given.
  std::vector<StoredLabel> SetLabels(const MongoClient& client,
                                     const SampleState& state,
                                     std::optional<int64_t> particle_number = std::nullopt) const;
  // Throws Error{kConflict} while this store has an open writer. Caller holds mutex_.
  void CheckNoWriter(const std::string& what) const {
    if (writer_open_) {
      throw Error(ErrorCode::kConflict,
                  "cannot " + what + " while a sample is being written to this store");
    }
  }

  MongoDatabase database_;
  mutable std::mutex mutex_;  // guards writer_open_ and serialises this store's writes
  bool writer_open_ = false;
};

class MongoSampleWriter final : public SampleWriter {
 public:
  MongoSampleWriter(MongoStore& store,
                    MongoClient client,
                    const Sample& sample,
                    WriteMode mode,
                    std::string data_id)
      : store_(store),
        client_(std::move(client)),
        particles_collection_(client_.Collection(detail::kParticlesCollection)),
        images_collection_(client_.Collection(detail::kImagesCollection)),
        labels_collection_(client_.Collection(detail::kLabelsCollection)),
        particles_(particles_collection_),
        images_(images_collection_),
        labels_(labels_collection_),
        sample_id_(sample.id),
        measurement_names_(sample.measurement_names),
        mode_(mode),
        data_id_(std::move(data_id)),
        last_touch_(std::chrono::steady_clock::now()) {}

  ~MongoSampleWriter() override {
    if (active_) {
      End(false);
    }
  }
  MongoSampleWriter(const MongoSampleWriter&) = delete;
  MongoSampleWriter& operator=(const MongoSampleWriter&) = delete;

  void AddParticles(std::span<const Particle> particles) override {
    CheckActive();
    try {
      for (const Particle& particle : particles) {
        if (particle.measurements.size() > measurement_names_.size()) {
          throw Error(ErrorCode::kInvalidInput,
                      "sample '" + sample_id_ + "' particle " + std::to_string(particle.number) +
                          ": expected at most " + std::to_string(measurement_names_.size()) +
                          " measurements (one per measurement name), found " +
                          std::to_string(particle.measurements.size()));
        }
        document_.Reset();
        BuildParticle(document_, data_id_, particle);
        Sent(particles_.Add(document_));
        if (!particle.image_png.empty() || !particle.mask_png.empty()) {
          document_.Reset();
          BuildImage(document_, data_id_, particle);
          Sent(images_.Add(document_));
        }
      }
    } catch (...) {
      // A half-written batch must never be committed: give up the whole sample.
      End(false);
      throw;
    }
  }

  void AddLabels(std::span<const Label> labels) override {
    CheckActive();
    try {
      for (const Label& label : labels) {
        if (label.source == kLabelSourceExpert) {
          expert_labels_.push_back(label);  // written as event batches at Commit
          continue;
        }
        document_.Reset();
        BuildLabel(document_, SetIdFor(label), data_id_, sample_id_, next_label_seq_++, label);
        Sent(labels_.Add(document_));
      }
    } catch (...) {
      End(false);
      throw;
    }
  }

  void Commit(const Sample& sample) override;

 private:
  void CheckActive() const {
    if (!active_) {
      throw Error(ErrorCode::kInternal,
                  "sample writer for '" + sample_id_ +
                      "' was already committed or rolled back after an error");
    }
  }

  // The label set of the label's source and classification, made on first use.
  const std::string& SetIdFor(const Label& label) {
    for (const LabelSet& set : label_sets_) {
      if (set.source == label.source && set.classification == label.classification) {
        return set.set_id;
      }
    }
    label_sets_.push_back(LabelSet{.source = label.source,
                                   .classification = label.classification,
                                   .set_id = detail::NewRandomId()});
    return label_sets_.back().set_id;
  }

  // After a batch went to the server: shows garbage collection that this write is alive.
  void Sent(bool batch_sent) {
    const auto now = std::chrono::steady_clock::now();
    if (!batch_sent || now - last_touch_ < kTouchInterval) {
      return;
    }
    Bson update;
    update.Document("$set", [&](BsonBuilder& set) { set.DateTime("updated_at", detail::NowMs()); });
    client_.Collection(detail::kPendingWritesCollection).UpdateOne(ById(data_id_), update);
    last_touch_ = now;
  }

  // Writes the expert labels given to AddLabels as event batches under this write's data id,
  // with the store's sequence numbers; undoes and restores are mapped as AddLabels promises.
  void WriteExpertLabels();

  // Makes the sample document point to this write's data. Returns the data id it showed before
  // ("" for a new sample).
  std::string Flip(const Sample& sample);
  void End(bool committed) noexcept;
  // Removes this write's data and its pending_writes document, unless a sample shows the data (a
  // commit whose reply was lost may have succeeded). Gives up quietly when the server is gone:
  // garbage collection finishes the job.
  void RollBack() noexcept;

  MongoStore& store_;
  MongoClient client_;
  MongoCollection particles_collection_;
  MongoCollection images_collection_;
  MongoCollection labels_collection_;
  BulkInsert particles_;
  BulkInsert images_;
  BulkInsert labels_;
  Bson document_;  // reused for every document built
  std::string sample_id_;
  std::vector<std::string> measurement_names_;
  WriteMode mode_;
  std::string data_id_;
  std::vector<LabelSet> label_sets_;
  std::vector<Label> expert_labels_;
  int64_t next_label_seq_ = 0;
  std::chrono::steady_clock::time_point last_touch_;
  bool active_ = true;
};

void MongoSampleWriter::Commit(const Sample& sample) {
  CheckActive();
  std::string replaced_data_id;
  try {
    if (sample.id != sample_id_) {
      throw Error(ErrorCode::kInvalidInput,
                  "Commit: expected sample '" + sample_id_ + "', found '" + sample.id + "'");
    }
    if (sample.measurement_names != measurement_names_) {
      throw Error(ErrorCode::kInvalidInput,
                  "Commit: sample '" + sample.id +
                      "' has other measurement_names than at BeginSample; particles are keyed "
                      "by the names given there");
    }
    particles_.Flush();
    images_.Flush();
    labels_.Flush();
    WriteExpertLabels();
    MongoCollection files = client_.Collection(detail::kSampleFilesCollection);
    InsertFiles(files, data_id_, sample);
    // A garbage collection that took this write (store gc --older-than with a short age) may
    // have removed part of it: never show that. Once marked, no collection takes it.
    MongoCollection pending = client_.Collection(detail::kPendingWritesCollection);
    if (!MarkCommitting(pending, data_id_)) {
      throw Error(ErrorCode::kConflict,
                  "sample '" + sample.id +
                      "': garbage collection removed this write before it committed; run it "
                      "again");
    }
    replaced_data_id = Flip(sample);
  } catch (...) {
    End(false);
    throw;
  }
  // Committed: what is left to do is housekeeping, which garbage collection redoes if it fails.
  try {
    if (!replaced_data_id.empty()) {
      DeleteData(client_, replaced_data_id);
    }
    client_.Collection(detail::kPendingWritesCollection).DeleteOne(ById(data_id_));
  } catch (const Error&) {
  }
  End(true);
}

void MongoSampleWriter::WriteExpertLabels() {
  std::map<int64_t, int64_t> sequence_of;  // given sequence → this store's
  const auto mapped = [&](int64_t given) -> int64_t {
    const auto found = sequence_of.find(given);
    return given != 0 && found != sequence_of.end() ? found->second : 0;
  };
  for (size_t start = 0; start < expert_labels_.size(); start += kMaxExpertLabelsPerAppend) {
    const std::span<const Label> batch =
        std::span<const Label>(expert_labels_)
            .subspan(start, std::min(kMaxExpertLabelsPerAppend, expert_labels_.size() - start));
    const int64_t first =
        detail::ReserveExpertSequences(client_, static_cast<int64_t>(batch.size()));
    std::vector<std::pair<int64_t, int64_t>> references;
    for (size_t index = 0; index < batch.size(); ++index) {
      // An undo of an event not given to this writer stays as a plain event.
      const int64_t undoes = mapped(batch[index].undoes);
      references.emplace_back(undoes, undoes != 0 ? mapped(batch[index].restores) : 0);
      if (batch[index].sequence != 0) {
        sequence_of[batch[index].sequence] = first + static_cast<int64_t>(index);
      }
    }
    InsertExpertBatch(
        client_, detail::NewRandomId(), sample_id_, data_id_, batch, first, [&](size_t index) {
          return references[index];
        });
  }
}

std::string MongoSampleWriter::Flip(const Sample& sample) {
  Bson document;
  document.Utf8("_id", sample.id);
  document.Utf8("data_id", data_id_);
  AppendSample(document, sample);
  AppendLabelSets(document, label_sets_);
  document.Int64("next_label_seq", next_label_seq_);
  document.Int64("labels_revision", 0);
  document.DateTime("committed_at", detail::NowMs());

  MongoCollection samples = client_.Collection(detail::kSamplesCollection);
  MongoCollection pending = client_.Collection(detail::kPendingWritesCollection);
  const auto conflict = [&](const Error& error) {
    if (samples.FindOne(ById(sample.id), Projection({"_id"}, 1).Get())) {
      return Error(ErrorCode::kConflict,
                   "sample '" + sample.id + "' already exists; replace it or choose another id");
    }
    return Error(ErrorCode::kConflict,
                 "sample '" + sample.id + "': another sample has the fingerprint '" +
                     sample.fingerprint + "' (" + error.what() + ")");
  };
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::optional<Bson> current;
    if (mode_ == WriteMode::kReplace) {
      current = samples.FindOne(ById(sample.id), Projection({"data_id"}, 1).Get());
    }
    if (!current) {
      try {
        samples.InsertOne(document);
        return "";
      } catch (const Error& error) {
        if (error.Code() != ErrorCode::kConflict) {
          throw;
        }
        if (mode_ == WriteMode::kCreate ||
            !samples.FindOne(ById(sample.id), Projection({"_id"}, 1).Get())) {
          throw conflict(error);
        }
        continue;  // kReplace: created by someone else meanwhile; replace that one
      }
    }
    const std::optional<bson_iter_t> field = FindField(current->Get(), "data_id");
    const std::string old_data_id = field ? ReadUtf8(*field, "samples.data_id") : "";
    // Recorded before the flip, so that garbage collection finds the old data if we die after it.
    Bson update;
    update.Document("$set", [&](BsonBuilder& set) {
      set.Document("replaces",
                   [&](BsonBuilder& replaces) { replaces.Utf8("data_id", old_data_id); });
    });
    pending.UpdateOne(ById(data_id_), update);
    Bson filter = ById(sample.id);
    filter.Utf8("data_id", old_data_id);
    try {
      if (samples.ReplaceOne(filter, document) == 1) {
        return old_data_id;
      }
    } catch (const Error& error) {
      if (error.Code() == ErrorCode::kConflict) {
        throw conflict(error);
      }
      throw;
    }
    // Another process replaced the sample between our read and our write: read it again.
  }
  throw Error(ErrorCode::kConflict,
              "sample '" + sample.id + "' was replaced by other processes " +
                  std::to_string(kMaxAttempts) + " times while this write committed; try again");
}

void MongoSampleWriter::RollBack() noexcept {
  try {
    MongoCollection samples = client_.Collection(detail::kSamplesCollection);
    if (SampleShowsData(samples, data_id_)) {
      // The commit went through although its reply was lost: keep it, and leave the
      // pending_writes document, whose `replaces` lets garbage collection remove the old data.
      return;
    }
    DeleteData(client_, data_id_);
    client_.Collection(detail::kPendingWritesCollection).DeleteOne(ById(data_id_));
  } catch (...) {
    // The server is unreachable or failing: the pending write stays for garbage collection.
  }
}

void MongoSampleWriter::End(bool committed) noexcept {
  if (!committed) {
    RollBack();
  }
  active_ = false;
  std::lock_guard lock(store_.mutex_);
  store_.writer_open_ = false;
}

std::unique_ptr<SampleWriter> MongoStore::BeginSample(const Sample& sample, WriteMode mode) {
  CheckMeasurementNames(sample);
  std::lock_guard lock(mutex_);
  if (writer_open_) {
    throw Error(
        ErrorCode::kConflict,
        "cannot write sample '" + sample.id + "': another sample is being written to this store");
  }
  MongoClient client = database_.Connect();
  const std::string data_id = detail::NewRandomId();
  {
    MongoCollection samples = client.Collection(detail::kSamplesCollection);
    if (mode == WriteMode::kCreate &&
        samples.FindOne(ById(sample.id), Projection({"_id"}, 1).Get())) {
      throw Error(ErrorCode::kConflict,
                  "sample '" + sample.id + "' already exists; replace it or choose another id");
    }
    // Checked now, not only by the unique index at commit, so that a clash fails before a whole
    // run is written for nothing.
    Bson twin = ByField("fingerprint", sample.fingerprint);
    twin.Document("_id", [&](BsonBuilder& condition) { condition.Utf8("$ne", sample.id); });
    if (const std::optional<Bson> other = samples.FindOne(twin, Projection({"_id"}, 1).Get())) {
      const std::optional<bson_iter_t> id = FindField(other->Get(), "_id");
      throw Error(ErrorCode::kConflict,
                  "sample '" + sample.id + "': its fingerprint '" + sample.fingerprint +
                      "' is already stored as sample '" +
                      (id ? ReadUtf8(*id, "samples._id") : std::string()) + "'");
    }
    MongoCollection pending = client.Collection(detail::kPendingWritesCollection);
    AnnounceWrite(pending, data_id, kSampleWrite, sample.id);
  }
  auto writer =
      std::make_unique<MongoSampleWriter>(*this, std::move(client), sample, mode, data_id);
  writer_open_ = true;
  return writer;
}

std::vector<Sample> MongoStore::ListSamples() const {
  const MongoClient client = database_.Connect();
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  Bson options;
  // The interface leaves context, summary and notes out of the list.
  options.Document("projection", [&](BsonBuilder& projection) {
    projection.Int32("context", 0).Int32("summary", 0).Int32("notes", 0).Int32("label_sets", 0);
  });
  std::vector<Sample> result;
  MongoCursor cursor = samples.Find(Bson(), options);
  while (const bson_t* document = cursor.Next()) {
    result.push_back(ReadSample(document));
  }
  // Sorted here, by bytes as SQLite does, whatever collation the server has.
  std::sort(result.begin(), result.end(), [](const Sample& a, const Sample& b) {
    return std::tie(a.ingested_at, a.id) < std::tie(b.ingested_at, b.id);
  });
  return result;
}

std::optional<Sample> MongoStore::FindSampleBy(const Bson& filter) const {
  const MongoClient client = database_.Connect();
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  const std::optional<Bson> document = samples.FindOne(filter);
  if (!document) {
    return std::nullopt;
  }
  Sample sample = ReadSample(document->Get());
  MongoCollection files = client.Collection(detail::kSampleFilesCollection);
  const SampleState read = ReadState(document->Get());
  sample.files = ReadFiles(files, read.data_id);
  CheckUnchangedSinceRead(samples, sample.id, read, /*labels=*/false);
  return sample;
}

std::optional<Sample> MongoStore::FindSample(const std::string& sample_id) const {
  return FindSampleBy(ById(sample_id));
}

std::optional<Sample> MongoStore::FindSampleByFingerprint(const std::string& fingerprint) const {
  return FindSampleBy(ByField("fingerprint", fingerprint));
}

void MongoStore::ScanParticles(const std::string& sample_id,
                               const ParticleScan& what,
                               const std::function<void(const Particle&)>& visit) const {
  const MongoClient client = database_.Connect();
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  SampleState read;
  size_t measurement_count = 0;
  {
    const std::optional<Bson> document =
        samples.FindOne(ById(sample_id), Projection({"data_id", "measurement_names"}, 1).Get());
    if (!document) {
      return;
    }
    read = ReadState(document->Get());
    if (const std::optional<bson_iter_t> names = FindField(document->Get(), "measurement_names")) {
      bson_iter_t name = ReadChildren(*names, "samples.measurement_names");
      while (bson_iter_next(&name)) {
        ++measurement_count;
      }
    }
  }

  MongoCollection particles = client.Collection(detail::kParticlesCollection);
  Bson particle_options = SortBy({"number"});
  particle_options.Document("projection", [&](BsonBuilder& projection) {
    projection.Int32("_id", 0).Int32("data_id", 0);
    if (!what.outlines) {
      projection.Int32("outlines", 0);
    }
    if (!what.measurements) {
      projection.Int32("measurements", 0);
    }
  });
  const auto in_range = [&] {
    Bson filter = ByField("data_id", read.data_id);
    filter.Document("number", [&](BsonBuilder& range) {
      range.Int64("$gte", what.first_number).Int64("$lte", what.last_number);
    });
    return filter;
  };
  MongoCursor particle_cursor = particles.Find(in_range(), particle_options);

  // Images come from their own collection in the same order: a merge join on the number.
  std::optional<MongoCollection> images;
  std::optional<MongoCursor> image_cursor;
  const bson_t* image = nullptr;
  int64_t image_number = 0;
  const auto next_image = [&] {
    image = image_cursor->Next();
    if (image != nullptr) {
      const std::optional<bson_iter_t> number = FindField(image, "number");
      image_number = number ? ReadInt64(*number, "images.number") : 0;
    }
  };
  if (what.images) {
    images.emplace(client.Collection(detail::kImagesCollection));
    Bson image_options = SortBy({"number"});
    image_options.Document("projection", [&](BsonBuilder& projection) {
      projection.Int32("_id", 0).Int32("data_id", 0);
    });
    image_cursor.emplace(images->Find(in_range(), image_options));
    next_image();
  }

  Particle particle;
  while (const bson_t* document = particle_cursor.Next()) {
    ReadParticle(document, what.measurements ? measurement_count : 0, particle);
    while (image != nullptr && image_number < particle.number) {
      next_image();
    }
    if (image != nullptr && image_number == particle.number) {
      bson_iter_t iter;
      bson_iter_init(&iter, image);
      while (bson_iter_next(&iter)) {
        if (Key(iter) == "image") {
          particle.image_png = ReadBinary(iter, "images.image");
        } else if (Key(iter) == "mask") {
          particle.mask_png = ReadBinary(iter, "images.mask");
        }
      }
      next_image();
    }
    visit(particle);
  }
  CheckUnchangedSinceRead(samples, sample_id, read, /*labels=*/false);
}

std::optional<SampleState> MongoStore::State(const MongoClient& client,
                                             const std::string& sample_id) const {
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  const std::optional<Bson> document = samples.FindOne(ById(sample_id), StateProjection().Get());
  if (!document) {
    return std::nullopt;
  }
  return ReadState(document->Get());
}

// {set_id: {$in: the sets of `state`}}
Bson InSets(const SampleState& state) {
  Bson filter;
  filter.Document("set_id", [&](BsonBuilder& condition) {
    condition.Array("$in", [&](BsonBuilder& ids) {
      for (const LabelSet& set : state.label_sets) {
        ids.Utf8(ids.NextIndex(), set.set_id);
      }
    });
  });
  return filter;
}

bool ByNumberThenSeq(const StoredLabel& a, const StoredLabel& b) {
  return std::tie(a.label.particle_number, a.seq) < std::tie(b.label.particle_number, b.seq);
}

std::vector<StoredLabel> MongoStore::SetLabels(const MongoClient& client,
                                               const SampleState& state,
                                               std::optional<int64_t> particle_number) const {
  std::vector<StoredLabel> stored;
  if (state.label_sets.empty()) {
    return stored;
  }
  Bson filter = InSets(state);
  if (particle_number) {
    filter.Int64("number", *particle_number);
  }
  MongoCursor cursor = client.Collection(detail::kLabelsCollection).Find(filter, Bson());
  while (const bson_t* document = cursor.Next()) {
    stored.push_back(ReadLabel(document));
  }
  std::sort(stored.begin(), stored.end(), ByNumberThenSeq);
  return stored;
}

std::vector<Label> MongoStore::Labels(const std::string& sample_id) const {
  const MongoClient client = database_.Connect();
  const std::optional<SampleState> state = State(client, sample_id);
  if (!state) {
    return {};
  }
  std::vector<StoredLabel> stored = SetLabels(client, *state);
  std::vector<Label> expert = CurrentExpertLabels(ReadExpertEvents(client, state->data_id));
  // Both are ordered by particle: merge them, the other sources' labels first.
  std::vector<Label> result;
  result.reserve(stored.size() + expert.size());
  size_t next = 0;
  size_t next_expert = 0;
  while (next < stored.size() || next_expert < expert.size()) {
    if (next < stored.size() &&
        (next_expert == expert.size() ||
         stored[next].label.particle_number <= expert[next_expert].particle_number)) {
      result.push_back(std::move(stored[next++].label));
    } else {
      result.push_back(std::move(expert[next_expert++]));
    }
  }
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  CheckUnchangedSinceRead(samples, sample_id, *state, /*labels=*/true);
  return result;
}

std::vector<LabelCount> MongoStore::CountLabels(const std::string& sample_id) const {
  const MongoClient client = database_.Connect();
  const std::optional<SampleState> state = State(client, sample_id);
  if (!state) {
    return {};
  }
  std::vector<LabelCount> counts;
  if (!state->label_sets.empty()) {
    MongoCollection labels = client.Collection(detail::kLabelsCollection);
    // Distinct particles per name: a particle labelled twice with the same name counts once.
    Bson pipeline;
    pipeline.Array("pipeline", [&](BsonBuilder& stages) {
      stages.Document(stages.NextIndex(), [&](BsonBuilder& stage) {
        const Bson in_sets = InSets(*state);
        stage.CopyDocument("$match", in_sets.Get());
      });
      stages.Document(stages.NextIndex(), [&](BsonBuilder& stage) {
        stage.Document("$group", [&](BsonBuilder& group) {
          group.Document("_id", [&](BsonBuilder& id) {
            id.Utf8("source", "$source")
                .Utf8("classification", "$classification")
                .Utf8("name", "$name")
                .Utf8("number", "$number");
          });
        });
      });
      stages.Document(stages.NextIndex(), [&](BsonBuilder& stage) {
        stage.Document("$group", [&](BsonBuilder& group) {
          group.Document("_id", [&](BsonBuilder& id) {
            id.Utf8("source", "$_id.source")
                .Utf8("classification", "$_id.classification")
                .Utf8("name", "$_id.name");
          });
          group.Document("count", [&](BsonBuilder& count) { count.Int32("$sum", 1); });
        });
      });
    });
    MongoCursor cursor = labels.Aggregate(pipeline);
    while (const bson_t* document = cursor.Next()) {
      LabelCount count;
      bson_iter_t iter;
      bson_iter_init(&iter, document);
      while (bson_iter_next(&iter)) {
        if (Key(iter) == "count") {
          count.count = ReadInt64(iter, "label count");
        } else if (Key(iter) == "_id") {
          bson_iter_t part = ReadChildren(iter, "label count _id");
          while (bson_iter_next(&part)) {
            if (Key(part) == "source") {
              count.source = ReadUtf8(part, "label count source");
            } else if (Key(part) == "classification") {
              count.classification = ReadUtf8(part, "label count classification");
            } else if (Key(part) == "name") {
              count.name = ReadUtf8(part, "label count name");
            }
          }
        }
      }
      counts.push_back(std::move(count));
    }
  }
  // Expert labels: counted here over the current ones, as the SQLite store counts them.
  std::map<std::pair<std::string, std::string>, std::set<int64_t>> particles_of;
  for (const Label& label : CurrentExpertLabels(ReadExpertEvents(client, state->data_id))) {
    const std::string name = label.status == ExpertStatus::kDubious ? kDubiousLabel : label.name;
    particles_of[{label.classification, name}].insert(label.particle_number);
  }
  for (const auto& [key, particles] : particles_of) {
    counts.push_back(LabelCount{.source = kLabelSourceExpert,
                                .classification = key.first,
                                .name = key.second,
                                .count = static_cast<int64_t>(particles.size())});
  }
  std::sort(counts.begin(), counts.end(), [](const LabelCount& a, const LabelCount& b) {
    return std::tie(a.source, a.classification, a.name) <
           std::tie(b.source, b.classification, b.name);
  });
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  CheckUnchangedSinceRead(samples, sample_id, *state, /*labels=*/true);
  return counts;
}

std::vector<Label> MongoStore::LabelHistory(const std::string& sample_id,
                                            int64_t particle_number) const {
  const MongoClient client = database_.Connect();
  const std::optional<SampleState> state = State(client, sample_id);
  if (!state) {
    return {};
  }
  struct Entry {
    StoredLabel stored;
    bool current = false;
  };
  std::vector<Entry> entries;
  {
    // Replaced labels of this data (those of a replaced sample belong to its old data id).
    Bson filter = ByField("sample_id", sample_id);
    filter.Int64("number", particle_number).Utf8("data_id", state->data_id);
    MongoCursor cursor = client.Collection(detail::kLabelHistoryCollection).Find(filter, Bson());
    while (const bson_t* document = cursor.Next()) {
      entries.push_back({.stored = ReadLabel(document), .current = false});
    }
  }
  for (StoredLabel& stored : SetLabels(client, *state, particle_number)) {
    entries.push_back({.stored = std::move(stored), .current = true});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.stored.label.created_at, a.current, a.stored.seq) <
           std::tie(b.stored.label.created_at, b.current, b.stored.seq);
  });
  std::vector<Label> history;
  for (Entry& entry : entries) {
    history.push_back(std::move(entry.stored.label));
  }
  for (Label& event : ReadExpertEvents(client, state->data_id, {particle_number})) {
    history.push_back(std::move(event));
  }
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  CheckUnchangedSinceRead(samples, sample_id, *state, /*labels=*/true);
  return history;
}

// Copies the labels of `set_id` to label_history, marked as replaced by `replaced_by`.
void CopyToHistory(const MongoClient& client,
                   const std::string& set_id,
                   const std::string& replaced_by) {
  MongoCollection labels = client.Collection(detail::kLabelsCollection);
  MongoCollection history = client.Collection(detail::kLabelHistoryCollection);
  BulkInsert insert(history);
  const int64_t now = detail::NowMs();
  MongoCursor cursor = labels.Find(ByField("set_id", set_id), Bson());
  while (const bson_t* label = cursor.Next()) {
    Bson entry;
    bson_iter_t iter;
    bson_iter_init(&iter, label);
    while (bson_iter_next(&iter)) {
      if (Key(iter) != "_id") {
        bson_append_iter(entry.Get(), bson_iter_key(&iter), -1, &iter);
      }
    }
    entry.DateTime("replaced_at", now).Utf8("replaced_by", replaced_by);
    insert.Add(entry);
  }
  insert.Flush();
}

void MongoStore::ReplaceLabels(const std::string& sample_id,
                               const std::string& source,
                               const std::string& classification,
                               std::span<const Label> labels) {
  if (source == kLabelSourceExpert) {
    throw Error(ErrorCode::kInvalidInput,
                "ReplaceLabels: expert labels are events that are appended, never replaced "
                "(AppendExpertLabels); sample '" +
                    sample_id + "', classification '" + classification + "'");
  }
  for (const Label& label : labels) {
    if (label.source != source || label.classification != classification) {
      throw Error(ErrorCode::kInvalidInput,
                  "ReplaceLabels: a label of source '" + label.source + "' / '" +
                      label.classification + "' given to replace '" + source + "' / '" +
                      classification + "'");
    }
  }
  std::lock_guard lock(mutex_);
  CheckNoWriter("write labels of sample '" + sample_id + "'");
  const MongoClient client = database_.Connect();
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  const std::optional<Bson> document = samples.FindOne(ById(sample_id), StateProjection().Get());
  if (!document) {
    throw Error(ErrorCode::kNotFound, NotFoundMessage(sample_id));
  }
  const SampleState state = ReadState(document->Get());
  std::vector<LabelSet> sets;
  std::string old_set;
  for (const LabelSet& set : state.label_sets) {
    if (set.source == source && set.classification == classification) {
      old_set = set.set_id;
    } else {
      sets.push_back(set);
    }
  }
  // No labels, no set: an emptied classification disappears from the sample.
  const std::string new_set = labels.empty() ? "" : detail::NewRandomId();
  const std::string write_id = labels.empty() ? detail::NewRandomId() : new_set;
  MongoCollection pending = client.Collection(detail::kPendingWritesCollection);
  AnnounceWrite(pending, write_id, kLabelsWrite, sample_id, [&](BsonBuilder& extra) {
    extra.Utf8OrNull("set_id", new_set);
    extra.Document("replaces", [&](BsonBuilder& replaces) {
      replaces.Array("set_ids", [&](BsonBuilder& ids) {
        if (!old_set.empty()) {
          ids.Utf8(ids.NextIndex(), old_set);
        }
      });
    });
  });

  MongoCollection label_collection = client.Collection(detail::kLabelsCollection);
  bool conflict = false;  // the flip matched nothing: it certainly did not happen
  try {
    BulkInsert insert(label_collection);
    int64_t seq = state.next_label_seq;
    Bson label_document;
    for (const Label& label : labels) {
      label_document.Reset();
      BuildLabel(label_document, new_set, state.data_id, sample_id, seq++, label);
      insert.Add(label_document);
    }
    insert.Flush();
    if (!old_set.empty()) {
      // Before the flip, so that no replaced label is ever lost: an expert's history stays.
      CopyToHistory(client, old_set, write_id);
    }
    if (!new_set.empty()) {
      sets.push_back(
          LabelSet{.source = source, .classification = classification, .set_id = new_set});
    }
    Bson filter = ById(sample_id);
    filter.Utf8("data_id", state.data_id).Int64("labels_revision", state.labels_revision);
    Bson update;
    update.Document("$set", [&](BsonBuilder& set) {
      AppendLabelSets(set, sets);
      set.Int64("next_label_seq", seq).Int64("labels_revision", state.labels_revision + 1);
    });
    if (!MarkCommitting(pending, write_id)) {
      throw Error(ErrorCode::kConflict,
                  "labels of sample '" + sample_id +
                      "': garbage collection removed this write before it committed; run it "
                      "again");
    }
    conflict = samples.UpdateOne(filter, update) != 1;
    if (AfterLabelFlipHook()) {
      AfterLabelFlipHook()();
    }
    if (conflict) {
      throw Error(ErrorCode::kConflict,
                  "sample '" + sample_id +
                      "' was changed by another process while its labels were replaced; try "
                      "again");
    }
  } catch (...) {
    bool flipped = false;
    try {
      // An error with the flip may come after the server applied it (its reply was lost): then
      // the write is done, and removing the new set would leave the sample without labels.
      const std::vector<std::string> replaced =
          old_set.empty() ? std::vector<std::string>{} : std::vector<std::string>{old_set};
      flipped = !conflict && LabelFlipHappened(samples, new_set, replaced);
      if (!flipped) {
        if (!new_set.empty()) {
          label_collection.DeleteMany(ByField("set_id", new_set));
        }
        client.Collection(detail::kLabelHistoryCollection)
            .DeleteMany(ByField("replaced_by", write_id));
        pending.DeleteOne(ById(write_id));
      }
    } catch (const Error&) {
      // Left for garbage collection, which sees whether the flip happened.
    }
    if (!flipped) {
      throw;
    }
  }
  try {
    if (!old_set.empty()) {
      label_collection.DeleteMany(ByField("set_id", old_set));
    }
    pending.DeleteOne(ById(write_id));
  } catch (const Error&) {
    // Done: the old set is no longer shown; garbage collection removes it.
  }
}

std::vector<int64_t> MongoStore::AppendExpertLabels(const std::string& sample_id,
                                                    std::span<const Label> labels) {
  CheckExpertLabels(sample_id, labels);
  std::lock_guard lock(mutex_);
  CheckNoWriter("write labels of sample '" + sample_id + "'");
  const MongoClient client = database_.Connect();
  const std::optional<SampleState> state = State(client, sample_id);
  if (!state) {
    throw Error(ErrorCode::kNotFound, NotFoundMessage(sample_id));
  }
  if (labels.empty()) {
    return {};
  }
  std::vector<int64_t> numbers;
  std::vector<int64_t> undone;  // particles with an undo
  {
    std::set<int64_t> distinct;
    std::set<int64_t> with_undo;
    for (const Label& label : labels) {
      distinct.insert(label.particle_number);
      if (label.undoes != 0) {
        with_undo.insert(label.particle_number);
      }
    }
    numbers.assign(distinct.begin(), distinct.end());
    undone.assign(with_undo.begin(), with_undo.end());
  }
  {
    // Every particle must be one of the sample's, checked before anything is written.
    MongoCollection particles = client.Collection(detail::kParticlesCollection);
    std::set<int64_t> found;
    for (size_t start = 0; start < numbers.size(); start += kIdsPerDelete) {
      Bson filter = ByField("data_id", state->data_id);
      filter.Document("number", [&](BsonBuilder& condition) {
        condition.Array("$in", [&](BsonBuilder& array) {
          for (size_t index = start; index < numbers.size() && index < start + kIdsPerDelete;
               ++index) {
            array.Int64(array.NextIndex(), numbers[index]);
          }
        });
      });
      Bson options;
      options.Document("projection", [](BsonBuilder& projection) {
        projection.Int32("_id", 0).Int32("number", 1);
      });
      MongoCursor cursor = particles.Find(filter, options);
      while (const bson_t* document = cursor.Next()) {
        if (const std::optional<bson_iter_t> number = FindField(document, "number")) {
          found.insert(ReadInt64(*number, "particles.number"));
        }
      }
    }
    std::vector<int64_t> missing;
    for (int64_t number : numbers) {
      if (!found.contains(number)) {
        missing.push_back(number);
      }
    }
    if (!missing.empty()) {
      throw Error(ErrorCode::kNotFound, MissingParticlesMessage(sample_id, missing));
    }
  }
  // Without transactions, an undo is checked just before the insert: a change of the same
  // particle by another process in between is not seen (docs/validation.md).
  std::map<int64_t, int64_t> newest_of;
  if (!undone.empty()) {
    for (const Label& event : ReadExpertEvents(client, state->data_id, undone)) {
      newest_of[event.particle_number] = event.sequence;  // by sequence: the last one stays
    }
  }
  const int64_t first = detail::ReserveExpertSequences(client, static_cast<int64_t>(labels.size()));
  std::vector<int64_t> sequences;
  for (size_t index = 0; index < labels.size(); ++index) {
    const Label& label = labels[index];
    const int64_t sequence = first + static_cast<int64_t>(index);
    if (label.undoes != 0) {
      const int64_t newest =
          newest_of.contains(label.particle_number) ? newest_of[label.particle_number] : 0;
      if (newest != label.undoes) {
        throw Error(ErrorCode::kConflict,
                    "sample '" + sample_id + "' particle " + std::to_string(label.particle_number) +
                        ": cannot undo event " + std::to_string(label.undoes) +
                        ", the newest event is " + std::to_string(newest) +
                        "; nothing was written");
      }
    }
    newest_of[label.particle_number] = sequence;
    sequences.push_back(sequence);
  }
  const std::string batch_id = detail::NewRandomId();
  InsertExpertBatch(client, batch_id, sample_id, state->data_id, labels, first, [&](size_t index) {
    return std::pair(labels[index].undoes, labels[index].restores);
  });
  // A sample replaced meanwhile shows other data: the batch would be invisible, so say so.
  Bson shown = ById(sample_id);
  shown.Utf8("data_id", state->data_id);
  if (client.Collection(detail::kSamplesCollection).Count(shown) == 0) {
    try {
      client.Collection(detail::kExpertLabelsCollection).DeleteOne(ById(batch_id));
    } catch (const Error&) {
      // Left for garbage collection: no sample shows its data id.
    }
    throw Error(ErrorCode::kConflict,
                "sample '" + sample_id +
                    "' was replaced or deleted by another process while its labels were "
                    "written; nothing was written, try again");
  }
  return sequences;
}

void MongoStore::UpdateSampleMetadata(const std::string& sample_id,
                                      const SampleMetadata& metadata) {
  std::lock_guard lock(mutex_);
  CheckNoWriter("write the metadata of sample '" + sample_id + "'");
  const MongoClient client = database_.Connect();
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  Bson update;
  update.Document("$set", [&](BsonBuilder& set) {
    set.Document("metadata", [&](BsonBuilder& fields) { AppendMetadata(fields, metadata); });
  });
  if (samples.UpdateOne(ById(sample_id), update) == 0) {
    throw Error(ErrorCode::kNotFound, NotFoundMessage(sample_id));
  }
}

bool MongoStore::DeleteSample(const std::string& sample_id) {
  std::lock_guard lock(mutex_);
  CheckNoWriter("delete sample '" + sample_id + "'");
  const MongoClient client = database_.Connect();
  MongoCollection samples = client.Collection(detail::kSamplesCollection);
  MongoCollection pending = client.Collection(detail::kPendingWritesCollection);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const std::optional<Bson> document =
        samples.FindOne(ById(sample_id), Projection({"data_id"}, 1).Get());
    if (!document) {
      return false;
    }
    const std::string data_id = ReadState(document->Get()).data_id;
    const std::string write_id = detail::NewRandomId();
    AnnounceWrite(pending, write_id, kDeleteWrite, sample_id, [&](BsonBuilder& extra) {
      extra.Document("replaces", [&](BsonBuilder& replaces) { replaces.Utf8("data_id", data_id); });
    });
    Bson filter = ById(sample_id);
    filter.Utf8("data_id", data_id);
    if (samples.DeleteOne(filter) == 0) {
      pending.DeleteOne(ById(write_id));
      continue;  // replaced by another process meanwhile: delete what it wrote
    }
    try {
      DeleteData(client, data_id);
      client.Collection(detail::kLabelHistoryCollection)
          .DeleteMany(ByField("sample_id", sample_id));
      pending.DeleteOne(ById(write_id));
    } catch (const Error&) {
      // The sample is gone; garbage collection removes the rest.
    }
    return true;
  }
  throw Error(ErrorCode::kConflict,
              "sample '" + sample_id + "' was replaced by other processes " +
                  std::to_string(kMaxAttempts) + " times while it was being deleted; try again");
}

// ---------------------------------------------------------------------------------------------
// Garbage collection of what no sample and no live write refers to

std::set<std::string> Without(const std::vector<std::string>& values,
                              const std::set<std::string>& kept) {
  std::set<std::string> rest;
  for (const std::string& value : values) {
    if (!kept.contains(value)) {
      rest.insert(value);
    }
  }
  return rest;
}

// Deletes the documents whose `key` is one of `ids` (and, with `live_data_ids`, whose data_id
// is not one of those), in chunks.
int64_t DeleteWhereIn(MongoCollection& collection,
                      const char* key,
                      const std::set<std::string>& ids,
                      const std::set<std::string>* live_data_ids = nullptr) {
  int64_t removed = 0;
  auto next = ids.begin();
  while (next != ids.end()) {
    Bson filter;
    filter.Document(key, [&](BsonBuilder& condition) {
      condition.Array("$in", [&](BsonBuilder& array) {
        for (size_t count = 0; next != ids.end() && count < kIdsPerDelete; ++count, ++next) {
          array.Utf8(array.NextIndex(), *next);
        }
      });
    });
    if (live_data_ids != nullptr) {
      filter.Document("data_id", [&](BsonBuilder& condition) {
        condition.Array("$nin", [&](BsonBuilder& array) {
          for (const std::string& id : *live_data_ids) {
            array.Utf8(array.NextIndex(), id);
          }
        });
      });
    }
    removed += collection.DeleteMany(filter);
  }
  return removed;
}

}  // namespace

void detail::SetAfterLabelFlipHookForTesting(std::function<void()> hook) {
  AfterLabelFlipHook() = std::move(hook);
}

std::unique_ptr<Store> OpenMongoStore(const std::string& uri) {
  return std::make_unique<MongoStore>(uri);
}

MongoGarbageReport CollectMongoGarbage(const std::string& uri, const MongoGarbageOptions& options) {
  MongoDatabase database(uri);
  const MongoClient client = database.Connect();
  client.Ping();
  detail::MigrateMongoSchema(client, database);
  MongoGarbageReport report;
  CollectStaleWrites(
      client,
      detail::NowMs() -
          std::chrono::duration_cast<std::chrono::milliseconds>(options.stale_after).count(),
      report);

  // The order matters: ids are listed before the writes and samples that may refer to them are
  // read. A write announces itself before writing data and a sample refers to data only after
  // it was written, so every listed id that is still in use shows up in one of the later reads.
  MongoCollection particles = client.Collection(detail::kParticlesCollection);
  MongoCollection images = client.Collection(detail::kImagesCollection);
  MongoCollection labels = client.Collection(detail::kLabelsCollection);
  MongoCollection files = client.Collection(detail::kSampleFilesCollection);
  MongoCollection expert_labels = client.Collection(detail::kExpertLabelsCollection);
  const std::vector<std::string> particle_data = particles.DistinctStrings("data_id");
  const std::vector<std::string> expert_data = expert_labels.DistinctStrings("data_id");
  const std::vector<std::string> image_data = images.DistinctStrings("data_id");
  const std::vector<std::string> label_data = labels.DistinctStrings("data_id");
  const std::vector<std::string> file_data = files.DistinctStrings("data_id");
  const std::vector<std::string> label_sets = labels.DistinctStrings("set_id");

  std::set<std::string> live;  // ids of writes in progress and of the data they replace
  {
    MongoCursor cursor = client.Collection(detail::kPendingWritesCollection).Find(Bson(), Bson());
    while (const bson_t* document = cursor.Next()) {
      const PendingWrite write = ReadPendingWrite(document);
      live.insert(write.id);
      live.insert(write.set_id);
      live.insert(write.replaced_data_id);
      live.insert(write.replaced_set_ids.begin(), write.replaced_set_ids.end());
    }
  }
  std::set<std::string> shown_data = live;
  std::set<std::string> shown_sets = live;
  {
    Bson options_document;
    options_document.Document("projection", [&](BsonBuilder& projection) {
      projection.Int32("data_id", 1).Int32("label_sets", 1);
    });
    MongoCursor cursor =
        client.Collection(detail::kSamplesCollection).Find(Bson(), options_document);
    while (const bson_t* document = cursor.Next()) {
      const SampleState state = ReadState(document);
      shown_data.insert(state.data_id);
      for (const LabelSet& set : state.label_sets) {
        shown_sets.insert(set.set_id);
      }
    }
  }
  report.particles += DeleteWhereIn(particles, "data_id", Without(particle_data, shown_data));
  report.images += DeleteWhereIn(images, "data_id", Without(image_data, shown_data));
  report.labels += DeleteWhereIn(labels, "data_id", Without(label_data, shown_data));
  report.files += DeleteWhereIn(files, "data_id", Without(file_data, shown_data));
  report.labels += DeleteWhereIn(expert_labels, "data_id", Without(expert_data, shown_data));
  // Sets of shown data that the sample no longer shows (a ReplaceLabels that died after its
  // flip); the sets of a sample write in progress are not shown yet but their data id is live.
  report.labels += DeleteWhereIn(labels, "set_id", Without(label_sets, shown_sets), &live);
  return report;
}

}  // namespace phytoflow
