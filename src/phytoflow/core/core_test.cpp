#include "phytoflow/core/diagnostic.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"

#include <cmath>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

TEST(SphereVolume, MatchesSpecTestVector) {
  // quantities-and-indicators.md §4.3: ABD 23.7972 µm → 7056.25 µm³.
  EXPECT_NEAR(SphereVolumeUm3(23.7972), 7056.25, 0.05);  // the diameter is rounded to 4 decimals
  EXPECT_TRUE(std::isnan(SphereVolumeUm3(kMissing)));
}

TEST(ParticlesPerMl, DividesByVolumeAndAppliesDilution) {
  // vicko sample2: 1000 particles in 0.1418 ml → 7052/ml (VS reports 7054 from unrounded volume).
  EXPECT_NEAR(*ParticlesPerMl(1000, 0.1418, 1.0), 7052.2, 0.1);
  EXPECT_NEAR(*ParticlesPerMl(10, 0.5, 3.0), 60.0, 1e-9);
  EXPECT_FALSE(ParticlesPerMl(10, std::nullopt, 1.0).has_value());
  EXPECT_FALSE(ParticlesPerMl(10, 0.0, 1.0).has_value());
}

TEST(UtcOffset, FromTheTwoRunStarts) {
  // flowcam-formats.md §3.11: CEST, then EST across midnight.
  EXPECT_EQ(UtcOffsetMinutes("2025-04-11T13:53:33", "2025-04-11T15:53:33"), 120);
  EXPECT_EQ(UtcOffsetMinutes("2017-02-01T00:00:18", "2017-01-31T19:00:18"), -300);
  EXPECT_EQ(UtcOffsetMinutes("2024-02-29T23:00:00", "2024-03-01T04:30:02"), 330);
  EXPECT_FALSE(UtcOffsetMinutes("", "2017-01-31T19:00:18").has_value());
  EXPECT_FALSE(UtcOffsetMinutes("2017-13-01T00:00:00", "2017-01-31T19:00:18").has_value());
}

TEST(VolumeSource, NamesRoundTrip) {
  for (auto source : {VolumeSource::kNone,
                      VolumeSource::kRunSummary,
                      VolumeSource::kSummaryCsv,
                      VolumeSource::kContextManual,
                      VolumeSource::kContextEfficiency,
                      VolumeSource::kContextGeometry}) {
    EXPECT_EQ(ParseVolumeSource(VolumeSourceName(source)), source);
  }
  EXPECT_FALSE(ParseVolumeSource("bogus").has_value());
}

TEST(Check, ThrowsWithCodeAndMessage) {
  EXPECT_NO_THROW(Check(true, ErrorCode::kNotFound, "unused"));
  try {
    Check(false, ErrorCode::kNotFound, "no such sample 'x'");
    FAIL() << "Check(false) did not throw";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(error.what()).find("no such sample 'x'"), std::string::npos);
  }
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalidInput), "invalid_input");
}

TEST(Diagnostic, FormatsFileLineField) {
  Diagnostic d{
      .file = "run.lst", .line = 12, .field = "esd_diameter", .message = "expected a number"};
  EXPECT_EQ(d.ToString(), "run.lst:12: field 'esd_diameter': expected a number");
  Diagnostic whole_file{.file = "run.ctx", .message = "empty"};
  EXPECT_EQ(whole_file.ToString(), "run.ctx: empty");
}

}  // namespace
}  // namespace phytoflow
