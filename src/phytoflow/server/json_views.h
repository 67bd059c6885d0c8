#pragma once

// JSON views of samples, ingest reports, labels and compositions, shared by the HTTP API and
// the command line's --json output, so both print the same keys (snake_case and stable:
// scripts rely on them). A private header: it includes nlohmann/json, so only the server's .cpp
// files and cli/ include it.

#include "phytoflow/app/ingest.h"
#include "phytoflow/core/label.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/products/composition.h"

#include <string_view>
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

// One stored label: particle_number, name, source, classification, author, created_at; for an
// expert label (an event) also sequence, status ("validated", "dubious", "withdrawn") and undoes
// (null unless an undo); for the others probability (null unless a prediction) and top_k
// ([{name, probability}], best first).
nlohmann::json LabelJson(const Label& label);

// The composition report of one sample (`phytoflow report --json`): taxa with counts, cells,
// biovolume and carbon per litre and corrected abundances, totals, label counts and shares,
// size classes and warnings. `carbon_equation` ("all-sizes" or "switch") and `validated_only`
// are echoed as given. NaN and infinite values become null.
nlohmann::json CompositionJson(const SampleComposition& composition,
                               std::string_view carbon_equation,
                               bool validated_only);

}  // namespace phytoflow
