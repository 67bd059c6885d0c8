#pragma once

// JSON views of what the commands print with --json. Keys are snake_case and stable: scripts
// and the later HTTP API rely on them.

#include "phytoflow/app/ingest.h"
#include "phytoflow/core/label.h"
#include "phytoflow/core/sample.h"

#include <vector>

#include <nlohmann/json.hpp>

namespace phytoflow {

// A sample's metadata: every key of SampleMetadataKeys() but "depth" (null when not given),
// numbers as numbers, and "environment" as an object of name → number.
nlohmann::json SampleMetadataJson(const SampleMetadata& metadata);
// The summary of a sample: sample_id, run_name, particles, volume_imaged_ml, particles_per_ml...
nlohmann::json SampleSummaryJson(const Sample& sample);
// Everything about a sample, with its metadata under "metadata" and label counts per source and
// classification under "labels".
nlohmann::json SampleDetailJson(const Sample& sample, const std::vector<LabelCount>& label_counts);
// One ingested run: the summary plus outcome, labels, warnings, metadata and metadata_updated.
nlohmann::json IngestReportJson(const IngestReport& report);

}  // namespace phytoflow
