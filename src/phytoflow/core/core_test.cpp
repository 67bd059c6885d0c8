#include "phytoflow/core/diagnostic.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/core/sample_metadata.h"
#include "phytoflow/core/utf8.h"
#include "phytoflow/core/xml.h"

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

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

// ---------------------------------------------------------------------------------------------
// Sample metadata

// The message of the Error{kInvalidInput} that SetMetadataValue throws, or "" if it does not.
std::string SetError(std::string_view key, std::string_view value) {
  SampleMetadata metadata;
  try {
    SetMetadataValue(metadata, key, value);
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    return error.what();
  }
  return "";
}

std::string Normalized(std::string_view time) {
  SampleMetadata metadata;
  SetMetadataValue(metadata, "sampled_at", time);
  return metadata.sampled_at;
}

TEST(SampleMetadata, SetsEveryKey) {
  SampleMetadata metadata;
  SetMetadataValue(metadata, "station", "W08");
  SetMetadataValue(metadata, "campaign", "BPNS-2024-05");
  SetMetadataValue(metadata, "latitude", "51.4325");
  SetMetadataValue(metadata, "longitude", "-2.5");
  SetMetadataValue(metadata, "sampled_at", "2024-05-14T09:30Z");
  SetMetadataValue(metadata, "depth", "3");
  SetMetadataValue(metadata, "sampling_protocol", "Niskin bottle, 3 m; Lugol");
  SetMetadataValue(metadata, "gear", "Niskin bottle");
  SetMetadataValue(metadata, "water_body", "North Sea");
  SetMetadataValue(metadata, "country_code", "be");
  SetMetadataValue(metadata, "dilution_factor", "2");
  SetMetadataValue(metadata, "concentration_factor", "0.25");
  SetMetadataValue(metadata, "temperature_c", "12.75");
  SetMetadataValue(metadata, "salinity", "34.1");
  SetMetadataValue(metadata, "env.chlorophyll_ug_per_l", " 2.5 ");

  SampleMetadata expected;
  expected.station = "W08";
  expected.campaign = "BPNS-2024-05";
  expected.latitude = 51.4325;
  expected.longitude = -2.5;
  expected.sampled_at = "2024-05-14T09:30Z";
  expected.depth_min_m = 3.0;  // "depth" sets both ends
  expected.depth_max_m = 3.0;
  expected.sampling_protocol = "Niskin bottle, 3 m; Lugol";
  expected.gear = "Niskin bottle";
  expected.water_body = "North Sea";
  expected.country_code = "BE";  // upper-cased
  expected.dilution_factor = 2.0;
  expected.concentration_factor = 0.25;
  expected.temperature_c = 12.75;
  expected.salinity = 34.1;
  expected.environment = {{"chlorophyll_ug_per_l", 2.5}};
  EXPECT_EQ(metadata, expected);
  EXPECT_NO_THROW(ValidateMetadata(metadata));

  SetMetadataValue(metadata, "depth_min_m", "0");
  SetMetadataValue(metadata, "depth_max_m", "10");
  EXPECT_EQ(metadata.depth_min_m, 0.0);
  EXPECT_EQ(metadata.depth_max_m, 10.0);

  // An empty value clears a key; "depth" clears both ends.
  SetMetadataValue(metadata, "station", "");
  SetMetadataValue(metadata, "latitude", "  ");
  SetMetadataValue(metadata, "depth", "");
  SetMetadataValue(metadata, "env.chlorophyll_ug_per_l", "");
  EXPECT_TRUE(metadata.station.empty());
  EXPECT_FALSE(metadata.latitude.has_value());
  EXPECT_FALSE(metadata.depth_min_m.has_value());
  EXPECT_FALSE(metadata.depth_max_m.has_value());
  EXPECT_TRUE(metadata.environment.empty());
  EXPECT_FALSE(metadata.Empty());
  EXPECT_TRUE(SampleMetadata{}.Empty());
}

