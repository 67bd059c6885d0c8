// GET /api/v1/indicators/{kind} through Service::Handle, over a small in-memory store of monthly
// samples written here: each kind answers exactly the JSON (and with format=svg the plot) that
// the app functions and json_views.h give for the same options, which is what
// `phytoflow indicators KIND --json` prints; bad parameters are answered before the store is read.

#include "phytoflow/app/indicators.h"
#include "phytoflow/core/label.h"
#include "phytoflow/products/indicator_plots.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

using Ordered = nlohmann::ordered_json;

Particle MakeParticle(int64_t number, double esd_um) {
  Particle particle;
  particle.number = number;
  particle.esd_um = esd_um;
  particle.abd_um = esd_um;
  particle.biovolume_abd_um3 = SphereVolumeUm3(esd_um);
  particle.biovolume_esd_um3 = SphereVolumeUm3(esd_um);
  return particle;
}

// Writes one sample of station W08 in area SNS with `count` validated particles of each taxon.
void WriteSample(Store& store,
                 const std::string& id,
                 const std::string& sampled_at,
                 std::optional<double> volume_ml,
                 const std::vector<std::pair<std::string, int>>& counts) {
  Sample sample;
  sample.id = id;
  sample.run_name = id;
  sample.fingerprint = "fingerprint-" + id;
  sample.volume_imaged_ml = volume_ml;
  sample.metadata.station = "W08";
  sample.metadata.water_body = "SNS";
  sample.metadata.sampled_at = sampled_at;
  std::vector<Particle> particles;
  std::vector<Label> labels;
  for (const auto& [taxon, count] : counts) {
    const double esd_um = taxon == "Chaetoceros" ? 10 : (taxon == "Tripos_fusus" ? 60 : 30);
    for (int i = 0; i < count; ++i) {
      const int64_t number = static_cast<int64_t>(particles.size()) + 1;
      particles.push_back(MakeParticle(number, esd_um));
      labels.push_back({.particle_number = number,
                        .name = taxon,
                        .source = kLabelSourceExpert,
                        .classification = kPhytoflowClassification,
                        .author = "tester",
                        .created_at = "2026-01-01T00:00:00Z"});
    }
  }
  sample.particle_count = static_cast<int64_t>(particles.size());
  const auto writer = store.BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(particles);
  writer->AddLabels(labels);
  writer->Commit(sample);
}

// 2015–2017, one sample of 1 mL a month: Chaetoceros (pelagic diatom, 10 µm) with a seasonal
// cycle, Paralia sulcata (tychopelagic diatom, 30 µm) and Tripos fusus (dinoflagellate, 60 µm),
// five times as many of the latter in 2017; and one sample of March 2016 whose imaged volume is 0.
std::unique_ptr<Store> MonthlyStore() {
  std::unique_ptr<Store> store = OpenSqliteStore(":memory:");
  for (int year = 2015; year <= 2017; ++year) {
    for (int month = 1; month <= 12; ++month) {
      const int y = year - 2015;
      const int tripos = (1 + (month * 5 + y) % 7) * (year == 2017 ? 5 : 1);
      const std::string date = std::to_string(year) + "-" + (month < 10 ? "0" : "") +
                               std::to_string(month) + "-15T10:00:00Z";
      WriteSample(*store,
                  "W08-" + date.substr(0, 7),
                  date,
                  1.0,
                  {{"Chaetoceros", 3 + (month * 7 + y * 3) % 11},
                   {"Paralia_sulcata", 1 + (month * 3 + y) % 5},
                   {"Tripos_fusus", tripos}});
    }
  }
  WriteSample(*store, "W08-zero", "2016-03-20T10:00:00Z", 0.0, {{"Chaetoceros", 4}});
  return store;
}

