#include "phytoflow/products/composition.h"

#include "phytoflow/core/error.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- quantities (spec §4)

TEST(Quantities, ConcentrationOfTheSpecExample) {
  // 57 cells in 0.9485 mL imaged, D = K = 1: 57 / 0.0009485 L = 60,094.9 cells/L.
  const auto litres = SeawaterLitres(0.9485, 1, 1);
  ASSERT_TRUE(litres.has_value());
  EXPECT_DOUBLE_EQ(*litres, 0.0009485);
  EXPECT_NEAR(PerLitre(57, *litres), 60095, 0.5);
}

TEST(Quantities, DilutionAndConcentrationFactors) {
  // V_water = 0.9485 mL / 1000 × K / D = 0.0009485 × 10 / 2 = 0.0047425 L.
  EXPECT_DOUBLE_EQ(*SeawaterLitres(0.9485, 2, 10), 0.0047425);
  EXPECT_FALSE(SeawaterLitres(std::nullopt, 1, 1).has_value());
  EXPECT_FALSE(SeawaterLitres(0.0, 1, 1).has_value());
  EXPECT_THROW(SeawaterLitres(1.0, 0, 1), Error);
  EXPECT_THROW(SeawaterLitres(1.0, 1, -2), Error);
  EXPECT_TRUE(std::isnan(PerLitre(5, 0)));
}

TEST(Quantities, SphereVolumeOfTheSpecExample) {
  // π/6 · 23.7972³ = 7056.29 µm³; the spec rounds to 7056.25.
  EXPECT_NEAR(SphereVolumeUm3(23.7972), 7056.25, 0.05);
  // ABD from the 4x list's area: 2·√(444.7747/π) = 23.7972 µm.
  EXPECT_NEAR(2 * std::sqrt(444.7747 / std::numbers::pi), 23.7972, 5e-4);
}

TEST(Quantities, CarbonTestVectorsOfTheSpec) {
  // Menden-Deuer & Lessard: 10^(log10 a + b·log10 V), spec §4.4 test vectors.
  const double volumes[] = {100, 1000, 3000, 10000};
  const double diatom[] = {12.050, 77.983, 190.084, 504.661};
  const double large[] = {6.745, 51.286, 135.003, 389.942};
  const double other[] = {16.331, 141.906, 398.123, 1233.105};
  for (int idx = 0; idx < 4; ++idx) {
    EXPECT_NEAR(CarbonPgPerCell(volumes[idx], CarbonEquation::kDiatom), diatom[idx], 5e-4);
    EXPECT_NEAR(CarbonPgPerCell(volumes[idx], CarbonEquation::kLargeDiatom), large[idx], 5e-4);
    EXPECT_NEAR(CarbonPgPerCell(volumes[idx], CarbonEquation::kNonDiatom), other[idx], 5e-4);
  }
  EXPECT_TRUE(std::isnan(CarbonPgPerCell(kNaN, CarbonEquation::kDiatom)));
  EXPECT_EQ(CarbonPgPerCell(0, CarbonEquation::kDiatom), 0);
  EXPECT_EQ(CarbonPgPerCell(-5, CarbonEquation::kNonDiatom), 0);
}

TEST(Quantities, ChainCellsFromTheChainsAbdSphere) {
  // Four 10 µm cells: summed area 4 · π·5² → ABD 20 µm, sphere 4188.79 µm³; one cell is the
  // 10 µm sphere 523.599 µm³ = 4188.79 / 4^1.5, and the chain's cells hold 2094.40 = V / √4.
  EXPECT_NEAR(ChainCellVolumeUm3(4188.790205, 4), 523.598776, 1e-5);
  EXPECT_NEAR(ChainBiovolumeUm3(4188.790205, 4), 2094.395102, 1e-5);
  EXPECT_EQ(ChainBiovolumeUm3(1000, 1), 1000);
  EXPECT_EQ(ChainBiovolumeUm3(1000, 0), 1000);  // a bad list value counts as one cell
}

TEST(Quantities, ChainCarbonIsPerCell) {
  // A 2-cell chain whose ABD sphere is 2000 µm³ has cells of 2000 / 2^1.5 = 707.107 µm³:
  // 2 × 0.2163 · 707.107^0.939 = 204.973 pg, against C(2000) = 272.062 pg for a single cell of
  // that volume: a ratio of 2^(1 − 1.5 · 0.939) = 0.75341.
  EXPECT_NEAR(ParticleCarbonPg(2000, 2, false, DiatomCarbon::kAllSizes), 204.973, 1e-3);
  EXPECT_NEAR(ParticleCarbonPg(2000, 1, false, DiatomCarbon::kAllSizes), 272.062, 1e-3);
  EXPECT_NEAR(ParticleCarbonPg(2000, 2, false, DiatomCarbon::kAllSizes) /
                  ParticleCarbonPg(2000, 1, false, DiatomCarbon::kAllSizes),
              std::pow(2.0, 1 - 1.5 * 0.939),
              1e-9);
  // Fewer than one cell (a bad list value) counts as one.
  EXPECT_NEAR(ParticleCarbonPg(1000, 0, true, DiatomCarbon::kAllSizes), 77.983, 5e-4);
}

TEST(Quantities, DiatomSwitchAbove3000PerCell) {
  // One cell of 10000 µm³: all-sizes 504.661 pg, the switch 389.942 pg.
  EXPECT_NEAR(ParticleCarbonPg(10000, 1, true, DiatomCarbon::kAllSizes), 504.661, 5e-4);
  EXPECT_NEAR(ParticleCarbonPg(10000, 1, true, DiatomCarbon::kSwitchAbove3000), 389.942, 5e-4);
  // Exactly 3000 is not above it: 190.084 pg either way.
  EXPECT_NEAR(ParticleCarbonPg(3000, 1, true, DiatomCarbon::kSwitchAbove3000), 190.084, 5e-4);
  // A 4-cell chain whose ABD sphere is 32000 µm³ has 32000 / 4^1.5 = 4000 µm³ cells:
  // 4 × 10^(−0.933 + 0.881·log10 4000) = 695.78.
  EXPECT_NEAR(ParticleCarbonPg(32000, 4, true, DiatomCarbon::kSwitchAbove3000), 695.785, 1e-3);
  // ... and a 6-cell chain of the same volume has 32000 / 6^1.5 = 2177 µm³ cells: all-sizes.
  EXPECT_NEAR(ParticleCarbonPg(32000, 6, true, DiatomCarbon::kSwitchAbove3000),
              6 * CarbonPgPerCell(32000.0 / std::pow(6.0, 1.5), CarbonEquation::kDiatom),
              1e-9);
}

// ---------------------------------------------------------------- taxonomy

constexpr const char* kHeader =
    "class_name\taphia_id\tlsid\tscientific_name\trank\tlineage\tlifeform\thabitat\tnotes\n";