TEST(SampleMetadata, ChecksRangesAtTheirBounds) {
  // Bounds are inclusive except the factors, which must be > 0.
  for (const auto& [key, good, bad] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"latitude", "-90", "90.0001"},
           {"latitude", "90", "-90.5"},
           {"longitude", "-180", "180.5"},
           {"longitude", "180", "-181"},
           {"depth", "11000", "11000.5"},
           {"depth", "0", "-1"},
           {"depth_min_m", "0", "-0.1"},
           {"depth_max_m", "11000", "12000"},
           {"dilution_factor", "0.001", "0"},
           {"concentration_factor", "1e6", "-2"},
           {"temperature_c", "-3", "-3.1"},
           {"temperature_c", "40", "40.5"},
           {"salinity", "0", "-0.01"},
           {"salinity", "45", "45.1"},
       }) {
    EXPECT_EQ(SetError(key, good), "") << key << "=" << good;
    const std::string message = SetError(key, bad);
    EXPECT_TRUE(message.starts_with(key + ": expected a number ")) << message;
    EXPECT_NE(message.find("found '" + bad + "'"), std::string::npos) << message;
  }
  EXPECT_EQ(SetError("latitude", "95"),
            "latitude: expected a number from -90 to 90 (decimal degrees), found '95'");
  EXPECT_EQ(SetError("dilution_factor", "0"),
            "dilution_factor: expected a number greater than 0, found '0'");
}

TEST(SampleMetadata, ParsesNumbersTheSameInEveryLocale) {
  SampleMetadata metadata;
  SetMetadataValue(metadata, "latitude", "+51.5");
  EXPECT_EQ(metadata.latitude, 51.5);
  SetMetadataValue(metadata, "depth", "1e2");
  EXPECT_EQ(metadata.depth_max_m, 100.0);
  // A decimal comma, trailing text, NaN and infinity are not numbers here.
  for (const std::string bad : {"51,5", "51.5N", "nan", "inf", "-", "", "0x10"}) {
    if (bad.empty()) {
      continue;  // empty clears, tested above
    }
    EXPECT_NE(SetError("latitude", bad), "") << bad;
  }
  EXPECT_EQ(SetError("env.chlorophyll_ug_per_l", "high"),
            "env.chlorophyll_ug_per_l: expected a number, found 'high'");
}

TEST(SampleMetadata, ConvertsTimesToUtc) {
  EXPECT_EQ(Normalized("2025-04-11"), "2025-04-11");
  EXPECT_EQ(Normalized("2025-04-11T10:00Z"), "2025-04-11T10:00Z");
  EXPECT_EQ(Normalized("2025-04-11T10:00:30+02:00"), "2025-04-11T08:00:30Z");  // 10 - 2 = 8
  EXPECT_EQ(Normalized("2025-04-11 10:00+00:00"), "2025-04-11T10:00Z");
  EXPECT_EQ(Normalized("2025-04-11T10:00:00.250+01:00"), "2025-04-11T09:00:00.250Z");
  // Across midnight, the year and a leap day: 01:30 at +02:00 is 23:30 the day before, ...
  EXPECT_EQ(Normalized("2025-01-01T01:30+02:00"), "2024-12-31T23:30Z");
  // ... 22:00 at -05:00 is 03:00 the next day, ...
  EXPECT_EQ(Normalized("2024-12-31T22:00-05:00"), "2025-01-01T03:00Z");
  // ... 23:00 on 28 February 2024 at -01:00 is 00:00 on the 29th (a leap year), ...
  EXPECT_EQ(Normalized("2024-02-28T23:00-01:00"), "2024-02-29T00:00Z");
  // ... and in 2025, which has no 29 February, it is 1 March.
  EXPECT_EQ(Normalized("2025-02-28T23:00-01:00"), "2025-03-01T00:00Z");
  // India, +05:30: 05:00 local is 23:30 UTC the day before.
  EXPECT_EQ(Normalized("2024-03-01T05:00+05:30"), "2024-02-29T23:30Z");
}