class IndicatorRoutesTest : public ::testing::Test {
 protected:
  HttpResponse Get(const std::string& path,
                   const std::multimap<std::string, std::string>& query) const {
    return service_.Handle(HttpRequest{.method = "GET", .path = path, .query = query});
  }
  Ordered GetJson(const std::string& path,
                  const std::multimap<std::string, std::string>& query) const {
    const HttpResponse response = Get(path, query);
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.content_type, "application/json");
    return Ordered::parse(response.body);
  }
  // What the app functions give for the same options, observed on the same store.
  Observations Observe(const IndicatorQuery& query) const {
    return ObserveSamples(*stores_.Acquire(), query);
  }
  // A view as it is printed: NaN as null, numbers through the same text.
  static Ordered Printed(const Ordered& view) { return Ordered::parse(view.dump()); }

  IndicatorQuery Query(SeriesValue value = SeriesValue::kCellsPerL) const {
    return {.taxonomy = &DefaultTaxonomy(), .station = "W08", .area = "SNS", .value = value};
  }

  mutable StorePool stores_{MonthlyStore()};
  ModelCatalog models_;
  // MonthlyStore: 37 samples, 747 particles; 12 samples, 368 particles in 2017. A budget of
  // 20,000 draws, and of 20,000 / 50 = 400 sample replicates.
  Service service_{
      stores_, models_, nullptr, {.public_read = true, .max_uncertainty_draws = 20'000}};
};

TEST_F(IndicatorRoutesTest, Ph1AnswersTheCommandsJsonAndPlot) {
  const std::multimap<std::string, std::string> parameters = {
      {"station", "W08"},
      {"area", "SNS"},
      {"reference", "2015-2016"},
      {"comparison", "2017"},
      {"lifeforms", "diatom-dinoflagellate"},
      {"lifeforms", "tychopelagic_diatoms-pelagic_diatoms"},
      {"seed", "3"}};
  const Ordered answered = GetJson("/api/v1/indicators/ph1", parameters);

  const IndicatorQuery query = Query();
  const Observations observations = Observe(query);
  const std::vector<LifeformPair> pairs = {{"diatom", "dinoflagellate"},
                                           {"tychopelagic_diatoms", "pelagic_diatoms"}};
  const Ph1Assessment assessment =
      AssessPh1(observations, pairs, {.periods = {2015, 2016, 2017, 2017}, .seed = 3});
  EXPECT_EQ(answered, Printed(Ph1Json(query, observations, assessment)));
  // The assessment itself: 24 reference and 12 comparison months per pair, 36 samples (the one
  // without a volume is left out, and said so).
  ASSERT_EQ(answered["pairs"].size(), 2u);
  EXPECT_EQ(answered["pairs"][0]["reference_points"], 24);
  EXPECT_EQ(answered["pairs"][0]["points"], 12);
  EXPECT_EQ(answered["selection"]["samples"], 36);
  EXPECT_EQ(answered["months"]["diatom"].size(), 36u);
  EXPECT_EQ(answered["transform"], "half-minimum");

  std::multimap<std::string, std::string> svg_parameters = parameters;
  svg_parameters.emplace("format", "svg");
  const HttpResponse plot = Get("/api/v1/indicators/ph1", svg_parameters);
  EXPECT_EQ(plot.status, 200);
  EXPECT_EQ(plot.content_type, "image/svg+xml");
  EXPECT_EQ(plot.body, Ph1EnvelopeSvg(assessment.result, IndicatorPlotTitle("PH1/FW5", query)));
}

TEST_F(IndicatorRoutesTest, Ph2AndPh3AnswerTheCommandsJson) {
  const Ordered ph2 = GetJson("/api/v1/indicators/ph2",
                              {{"station", "W08"},
                               {"area", "SNS"},
                               {"lifeform", "dinoflagellate"},
                               {"reference", "2015-2016"},
                               {"comparison", "2017"}});
  const IndicatorQuery query = Query();
  const Observations observations = Observe(query);
  const Ph2Assessment ph2_assessment =
      AssessPh2(observations, "dinoflagellate", {.periods = {2015, 2016, 2017, 2017}});
  EXPECT_EQ(ph2, Printed(Ph2Json(query, observations, ph2_assessment)));
  // Tripos ×5 in 2017 (log10 about 0.6 higher): the comparison anomalies are higher on average,
  // so t (reference minus comparison) is negative.
  EXPECT_EQ(ph2["comparison"]["months"], 12);
  EXPECT_LT(ph2["t_test"]["t"].get<double>(), 0);
  EXPECT_GT(ph2["t_test"]["comparison_mean"].get<double>(), 0.3);

  const Ordered ph3 = GetJson("/api/v1/indicators/ph3",
                              {{"station", "W08"},
                               {"area", "SNS"},
                               {"value", "cells"},
                               {"permutations", "19"},
                               {"seed", "5"}});
  const IndicatorQuery cells = Query(SeriesValue::kCells);
  const Observations counted = Observe(cells);
  const Ph3Assessment ph3_assessment =
      AssessPh3(counted, "phytoplankton", {.permutations = 19, .seed = 5});
  EXPECT_EQ(ph3, Printed(Ph3Json(cells, counted, ph3_assessment)));
  // Counted cells need no volume: all 37 samples, three taxa, 2015–2017 every year assessed.
  EXPECT_EQ(ph3["selection"]["samples"], 37);
  EXPECT_EQ(ph3["taxa"], Ordered({"Chaetoceros", "Paralia_sulcata", "Tripos_fusus"}));
  EXPECT_EQ(ph3["qualifying_years"], 3);
}

// The comparison period may come first: the series covers 2015–2017 either way. The sample with
// an imaged volume of 0 has no value per litre: it is left out and named, not silently dropped.
TEST_F(IndicatorRoutesTest, SeriesCoversBothPeriodsAndNamesSamplesWithoutVolume) {
  const Ordered answered =
      GetJson("/api/v1/indicators/series",
              {{"station", "W08"}, {"reference", "2017"}, {"comparison", "2015-2016"}});
  const IndicatorQuery query{.taxonomy = &DefaultTaxonomy(), .station = "W08"};
  const Observations observations = Observe(query);
  const std::vector<MonthlySeries> series = LifeformSeries(observations, 2015, 2017);
  EXPECT_EQ(answered, Printed(SeriesJson(query, observations, series)));
  ASSERT_EQ(answered["months"].size(), 36u);
  EXPECT_EQ(answered["months"][0]["year"], 2015);
  EXPECT_EQ(answered["months"][14]["samples"], 1);  // March 2016 without the zero-volume one
  EXPECT_EQ(answered["selection"]["samples"], 36);
  ASSERT_EQ(observations.warnings.size(), 1u);
  EXPECT_NE(observations.warnings[0].find("positive imaged volume"), std::string::npos);
  EXPECT_NE(observations.warnings[0].find("W08-zero"), std::string::npos);
  EXPECT_EQ(answered["warnings"], Ordered(observations.warnings));
}

// Errors, each in the one error shape: unknown kinds and stations 404, malformed parameters 400
// (read before the store), parameters the indicator cannot use 422.
TEST_F(IndicatorRoutesTest, RejectsBadParameters) {
  const auto status = [this](const std::string& kind,
                             const std::multimap<std::string, std::string>& query) {
    return Get("/api/v1/indicators/" + kind, query).status;
  };
  const std::multimap<std::string, std::string> periods = {{"reference", "2015-2016"},
                                                           {"comparison", "2017"}};
  EXPECT_EQ(status("ph9", {}), 404);
  EXPECT_EQ(status("ph1", {{"reference", "2015-2016"}}), 400);  // no comparison period
  EXPECT_EQ(status("ph2", {{"reference", "2015-2016"}, {"comparison", "2016-2017"}}), 422);
  EXPECT_EQ(status("ph2", {{"reference", "2015-16"}, {"comparison", "2017"}}), 422);
  EXPECT_EQ(status("series", {{"value", "litres"}}), 400);
  EXPECT_EQ(status("series", {{"format", "svg"}}), 400);
  EXPECT_EQ(status("ph3", {{"format", "png"}}), 400);
  EXPECT_EQ(status("ph3", {{"permutations", "-1"}}), 400);
  EXPECT_EQ(status("ph3", {{"lifeform", "whales"}}), 400);
  EXPECT_EQ(
      status("ph1", {{"reference", "2015-2016"}, {"comparison", "2017"}, {"transform", "ln"}}),
      400);
  EXPECT_EQ(status("series", {{"station", "NOWHERE"}}), 404);
  // Intervals of model labels: only with predictions, and at most 1000 replicates per request.
  EXPECT_EQ(status("series", {{"uncertainty", "10"}}), 400);
  EXPECT_EQ(status("series", {{"predictions", "true"}, {"uncertainty", "1001"}}), 400);
  EXPECT_EQ(status("series", {{"predictions", "true"}, {"uncertainty", "-1"}}), 400);
  EXPECT_EQ(status("series", {{"predictions", "true"}, {"uncertainty", "19"}}), 400);  // too few
  EXPECT_EQ(
      status("series", {{"predictions", "true"}, {"uncertainty", "20"}, {"reference", "2017"}}),
      200);  // 20 × 368 = 7,360 draws, 20 × 12 = 240 sample replicates
  const HttpResponse draws =
      Get("/api/v1/indicators/series", {{"predictions", "true"}, {"uncertainty", "40"}});
  EXPECT_EQ(draws.status, 422);  // 40 × 747 draws
  EXPECT_NE(draws.body.find("29880 draws, more than 20000"), std::string::npos) << draws.body;
  const HttpResponse kept =
      Get("/api/v1/indicators/series", {{"predictions", "true"}, {"uncertainty", "20"}});
  EXPECT_EQ(kept.status, 422);  // 20 × 747 = 14,940 draws fit, 20 × 37 sample replicates not
  EXPECT_NE(kept.body.find("740 sample replicates, more than 400"), std::string::npos) << kept.body;
  // A plot shows no interval: no draw, whatever is asked.
  EXPECT_EQ(status("ph1",
                   {{"reference", "2015-2016"},
                    {"comparison", "2017"},
                    {"predictions", "true"},
                    {"uncertainty", "1000"},
                    {"format", "svg"}}),
            200);
  const HttpResponse unknown =
      Get("/api/v1/indicators/ph2",
          {{"reference", "2015-2016"}, {"comparison", "2030"}, {"lifeform", "dinoflagellate"}});
  EXPECT_EQ(unknown.status, 422);  // no comparison year with samples
  EXPECT_NE(unknown.body.find("no comparison year"), std::string::npos);
}

}  // namespace
}  // namespace phytoflow
