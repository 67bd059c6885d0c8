#pragma once

// JSON views of samples, ingest reports, labels and compositions, shared by the HTTP API and
// the command line's --json output, so both print the same keys (snake_case and stable:
// scripts rely on them). A private header: it includes nlohmann/json, so only the server's .cpp
// files and cli/ include it.

#include "phytoflow/app/indicators.h"
#include "phytoflow/app/ingest.h"
#include "phytoflow/app/validation.h"
#include "phytoflow/core/label.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/products/composition.h"

#include <span>
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

// What a validation or an undo wrote: {"sample_id", "events": [LabelJson, ...]}.
nlohmann::json ValidationReportJson(const ValidationReport& report);
// A particle's history: {"sample_id", "particle_number", "entries": [{"kind", "current",
// "label": LabelJson}, ...] (oldest first), "resolved": {"label", "status", "probability",
// "identified_by", "dubious"}, "newest_sequence"} (null without expert events).
nlohmann::json ParticleHistoryJson(const ParticleHistoryReport& report);

// The composition report of one sample (`phytoflow report --json`): taxa with counts, cells,
// biovolume and carbon per litre and corrected abundances, totals, label counts and shares,
// size classes and warnings. `carbon_equation` ("all-sizes" or "switch") and `validated_only`
// are echoed as given. NaN and infinite values become null.
nlohmann::json CompositionJson(const SampleComposition& composition,
                               std::string_view carbon_equation,
                               bool validated_only);

// ---- OSPAR indicators: `phytoflow indicators KIND --json` and GET /api/v1/indicators/{kind} ----
// Keys in the order docs/indicators.md gives them (hence ordered_json); NaN and infinite values
// become null. Each view has "selection" (the samples used: station and area, null for all;
// value; labels, "validated" or "validated+predicted"; samples; first_year; last_year;
// predicted_share), "uncertainty" ({replicates, level, method: "monte-carlo over calibrated
// top-k"}, null when off) and "warnings" (the assessment's: samples left out, then the
// indicator's). Each value with an interval under the classifier's uncertainty has its bounds
// next to it, null when off: "lower"/"upper" after a month's "mean", NAME_lower/NAME_upper after
// any other NAME.

// PH1/FW5: indicator, selection, uncertainty, periods {reference: [first, last], comparison},
// transform, kendall ("annual" or "seasonal"), pairs [{x, y, pi, points, inside,
// binomial_probability, chi_square, chi_square_p, reference_points, quality, envelope, annual,
// reference, comparison, warnings}], trends, months {lifeform: [{year, month, samples, mean,
// predicted_share}]}, warnings.
nlohmann::ordered_json Ph1Json(const IndicatorQuery& query,
                               const Observations& observations,
                               const Ph1Assessment& assessment);
// PH2: indicator, lifeform, selection, uncertainty, periods, reference_years, years_removed,
// thresholds, comparison (the counts by class), t_test, f_test, sd_change_percent, trend, cycle (12
// values), months, label_months (the raw monthly means), warnings.
nlohmann::ordered_json Ph2Json(const IndicatorQuery& query,
                               const Observations& observations,
                               const Ph2Assessment& assessment);
// PH3: indicator, lifeform, selection, uncertainty, first_year, last_year, min_months_per_year,
// taxa, qualifying_years, qc_passed, months (the indices of each sampled month), years (means,
// blooms, assessed, EQRs, LCBD, IVI), trends, warnings.
nlohmann::ordered_json Ph3Json(const IndicatorQuery& query,
                               const Observations& observations,
                               const Ph3Assessment& assessment);
// The monthly means of every lifeform group (`series` holds one per group, over the same months):
// indicator ("series"), selection, uncertainty, months [{year, month, samples, predicted_share,
// lifeforms: {group: mean}, lower: {group: bound}, upper: {group: bound}}], warnings.
nlohmann::ordered_json SeriesJson(const IndicatorQuery& query,
                                  const Observations& observations,
                                  std::span<const MonthlySeries> series);

}  // namespace phytoflow