TEST(SampleMetadata, RefusesTimesWithoutZoneAndMalformedTimes) {
  const std::string no_zone = SetError("sampled_at", "2025-04-11T10:00");
  EXPECT_TRUE(no_zone.starts_with("sampled_at: '2025-04-11T10:00' has no time zone")) << no_zone;
  EXPECT_NE(no_zone.find("add Z for UTC (2025-04-11T10:00Z)"), std::string::npos) << no_zone;
  EXPECT_NE(no_zone.find("local time and UTC"), std::string::npos) << no_zone;
  for (const std::string bad : {"2025-02-29",              // not a leap year
                                "2025-13-01",              // no month 13
                                "2025-04-31",              // April has 30 days
                                "11/04/2025",              // not ISO 8601
                                "2025-4-11",               // two-digit month
                                "2025-04-11T24:00Z",       // hour 24
                                "2025-04-11T10:60Z",       // minute 60
                                "2025-04-11T10:00:61Z",    // second 61
                                "2025-04-11T10Z",          // no minutes
                                "2025-04-11T10:00+2",      // offset without minutes
                                "2025-04-11T10:00+15:00",  // no such offset
                                "2025-04-11T10:00Zjunk",   // trailing text
                                "2025-04-11T10:00:00.Z"}) {
    const std::string message = SetError("sampled_at", bad);
    EXPECT_TRUE(message.starts_with("sampled_at: expected an ISO 8601 date"))
        << bad << ": " << message;
  }
}

TEST(SampleMetadata, ChecksTextCountryAndEnvironmentNames) {
  EXPECT_EQ(SetError("country_code", "BEL"),
            "country_code: expected an ISO 3166-1 alpha-2 code such as 'BE', found 'BEL'");
  EXPECT_NE(SetError("station", "W08\nW09"), "");
  // "Zeebrügge" typed in a Latin-1 terminal: refused; the same name in UTF-8 is fine.
  EXPECT_EQ(SetError("station", "Zeebr\xFCgge"),
            "station: expected UTF-8 text, found invalid bytes (is the terminal or file UTF-8?)");
  EXPECT_EQ(SetError("station", "Zeebr\xC3\xBCgge"), "");
  EXPECT_TRUE(SetError("env.Chl", "1").starts_with("env.Chl: expected env.NAME with NAME of"));
  EXPECT_NE(SetError("env.", "1"), "");
  EXPECT_NE(SetError("env.chl-a", "1"), "");
  const std::string unknown = SetError("lat", "51");
  EXPECT_TRUE(unknown.starts_with("unknown metadata key 'lat'; known keys: station, campaign, "))
      << unknown;
  EXPECT_NE(unknown.find("salinity, env.NAME"), std::string::npos) << unknown;
}

TEST(Utf8, AcceptsValidSequencesAndRefusesBrokenOnes) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ASCII only"));
  EXPECT_TRUE(IsValidUtf8("\xC2\xB5m and \xE2\x82\xAC and \xF0\x9F\x90\x9F"));  // µ, €, a fish
  EXPECT_FALSE(IsValidUtf8("\xB5m"));                                           // a Latin-1 µ
  EXPECT_FALSE(IsValidUtf8("\xC0\xB5"));                                        // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));                                    // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));                                        // cut short
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength("a", 0), 0u);
}

TEST(SampleMetadata, ValuesRoundTripInKeyOrder) {
  SampleMetadata metadata;
  metadata.environment = {{"oxygen_umol_per_kg", 250.0}, {"chlorophyll_ug_per_l", 0.1 + 0.2}};
  metadata.salinity = 34.5;
  metadata.station = "W08";
  metadata.latitude = 51.25;
  metadata.depth_min_m = 0.0;
  metadata.depth_max_m = 5.0;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"station", "W08"},
      {"latitude", "51.25"},
      {"depth_min_m", "0"},
      {"depth_max_m", "5"},
      {"salinity", "34.5"},
      {"env.chlorophyll_ug_per_l", "0.30000000000000004"},  // shortest text of 0.1 + 0.2
      {"env.oxygen_umol_per_kg", "250"},
  };
  EXPECT_EQ(MetadataValues(metadata), expected);

  SampleMetadata read_back;
  for (const auto& [key, value] : MetadataValues(metadata)) {
    SetMetadataValue(read_back, key, value);
  }
  EXPECT_EQ(read_back, metadata);
  EXPECT_TRUE(MetadataValues(SampleMetadata{}).empty());
  EXPECT_EQ(SampleMetadataKeys().size(), 16u);
  EXPECT_EQ(SampleMetadataKeys().front(), "station");
  EXPECT_EQ(SampleMetadataKeys()[5], "depth");
}

