#pragma once

// Use cases around sample metadata: read a sidecar table (CSV or JSON) of metadata by run name,
// apply it to stored samples, and set single keys.
//
//   auto records = ReadMetadataFile("stations.csv");       // validated, with file:line errors
//   auto report = ImportMetadata(store, records);           // matched by sample id or run name

#include "phytoflow/core/sample_metadata.h"
#include "phytoflow/storage/store.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace phytoflow {

// One row of a sidecar file: the run (sample id or run name) it applies to and its values.
struct MetadataRecord {
  std::string run;
  SampleMetadata metadata;
  int line = 0;  // 1-based line (CSV) or array index + 1 (JSON), for messages
};

// Reads a sidecar: .csv (a header row with "run" and keys of SampleMetadataKeys() or env.NAME,
// comma or semicolon separated, double quotes for values with separators, UTF-8 with or without
// BOM; Windows-1252 bytes are read as such) or .json (an array of objects with "run" and keys,
// or an object keyed by run; values are numbers or strings). An empty cell, "" or null gives
// nothing. Every record is validated; throws Error{kInvalidInput} naming file, line (CSV) or
// record (JSON) and key on the first bad value, an unknown column, or a run given twice, and
// Error{kNotFound} when the file does not exist.
std::vector<MetadataRecord> ReadMetadataFile(const std::filesystem::path& path);

// The same from text already in memory (what ReadMetadataFile does after reading the file, and
// the entry point for fuzzing): `file_name` chooses the format by its extension and names the
// file in messages.
std::vector<MetadataRecord> ParseMetadataText(const std::string& text,
                                              const std::string& file_name);

// The record for a run (matched by sample id, then run name), or nullptr.
const MetadataRecord* FindMetadataRecord(const std::vector<MetadataRecord>& records,
                                         const std::string& sample_id,
                                         const std::string& run_name);

struct MetadataImportReport {
  std::vector<std::string> updated;         // sample ids whose metadata changed
  std::vector<std::string> unchanged;       // sample ids that already had these values
  std::vector<std::string> unmatched_runs;  // records that match no stored sample
};

// Applies each record to the stored sample it matches (by sample id, else by run name when
// exactly one sample has it): its keys replace the stored ones, keys it does not give are kept
// (MergeMetadata). All records are checked, merged results included, before anything is
// written; then each sample is written in its own transaction. Throws Error{kInvalidInput} for a
// merged result that is invalid, a run name shared by several samples, or two records naming
// the same sample.
MetadataImportReport ImportMetadata(Store& store, const std::vector<MetadataRecord>& records);

// Sets KEY=VALUE pairs on one stored sample (an empty value clears the key) and returns the
// result. Throws Error{kNotFound} for an unknown sample, Error{kInvalidInput} for a bad pair.
SampleMetadata SetSampleMetadata(Store& store,
                                 const std::string& sample_id,
                                 const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace phytoflow