std::string Tsv(const std::string& rows) {
  return std::string("# phytoflow-taxonomy version=test-1\n") + kHeader + rows;
}

std::string ParseError(const std::string& text) {
  try {
    ParseTaxonomy(text, "t.tsv");
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    return error.what();
  }
  return "no error";
}

TEST(Taxonomy, ParsesRowsAndFindsNames) {
  const Taxonomy taxonomy = ParseTaxonomy(
      Tsv("Guinardia_delicatula\t149112\turn:lsid:marinespecies.org:taxname:149112\tGuinardia "
          "delicatula\tSpecies\tChromista|Ochrophyta|Bacillariophyceae\tdiatom\t\tspec #11\n"
          "Phaeocystis\t115088\turn:lsid:marinespecies.org:taxname:115088\tPhaeocystis\tGenus\t"
          "|Haptophyta|Coccolithophyceae||\tother_phytoplankton\n"
          "\n# a comment\n"
          "detritus\t\t\t\t\t\tnon_living\t\tdead\n"
          "Paralia_sulcata\t149055\turn:lsid:marinespecies.org:taxname:149055\tParalia "
          "sulcata\tSpecies\t\tdiatom\ttychopelagic\n"),
      "t.tsv");
  EXPECT_EQ(taxonomy.Version(), "test-1");
  ASSERT_EQ(taxonomy.Taxa().size(), 4u);
  const Taxon* guinardia = taxonomy.Find("Guinardia_delicatula");
  ASSERT_NE(guinardia, nullptr);
  EXPECT_EQ(guinardia->aphia_id, 149112);
  EXPECT_EQ(guinardia->Lsid(), "urn:lsid:marinespecies.org:taxname:149112");
  EXPECT_EQ(guinardia->scientific_name, "Guinardia delicatula");
  EXPECT_EQ(guinardia->Kingdom(), "Chromista");
  EXPECT_EQ(guinardia->lineage.size(), 3u);
  EXPECT_EQ(guinardia->lifeform, Lifeform::kDiatom);
  EXPECT_EQ(guinardia->notes, "spec #11");
  EXPECT_TRUE(guinardia->Living());
  // Case and '_' vs ' ' are ignored on the second try.
  EXPECT_EQ(taxonomy.Find("guinardia delicatula"), guinardia);
  EXPECT_EQ(taxonomy.Find("GUINARDIA_DELICATULA"), guinardia);
  EXPECT_EQ(taxonomy.Find("Guinardia"), nullptr);
  // Unknown ranks inside the lineage stay empty; trailing empty ones are dropped.
  const Taxon* phaeocystis = taxonomy.Find("Phaeocystis");
  ASSERT_NE(phaeocystis, nullptr);
  EXPECT_EQ(phaeocystis->lineage,
            (std::vector<std::string>{"", "Haptophyta", "Coccolithophyceae"}));
  EXPECT_EQ(phaeocystis->Kingdom(), "");
  // Missing trailing fields are empty.
  EXPECT_EQ(phaeocystis->habitat, Habitat::kUnknown);
  EXPECT_EQ(taxonomy.Find("Paralia sulcata")->habitat, Habitat::kTychopelagic);
  const Taxon* detritus = taxonomy.Find("detritus");
  ASSERT_NE(detritus, nullptr);
  EXPECT_FALSE(detritus->Living());
  EXPECT_FALSE(detritus->aphia_id.has_value());
  EXPECT_EQ(detritus->Lsid(), "");
}

TEST(Taxonomy, ColumnsMayComeInAnyOrderAndHabitatAndNotesMayBeLeftOut) {
  const Taxonomy taxonomy = ParseTaxonomy(
      "# phytoflow-taxonomy version=v2\r\n"
      "lifeform\tclass_name\taphia_id\tlsid\tscientific_name\trank\tlineage\r\n"
      "ciliate\tCiliophora\t11\turn:lsid:marinespecies.org:taxname:11\tCiliophora\t\t\r\n",
      "t.tsv");
  ASSERT_NE(taxonomy.Find("Ciliophora"), nullptr);
  EXPECT_EQ(taxonomy.Find("Ciliophora")->lifeform, Lifeform::kCiliate);
  EXPECT_EQ(taxonomy.Find("Ciliophora")->aphia_id, 11);
}