TEST(SampleMetadata, MergeKeepsWhatTheUpdateDoesNotGive) {
  SampleMetadata stored;
  stored.station = "W08";
  stored.latitude = 51.0;
  stored.environment = {{"chl", 1.0}, {"oxygen", 5.0}};
  SampleMetadata given;
  given.latitude = 52.0;
  given.campaign = "C1";
  given.environment = {{"chl", 2.0}};

  MergeMetadata(stored, given);
  SampleMetadata expected;
  expected.station = "W08";  // kept
  expected.campaign = "C1";  // added
  expected.latitude = 52.0;  // replaced
  expected.environment = {{"chl", 2.0}, {"oxygen", 5.0}};
  EXPECT_EQ(stored, expected);
}

TEST(SampleMetadata, ValidatesWholeRecords) {
  const auto message = [](const SampleMetadata& metadata) -> std::string {
    try {
      ValidateMetadata(metadata);
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  };
  SampleMetadata metadata;
  EXPECT_EQ(message(metadata), "");
  metadata.depth_min_m = 20.0;
  metadata.depth_max_m = 10.0;
  EXPECT_EQ(message(metadata), "depth_min_m: expected at most depth_max_m (10 m), found 20 m");
  metadata.depth_max_m = 20.0;
  EXPECT_EQ(message(metadata), "");
  metadata.latitude = 95.0;
  EXPECT_TRUE(message(metadata).starts_with("latitude: expected a number from -90 to 90"));
  metadata.latitude = 50.0;
  metadata.sampled_at = "2025-04-11T10:00+02:00";  // must already be UTC
  EXPECT_EQ(message(metadata),
            "sampled_at: expected a date or a time in UTC ending in Z, found "
            "'2025-04-11T10:00+02:00'");
  metadata.sampled_at = "2025-04-11T08:00Z";
  metadata.country_code = "be";
  EXPECT_TRUE(message(metadata).starts_with("country_code: "));
  metadata.country_code = "BE";
  metadata.environment["Bad"] = 1.0;
  EXPECT_TRUE(message(metadata).starts_with("env.Bad: "));
  metadata.environment = {{"chl", std::nan("")}};
  EXPECT_TRUE(message(metadata).starts_with("env.chl: expected a finite number"));
  metadata.environment.clear();
  metadata.dilution_factor = 0.0;
  EXPECT_TRUE(message(metadata).starts_with("dilution_factor: expected a number greater than 0"));
}

TEST(SampleMetadata, DayOfYear) {
  SampleMetadata metadata;
  EXPECT_FALSE(DayOfYear(metadata).has_value());
  metadata.sampled_at = "2025-04-11";
  EXPECT_EQ(DayOfYear(metadata), 101);  // 31 + 28 + 31 + 11
  metadata.sampled_at = "2024-04-11T23:59Z";
  EXPECT_EQ(DayOfYear(metadata), 102);  // 31 + 29 + 31 + 11 in a leap year
  metadata.sampled_at = "2024-12-31T00:00Z";
  EXPECT_EQ(DayOfYear(metadata), 366);
  metadata.sampled_at = "2025-01-01";
  EXPECT_EQ(DayOfYear(metadata), 1);
}

}  // namespace
TEST(XmlEscape, WritesTheFiveReservedCharactersAsEntities) {
  EXPECT_EQ(XmlEscape(R"(Chaetoceros <5 µm> & "Tom's")"),
            "Chaetoceros &lt;5 µm&gt; &amp; &quot;Tom&apos;s&quot;");
  EXPECT_EQ(XmlEscape("plain"), "plain");
  EXPECT_EQ(XmlEscape(""), "");
}

}  // namespace phytoflow
