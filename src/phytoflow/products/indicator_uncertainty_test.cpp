#include "phytoflow/products/indicator_uncertainty.h"

#include "phytoflow/core/error.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ResolvedLabel Predicted(int64_t number, const std::string& name) {
  return {.particle_number = number, .name = name, .status = LabelStatus::kPredicted};
}

Particle MakeParticle(int64_t number, double esd_um) {
  Particle particle;
  particle.number = number;
  particle.particles_per_chain = 1;
  particle.esd_um = esd_um;
  particle.abd_um = esd_um;
  particle.biovolume_abd_um3 = SphereVolumeUm3(esd_um);
  particle.biovolume_esd_um3 = SphereVolumeUm3(esd_um);
  return particle;
}

// Ten predicted particles of one sample (1 mL imaged: one cell is 1000 cells per litre), each
// with the same top-k.
struct TenPredicted {
  Sample sample;
  std::vector<Particle> particles;
  std::vector<ResolvedLabel> labels;
  std::vector<std::vector<LabelScore>> top_k;

  explicit TenPredicted(const std::vector<LabelScore>& scores) {
    sample.id = "S1";
    sample.volume_imaged_ml = 1.0;
    sample.metadata.sampled_at = "2020-05-01T00:00:00Z";
    for (int64_t number = 1; number <= 10; ++number) {
      particles.push_back(MakeParticle(number, 10));
      labels.push_back(Predicted(number, scores.front().name));
      top_k.push_back(scores);
    }
  }
  // The diatoms (Chaetoceros) of each of `replicates` replicates, in cells.
  std::vector<double> DiatomCells(int replicates, uint64_t seed) const {
    std::mt19937_64 generator(ReplicateSeed(seed, sample.id));
    std::vector<double> cells;
    for (int r = 0; r < replicates; ++r) {
      const std::vector<ResolvedLabel> drawn = DrawLabels(labels, top_k, generator);
      const SampleObservation observation =
          ObserveSample(sample, particles, drawn, DefaultTaxonomy(), {}, SeriesValue::kCells);
      cells.push_back(observation.groups.at("diatom"));
    }
    return cells;
  }
};

TEST(DrawLabels, CertainTopKGivesADegenerateInterval) {
  const TenPredicted data({{"Chaetoceros", 1.0}});
  const std::vector<double> cells = data.DiatomCells(200, 7);
  for (const double value : cells) {
    EXPECT_EQ(value, 10);  // every particle draws Chaetoceros in every replicate
  }
  EXPECT_EQ(PercentileInterval(cells, 0.95), (Interval{10, 10, 10}));
}

// Chaetoceros (diatom) or Tripos_fusus (dinoflagellate) with 0.5 each: the diatom count is
// Binomial(10, 0.5), mean 5. Its 2.5 % and 97.5 % quantiles are 2 and 8: P(X ≤ 1) = 11/1024 =
// 0.0107 < 0.025 ≤ P(X ≤ 2) = 56/1024 = 0.0547, and symmetrically for 8. Over 2000 replicates the
// empirical cdf at 1 and 2 is within ±0.01 of these (sd ≈ 0.005), so the type-7 quantiles fall on
// 2 and 8 exactly; the mean is within ±0.15 of 5 (sd of the mean √(2.5/2000) ≈ 0.035).
TEST(DrawLabels, EvenTopKGivesABinomialCount) {
  const TenPredicted data({{"Chaetoceros", 0.5}, {"Tripos_fusus", 0.5}});
  const std::vector<double> cells = data.DiatomCells(2000, 1);
  double sum = 0;
  for (const double value : cells) {
    sum += value;
  }
  EXPECT_NEAR(sum / 2000, 5.0, 0.15);
  const Interval interval = PercentileInterval(cells, 0.95);
  EXPECT_EQ(interval.lower, 2);
  EXPECT_EQ(interval.upper, 8);
}

TEST(DrawLabels, LeftoverMassIsUnlabelled) {
  // Σ top-k = 0: every draw falls in the leftover mass.
  const std::vector<ResolvedLabel> labels = {Predicted(1, "Chaetoceros")};
  const std::vector<std::vector<LabelScore>> none = {{{"Chaetoceros", 0.0}}};
  std::mt19937_64 generator(1);
  for (int r = 0; r < 50; ++r) {
    const std::vector<ResolvedLabel> drawn = DrawLabels(labels, none, generator);
    EXPECT_EQ(drawn[0].status, LabelStatus::kUnlabelled);
    EXPECT_EQ(drawn[0].name, "");
  }
  // Σ top-k = 0.3 over 1000 particles: Binomial(1000, 0.7) unlabelled, mean 700, sd 14.5;
  // ±60 is about 4 sd.
  std::vector<ResolvedLabel> many;
  std::vector<std::vector<LabelScore>> top_k;
  for (int64_t number = 1; number <= 1000; ++number) {
    many.push_back(Predicted(number, "Chaetoceros"));
    top_k.push_back({{"Chaetoceros", 0.2}, {"Tripos_fusus", 0.1}});
  }
  int unlabelled = 0;
  for (const ResolvedLabel& label : DrawLabels(many, top_k, generator)) {
    unlabelled += label.status == LabelStatus::kUnlabelled ? 1 : 0;
  }
  EXPECT_NEAR(unlabelled, 700, 60);
}