TEST(Taxonomy, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(ParseError("class_name\n"),
            "t.tsv:1: version: expected the first line '# phytoflow-taxonomy version=<version>', "
            "found 'class_name'");
  EXPECT_NE(
      ParseError(Tsv("X\tabc\t\tX\t\t\tdiatom\n"))
          .find("t.tsv:3: aphia_id: expected a positive integer (WoRMS AphiaID), found 'abc'"),
      std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t-4\t\tX\t\t\tdiatom\n")).find("t.tsv:3: aphia_id"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t12\turn:lsid:marinespecies.org:taxname:13\tX\t\t\tdiatom\n"))
                .find("t.tsv:3: lsid: expected 'urn:lsid:marinespecies.org:taxname:12' (from "
                      "aphia_id), found 'urn:lsid:marinespecies.org:taxname:13'"),
            std::string::npos);
  EXPECT_NE(
      ParseError(Tsv("X\t\turn:lsid:x\tX\t\t\tdiatom\n")).find("t.tsv:3: lsid: expected nothing"),
      std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t12\turn:lsid:marinespecies.org:taxname:12\t\t\t\tdiatom\n"))
                .find("t.tsv:3: scientific_name: is empty"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t\t\t\t\t\tdiatoms\n"))
                .find("t.tsv:3: lifeform: expected one of diatom, dinoflagellate"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t\t\t\t\t\tdiatom\tbenthic\n")).find("t.tsv:3: habitat"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("bubble\t5\turn:lsid:marinespecies.org:taxname:5\tB\t\t\tnon_living\n"))
                .find("t.tsv:3: aphia_id: a non_living class cannot have an AphiaID"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t\t\t\t\t\tdiatom\n\nX\t\t\t\t\t\tciliate\n"))
                .find("t.tsv:5: class_name: 'X' is already defined on line 3"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("\t\t\t\t\t\tdiatom\n")).find("t.tsv:3: class_name: is empty"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t\t\t\t\ta|b|c|d|e|f|g\tdiatom\n"))
                .find("t.tsv:3: lineage: expected at most 6 ranks"),
            std::string::npos);
  EXPECT_NE(ParseError(Tsv("X\t\t\t\t\t\tdiatom\t\tnote\textra\n"))
                .find("t.tsv:3: expected at most 9 tab-separated fields (the header's), found 10"),
            std::string::npos);
  EXPECT_NE(ParseError("# phytoflow-taxonomy version=1\nclass_name\taphia\n")
                .find("t.tsv:2: aphia: unknown column"),
            std::string::npos);
  EXPECT_NE(ParseError("# phytoflow-taxonomy version=1\nclass_name\taphia_id\tlsid\n")
                .find("t.tsv:2: scientific_name: missing column"),
            std::string::npos);
  EXPECT_NE(ParseError("# phytoflow-taxonomy version=1\n\n").find("t.tsv:2: header"),
            std::string::npos);
  EXPECT_NE(ParseError("# phytoflow-taxonomy version=  \n").find("t.tsv:1: version"),
            std::string::npos);
  // A CR inside a field (found by taxonomy_fuzz) is refused; a CRLF line end is not.
  EXPECT_NE(ParseError(Tsv("X\t\t\t\t\tChr\rmista\tdiatom\n"))
                .find("t.tsv:3: control character 0x0d in the row"),
            std::string::npos);
  EXPECT_EQ(ParseTaxonomy(Tsv("X\t\t\t\t\t\tdiatom\r\n"), "t.tsv").Taxa().size(), 1u);
  // A tab inside the version (also found by taxonomy_fuzz) is refused.
  EXPECT_EQ(ParseError("# phytoflow-taxonomy version=1\t2\nclass_name\n"),
            "t.tsv:1: version: expected text without tabs or control characters");
}

TEST(Taxonomy, ConstructorRefusesDuplicates) {
  EXPECT_THROW(Taxonomy("v", {Taxon{.class_name = "A"}, Taxon{.class_name = "A"}}), Error);
}

TEST(Taxonomy, RequireAllListsEveryUnknownName) {
  const Taxonomy taxonomy("v1", {Taxon{.class_name = "Known"}});
  EXPECT_NO_THROW(taxonomy.RequireAll({"Known", "known"}, "model m"));
  try {
    taxonomy.RequireAll({"Known", "Alpha", "Beta"}, "model m");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("model m: 2 classes not in taxonomy v1: Alpha, Beta"),
              std::string::npos)
        << error.what();
  }
}

TEST(Taxonomy, LifeformNamesRoundTrip) {
  for (const Lifeform lifeform : {Lifeform::kDiatom,
                                  Lifeform::kDinoflagellate,
                                  Lifeform::kCiliate,
                                  Lifeform::kCyanobacteria,
                                  Lifeform::kOtherPhytoplankton,
                                  Lifeform::kZooplankton,
                                  Lifeform::kOtherLiving,
                                  Lifeform::kNonLiving}) {
    EXPECT_EQ(ParseLifeform(LifeformName(lifeform)), lifeform);
  }
  EXPECT_EQ(LifeformName(Lifeform::kOtherPhytoplankton), "other_phytoplankton");
  EXPECT_FALSE(ParseLifeform("Diatom").has_value());
}

TEST(DefaultTaxonomy, HoldsTheSpecTableAndTheDefaultModelClasses) {
  const Taxonomy& taxonomy = DefaultTaxonomy();
  EXPECT_EQ(taxonomy.Version(), "2026.11.1");
  // A sample of the spec's AphiaID table (darwin-core.md §2.3).
  const std::pair<const char*, int64_t> spec_rows[] = {{"Bacillariophyceae", 148899},
                                                       {"Guinardia_delicatula", 149112},
                                                       {"Guinardia_striata", 149113},
                                                       {"Pseudo-nitzschia", 149151},
                                                       {"Actinoptychus_senarius", 148948},
                                                       {"Dinophyceae", 19542},
                                                       {"Dinoflagellata", 146203},
                                                       {"Tripos", 494057},
                                                       {"Noctiluca_scintillans", 109921},
                                                       {"Phaeocystis_globosa", 160538},
                                                       {"Ciliophora", 11},
                                                       {"Mesodinium_rubrum", 232069},
                                                       {"Biota", 1},
                                                       {"Animalia", 2}};
  for (const auto& [name, aphia_id] : spec_rows) {
    const Taxon* taxon = taxonomy.Find(name);
    ASSERT_NE(taxon, nullptr) << name;
    EXPECT_EQ(taxon->aphia_id, aphia_id) << name;
    EXPECT_TRUE(taxon->Living()) << name;
  }
  EXPECT_EQ(taxonomy.Find("Guinardia delicatula")->rank, "Species");
  EXPECT_EQ(taxonomy.Find("Chaetoceros")->rank, "Genus");
  EXPECT_EQ(taxonomy.Find("Chaetoceros")->habitat, Habitat::kPelagic);
  EXPECT_EQ(taxonomy.Find("Navicula")->lineage.size(), 6u);
  EXPECT_EQ(taxonomy.Find("Tripos")->lifeform, Lifeform::kDinoflagellate);
  EXPECT_EQ(taxonomy.Find("Phaeocystis")->lifeform, Lifeform::kOtherPhytoplankton);
  // Every class of the bundled default model, and the VisualSpreadsheet classes of vicko.
  EXPECT_NO_THROW(taxonomy.RequireAll({"Actinoptychus",
                                       "Bacillariophyceae",
                                       "Ciliophora",
                                       "Dinoflagellata",
                                       "Junk",
                                       "Missed",
                                       "Noctilucales",
                                       "Protist",
                                       "Tripos",
                                       "protist",
                                       "missed",
                                       "uncertain"},
                                      "default model"));
  // Genus and order published at the verified class level.
  const Taxon* actinoptychus = taxonomy.Find("Actinoptychus");
  EXPECT_EQ(actinoptychus->aphia_id, 148899);
  EXPECT_EQ(actinoptychus->scientific_name, "Bacillariophyceae");
  EXPECT_NE(actinoptychus->notes.find("published at class level"), std::string::npos);
  EXPECT_EQ(taxonomy.Find("Noctilucales")->aphia_id, 19542);
  const Taxon* protist = taxonomy.Find("protist");
  EXPECT_EQ(protist->class_name, "Protist");
  EXPECT_TRUE(protist->Living());
  EXPECT_FALSE(protist->aphia_id.has_value());
  for (const char* name : {"detritus",
                           "bubble",
                           "bead",
                           "junk",
                           "Junk",
                           "Missed",
                           "fecal_pellet",
                           "uncertain",
                           "other",
                           "bad"}) {
    ASSERT_NE(taxonomy.Find(name), nullptr) << name;
    EXPECT_FALSE(taxonomy.Find(name)->Living()) << name;
    EXPECT_EQ(taxonomy.Find(name)->class_name, name);  // exact match before case-insensitive
  }
}

TEST(DefaultTaxonomy, TsvRoundTrips) {
  const Taxonomy& taxonomy = DefaultTaxonomy();
  const std::string tsv = TaxonomyTsv(taxonomy);
  const Taxonomy again = ParseTaxonomy(tsv, "round-trip");
  EXPECT_EQ(again.Version(), taxonomy.Version());
  EXPECT_EQ(again.Taxa(), taxonomy.Taxa());
  EXPECT_EQ(TaxonomyTsv(again), tsv);
}

// ---------------------------------------------------------------- corrected abundances

ConfusionRates TwoClassConfusion(int64_t scale) {
  // P(predicted | true) = [[0.8, 0.2], [0.1, 0.9]].
  return ConfusionRates{.classes = {"A", "B"},
                        .counts = {{80 * scale, 20 * scale}, {10 * scale, 90 * scale}}};
}

TEST(AbundanceCorrection, InvertsATwoClassConfusion) {
  // True [100, 50] → observed [100·0.8 + 50·0.1, 100·0.2 + 50·0.9] = [85, 65].
  const std::vector<int64_t> observed = {85, 65};
  const AdjustedCounts counts = AdjustClassifyAndCount(observed, TwoClassConfusion(1), 0, 1);
  EXPECT_EQ(counts.plain, (std::vector<double>{85, 65}));
  ASSERT_EQ(counts.adjusted.size(), 2u);
  EXPECT_NEAR(counts.adjusted[0].estimate, 100, 1e-6);
  EXPECT_NEAR(counts.adjusted[1].estimate, 50, 1e-6);
  EXPECT_EQ(counts.adjusted[0].lower, counts.adjusted[0].estimate);  // no bootstrap
}

TEST(AbundanceCorrection, InvertsAThreeClassConfusion) {
  // Rows (true) [0.9 0.05 0.05], [0.1 0.8 0.1], [0 0.2 0.8]; true [200, 100, 50] →
  // observed [180+10+0, 10+80+10, 10+10+40] = [190, 100, 60].
  const ConfusionRates confusion{.classes = {"A", "B", "C"},
                                 .counts = {{90, 5, 5}, {10, 80, 10}, {0, 20, 80}}};
  const std::vector<int64_t> observed = {190, 100, 60};
  const AdjustedCounts counts = AdjustClassifyAndCount(observed, confusion, 0, 1);
  EXPECT_NEAR(counts.adjusted[0].estimate, 200, 1e-6);
  EXPECT_NEAR(counts.adjusted[1].estimate, 100, 1e-6);
  EXPECT_NEAR(counts.adjusted[2].estimate, 50, 1e-6);
}

TEST(AbundanceCorrection, IdentityConfusionKeepsTheCounts) {
  const ConfusionRates confusion{.classes = {"A", "B", "C"},
                                 .counts = {{40, 0, 0}, {0, 7, 0}, {0, 0, 1}}};
  const std::vector<int64_t> observed = {30, 70, 3};
  const AdjustedCounts counts = AdjustClassifyAndCount(observed, confusion, 200, 3);
  for (size_t idx = 0; idx < 3; ++idx) {
    EXPECT_NEAR(counts.adjusted[idx].estimate, static_cast<double>(observed[idx]), 1e-9);
  }
}

TEST(AbundanceCorrection, EstimatesAreNeverNegative) {
  // Unconstrained: 0.8a + 0.1b = 100, 0.2a + 0.9b = 0 gives b < 0. With b = 0, a minimises
  // (0.8a − 100)² + (0.2a)²: a = 0.8·100 / (0.64 + 0.04) = 117.647.
  const std::vector<int64_t> observed = {100, 0};
  const AdjustedCounts counts = AdjustClassifyAndCount(observed, TwoClassConfusion(1), 0, 1);
  EXPECT_NEAR(counts.adjusted[0].estimate, 80.0 / 0.68, 1e-6);
  EXPECT_EQ(counts.adjusted[1].estimate, 0);
}

TEST(AbundanceCorrection, ClassWithoutValidationExamplesIsTakenAsPerfect) {
  // Rates [[0.8, 0.2], [0, 1]]: 0.8a = 85 → a = 106.25; 0.2a + b = 65 → b = 43.75.
  const ConfusionRates confusion{.classes = {"A", "B"}, .counts = {{80, 20}, {0, 0}}};
  const std::vector<int64_t> observed = {85, 65};
  const AdjustedCounts counts = AdjustClassifyAndCount(observed, confusion, 0, 1);
  EXPECT_NEAR(counts.adjusted[0].estimate, 106.25, 1e-6);
  EXPECT_NEAR(counts.adjusted[1].estimate, 43.75, 1e-6);
}

TEST(AbundanceCorrection, BootstrapIntervalContainsTheEstimateAndShrinksWithMoreValidation) {
  const std::vector<int64_t> observed = {850, 650};
  const AdjustedCounts small = AdjustClassifyAndCount(observed, TwoClassConfusion(1), 400, 7);
  const AdjustedCounts large = AdjustClassifyAndCount(observed, TwoClassConfusion(20), 400, 7);
  for (size_t idx = 0; idx < 2; ++idx) {
    for (const AdjustedCounts* counts : {&small, &large}) {
      const AdjustedEstimate& adjusted = counts->adjusted[idx];
      EXPECT_EQ(adjusted.level, 0.95);
      EXPECT_LT(adjusted.lower, adjusted.estimate);
      EXPECT_GT(adjusted.upper, adjusted.estimate);
    }
    EXPECT_LT(large.adjusted[idx].upper - large.adjusted[idx].lower,
              small.adjusted[idx].upper - small.adjusted[idx].lower);
  }
  // The estimate itself does not depend on the size of the validation set: [1000, 500].
  EXPECT_NEAR(large.adjusted[0].estimate, 1000, 1e-6);
  EXPECT_NEAR(small.adjusted[0].estimate, 1000, 1e-6);
}

TEST(AbundanceCorrection, DeterministicForASeed) {
  const std::vector<int64_t> observed = {85, 65};
  const AdjustedCounts first = AdjustClassifyAndCount(observed, TwoClassConfusion(1), 100, 11);
  const AdjustedCounts again = AdjustClassifyAndCount(observed, TwoClassConfusion(1), 100, 11);
  const AdjustedCounts other = AdjustClassifyAndCount(observed, TwoClassConfusion(1), 100, 12);
  EXPECT_EQ(first.adjusted[0].lower, again.adjusted[0].lower);
  EXPECT_EQ(first.adjusted[1].upper, again.adjusted[1].upper);
  EXPECT_TRUE(first.adjusted[0].lower != other.adjusted[0].lower ||
              first.adjusted[0].upper != other.adjusted[0].upper);
}

TEST(AbundanceCorrection, RefusesMismatchedSizes) {
  const std::vector<int64_t> three = {1, 2, 3};
  EXPECT_THROW(AdjustClassifyAndCount(three, TwoClassConfusion(1), 0, 1), Error);
  const ConfusionRates ragged{.classes = {"A", "B"}, .counts = {{1, 2}, {3}}};
  const std::vector<int64_t> two = {1, 2};
  EXPECT_THROW(AdjustClassifyAndCount(two, ragged, 0, 1), Error);
  EXPECT_THROW(AdjustClassifyAndCount(two, TwoClassConfusion(1), 10, 1, 1.5), Error);
}

// ---------------------------------------------------------------- labels

Label ModelLabel(int64_t number,
                 const std::string& name,
                 const std::string& model,
                 const std::string& created_at,
                 double probability,
                 const std::string& top1) {
  return Label{.particle_number = number,
               .name = name,
               .source = kLabelSourceModel,
               .classification = model,
               .author = "phytoflow",
               .created_at = created_at,
               .probability = probability,
               .top_k = {LabelScore{.name = top1, .probability = probability}}};
}

Label ExpertLabel(int64_t number, const std::string& name, const std::string& created_at) {
  return Label{.particle_number = number,
               .name = name,
               .source = kLabelSourceExpert,
               .classification = "ecotaxa",
               .author = "Jane",
               .created_at = created_at};
}

TEST(ResolveLabels, ExpertBeatsModelAndTheNewestModelIsChosen) {
  const std::vector<Label> labels = {
      ModelLabel(1, "A", "m-new", "2025-01-01T00:00:00Z", 0.9, "A"),
      ExpertLabel(1, "C", "2024-02-01T00:00:00Z"),
      ExpertLabel(1, "B", "2024-01-01T00:00:00Z"),
      ModelLabel(2, kUncertainLabel, "m-new", "2025-01-01T00:00:00Z", 0.4, "B"),
      ModelLabel(2, "B", "m-old", "2023-01-01T00:00:00Z", 0.8, "B"),
      ModelLabel(4, "A", "m-old", "2023-01-01T00:00:00Z", 0.8, "A"),
      Label{.particle_number = 3,
            .name = "Junk",
            .source = kLabelSourceVisualSpreadsheet,
            .classification = "cla"},
  };
  const std::vector<int64_t> numbers = {1, 2, 3, 4};
  EXPECT_EQ(ChosenModelId(labels, {}), "m-new");
  const std::vector<ResolvedLabel> resolved = ResolveLabels(numbers, labels, {});
  ASSERT_EQ(resolved.size(), 4u);
  // The newest expert label wins, whatever the list order.
  EXPECT_EQ(resolved[0].name, "C");
  EXPECT_EQ(resolved[0].status, LabelStatus::kValidated);
  EXPECT_EQ(resolved[0].identified_by, "Jane");
  EXPECT_EQ(resolved[0].top1, "A");
  EXPECT_FALSE(resolved[0].probability.has_value());
  EXPECT_EQ(resolved[1].name, kUncertainLabel);
  EXPECT_EQ(resolved[1].status, LabelStatus::kUncertain);
  EXPECT_EQ(resolved[1].top1, "B");
  EXPECT_EQ(resolved[1].probability, 0.4);
  EXPECT_EQ(resolved[1].identified_by, "m-new");
  EXPECT_EQ(resolved[2].status, LabelStatus::kUnlabelled);  // VS labels only when asked
  EXPECT_EQ(resolved[2].name, "");
  EXPECT_EQ(resolved[3].status, LabelStatus::kUnlabelled);  // only m-old labelled it

  const std::vector<ResolvedLabel> old = ResolveLabels(
      numbers, labels, {.model_id = "m-old", .visual_spreadsheet_classification = "cla"});
  EXPECT_EQ(old[1].name, "B");
  EXPECT_EQ(old[1].status, LabelStatus::kPredicted);
  EXPECT_EQ(old[2].name, "Junk");
  EXPECT_EQ(old[2].status, LabelStatus::kValidated);
  EXPECT_EQ(old[3].status, LabelStatus::kPredicted);

  const std::vector<ResolvedLabel> validated =
      ResolveLabels(numbers, labels, {.validated_only = true});
  EXPECT_EQ(validated[0].status, LabelStatus::kValidated);
  EXPECT_EQ(validated[1].status, LabelStatus::kUnlabelled);
  EXPECT_EQ(ChosenModelId(labels, {.validated_only = true}), "");
  EXPECT_EQ(LabelStatusName(LabelStatus::kUncertain), "uncertain");
}

// An expert event as a store returns it, with its sequence number.
Label StoredExpertLabel(int64_t number,
                        const std::string& name,
                        int64_t sequence,
                        const std::string& created_at,
                        ExpertStatus status = ExpertStatus::kValidated) {
  Label label = ExpertLabel(number, name, created_at);
  label.classification = kPhytoflowClassification;
  label.sequence = sequence;
  label.status = status;
  return label;
}

TEST(ResolveLabels, TheHighestSequenceWinsWhateverTheClock) {
  // Two experts validate particle 1 at the same instant from machines whose clocks differ: the
  // store's sequence decides, not created_at, and not the order of the list.
  const std::vector<Label> labels = {
      StoredExpertLabel(1, "Late", 8, "2024-01-01T00:00:00.000001Z"),
      StoredExpertLabel(1, "Early", 7, "2024-06-01T00:00:00.000000Z"),
      // A label never stored (sequence 0) ranks below every stored one, however recent.
      ExpertLabel(1, "Unstored", "2030-01-01T00:00:00Z"),
  };
  const std::vector<int64_t> numbers = {1};
  const std::vector<ResolvedLabel> resolved = ResolveLabels(numbers, labels, {});
  EXPECT_EQ(resolved[0].name, "Late");
  EXPECT_EQ(resolved[0].status, LabelStatus::kValidated);
}

TEST(ResolveLabels, DubiousFallsBackToTheModel) {
  const std::vector<Label> labels = {
      ModelLabel(1, "A", "m", "2025-01-01T00:00:00Z", 0.9, "A"),
      ModelLabel(2, kUncertainLabel, "m", "2025-01-01T00:00:00Z", 0.3, "B"),
      // 1: validated B by EcoTaxa (sequence 3), then doubted in phytoflow (sequence 5).
      ExpertLabel(1, "B", "2025-02-01T00:00:00Z"),
      StoredExpertLabel(1, "B", 5, "2025-03-01T00:00:00Z", ExpertStatus::kDubious),
      StoredExpertLabel(2, "", 6, "2025-03-01T00:00:00Z", ExpertStatus::kDubious),
      StoredExpertLabel(3, "", 7, "2025-03-01T00:00:00Z", ExpertStatus::kDubious),
      Label{.particle_number = 3,
            .name = "Junk",
            .source = kLabelSourceVisualSpreadsheet,
            .classification = "cla"},
  };
  const std::vector<int64_t> numbers = {1, 2, 3};
  const std::vector<ResolvedLabel> resolved =
      ResolveLabels(numbers, labels, {.visual_spreadsheet_classification = "cla"});
  EXPECT_TRUE(resolved[0].dubious);
  EXPECT_EQ(resolved[0].name, "A");
  EXPECT_EQ(resolved[0].status, LabelStatus::kPredicted);
  EXPECT_EQ(resolved[0].probability, 0.9);
  EXPECT_EQ(resolved[0].identified_by, "m");
  EXPECT_TRUE(resolved[1].dubious);
  EXPECT_EQ(resolved[1].status, LabelStatus::kUncertain);
  // No prediction: unlabelled, not the VisualSpreadsheet label that the expert doubts too.
  EXPECT_TRUE(resolved[2].dubious);
  EXPECT_EQ(resolved[2].status, LabelStatus::kUnlabelled);
  EXPECT_EQ(resolved[2].name, "");
  // Dubious particles are not validated, so --validated-only leaves them unlabelled.
  const std::vector<ResolvedLabel> validated =
      ResolveLabels(numbers, labels, {.validated_only = true});
  EXPECT_EQ(validated[0].status, LabelStatus::kUnlabelled);
}

TEST(ResolveLabels, AnUndoRanksWhereTheLabelItRestoresRanked) {
  // phytoflow Y (3), EcoTaxa X (4), phytoflow Z (5), then an undo of 5 (6) restoring Y of 3.
  // Before event 5, X was shown (4 > 3); after the undo it must be X again, not Y.
  Label ecotaxa = StoredExpertLabel(1, "X", 4, "2025-01-02T00:00:00Z");
  ecotaxa.classification = "ecotaxa";
  Label undo = StoredExpertLabel(1, "Y", 6, "2025-01-04T00:00:00Z");
  undo.undoes = 5;
  undo.restores = 3;
  EXPECT_EQ(ExpertPrecedence(undo), 3);
  // Labels() gives the current label of each classification: X of ecotaxa, the undo of phytoflow.
  const std::vector<Label> current = {ecotaxa, undo};
  const std::vector<int64_t> numbers = {1};
  EXPECT_EQ(ResolveLabels(numbers, current, {})[0].name, "X");
  // A withdrawn label (an undo back to nothing) is not a label.
  Label withdrawn = StoredExpertLabel(1, "", 9, "2025-01-05T00:00:00Z", ExpertStatus::kWithdrawn);
  const std::vector<Label> with_withdrawn = {ecotaxa, withdrawn};
  EXPECT_EQ(ResolveLabels(numbers, with_withdrawn, {})[0].name, "X");
  EXPECT_EQ(ResolveLabels(numbers, std::vector<Label>{withdrawn}, {})[0].status,
            LabelStatus::kUnlabelled);
}

// ---------------------------------------------------------------- composition

Particle MakeParticle(int64_t number, int64_t chain, double abd_um, double esd_um) {
  Particle particle;
  particle.number = number;
  particle.particles_per_chain = chain;
  particle.abd_um = abd_um;
  particle.esd_um = esd_um;
  return particle;
}

ResolvedLabel Resolved(int64_t number,
                       const std::string& name,
                       LabelStatus status,
                       double probability = 0) {
  ResolvedLabel label{.particle_number = number, .name = name, .status = status};
  if (status == LabelStatus::kPredicted || status == LabelStatus::kUncertain) {
    label.probability = probability;
    label.identified_by = "model-1";
    label.top1 = status == LabelStatus::kUncertain ? "Tripos" : name;
  }
  return label;
}

class CompositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // D = 2 (VisualSpreadsheet) × 1.5 (metadata) = 3, K = 10:
    // V_water = 0.5 mL / 1000 × 10 / 3 = 1/600 L, so per litre = × 600.
    sample.id = "s1";
    sample.volume_imaged_ml = 0.5;
    sample.dilution_factor = 2;
    sample.metadata.dilution_factor = 1.5;
    sample.metadata.concentration_factor = 10;
    particles = {
        MakeParticle(1, 2, 10, 12),      // Guinardia delicatula, a 2-cell chain, predicted
        MakeParticle(2, 1, 20, 20),      // Guinardia delicatula, validated
        MakeParticle(3, 1, kNaN, kNaN),  // Tripos without sizes
        MakeParticle(4, 1, 5, 6),        // Junk
        MakeParticle(5, 1, 8, 9),        // uncertain (top1 Tripos)
        MakeParticle(6, 1, 3, 1.5),      // unlabelled
        MakeParticle(7, 1, 30, 3000),    // a class the taxonomy does not know
    };
    labels = {Resolved(1, "Guinardia_delicatula", LabelStatus::kPredicted, 0.9),
              Resolved(2, "Guinardia_delicatula", LabelStatus::kValidated),
              Resolved(3, "Tripos", LabelStatus::kPredicted, 0.7),
              Resolved(4, "Junk", LabelStatus::kPredicted, 0.95),
              Resolved(5, kUncertainLabel, LabelStatus::kUncertain, 0.3),
              Resolved(6, "", LabelStatus::kUnlabelled),
              Resolved(7, "Mystery", LabelStatus::kPredicted, 0.6)};
  }

  const TaxonComposition& Taxon(const SampleComposition& composition, const std::string& name) {
    for (const TaxonComposition& taxon : composition.taxa) {
      if (taxon.name == name) {
        return taxon;
      }
    }
    ADD_FAILURE() << "no taxon " << name;
    return composition.taxa.front();
  }

  Sample sample;
  std::vector<Particle> particles;
  std::vector<ResolvedLabel> labels;
};

