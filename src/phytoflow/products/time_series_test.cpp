#include "phytoflow/products/time_series.h"

#include "phytoflow/core/error.h"

#include <cmath>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Particle MakeParticle(int64_t number, double esd_um, int64_t cells) {
  Particle particle;
  particle.number = number;
  particle.particles_per_chain = cells;
  particle.esd_um = esd_um;
  particle.abd_um = esd_um;
  particle.biovolume_abd_um3 = SphereVolumeUm3(esd_um);
  particle.biovolume_esd_um3 = SphereVolumeUm3(esd_um);
  return particle;
}

ResolvedLabel Validated(int64_t number, const std::string& name) {
  return {.particle_number = number, .name = name, .status = LabelStatus::kValidated};
}

ResolvedLabel Predicted(int64_t number, const std::string& name) {
  return {.particle_number = number, .name = name, .status = LabelStatus::kPredicted};
}

// One sample of 1 mL imaged (0.001 L of seawater, so cells per litre = cells × 1000):
//   1 Chaetoceros (pelagic diatom), ESD 10 µm, a chain of 2 cells     validated
//   2 Chaetoceros, ESD 12 µm                                          predicted
//   3 Paralia_sulcata (tychopelagic diatom), ESD 30 µm                validated
//   4 Tripos_fusus (dinoflagellate), ESD 60 µm                        validated
//   5 detritus (not living), ESD 15 µm                                validated
//   6 Mystery (not in the taxonomy), ESD 8 µm                         validated
//   7 unlabelled, ESD 9 µm
//   8 Tripos_fusus without an ESD                                     validated
struct Fixture {
  Sample sample;
  std::vector<Particle> particles;
  std::vector<ResolvedLabel> labels;

  Fixture() {
    sample.id = "W08-2016-05";
    sample.volume_imaged_ml = 1.0;
    sample.metadata.station = "W08";
    sample.metadata.water_body = "SNS";
    sample.metadata.sampled_at = "2016-05-14T09:30:00Z";
    particles = {MakeParticle(1, 10, 2),
                 MakeParticle(2, 12, 1),
                 MakeParticle(3, 30, 1),
                 MakeParticle(4, 60, 1),
                 MakeParticle(5, 15, 1),
                 MakeParticle(6, 8, 1),
                 MakeParticle(7, 9, 1),
                 MakeParticle(8, kNaN, 1)};
    labels = {Validated(1, "Chaetoceros"),
              Predicted(2, "Chaetoceros"),
              Validated(3, "Paralia_sulcata"),
              Validated(4, "Tripos_fusus"),
              Validated(5, "detritus"),
              Validated(6, "Mystery"),
              {.particle_number = 7},
              Validated(8, "Tripos_fusus")};
  }
  SampleObservation Observe(SeriesValue value) const {
    return ObserveSample(sample, particles, labels, DefaultTaxonomy(), {}, value);
  }
};

// Cells per litre: Chaetoceros 3 cells → 3000, Paralia 1000, Tripos 2 cells → 2000. Groups:
// diatom 4000, pelagic 3000, tychopelagic 1000, dinoflagellate 2000, phytoplankton 6000;
// sm_phyto the phytoplankton below 20 µm (Chaetoceros 3000), lg_phyto from 20 µm (Paralia and
// the Tripos with an ESD: 2000; the one without an ESD is in neither).
TEST(ObserveSample, SumsTaxaAndLifeformGroups) {
  const SampleObservation observation = Fixture().Observe(SeriesValue::kCellsPerL);
  EXPECT_EQ(observation.sample_id, "W08-2016-05");
  EXPECT_EQ(observation.station, "W08");
  EXPECT_EQ(observation.area, "SNS");
  EXPECT_EQ(observation.year, 2016);
  EXPECT_EQ(observation.month, 5);
  ASSERT_EQ(observation.taxa.size(), 3u);  // living and known: no detritus, no Mystery
  EXPECT_EQ(observation.taxa[0].name, "Chaetoceros");
  EXPECT_DOUBLE_EQ(observation.taxa[0].value, 3000);
  EXPECT_EQ(observation.taxa[0].habitat, Habitat::kPelagic);
  const auto& groups = observation.groups;
  EXPECT_DOUBLE_EQ(groups.at("diatom"), 4000);
  EXPECT_DOUBLE_EQ(groups.at("pelagic_diatoms"), 3000);
  EXPECT_DOUBLE_EQ(groups.at("tychopelagic_diatoms"), 1000);
  EXPECT_DOUBLE_EQ(groups.at("dinoflagellate"), 2000);
  EXPECT_DOUBLE_EQ(groups.at("phytoplankton"), 6000);
  EXPECT_DOUBLE_EQ(groups.at("sm_phyto"), 3000);
  EXPECT_DOUBLE_EQ(groups.at("lg_phyto"), 2000);
  EXPECT_DOUBLE_EQ(groups.at("ciliates"), 0);
  EXPECT_EQ(groups.size(), LifeformGroups().size());
  // Labels: 6 validated, 1 predicted, 1 unlabelled.
  EXPECT_EQ(observation.validated, 6);
  EXPECT_EQ(observation.predicted, 1);
  EXPECT_EQ(observation.unlabelled, 1);
}

