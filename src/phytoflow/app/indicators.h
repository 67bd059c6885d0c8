#pragma once

// Use cases that compute the OSPAR pelagic-habitat indicators (PH1/FW5, PH2, PH3) from the
// stored samples: select the samples of a station or assessment area, resolve each particle's
// label as the composition report does, observe every sample (products/time_series.h), build the
// monthly series and hand them to products/indicators.h. docs/indicators.md describes the
// numbers; the CLI (`phytoflow indicators`) prints them.
//
//   const Observations data = ObserveSamples(store, {.taxonomy = &DefaultTaxonomy(),
//                                                    .station = "W08"});
//   const Ph1Assessment ph1 = AssessPh1(data, DefaultLifeformPairs(),
//                                       {.periods = {2015, 2020, 2021, 2025}});

#include "phytoflow/products/indicator_uncertainty.h"
#include "phytoflow/products/indicators.h"
#include "phytoflow/products/taxonomy.h"
#include "phytoflow/products/time_series.h"
#include "phytoflow/storage/store.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

struct IndicatorQuery {
  const Taxonomy* taxonomy = nullptr;  // required: lifeforms and habitats of the classes
  std::string station;                 // SampleMetadata::station; empty: every station
  std::string area;  // SampleMetadata::water_body (the assessment area); empty: every area
  SeriesValue value = SeriesValue::kCellsPerL;
  // Validated (expert) labels only, unless include_predictions: then a particle without one
  // counts under the prediction of `model_id` (empty: each sample's newest model), as in
  // `phytoflow report`.
  bool include_predictions = false;
  std::string model_id;
  DiatomCarbon diatom_carbon = DiatomCarbon::kAllSizes;
  // The classifier's uncertainty (indicator_uncertainty.h): with replicates > 0 (only with
  // include_predictions) every series and indicator also gets its interval over that many
  // replicates of the model labels drawn from their top-k.
  UncertaintyOptions uncertainty;
};

struct Observations {
  std::vector<SampleObservation> samples;  // the selected samples that could be observed
  int first_year = 0;                      // of the observed samples
  int last_year = 0;
  int64_t labelled = 0;               // labelled particles (validated, predicted or uncertain)
  int64_t predicted = 0;              // of which model labels (predicted or uncertain)
  std::vector<std::string> warnings;  // samples left out and why
  // With query.uncertainty.replicates > 0: per replicate, the observation of each sample of
  // `samples` (same order) with its model labels redrawn; empty otherwise.
  std::vector<std::vector<SampleObservation>> replicates;
  double level = 0.95;  // of the intervals (query.uncertainty.level)
};

// Observes every stored sample of the station and area, and draws the replicates while each
// sample's labels are read (the store is read once). A sample without a sampling time
// (sampled_at), or without a positive imaged volume when the value is per litre, is left out with
// a warning. Throws Error{kNotFound} when no stored sample has the station and area, and
// Error{kInvalidInput} when none of them can be observed (the message says why), or for
// uncertainty replicates without include_predictions or below 0.
Observations ObserveSamples(const Store& store, const IndicatorQuery& query);

// The monthly series of every lifeform group (time_series.h LifeformGroups) from January of
// first_year to December of last_year, with their intervals when the observations have
// replicates (as every series of the assessments below).
std::vector<MonthlySeries> LifeformSeries(const Observations& observations,
                                          int first_year,
                                          int last_year);

struct Ph1Assessment {
  Ph1Result result;
  std::vector<MonthlySeries> series;  // the lifeforms of the pairs, raw monthly means
  Ph1Options options;                 // as given
  // Every warning: the observations' (samples left out), the result's, then each pair's
  // prefixed with "X-Y: ".
  std::vector<std::string> warnings;
  // One per pair of the result, with replicates; empty otherwise.
  std::vector<Ph1PairIntervals> intervals;
};
// PH1/FW5 of the observations (ComputePh1) for the pairs over the options' periods.
Ph1Assessment AssessPh1(const Observations& observations,
                        std::span<const LifeformPair> pairs,
                        const Ph1Options& options);

struct Ph2Assessment {
  std::string lifeform;
  Ph2Result result;
  MonthlySeries series;                   // the group's raw monthly means
  Ph2Options options;                     // as given
  std::vector<std::string> warnings;      // the observations', then the result's
  std::optional<Ph2Intervals> intervals;  // with replicates
};
// PH2 of one lifeform group (ComputePh2), e.g. "phytoplankton" for the total.
Ph2Assessment AssessPh2(const Observations& observations,
                        std::string_view group,
                        const Ph2Options& options);

struct Ph3Assessment {
  std::string lifeform;
  Ph3Result result;
  std::vector<MonthlySeries> series;  // one per taxon of the group seen in the period
  Ph3Options options;                 // with the years filled in
  std::vector<std::string> warnings;  // the observations', then the result's
  // One per year of the result, with replicates; empty otherwise. The replicates run without
  // the LCBD permutation test (it has no interval), each with its own taxa seen.
  std::vector<Ph3YearIntervals> intervals;
};
// PH3 of the taxa of one lifeform group (ComputePh3). first_year or last_year 0 in `options`
// stand for the first or last year of the observations.
Ph3Assessment AssessPh3(const Observations& observations,
                        std::string_view group,
                        Ph3Options options);

// The title of an indicator's plot: "PH1/FW5 station W08 (cells_per_l)", "PH2 diatom all samples
// (carbon_ug_per_l)".
std::string IndicatorPlotTitle(std::string_view indicator, const IndicatorQuery& query);

}  // namespace phytoflow