TEST_F(CompositionTest, CountsCellsBiovolumeAndCarbonPerLitre) {
  const SampleComposition composition =
      ComputeComposition(sample, particles, labels, DefaultTaxonomy(), {});
  EXPECT_EQ(composition.sample_id, "s1");
  EXPECT_DOUBLE_EQ(composition.dilution_factor, 3);
  EXPECT_DOUBLE_EQ(composition.concentration_factor, 10);
  EXPECT_NEAR(*composition.seawater_litres, 1.0 / 600, 1e-15);
  EXPECT_EQ(composition.model_id, "model-1");
  EXPECT_EQ(composition.taxonomy_version, "2026.11.1");
  EXPECT_EQ(composition.validated, 1);
  EXPECT_EQ(composition.predicted, 4);
  EXPECT_EQ(composition.uncertain, 1);
  EXPECT_EQ(composition.unlabelled, 1);

  // Living first (by cells), then the unknown class, then non-living ones by name.
  std::vector<std::string> order;
  for (const TaxonComposition& taxon : composition.taxa) {
    order.push_back(taxon.name);
  }
  EXPECT_EQ(
      order,
      (std::vector<std::string>{"Guinardia_delicatula", "Tripos", "Mystery", "Junk", "uncertain"}));

  const TaxonComposition& guinardia = Taxon(composition, "Guinardia_delicatula");
  ASSERT_TRUE(guinardia.taxon.has_value());
  EXPECT_EQ(guinardia.taxon->aphia_id, 149112);
  EXPECT_EQ(guinardia.total.particles, 2);
  EXPECT_EQ(guinardia.total.cells, 3);                   // 2 + 1
  EXPECT_NEAR(guinardia.total.cells_per_l, 1800, 1e-9);  // 3 × 600
  EXPECT_EQ(guinardia.validated.cells, 1);
  EXPECT_EQ(guinardia.predicted.cells, 2);
  EXPECT_NEAR(guinardia.validated.cells_per_l, 600, 1e-9);
  EXPECT_EQ(guinardia.mean_probability, 0.9);
  // ABD biovolume: the 2-cell chain's sphere π/6·10³ = 523.599 holds cells of 523.599 / √2 =
  // 370.240 µm³ in all, plus the single cell π/6·20³ = 4188.790: 4559.030 µm³ × 600 = 2,735,418.3.
  EXPECT_NEAR(guinardia.total.biovolume_abd_um3_per_l, 2735418.270, 1e-3);
  // ESD spheres: π/6·(12³ + 20³) = 904.779 + 4188.790 = 5093.569 µm³ → × 600 = 3,056,141.3.
  EXPECT_NEAR(guinardia.total.biovolume_esd_um3_per_l, 3056141.333, 1e-3);
  // Carbon, diatom all sizes: chain 2 × C(523.599 / 2^1.5 = 185.120) = 2 × 19.857 = 39.713 pg,
  // plus C(4188.790) = 249.180 pg; 288.894 pg × 1e-6 × 600 = 0.173336 µg C/L.
  EXPECT_NEAR(guinardia.total.carbon_ug_per_l, 0.1733361546, 1e-9);

  const TaxonComposition& tripos = Taxon(composition, "Tripos");
  EXPECT_EQ(tripos.total.particles, 1);
  EXPECT_EQ(tripos.total.biovolume_abd_um3_per_l, 0);  // no size: counted, no volume
  EXPECT_EQ(tripos.total.carbon_ug_per_l, 0);

  const TaxonComposition& junk = Taxon(composition, "Junk");
  EXPECT_FALSE(junk.taxon->Living());
  EXPECT_EQ(junk.total.carbon_ug_per_l, 0);  // no carbon for non-living particles
  EXPECT_GT(junk.total.biovolume_abd_um3_per_l, 0);
  const TaxonComposition& uncertain = Taxon(composition, "uncertain");
  EXPECT_EQ(uncertain.uncertain.particles, 1);
  EXPECT_EQ(uncertain.total.particles, 1);
  EXPECT_FALSE(uncertain.mean_probability.has_value());
  EXPECT_FALSE(Taxon(composition, "Mystery").taxon.has_value());

  // Living: Guinardia (2 particles, 3 cells) + Tripos (1, 1). All: 7 particles, 8 cells.
  EXPECT_EQ(composition.living.particles, 3);
  EXPECT_EQ(composition.living.cells, 4);
  EXPECT_NEAR(composition.living.carbon_ug_per_l, guinardia.total.carbon_ug_per_l, 1e-15);
  EXPECT_EQ(composition.all.particles, 7);
  EXPECT_EQ(composition.all.cells, 8);
  EXPECT_NEAR(composition.all.cells_per_l, 4800, 1e-9);
  EXPECT_FALSE(guinardia.adjusted_cells_per_l.has_value());

  // ESD octaves: 1.5 → <2; 6 → [4,8); 9, 12 → [8,16); 20 → [16,32); 3000 → ≥1024.
  ASSERT_EQ(composition.size_classes.size(), 11u);
  EXPECT_EQ(composition.size_classes[0].esd_min_um, 0);
  EXPECT_EQ(composition.size_classes[0].esd_max_um, 2);
  EXPECT_EQ(composition.size_classes[3].esd_min_um, 8);
  EXPECT_EQ(composition.size_classes[3].esd_max_um, 16);
  EXPECT_EQ(composition.size_classes[10].esd_min_um, 1024);
  EXPECT_TRUE(std::isinf(composition.size_classes[10].esd_max_um));
  const int64_t all_counts[] = {1, 0, 1, 2, 1, 0, 0, 0, 0, 0, 1};
  const int64_t living_counts[] = {0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0};
  for (size_t idx = 0; idx < 11; ++idx) {
    EXPECT_EQ(composition.size_classes[idx].all.particles, all_counts[idx]) << idx;
    EXPECT_EQ(composition.size_classes[idx].living.particles, living_counts[idx]) << idx;
  }

  const auto warned = [&](const std::string& text) {
    for (const std::string& warning : composition.warnings) {
      if (warning.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(warned("1 particles have no ABD size")) << composition.warnings.size();
  EXPECT_TRUE(warned("1 particles have no ESD size"));
  EXPECT_TRUE(warned("1 class not in taxonomy 2026.11.1: Mystery"));
  EXPECT_TRUE(warned("1 particles have no label"));
}

TEST_F(CompositionTest, DiatomSwitchChangesOnlyLargeDiatomCells) {
  const SampleComposition composition =
      ComputeComposition(sample,
                         particles,
                         labels,
                         DefaultTaxonomy(),
                         {.diatom_carbon = DiatomCarbon::kSwitchAbove3000});
  // The 4188.790 µm³ cell is above 3000: 10^(−0.933 + 0.881·log10 4188.790) = 181.159 pg;
  // with the chain's 39.713 pg: 220.872 pg × 1e-6 × 600 = 0.1325233 µg C/L.
  EXPECT_NEAR(Taxon(composition, "Guinardia_delicatula").total.carbon_ug_per_l, 0.1325233, 1e-7);
}

TEST_F(CompositionTest, WithoutVolumePerLitreValuesAreNaN) {
  sample.volume_imaged_ml.reset();
  const SampleComposition composition =
      ComputeComposition(sample, particles, labels, DefaultTaxonomy(), {});
  EXPECT_FALSE(composition.seawater_litres.has_value());
  EXPECT_EQ(composition.all.cells, 8);
  EXPECT_TRUE(std::isnan(composition.all.cells_per_l));
  EXPECT_TRUE(std::isnan(composition.taxa.front().total.carbon_ug_per_l));
  EXPECT_NE(composition.warnings.front().find("no imaged volume"), std::string::npos);
}

TEST_F(CompositionTest, UnlabelledSampleCountsEveryParticleAsLivingInSizeClasses) {
  std::vector<ResolvedLabel> none;
  for (const Particle& particle : particles) {
    none.push_back(Resolved(particle.number, "", LabelStatus::kUnlabelled));
  }
  const SampleComposition composition =
      ComputeComposition(sample, particles, none, DefaultTaxonomy(), {});
  EXPECT_TRUE(composition.taxa.empty());
  EXPECT_EQ(composition.unlabelled, 7);
  EXPECT_EQ(composition.living.particles, 0);
  EXPECT_EQ(composition.size_classes[3].living.particles, 2);  // ESD 9 and 12
}

// Corrected abundances on a sample made to match a known confusion matrix.
class CorrectedCompositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sample.id = "s2";
    sample.volume_imaged_ml = 1.0;  // 0.001 L: per litre = × 1000
    int64_t number = 0;
    // 85 predicted Chaetoceros, each a 2-cell chain.
    for (int idx = 0; idx < 85; ++idx) {
      Add(++number, 2, LabelStatus::kPredicted, "Chaetoceros", "Chaetoceros");
    }
    // 65 with top class Junk: 60 predicted and 5 uncertain (which count under their top class).
    for (int idx = 0; idx < 60; ++idx) {
      Add(++number, 1, LabelStatus::kPredicted, "Junk", "Junk");
    }
    for (int idx = 0; idx < 5; ++idx) {
      Add(++number, 1, LabelStatus::kUncertain, kUncertainLabel, "Junk");
    }
    // One validated Chaetoceros chain of 3 cells: added as is, never corrected.
    Add(++number, 3, LabelStatus::kValidated, "Chaetoceros", "Junk");
  }

  void Add(int64_t number,
           int64_t chain,
           LabelStatus status,
           const std::string& name,
           const std::string& top1) {
    particles.push_back(MakeParticle(number, chain, 10, 10));
    ResolvedLabel label{.particle_number = number, .name = name, .status = status, .top1 = top1};
    if (status != LabelStatus::kValidated) {
      label.probability = 0.8;
      label.identified_by = "model-1";
    }
    labels.push_back(label);
  }

  Sample sample;
  std::vector<Particle> particles;
  std::vector<ResolvedLabel> labels;
};

TEST_F(CorrectedCompositionTest, AdjustsPredictedCellsAndAddsValidatedOnes) {
  // P = [[0.8, 0.2], [0.1, 0.9]] over (Chaetoceros, Junk); observed [85, 65] → [100, 50].
  CompositionOptions options{.confusion = ConfusionRates{.classes = {"Chaetoceros", "Junk"},
                                                         .counts = {{80, 20}, {10, 90}}},
                             .confusion_model_id = "model-1",
                             .bootstrap_replicates = 200};
  const SampleComposition composition =
      ComputeComposition(sample, particles, labels, DefaultTaxonomy(), options);
  const TaxonComposition* chaetoceros = nullptr;
  const TaxonComposition* junk = nullptr;
  for (const TaxonComposition& taxon : composition.taxa) {
    if (taxon.name == "Chaetoceros") {
      chaetoceros = &taxon;
    } else if (taxon.name == "Junk") {
      junk = &taxon;
    } else {
      EXPECT_FALSE(taxon.adjusted_cells_per_l.has_value()) << taxon.name;  // "uncertain"
    }
  }
  ASSERT_NE(chaetoceros, nullptr);
  ASSERT_NE(junk, nullptr);
  // Plain: (85 × 2 + 3) cells × 1000 = 173,000 cells/L.
  EXPECT_NEAR(chaetoceros->total.cells_per_l, 173000, 1e-6);
  ASSERT_TRUE(chaetoceros->adjusted_cells_per_l.has_value());
  // Corrected: 100 particles × 2 cells/particle × 1000 + 3 validated cells × 1000 = 203,000.
  EXPECT_NEAR(chaetoceros->adjusted_cells_per_l->estimate, 203000, 1e-3);
  EXPECT_LT(chaetoceros->adjusted_cells_per_l->lower, 203000);
  EXPECT_GT(chaetoceros->adjusted_cells_per_l->upper, 203000);
  // Junk: 50 particles × 1 cell × 1000.
  ASSERT_TRUE(junk->adjusted_cells_per_l.has_value());
  EXPECT_NEAR(junk->adjusted_cells_per_l->estimate, 50000, 1e-3);
}

TEST_F(CorrectedCompositionTest, ClassNeverPredictedButEstimatedGetsARow) {
  // Rows (true): Chaetoceros [0.8, 0, 0.2], Junk [0, 0.8, 0.2], Ciliophora [0.5, 0.5, 0]:
  // true [0, 0, 100] → observed [50, 50, 0]; the only non-negative solution is [0, 0, 100].
  particles.clear();
  labels.clear();
  for (int64_t number = 1; number <= 100; ++number) {
    const std::string name = number <= 50 ? "Chaetoceros" : "Junk";
    Add(number, 1, LabelStatus::kPredicted, name, name);
  }
  CompositionOptions options{
      .confusion = ConfusionRates{.classes = {"Chaetoceros", "Junk", "Ciliophora"},
                                  .counts = {{80, 0, 20}, {0, 80, 20}, {50, 50, 0}}},
      .bootstrap_replicates = 0};
  const SampleComposition composition =
      ComputeComposition(sample, particles, labels, DefaultTaxonomy(), options);
  const TaxonComposition* ciliophora = nullptr;
  for (const TaxonComposition& taxon : composition.taxa) {
    if (taxon.name == "Ciliophora") {
      ciliophora = &taxon;
    } else {
      ASSERT_TRUE(taxon.adjusted_cells_per_l.has_value());
      EXPECT_NEAR(taxon.adjusted_cells_per_l->estimate, 0, 1e-6) << taxon.name;
    }
  }
  ASSERT_NE(ciliophora, nullptr);
  EXPECT_EQ(ciliophora->total.particles, 0);
  ASSERT_TRUE(ciliophora->adjusted_cells_per_l.has_value());
  EXPECT_NEAR(ciliophora->adjusted_cells_per_l->estimate, 100000, 1e-3);  // 100 × 1 × 1000
}

TEST_F(CorrectedCompositionTest, WarnsAboutClassesWithFewValidationImages) {
  // The same rates from 10 images per class: the same estimate, and a warning.
  CompositionOptions options{
      .confusion = ConfusionRates{.classes = {"Chaetoceros", "Junk"}, .counts = {{8, 2}, {1, 9}}},
      .bootstrap_replicates = 0};
  const SampleComposition composition =
      ComputeComposition(sample, particles, labels, DefaultTaxonomy(), options);
  ASSERT_FALSE(composition.warnings.empty());
  EXPECT_NE(composition.warnings.front().find(
                "2 model classes had fewer than 20 validation images (Chaetoceros, Junk)"),
            std::string::npos)
      << composition.warnings.front();
  for (const TaxonComposition& taxon : composition.taxa) {
    if (taxon.name == "Chaetoceros") {
      EXPECT_NEAR(taxon.adjusted_cells_per_l->estimate, 203000, 1e-3);
    }
  }
}

TEST_F(CorrectedCompositionTest, ConfusionOfAnotherModelIsNotApplied) {
  CompositionOptions options{.confusion = ConfusionRates{.classes = {"Chaetoceros", "Junk"},
                                                         .counts = {{80, 20}, {10, 90}}},
                             .confusion_model_id = "model-2"};
  const SampleComposition composition =
      ComputeComposition(sample, particles, labels, DefaultTaxonomy(), options);
  for (const TaxonComposition& taxon : composition.taxa) {
    EXPECT_FALSE(taxon.adjusted_cells_per_l.has_value());
  }
  ASSERT_FALSE(composition.warnings.empty());
  EXPECT_NE(composition.warnings.front().find("model model-2, the predictions of model model-1"),
            std::string::npos)
      << composition.warnings.front();
}

}  // namespace
}  // namespace phytoflow