TEST(ObserveSample, ValueChoices) {
  const Fixture fixture;
  // Raw cells: Chaetoceros 3.
  EXPECT_DOUBLE_EQ(fixture.Observe(SeriesValue::kCells).taxa[0].value, 3);
  // Biovolume: chain of 2 with ABD 10 µm holds V/√2, plus the 12 µm sphere, per 0.001 L.
  const double biovolume = (SphereVolumeUm3(10) / std::sqrt(2.0) + SphereVolumeUm3(12)) / 0.001;
  EXPECT_NEAR(fixture.Observe(SeriesValue::kBiovolume).taxa[0].value, biovolume, 1e-6);
  EXPECT_GT(fixture.Observe(SeriesValue::kCarbon).groups.at("diatom"), 0);
  // Without an imaged volume per-litre values are NaN, counts are not.
  Fixture no_volume;
  no_volume.sample.volume_imaged_ml.reset();
  EXPECT_TRUE(std::isnan(no_volume.Observe(SeriesValue::kCellsPerL).groups.at("diatom")));
  EXPECT_DOUBLE_EQ(no_volume.Observe(SeriesValue::kCells).groups.at("diatom"), 4);
  // Without a sampling time there is no month.
  Fixture no_time;
  no_time.sample.metadata.sampled_at.clear();
  EXPECT_THROW(no_time.Observe(SeriesValue::kCells), Error);
}

TEST(SeriesValue, NamesRoundTrip) {
  for (const SeriesValue value : {SeriesValue::kCellsPerL,
                                  SeriesValue::kCells,
                                  SeriesValue::kBiovolume,
                                  SeriesValue::kCarbon}) {
    EXPECT_EQ(ParseSeriesValue(SeriesValueName(value)), value);
  }
  EXPECT_EQ(ParseSeriesValue("carbon"), SeriesValue::kCarbon);
  EXPECT_FALSE(ParseSeriesValue("chlorophyll").has_value());
}

SampleObservation Observation(int year, int month, double diatoms, int64_t predicted) {
  SampleObservation observation{.sample_id = "s", .year = year, .month = month};
  observation.groups["diatom"] = diatoms;
  observation.taxa.push_back({.name = "Chaetoceros",
                              .lifeform = Lifeform::kDiatom,
                              .habitat = Habitat::kPelagic,
                              .value = diatoms});
  observation.validated = 10 - predicted;
  observation.predicted = predicted;
  return observation;
}

// May 2016: two samples (1000 and 3000) → mean 2000, 2 samples; 4 of their 20 labelled particles
// are predictions → share 0.2. January 2017: one sample. A sample of 2015 (outside the years)
// and one with a NaN value are left out; every other month is NaN with 0 samples.
TEST(MonthlyMeans, PoolsTheSamplesOfEachMonth) {
  std::vector<SampleObservation> observations = {Observation(2016, 5, 1000, 1),
                                                 Observation(2016, 5, 3000, 3),
                                                 Observation(2017, 1, 500, 0),
                                                 Observation(2015, 5, 9999, 0),
                                                 Observation(2016, 6, kNaN, 0)};
  observations.push_back({.sample_id = "without-chaetoceros", .year = 2017, .month = 1});
  observations.back().groups["diatom"] = 100;
  const MonthlySeries series = MonthlyMeans(observations, SeriesOf::kGroup, "diatom", 2016, 2017);
  EXPECT_EQ(series.name, "diatom");
  ASSERT_EQ(series.points.size(), 24u);
  const MonthlyPoint& may = series.points[4];
  EXPECT_EQ(may.year, 2016);
  EXPECT_EQ(may.month, 5);
  EXPECT_EQ(may.samples, 2);
  EXPECT_DOUBLE_EQ(may.mean, 2000);
  EXPECT_DOUBLE_EQ(may.predicted_share, 0.2);
  EXPECT_EQ(series.points[5].samples, 0);  // June 2016: the NaN sample is left out
  EXPECT_TRUE(std::isnan(series.points[5].mean));
  EXPECT_DOUBLE_EQ(series.points[12].mean, 300);  // January 2017: (500 + 100)/2
  // The taxon: a sample without it counts 0: January 2017 (500 + 0)/2 = 250.
  const MonthlySeries taxon =
      MonthlyMeans(observations, SeriesOf::kTaxon, "Chaetoceros", 2016, 2017);
  EXPECT_DOUBLE_EQ(taxon.points[12].mean, 250);
  EXPECT_EQ(taxon.points[12].samples, 2);
  EXPECT_THROW(MonthlyMeans(observations, SeriesOf::kGroup, "copepods", 2016, 2017), Error);
  EXPECT_THROW(MonthlyMeans(observations, SeriesOf::kGroup, "diatom", 2017, 2016), Error);
}

TEST(ObservedTaxa, ListsTaxaSeenInAGroup) {
  const SampleObservation observation = Fixture().Observe(SeriesValue::kCells);
  const std::vector<SampleObservation> observations = {observation};
  EXPECT_EQ(ObservedTaxa(observations, "diatom"),
            (std::vector<std::string>{"Chaetoceros", "Paralia_sulcata"}));
  EXPECT_EQ(ObservedTaxa(observations, "").size(), 3u);
  EXPECT_EQ(ObservedTaxa(observations, "phytoplankton").size(), 3u);
  EXPECT_TRUE(ObservedTaxa(observations, "ciliates").empty());
}

}  // namespace
}  // namespace phytoflow