TEST(DrawLabels, OnlyModelLabelsAreDrawn) {
  const std::vector<ResolvedLabel> labels = {
      {.particle_number = 1, .name = "Tripos_fusus", .status = LabelStatus::kValidated},
      {.particle_number = 2},  // unlabelled
      {.particle_number = 3, .name = "uncertain", .status = LabelStatus::kUncertain},
      Predicted(4, "Chaetoceros")};  // no top-k stored: kept
  // Every list says "Paralia_sulcata" for sure: only the uncertain particle may take it, since
  // the validated and unlabelled ones are never drawn, whatever top-k they are given.
  const std::vector<LabelScore> paralia = {{"Paralia_sulcata", 1.0}};
  const std::vector<std::vector<LabelScore>> top_k = {paralia, paralia, paralia, {}};
  std::mt19937_64 generator(3);
  const std::vector<ResolvedLabel> drawn = DrawLabels(labels, top_k, generator);
  EXPECT_EQ(drawn[0].name, "Tripos_fusus");
  EXPECT_EQ(drawn[0].status, LabelStatus::kValidated);
  EXPECT_EQ(drawn[1].status, LabelStatus::kUnlabelled);
  EXPECT_EQ(drawn[2].name, "Paralia_sulcata");  // uncertain: enters by its top-k
  EXPECT_EQ(drawn[2].status, LabelStatus::kPredicted);
  EXPECT_EQ(drawn[3].name, "Chaetoceros");
  EXPECT_THROW(DrawLabels(labels, std::span(top_k).first(2), generator), Error);
}

TEST(DrawLabels, SeededBySampleNotByOrder) {
  const TenPredicted data({{"Chaetoceros", 0.5}, {"Tripos_fusus", 0.5}});
  EXPECT_EQ(data.DiatomCells(100, 5), data.DiatomCells(100, 5));
  EXPECT_NE(data.DiatomCells(100, 5), data.DiatomCells(100, 6));
  // A sample's generator comes from the seed and its id only, so the samples read before it
  // change nothing: another sample's draws in between leave S1's as they were.
  TenPredicted other = data;
  other.sample.id = "S2";
  EXPECT_NE(ReplicateSeed(5, "S1"), ReplicateSeed(5, "S2"));
  EXPECT_NE(other.DiatomCells(100, 5), data.DiatomCells(100, 5));
  const std::vector<double> alone = data.DiatomCells(100, 5);
  other.DiatomCells(100, 5);
  EXPECT_EQ(data.DiatomCells(100, 5), alone);
}

// Type 7 over 1, 2, ..., 101 (n = 101): h = 100 × 0.025 = 2.5 → x3 + 0.5 (x4 − x3) = 3.5;
// h = 100 × 0.975 = 97.5 → 98.5. NaN values are left out.
TEST(PercentileInterval, Type7Quantiles) {
  std::vector<double> values;
  for (int i = 1; i <= 101; ++i) {
    values.push_back(i);
  }
  values.push_back(kNaN);
  const Interval wide = PercentileInterval(values, 0.95);
  EXPECT_NEAR(wide.lower, 3.5, 1e-12);
  EXPECT_NEAR(wide.upper, 98.5, 1e-12);
  // level 0.5: h = 25 and 75 → 26 and 76.
  const Interval narrow = PercentileInterval(values, 0.5);
  EXPECT_NEAR(narrow.lower, 26, 1e-12);
  EXPECT_NEAR(narrow.upper, 76, 1e-12);
  const Interval none = PercentileInterval(std::vector<double>{kNaN}, 0.95);
  EXPECT_TRUE(std::isnan(none.lower) && std::isnan(none.upper));
  EXPECT_THROW(PercentileInterval(values, 1.0), Error);
  EXPECT_THROW(PercentileInterval(values, 0.0), Error);
}

