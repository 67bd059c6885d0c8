#pragma once

// Use case: read FlowCam exports into a store. Shared by the CLI and (later) the HTTP service.
//
//   auto reports = IngestExport(store, "exports/run1.zip", {.replace = false});
//
// Each run is written atomically: a failure (bad file, full disk, kill -9) leaves the store
// exactly as it was before that run. A run already in the store (same particle fingerprint) is
// left unchanged unless `replace` is set.

#include "phytoflow/app/metadata.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/storage/store.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

struct IngestProgress {
  std::string run_name;
  int64_t done = 0;   // particles written so far in this run
  int64_t total = 0;  // particles in this run
};

enum class IngestOutcome { kIngested, kReplaced, kUnchanged };
std::string_view IngestOutcomeName(IngestOutcome outcome);

struct IngestReport {
  IngestOutcome outcome = IngestOutcome::kIngested;
  Sample sample;                                   // as stored (without particles)
  int64_t labels = 0;                              // labels of the run in the store (from the .cla)
  std::optional<int64_t> particles_without_image;  // unknown for runs left unchanged
  bool metadata_updated = false;  // an unchanged run whose stored metadata the sidecar changed
};

struct IngestOptions {
  bool replace = false;  // replace a run that is already stored
  bool strict = false;   // a missing or unreadable collage fails the run
  int threads = 0;       // for encoding vignettes; 0 = every core
  // How messages and each run's recorded source name `input` (e.g. an uploaded file's name
  // instead of the server's temporary folder); empty: the path itself.
  std::string display_name;
  // Sidecar records (ReadMetadataFile). Each run takes the record of its sample id or run name
  // (FindMetadataRecord), stored in the run's transaction; a replaced run keeps its stored
  // metadata where the record gives nothing, and an unchanged run gets the record merged in
  // (IngestReport::metadata_updated). When set, a written run without a record gets a warning.
  std::optional<std::vector<MetadataRecord>> metadata;
  std::function<void(const IngestProgress&)> on_progress;  // called every few hundred particles
  std::function<void(const IngestReport&)> on_run_done;    // called as each run is stored
};

// Ingests every run found in `input` (a run folder, a folder of runs, or a .zip). Throws
// Error on the first run that cannot be read or written; runs before it stay stored.
std::vector<IngestReport> IngestExport(Store& store,
                                       const std::filesystem::path& input,
                                       const IngestOptions& options);

// The runs of sidecar records that matched none of the ingested runs (by sample id or run name),
// in record order: worth a warning, as they are usually typos.
std::vector<std::string> UnmatchedMetadataRuns(const std::vector<MetadataRecord>& records,
                                               const std::vector<IngestReport>& reports);

}  // namespace phytoflow