TEST(AttachIntervals, PerMonthOverReplicates) {
  MonthlySeries estimate{.name = "diatom", .points = {{.mean = 5}, {.mean = kNaN}}};
  std::vector<MonthlySeries> replicates;
  for (const double value : {4.0, 6.0, 5.0}) {
    replicates.push_back({.name = "diatom", .points = {{.mean = value}, {.mean = kNaN}}});
  }
  AttachIntervals(estimate, replicates, 0.5);
  // Sorted 4, 5, 6: h = 2 × 0.25 = 0.5 → 4.5; h = 1.5 → 5.5.
  EXPECT_EQ(estimate.points[0].lower, 4.5);
  EXPECT_EQ(estimate.points[0].upper, 5.5);
  EXPECT_EQ(estimate.points[0].mean, 5);  // the estimate stays
  EXPECT_TRUE(std::isnan(estimate.points[1].lower));
}

TEST(IndicatorIntervals, MatchPairsAndYears) {
  // PH1: the pair's PI in three replicates 0.2, 0.4, 0.6; its 2021 PI 1, 0, 0.5.
  Ph1Result estimate;
  estimate.pairs.push_back({.pair = {"diatom", "dinoflagellate"}});
  estimate.pairs[0].annual.push_back({.year = 2021, .index = {}});
  std::vector<Ph1Result> ph1(3, estimate);
  const double pis[] = {0.2, 0.4, 0.6};
  const double annual[] = {1, 0, 0.5};
  for (size_t r = 0; r < 3; ++r) {
    ph1[r].pairs[0].index.pi = pis[r];
    ph1[r].pairs[0].annual[0].index.pi = annual[r];
  }
  const std::vector<Ph1PairIntervals> pairs = Ph1Intervals(estimate, ph1, 0.5);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_NEAR(pairs[0].pi.lower, 0.3, 1e-12);  // h = 0.5 between 0.2 and 0.4
  EXPECT_NEAR(pairs[0].pi.upper, 0.5, 1e-12);
  ASSERT_EQ(pairs[0].annual.size(), 1u);
  EXPECT_EQ(pairs[0].annual[0].first, 2021);
  EXPECT_EQ(pairs[0].annual[0].second, (Interval{0.25, 0.75, 0.5}));  // sorted 0, 0.5, 1
  EXPECT_NEAR(pairs[0].pi.median, 0.4, 1e-12);

  // PH2: sd change −10, 10, 30 % → level 0.5: 0 and 20.
  std::vector<Ph2Result> ph2(3);
  for (size_t r = 0; r < 3; ++r) {
    ph2[r].sd_change_percent = -10.0 + 20.0 * static_cast<double>(r);
    ph2[r].comparison.percent_important = 50;
  }
  const Ph2Intervals intervals = Ph2IntervalsOf(ph2, 0.5);
  EXPECT_EQ(intervals.sd_change_percent, (Interval{0, 20, 10}));
  EXPECT_EQ(intervals.percent_important, (Interval{50, 50, 50}));
  EXPECT_TRUE(std::isnan(intervals.percent_extreme.lower));  // NaN in every replicate

  // PH3: the years are matched by year; a replicate without the year counts as missing.
  Ph3Result ph3_estimate;
  ph3_estimate.years = {{.year = 2020}, {.year = 2021}};
  std::vector<Ph3Result> ph3(2);
  ph3[0].years = {{.year = 2021, .shannon = 1.0}, {.year = 2020, .shannon = 2.0}};
  ph3[1].years = {{.year = 2021, .shannon = 3.0}};
  const std::vector<Ph3YearIntervals> years = Ph3Intervals(ph3_estimate, ph3, 0.5);
  ASSERT_EQ(years.size(), 2u);
  EXPECT_EQ(years[0].year, 2020);
  EXPECT_EQ(years[0].shannon, (Interval{2, 2, 2}));      // 1 of 2 finite: ≥ 0.5 × 2
  EXPECT_EQ(years[1].shannon, (Interval{1.5, 2.5, 2}));  // 1, 3: h = 0.25, 0.5 and 0.75
}

// An interval of the replicates where a value could be computed would hide how often it could
// not: fewer finite values than level × replicates give none.
TEST(PercentileInterval, NoIntervalWhenTooManyReplicatesHaveNoValue) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> two_of_three = {1, nan, 3};
  EXPECT_EQ(PercentileInterval(two_of_three, 0.5), (Interval{1.5, 2.5, 2}));  // 2 ≥ 0.5 × 3
  EXPECT_TRUE(std::isnan(PercentileInterval(two_of_three, 0.95).lower));      // 2 < 0.95 × 3
  std::vector<double> nineteen_of_twenty(20, 7.0);
  nineteen_of_twenty[3] = nan;
  EXPECT_EQ(PercentileInterval(nineteen_of_twenty, 0.95), (Interval{7, 7, 7}));  // 19 ≥ 19
}

}  // namespace
}  // namespace phytoflow
