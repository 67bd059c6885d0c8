// Darwin Core Archive, EcoTaxa TSV and zip files, on hand-built samples with hand-computed values.

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/products/darwin_core.h"
#include "phytoflow/products/ecotaxa.h"
#include "phytoflow/products/zip_archive.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Helpers

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() / ("phytoflow-exchange-test-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& Path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A TSV as a header and rows of named fields; every row must have the header's field count.
struct ParsedTable {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

std::vector<std::string> Split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, separator)) {
    fields.push_back(field);
  }
  if (!line.empty() && line.back() == separator) {
    fields.emplace_back();
  }
  return fields;
}

ParsedTable ParseTable(const std::string& text) {
  ParsedTable table;
  std::stringstream stream(text);
  std::string line;
  bool first = true;
  while (std::getline(stream, line)) {
    const std::vector<std::string> fields = Split(line, '\t');
    if (first) {
      table.header = fields;
      first = false;
      continue;
    }
    EXPECT_EQ(fields.size(), table.header.size()) << "row: " << line;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < fields.size() && i < table.header.size(); ++i) {
      row[table.header[i]] = fields[i];
    }
    table.rows.push_back(row);
  }
  return table;
}

const std::string& FileText(const std::vector<DarwinCoreFile>& files, const std::string& name) {
  for (const DarwinCoreFile& file : files) {
    if (file.name == name) {
      return file.text;
    }
  }
  ADD_FAILURE() << "no " << name;
  static const std::string kNone;
  return kNone;
}

// The rows whose `key` column equals `value`.
std::vector<std::map<std::string, std::string>> RowsWhere(const ParsedTable& table,
                                                          const std::string& key,
                                                          const std::string& value) {
  std::vector<std::map<std::string, std::string>> rows;
  for (const auto& row : table.rows) {
    if (row.at(key) == value) {
      rows.push_back(row);
    }
  }
  return rows;
}

std::string MeasurementOf(const ParsedTable& emof,
                          const std::string& owner,
                          const std::string& code) {
  for (const auto& row : emof.rows) {
    const std::string& owner_id =
        row.at("occurrenceID").empty() ? row.at("eventID") : row.at("occurrenceID");
    if (owner_id == owner && row.at("measurementTypeID") ==
                                 "http://vocab.nerc.ac.uk/collection/P01/current/" + code + "/") {
      return row.at("measurementValue");
    }
  }
  return "<none>";
}

// Debug builds append the source location of the check to messages.
bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.starts_with(prefix);
}

Taxon MakeTaxon(std::string class_name,
                std::optional<int64_t> aphia_id,
                std::string scientific_name,
                std::string rank,
                Lifeform lifeform) {
  return Taxon{.class_name = std::move(class_name),
               .aphia_id = aphia_id,
               .scientific_name = std::move(scientific_name),
               .rank = std::move(rank),
               .lineage = aphia_id ? std::vector<std::string>{"Chromista", "Ochrophyta"}
                                   : std::vector<std::string>{},
               .lifeform = lifeform};
}

Quantities MakeQuantities(int64_t particles,
                          int64_t cells,
                          double cells_per_l,
                          double biovolume_um3_per_l,
                          double carbon_ug_per_l) {
  return Quantities{.particles = particles,
                    .cells = cells,
                    .cells_per_l = cells_per_l,
                    .biovolume_abd_um3_per_l = biovolume_um3_per_l,
                    .biovolume_esd_um3_per_l = biovolume_um3_per_l,
                    .carbon_ug_per_l = carbon_ug_per_l};
}

DatasetDescription MakeDataset() {
  return DatasetDescription{.title = "Phyto & <Flow> \"Cam\"",
                            .abstract = "First paragraph.\n\nSecond paragraph.",
                            .creators = {Person{.name = "Jane Doe",
                                                .organization = "VLIZ",
                                                .email = "jane@example.org",
                                                .orcid = "https://orcid.org/0000-0002-1825-0097"},
                                         Person{.organization = "Lab & Co"}},
                            .contact = Person{.name = "Data Desk", .email = "data@example.org"},
                            .institution_code = "VLIZ",
                            .dataset_name = "FlowCam BPNS",
                            .pub_date = "2025-01-31"};
}

// Two samples of campaign "BPNS 2024/05" at two stations.
//   run-A: 0.5 mL imaged, so 0.0005 L of water (dilution and concentration 1).
//     Guinardia_delicatula  predicted 10 particles, 12 cells → 12 / 0.0005 L = 24000 cells/L,
//                           2.5e9 µm³/L, 35.5 µg C/L, mean probability 0.9
//                           validated 2 particles, 2 cells → 4000 cells/L, 1e8 µm³/L, 3.25 µg/L
//     Guinardia chain       (same AphiaID 149112) predicted 5 particles, 5 cells → 10000 cells/L,
//                           5e8 µm³/L, 7 µg C/L, mean probability 0.6
//     detritus (non-living), Protist (living, no AphiaID), uncertain: never occurrences
//   run B: 0.2 mL imaged → 0.0002 L.
//     Dinophyceae           predicted 4 particles, 4 cells → 20000 cells/L, 4e8 µm³/L, 1.5 µg/L
std::vector<DarwinCoreSample> MakeSamples() {
  DarwinCoreSample a;
  a.sample.id = "run-A";
  a.sample.run_name = "run-A";
  a.sample.volume_imaged_ml = 0.5;
  a.sample.volume_source = VolumeSource::kRunSummary;
  a.sample.calibration_um_per_px = 0.5544;
  a.sample.magnification = 10;
  a.sample.metadata =
      SampleMetadata{.station = "W08",
                     .campaign = "BPNS 2024/05",
                     .latitude = 51.4595,
                     .longitude = 2.808,
                     .sampled_at = "2024-05-13T09:15:00Z",
                     .depth_min_m = 0,
                     .depth_max_m = 3,
                     .sampling_protocol = "Niskin bottle\twith a tab\nand a newline",
                     .gear = "Apstein net 55 µm",
                     .water_body = "North Sea",
                     .country_code = "BE",
                     .temperature_c = 12.5,
                     .salinity = 34.1};
  a.composition.sample_id = "run-A";
  a.composition.volume_imaged_ml = 0.5;
  a.composition.model_id = "model-123";
  const Taxon guinardia = MakeTaxon(
      "Guinardia_delicatula", 149112, "Guinardia delicatula", "Species", Lifeform::kDiatom);
  TaxonComposition delicatula{.name = "Guinardia_delicatula", .taxon = guinardia};
  delicatula.predicted = MakeQuantities(10, 12, 24000, 2.5e9, 35.5);
  delicatula.validated = MakeQuantities(2, 2, 4000, 1e8, 3.25);
  delicatula.mean_probability = 0.9;
  Taxon chain_taxon = guinardia;
  chain_taxon.class_name = "Guinardia chain";
  TaxonComposition chain{.name = "Guinardia chain", .taxon = chain_taxon};
  chain.predicted = MakeQuantities(5, 5, 10000, 5e8, 7);
  chain.mean_probability = 0.6;
  TaxonComposition detritus{
      .name = "detritus",
      .taxon = MakeTaxon("detritus", std::nullopt, "", "", Lifeform::kNonLiving)};
  detritus.predicted = MakeQuantities(50, 50, 100000, 1e9, 0);
  TaxonComposition protist{
      .name = "Protist",
      .taxon = MakeTaxon("Protist", std::nullopt, "", "", Lifeform::kOtherLiving)};
  protist.predicted = MakeQuantities(7, 7, 14000, 1e8, 1);
  TaxonComposition uncertain{.name = "uncertain"};
  uncertain.uncertain = MakeQuantities(3, 3, 6000, 1e7, 0);
  a.composition.taxa = {delicatula, chain, detritus, protist, uncertain};
  a.labels = {
      ResolvedLabel{.particle_number = 1,
                    .name = "Guinardia_delicatula",
                    .status = LabelStatus::kValidated,
                    .identified_by = "Jane Doe"},
      ResolvedLabel{.particle_number = 2,
                    .name = "Guinardia_delicatula",
                    .status = LabelStatus::kValidated,
                    .identified_by = "Jane Doe"},
      ResolvedLabel{.particle_number = 3,
                    .name = "Guinardia_delicatula",
                    .status = LabelStatus::kPredicted,
                    .identified_by = "model-123"},
  };
  a.model = ModelCitation{.model_id = "model-123", .reference = "https://doi.org/10.1/model"};

  DarwinCoreSample b;
  b.sample.id = "run B";
  b.sample.run_name = "run B";
  b.sample.volume_imaged_ml = 0.2;
  b.sample.metadata = SampleMetadata{.station = "W09",
                                     .campaign = "BPNS 2024/05",
                                     .latitude = 51.3,
                                     .longitude = 2.5,
                                     .sampled_at = "2024-05-14",
                                     .water_body = "North Sea",
                                     .country_code = "BE"};
  b.composition.sample_id = "run B";
  b.composition.volume_imaged_ml = 0.2;
  b.composition.model_id = "model-123";
  TaxonComposition dinophyceae{
      .name = "Dinophyceae",
      .taxon = MakeTaxon("Dinophyceae", 19542, "Dinophyceae", "Class", Lifeform::kDinoflagellate)};
  dinophyceae.predicted = MakeQuantities(4, 4, 20000, 4e8, 1.5);
  dinophyceae.mean_probability = 0.75;
  b.composition.taxa = {dinophyceae};
  b.model = ModelCitation{.model_id = "model-123"};
  return {a, b};
}

const std::string kSampleA = "BPNS-2024-05_W08_2024-05-13_run-A";
const std::string kSampleB = "BPNS-2024-05_W09_2024-05-14_run-B";

// ---------------------------------------------------------------------------------------------
// Darwin Core Archive

TEST(DarwinCore, WritesTheFiveFilesInOrder) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  std::vector<std::string> names;
  for (const DarwinCoreFile& file : files) {
    names.push_back(file.name);
  }
  EXPECT_EQ(
      names,
      (std::vector<std::string>{
          "event.txt", "occurrence.txt", "extendedmeasurementorfact.txt", "meta.xml", "eml.xml"}));
}

TEST(DarwinCore, EventHierarchyCampaignStationVisitSample) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  const ParsedTable events = ParseTable(FileText(files, "event.txt"));
  ASSERT_EQ(events.header.size(), 19u);
  EXPECT_EQ(events.header.front(), "eventID");
  ASSERT_EQ(events.rows.size(), 5u);
  std::vector<std::string> ids;
  for (const auto& row : events.rows) {
    ids.push_back(row.at("eventID"));
  }
  // Ids are sanitised: "BPNS 2024/05" → "BPNS-2024-05", "run B" → "run-B".
  EXPECT_EQ(ids,
            (std::vector<std::string>{"BPNS-2024-05",
                                      "BPNS-2024-05_W08_2024-05-13",
                                      kSampleA,
                                      "BPNS-2024-05_W09_2024-05-14",
                                      kSampleB}));
  const auto& campaign = events.rows[0];
  EXPECT_EQ(campaign.at("parentEventID"), "");
  EXPECT_EQ(campaign.at("eventType"), "campaign");
  EXPECT_EQ(campaign.at("eventDate"), "2024-05-13/2024-05-14");  // interval of the sample dates
  EXPECT_EQ(campaign.at("decimalLatitude"), "");
  EXPECT_EQ(campaign.at("countryCode"), "BE");  // shared by both samples
  const auto& visit = events.rows[1];
  EXPECT_EQ(visit.at("parentEventID"), "BPNS-2024-05");
  EXPECT_EQ(visit.at("eventType"), "stationVisit");
  EXPECT_EQ(visit.at("eventDate"), "2024-05-13T09:15:00Z");
  EXPECT_EQ(visit.at("decimalLatitude"), "51.4595");
  EXPECT_EQ(visit.at("decimalLongitude"), "2.808");
  EXPECT_EQ(visit.at("locationID"), "W08");
  const auto& sample = events.rows[2];
  EXPECT_EQ(sample.at("parentEventID"), "BPNS-2024-05_W08_2024-05-13");
  EXPECT_EQ(sample.at("eventType"), "sample");
  EXPECT_EQ(sample.at("eventDate"), "2024-05-13T09:15:00Z");
  EXPECT_EQ(sample.at("decimalLatitude"), "51.4595");
  EXPECT_EQ(sample.at("geodeticDatum"), "EPSG:4326");
  EXPECT_EQ(sample.at("minimumDepthInMeters"), "0");
  EXPECT_EQ(sample.at("maximumDepthInMeters"), "3");
  EXPECT_EQ(sample.at("sampleSizeValue"), "0.5");
  EXPECT_EQ(sample.at("sampleSizeUnit"), "mL");
  EXPECT_EQ(sample.at("datasetName"), "FlowCam BPNS");
  EXPECT_EQ(sample.at("institutionCode"), "VLIZ");
  EXPECT_EQ(sample.at("eventRemarks"), "FlowCam run run-A, 10x objective");
  // Tab and newline of the protocol became spaces: the row still has 19 fields.
  EXPECT_EQ(sample.at("samplingProtocol"), "Niskin bottle with a tab and a newline");
  const auto& sample_b = events.rows[4];
  EXPECT_EQ(sample_b.at("eventDate"), "2024-05-14");
  EXPECT_EQ(sample_b.at("minimumDepthInMeters"), "");
  EXPECT_EQ(sample_b.at("sampleSizeValue"), "0.2");
}

TEST(DarwinCore, WithoutCampaignOrStationTheSampleIsTheOnlyLevel) {
  auto samples = MakeSamples();
  samples[1].sample.metadata.campaign.clear();
  samples[1].sample.metadata.station.clear();
  const auto files = BuildDarwinCoreArchive(MakeDataset(), samples, "1.2.3");
  const ParsedTable events = ParseTable(FileText(files, "event.txt"));
  const auto rows = RowsWhere(events, "eventID", "run-B");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("parentEventID"), "");
  EXPECT_EQ(rows[0].at("eventType"), "sample");
}

TEST(DarwinCore, OccurrencesMergeClassesOfOneAphiaIdAndSplitByStatus) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  const ParsedTable occurrences = ParseTable(FileText(files, "occurrence.txt"));
  ASSERT_EQ(occurrences.header.size(), 15u);
  ASSERT_EQ(occurrences.rows.size(), 3u);  // A: 149112 P and V; B: 19542 P
  const auto& predicted = occurrences.rows[0];
  EXPECT_EQ(predicted.at("eventID"), kSampleA);
  EXPECT_EQ(predicted.at("occurrenceID"), kSampleA + "_P_149112");
  EXPECT_EQ(predicted.at("basisOfRecord"), "MachineObservation");
  EXPECT_EQ(predicted.at("occurrenceStatus"), "present");
  EXPECT_EQ(predicted.at("scientificName"), "Guinardia delicatula");
  EXPECT_EQ(predicted.at("scientificNameID"), "urn:lsid:marinespecies.org:taxname:149112");
  EXPECT_EQ(predicted.at("taxonRank"), "Species");
  EXPECT_EQ(predicted.at("kingdom"), "Chromista");
  EXPECT_EQ(predicted.at("organismQuantity"), "17");  // 12 + 5 cells
  EXPECT_EQ(predicted.at("organismQuantityType"), "individuals");
  EXPECT_EQ(predicted.at("identificationVerificationStatus"), "PredictedByMachine");
  EXPECT_EQ(predicted.at("identifiedBy"), "");
  EXPECT_EQ(predicted.at("identificationReferences"),
            "https://doi.org/10.1/model | phytoflow 1.2.3");
  // Mean probability weighted by particles: (0.9 × 10 + 0.6 × 5) / 15 = 0.8.
  EXPECT_EQ(predicted.at("identificationRemarks"),
            "classified by model-123; mean top-1 probability 0.80 over 15 images");
  EXPECT_EQ(predicted.at("verbatimIdentification"), "Guinardia chain | Guinardia_delicatula");

  const auto& validated = occurrences.rows[1];
  EXPECT_EQ(validated.at("occurrenceID"), kSampleA + "_V_149112");
  EXPECT_EQ(validated.at("organismQuantity"), "2");
  EXPECT_EQ(validated.at("identificationVerificationStatus"), "ValidatedByHuman");
  EXPECT_EQ(validated.at("identifiedBy"), "Jane Doe");
  EXPECT_EQ(validated.at("verbatimIdentification"), "Guinardia_delicatula");

  const auto& other = occurrences.rows[2];
  EXPECT_EQ(other.at("occurrenceID"), kSampleB + "_P_19542");
  EXPECT_EQ(other.at("identificationReferences"), "phytoflow 1.2.3");
  EXPECT_EQ(other.at("identificationRemarks"),
            "classified by model-123; mean top-1 probability 0.75 over 4 images");
}

TEST(DarwinCore, NonLivingAndAphiaLessClassesNeverBecomeOccurrences) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  const std::string& occurrences = FileText(files, "occurrence.txt");
  const std::string& measurements = FileText(files, "extendedmeasurementorfact.txt");
  for (const char* name : {"detritus", "Protist", "uncertain"}) {
    EXPECT_EQ(occurrences.find(name), std::string::npos) << name;
    EXPECT_EQ(measurements.find(name), std::string::npos) << name;
  }
}

TEST(DarwinCore, MeasurementsUseNvsCodesAndConvertUnits) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  const ParsedTable emof = ParseTable(FileText(files, "extendedmeasurementorfact.txt"));
  ASSERT_EQ(emof.header.size(), 11u);
  // A: 7 event facts (instrument, volume, pixel, magnification, gear, temperature, salinity)
  // + 4 per occurrence × 2; B: 2 event facts + 4. 7 + 8 + 2 + 4 = 21.
  EXPECT_EQ(emof.rows.size(), 21u);
  std::set<std::string> ids;
  std::set<std::pair<std::string, std::string>> owner_types;
  for (const auto& row : emof.rows) {
    EXPECT_TRUE(ids.insert(row.at("measurementID")).second) << row.at("measurementID");
    const std::string owner =
        row.at("occurrenceID").empty() ? row.at("eventID") : row.at("occurrenceID");
    EXPECT_TRUE(owner_types.insert({owner, row.at("measurementType")}).second);
    EXPECT_FALSE(row.at("measurementValue").empty());
  }
  const std::string predicted = kSampleA + "_P_149112";
  const std::string validated = kSampleA + "_V_149112";
  EXPECT_EQ(MeasurementOf(emof, predicted, "OCOUNT01"), "17");
  EXPECT_EQ(MeasurementOf(emof, predicted, "SDBIOL01"), "34000");  // 24000 + 10000 cells/L
  // 2.5e9 + 5e8 = 3e9 µm³/L × 1e-9 mm³/µm³ × 1000 L/m³ = 3000 mm³/m³.
  EXPECT_EQ(MeasurementOf(emof, predicted, "CVOLUKNB"), "3000");
  EXPECT_EQ(MeasurementOf(emof, predicted, "SDBIOL12"), "42.5");  // 35.5 + 7 µg/L = mg/m³
  EXPECT_EQ(MeasurementOf(emof, validated, "SDBIOL01"), "4000");
  EXPECT_EQ(MeasurementOf(emof, validated, "CVOLUKNB"), "100");  // 1e8 µm³/L × 1e-6
  EXPECT_EQ(MeasurementOf(emof, validated, "SDBIOL12"), "3.25");
  EXPECT_EQ(MeasurementOf(emof, kSampleB + "_P_19542", "CVOLUKNB"), "400");  // 4e8 × 1e-6
  EXPECT_EQ(MeasurementOf(emof, kSampleA, "VOLXXXXX"), "0.5");
  EXPECT_EQ(MeasurementOf(emof, kSampleA, "WDPIXEL2"), "0.5544");
  EXPECT_EQ(MeasurementOf(emof, kSampleA, "TEMPPR01"), "12.5");
  EXPECT_EQ(MeasurementOf(emof, kSampleA, "PSALPR01"), "34.1");
  EXPECT_EQ(MeasurementOf(emof, kSampleB, "VOLXXXXX"), "0.2");
  EXPECT_EQ(MeasurementOf(emof, kSampleB, "WDPIXEL2"), "<none>");  // no calibration
  EXPECT_EQ(MeasurementOf(emof, kSampleB, "TEMPPR01"), "<none>");

  for (const auto& row : emof.rows) {
    const std::string& type = row.at("measurementTypeID");
    if (type.ends_with("/NMANINST/")) {
      EXPECT_EQ(row.at("measurementValue"), "FlowCam");
      EXPECT_EQ(row.at("measurementValueID"),
                "http://vocab.nerc.ac.uk/collection/L22/current/TOOL1583/");
    } else if (type.ends_with("/SDBIOL01/")) {
      EXPECT_EQ(row.at("measurementUnitID"),
                "http://vocab.nerc.ac.uk/collection/P06/current/UCPL/");
      EXPECT_NE(row.at("measurementMethod").find("normalised to a unit volume"), std::string::npos);
    } else if (type.ends_with("/CVOLUKNB/")) {
      EXPECT_EQ(row.at("measurementUnitID"),
                "http://vocab.nerc.ac.uk/collection/P06/current/CMCM/");
    } else if (type.ends_with("/SDBIOL12/")) {
      EXPECT_EQ(row.at("measurementUnitID"),
                "http://vocab.nerc.ac.uk/collection/P06/current/UMMC/");
    } else if (type.ends_with("/OCOUNT01/")) {
      EXPECT_EQ(row.at("measurementUnitID"),
                "http://vocab.nerc.ac.uk/collection/P06/current/UUUU/");
    } else if (type.ends_with("/VOLXXXXX/")) {
      EXPECT_EQ(row.at("measurementUnitID"),
                "http://vocab.nerc.ac.uk/collection/P06/current/VVML/");
    } else if (type.ends_with("/NMSPINST/")) {
      EXPECT_EQ(row.at("measurementValue"), "Apstein net 55 µm");
      EXPECT_EQ(row.at("measurementValueID"),
                "http://vocab.nerc.ac.uk/collection/L22/current/TOOL0978/");
    } else if (type.empty()) {
      EXPECT_EQ(row.at("measurementType"), "Objective magnification");
      EXPECT_EQ(row.at("measurementValue"), "10x");
    }
    // Occurrence facts sit on the occurrence's event.
    if (!row.at("occurrenceID").empty()) {
      EXPECT_TRUE(row.at("occurrenceID").starts_with(row.at("eventID") + "_"));
    }
  }
}

TEST(DarwinCore, MetaXmlDescribesEveryColumn) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  const std::string& meta = FileText(files, "meta.xml");
  EXPECT_NE(meta.find("<archive xmlns=\"http://rs.tdwg.org/dwc/text/\" metadata=\"eml.xml\">"),
            std::string::npos);
  EXPECT_NE(meta.find("rowType=\"http://rs.tdwg.org/dwc/terms/Event\""), std::string::npos);
  EXPECT_NE(meta.find("rowType=\"http://rs.tdwg.org/dwc/terms/Occurrence\""), std::string::npos);
  EXPECT_NE(meta.find("rowType=\"http://rs.iobis.org/obis/terms/ExtendedMeasurementOrFact\""),
            std::string::npos);
  EXPECT_NE(meta.find("<field index=\"18\" term=\"http://rs.tdwg.org/dwc/terms/eventRemarks\"/>"),
            std::string::npos);
  EXPECT_NE(
      meta.find("<field index=\"4\" term=\"http://rs.iobis.org/obis/terms/measurementTypeID\"/>"),
      std::string::npos);
  // 19 event + 15 occurrence + 11 measurement columns.
  size_t fields = 0;
  for (size_t at = meta.find("<field "); at != std::string::npos;
       at = meta.find("<field ", at + 1)) {
    ++fields;
  }
  EXPECT_EQ(fields, 19u + 15u + 11u);
}

TEST(DarwinCore, EmlEscapesTextAndCoversSpaceAndTime) {
  const auto files = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  const std::string& eml = FileText(files, "eml.xml");
  const auto has = [&](const std::string& text) {
    EXPECT_NE(eml.find(text), std::string::npos) << text;
  };
  has("<title xml:lang=\"eng\">Phyto &amp; &lt;Flow&gt; &quot;Cam&quot;</title>");
  has("<individualName><givenName>Jane</givenName><surName>Doe</surName></individualName>");
  has("<organizationName>Lab &amp; Co</organizationName>");
  has("<userId directory=\"https://orcid.org/\">https://orcid.org/0000-0002-1825-0097</userId>");
  has("<pubDate>2025-01-31</pubDate>");
  has("<para>First paragraph.</para>");
  has("<para>Second paragraph.</para>");
  has("<additionalInfo><para>marine, harvested by iOBIS</para></additionalInfo>");
  has("<ulink url=\"http://creativecommons.org/licenses/by/4.0/legalcode\">");
  // Bounding box of 51.4595 N 2.808 E and 51.3 N 2.5 E.
  has("<westBoundingCoordinate>2.5</westBoundingCoordinate>");
  has("<eastBoundingCoordinate>2.808</eastBoundingCoordinate>");
  has("<northBoundingCoordinate>51.4595</northBoundingCoordinate>");
  has("<southBoundingCoordinate>51.3</southBoundingCoordinate>");
  has("<beginDate><calendarDate>2024-05-13</calendarDate></beginDate>");
  has("<endDate><calendarDate>2024-05-14</calendarDate></endDate>");
  has("<taxonRankName>Species</taxonRankName><taxonRankValue>Guinardia "
      "delicatula</taxonRankValue>");
  has("<contact>\n      <individualName><givenName>Data</givenName><surName>Desk</surName>");
  has("<dateStamp>2025-01-31T00:00:00Z</dateStamp>");
  // The default citation: creators (year). title.
  has("<citation>Jane Doe, Lab &amp; Co (2025). Phyto &amp; &lt;Flow&gt; "
      "&quot;Cam&quot;.</citation>");
  has("packageId=\"urn:uuid:");
  EXPECT_EQ(eml.find("Phyto & <Flow>"), std::string::npos);
}

TEST(DarwinCore, SameInputGivesSameBytesWhateverTheSampleOrder) {
  const auto first = BuildDarwinCoreArchive(MakeDataset(), MakeSamples(), "1.2.3");
  auto reversed = MakeSamples();
  std::reverse(reversed.begin(), reversed.end());
  const auto second = BuildDarwinCoreArchive(MakeDataset(), reversed, "1.2.3");
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].text, second[i].text) << first[i].name;
  }
  // The package id follows the content.
  auto changed = MakeSamples();
  changed[0].composition.taxa[0].predicted.cells = 13;
  const auto third = BuildDarwinCoreArchive(MakeDataset(), changed, "1.2.3");
  EXPECT_NE(FileText(first, "eml.xml"), FileText(third, "eml.xml"));
}

TEST(DarwinCore, MissingLocationNamesTheSampleAndField) {
  auto samples = MakeSamples();
  samples[1].sample.metadata.latitude.reset();
  samples[1].sample.metadata.sampled_at.clear();
  try {
    BuildDarwinCoreArchive(MakeDataset(), samples, "1.2.3");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    const std::string message = error.what();
    EXPECT_NE(message.find("sample 'run B' lacks latitude, sampled_at"), std::string::npos)
        << message;
    EXPECT_EQ(message.find("run-A"), std::string::npos) << message;
  }
}

TEST(DarwinCore, MissingVolumeIsRefused) {
  Sample sample;
  sample.id = "no-volume";
  sample.metadata.latitude = 1;
  sample.metadata.longitude = 2;
  sample.metadata.sampled_at = "2024-01-01";
  try {
    RequireDarwinCoreFields({sample});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("sample 'no-volume' lacks volume_imaged_ml"),
              std::string::npos)
        << error.what();
  }
}

TEST(DarwinCore, UnknownLivingClassIsRefused) {
  auto samples = MakeSamples();
  TaxonComposition mystery{.name = "Mystery"};
  mystery.predicted = MakeQuantities(1, 1, 2000, 1, 1);
  samples[1].composition.taxa.push_back(mystery);
  try {
    BuildDarwinCoreArchive(MakeDataset(), samples, "1.2.3");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(
        std::string(error.what()).find("sample 'run B': classes unknown to the taxonomy: Mystery"),
        std::string::npos)
        << error.what();
  }
}

TEST(DarwinCore, SampleIdsThatClashAfterSanitisingAreRefused) {
  auto samples = MakeSamples();
  samples[1].sample.id = "run A";  // sanitised to "run-A" like the other sample
  samples[1].sample.metadata = samples[0].sample.metadata;
  EXPECT_THROW(BuildDarwinCoreArchive(MakeDataset(), samples, "1.2.3"), Error);
}

TEST(DarwinCore, CampaignNamesThatClashAfterSanitisingAreRefused) {
  auto samples = MakeSamples();
  samples[0].sample.metadata.campaign = "BPNS 2024";
  samples[1].sample.metadata.campaign = "BPNS/2024";  // both become "BPNS-2024"
  try {
    BuildDarwinCoreArchive(MakeDataset(), samples, "1.2.3");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("campaigns 'BPNS 2024' and 'BPNS/2024'"),
              std::string::npos)
        << error.what();
  }
}

TEST(DarwinCore, FractionalSecondsAreDroppedFromEventDate) {
  auto samples = MakeSamples();
  samples[0].sample.metadata.sampled_at = "2024-05-13T09:15:00.25Z";
  const auto files = BuildDarwinCoreArchive(MakeDataset(), samples, "1.2.3");
  const ParsedTable events = ParseTable(FileText(files, "event.txt"));
  // The obistools pattern allows seconds but no fraction.
  EXPECT_EQ(RowsWhere(events, "eventID", kSampleA).at(0).at("eventDate"), "2024-05-13T09:15:00Z");
}

// ---------------------------------------------------------------------------------------------
// dataset.json

TEST(DatasetDescription, ParsesEveryField) {
  const DatasetDescription dataset = ParseDatasetDescription(R"({
    "title": "FlowCam BPNS 2024",
    "abstract": "Phytoplankton.",
    "license_url": "https://creativecommons.org/publicdomain/zero/1.0/legalcode",
    "license_name": "CC0 1.0",
    "creators": [{"name": "Jane Doe", "organization": "VLIZ", "email": "jane@example.org",
                  "orcid": "0000-0002-1825-0097"}],
    "contact": {"organization": "VLIZ data centre", "email": "data@example.org"},
    "institution_code": "VLIZ",
    "dataset_name": "BPNS FlowCam",
    "citation": "Doe J (2025) FlowCam BPNS 2024.",
    "geographic_description": "Belgian part of the North Sea",
    "package_id": "urn:uuid:1234",
    "pub_date": "2025-02-01",
    "language": "eng"
  })",
                                                             "dataset.json");
  EXPECT_EQ(dataset.title, "FlowCam BPNS 2024");
  EXPECT_EQ(dataset.license_name, "CC0 1.0");
  ASSERT_EQ(dataset.creators.size(), 1u);
  EXPECT_EQ(dataset.creators[0].orcid, "https://orcid.org/0000-0002-1825-0097");
  EXPECT_EQ(dataset.contact.organization, "VLIZ data centre");
  EXPECT_EQ(dataset.pub_date, "2025-02-01");
  EXPECT_EQ(dataset.package_id, "urn:uuid:1234");
  EXPECT_EQ(dataset.geographic_description, "Belgian part of the North Sea");
}

TEST(DatasetDescription, DefaultsTheLicenceAndLanguage) {
  const DatasetDescription dataset = ParseDatasetDescription(
      R"({"title": "T", "abstract": "A", "creators": [{"name": "N"}], "contact": {"name": "C"}})",
      "d.json");
  EXPECT_EQ(dataset.license_url, "http://creativecommons.org/licenses/by/4.0/legalcode");
  EXPECT_EQ(dataset.language, "eng");
  EXPECT_EQ(dataset.pub_date, "");
}

TEST(DatasetDescription, ErrorsNameTheField) {
  const std::string base =
      R"("abstract": "A", "creators": [{"name": "N"}], "contact": {"name": "C"})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{" + base + "}", "field 'title': missing"},
      {R"({"title": 3, )" + base + "}", "field 'title': expected a string, found number"},
      {R"({"title": "T", "tittle": "x", )" + base + "}", "field 'tittle': unknown"},
      {R"({"title": "T", "pub_date": "31/01/2025", )" + base + "}", "field 'pub_date'"},
      {R"({"title": "T", "license_url": "cc-by", )" + base + "}", "field 'license_url'"},
      {R"({"title": "T", "abstract": "A", "creators": [], "contact": {"name": "C"}})",
       "field 'creators'"},
      {R"({"title": "T", "abstract": "A", "creators": [{"name": "N"}]})",
       "field 'contact': missing"},
      {R"({"title": "T", "abstract": "A", "creators": [{"email": "a@b"}], "contact": {"name": "C"}})",
       "field 'creators[0]': needs a name or an organization"},
      {R"({"title": "T", "abstract": "A", "creators": [{"name": "N", "orcid": "123"}], "contact": {"name": "C"}})",
       "field 'creators[0].orcid'"},
      {R"({"title": "T", "abstract": "A", "creators": [{"name": "N"}], "contact": {"name": "C", "phone": "1"}})",
       "field 'contact.phone': unknown"},
      {"{not json", "not valid JSON"},
      {"[1]", "expected a JSON object"},
  };
  for (const auto& [text, expected] : cases) {
    try {
      ParseDatasetDescription(text, "dataset.json");
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
      const std::string message = error.what();
      EXPECT_TRUE(message.starts_with("dataset.json: ")) << message;
      EXPECT_NE(message.find(expected), std::string::npos) << message << " / " << expected;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// EcoTaxa

Sample EcoTaxaSample() {
  Sample sample;
  sample.id = "run-A";
  sample.magnification = 10;
  sample.calibration_um_per_px = 0.5544;
  sample.volume_imaged_ml = 0.1418;
  sample.measurement_names = {"esd_um", "Area (ABD) µm²", "aspect_ratio"};
  sample.metadata.station = "W08";
  sample.metadata.campaign = "BPNS";
  sample.metadata.latitude = 51.4595;
  sample.metadata.longitude = 2.808;
  sample.metadata.sampled_at = "2024-05-13T09:15Z";
  sample.metadata.depth_min_m = 0;
  sample.metadata.depth_max_m = 3;
  return sample;
}

std::vector<Particle> EcoTaxaParticles() {
  std::vector<Particle> particles(3);
  for (size_t i = 0; i < particles.size(); ++i) {
    particles[i].number = static_cast<int64_t>(i) + 1;
    particles[i].guid = "guid-" + std::to_string(i + 1);
    particles[i].esd_um = 10.5 + static_cast<double>(i);
    particles[i].abd_um = 9.25;
    particles[i].biovolume_esd_um3 = 606.13;
    particles[i].biovolume_abd_um3 = kMissing;
    particles[i].measurements = {particles[i].esd_um, 67.2, 0.5};
  }
  return particles;
}

TEST(EcoTaxa, TsvHasHeaderTypesAndOneRowPerParticle) {
  const std::vector<ResolvedLabel> labels = {
      {.particle_number = 1,
       .name = "Guinardia",
       .status = LabelStatus::kValidated,
       .identified_by = "Jane Doe"},
      {.particle_number = 2,
       .name = "Chae\ttoceros",
       .status = LabelStatus::kPredicted,
       .probability = 0.9,
       .identified_by = "model-1"},
      {.particle_number = 3, .name = "uncertain", .status = LabelStatus::kUncertain},
  };
  const std::string tsv = EcoTaxaTsv(EcoTaxaSample(), EcoTaxaParticles(), labels);
  std::vector<std::string> lines;
  std::stringstream stream(tsv);
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 5u);  // header, types, 3 particles
  const std::vector<std::string> header = Split(lines[0], '\t');
  const std::vector<std::string> types = Split(lines[1], '\t');
  ASSERT_EQ(header.size(), types.size());
  // "esd_um" repeats object_esd_um and is left out; "Area (ABD) µm²" becomes object_area_abd_um2.
  EXPECT_EQ(std::count(header.begin(), header.end(), "object_esd_um"), 1);
  EXPECT_NE(std::find(header.begin(), header.end(), "object_area_abd_um2"), header.end());
  EXPECT_NE(std::find(header.begin(), header.end(), "object_aspect_ratio"), header.end());
  const auto at = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  EXPECT_EQ(types[at("object_id")], "[t]");
  EXPECT_EQ(types[at("object_lat")], "[f]");
  const std::vector<std::string> first = Split(lines[2], '\t');
  ASSERT_EQ(first.size(), header.size());
  EXPECT_EQ(first[at("img_file_name")], "run-A_1.png");
  EXPECT_EQ(first[at("object_id")], "run-A_1");
  EXPECT_EQ(first[at("object_lat")], "51.4595");
  EXPECT_EQ(first[at("object_date")], "20240513");
  EXPECT_EQ(first[at("object_time")], "091500");
  EXPECT_EQ(first[at("object_depth_max")], "3");
  EXPECT_EQ(first[at("object_annotation_status")], "validated");
  EXPECT_EQ(first[at("object_annotation_category")], "Guinardia");
  EXPECT_EQ(first[at("object_annotation_person_name")], "Jane Doe");
  EXPECT_EQ(first[at("object_flowcam_guid")], "guid-1");
  EXPECT_EQ(first[at("object_esd_um")], "10.5");
  EXPECT_EQ(first[at("object_biovolume_abd_um3")], "");  // missing value
  EXPECT_EQ(first[at("object_area_abd_um2")], "67.2");
  EXPECT_EQ(first[at("acq_instrument")], "FlowCam");
  EXPECT_EQ(first[at("acq_volume_imaged_ml")], "0.1418");
  EXPECT_EQ(first[at("sample_station")], "W08");
  EXPECT_EQ(first[at("process_software")], "phytoflow " + std::string(Version()));
  const std::vector<std::string> second = Split(lines[3], '\t');
  ASSERT_EQ(second.size(), header.size());  // the tab in the category became a space
  EXPECT_EQ(second[at("object_annotation_status")], "predicted");
  EXPECT_EQ(second[at("object_annotation_category")], "Chae toceros");
  EXPECT_EQ(second[at("object_annotation_person_name")], "");
  const std::vector<std::string> third = Split(lines[4], '\t');
  EXPECT_EQ(third[at("object_annotation_status")], "");  // uncertain: left for EcoTaxa
  EXPECT_EQ(third[at("object_annotation_category")], "");
}

TEST(EcoTaxa, WithoutMetadataPositionAndDateAreEmpty) {
  Sample sample = EcoTaxaSample();
  sample.metadata = SampleMetadata{};
  const std::string tsv = EcoTaxaTsv(sample, EcoTaxaParticles(), {});
  const auto rows = ParseTable(tsv).rows;
  ASSERT_EQ(rows.size(), 4u);  // the types row parses as a row here
  EXPECT_EQ(rows[1].at("object_lat"), "");
  EXPECT_EQ(rows[1].at("object_date"), "");
  EXPECT_EQ(rows[1].at("object_time"), "");
}

TEST(EcoTaxa, WrittenTsvParsesBack) {
  const std::vector<ResolvedLabel> labels = {
      {.particle_number = 1,
       .name = "Guinardia",
       .status = LabelStatus::kValidated,
       .identified_by = "Jane Doe"},
      {.particle_number = 2, .name = "Chaetoceros", .status = LabelStatus::kPredicted},
  };
  const auto rows =
      ParseEcoTaxaTsv(EcoTaxaTsv(EcoTaxaSample(), EcoTaxaParticles(), labels), "ecotaxa_run-A.tsv");
  ASSERT_EQ(rows.size(), 3u);  // the typed row is skipped
  EXPECT_EQ(rows[0].line, 3);
  EXPECT_EQ(rows[0].object_id, "run-A_1");
  EXPECT_EQ(rows[0].guid, "guid-1");
  EXPECT_EQ(rows[0].image_file, "run-A_1.png");
  EXPECT_EQ(rows[0].status, "validated");
  EXPECT_EQ(rows[0].category, "Guinardia");
  EXPECT_EQ(rows[0].annotator, "Jane Doe");
  EXPECT_EQ(rows[1].status, "predicted");
  EXPECT_EQ(rows[1].category, "Chaetoceros");
  EXPECT_EQ(rows[2].status, "");
  EXPECT_EQ(rows[2].category, "");
}

TEST(EcoTaxa, ParsesExportFormWithAnnotationTime) {
  const std::string text =
      "OBJECT_ID\tObject_Annotation_Status\tobject_annotation_category\t"
      "object_annotation_hierarchy\tobject_annotation_person_name\tobject_annotation_date\t"
      "object_annotation_time\tobject_flowcam_guid\r\n"
      "run-A_1\tvalidated\tDinophyceae\tliving>Dinophyceae\tJane Doe\t20250131\t141503\tg1\r\n"
      "run-A_2\tD\tdetritus\t\t\t\t\t\r\n"
      "\r\n";
  const auto rows = ParseEcoTaxaTsv(text, "export.tsv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].status, "validated");
  EXPECT_EQ(rows[0].hierarchy, "living>Dinophyceae");
  EXPECT_EQ(rows[0].annotated_at, "2025-01-31T14:15:03Z");
  EXPECT_EQ(rows[0].guid, "g1");
  EXPECT_EQ(rows[1].status, "dubious");
  EXPECT_EQ(rows[1].annotated_at, "");
}

TEST(EcoTaxa, ParseErrorsNameFileAndLine) {
  const auto message = [](const std::string& text) {
    try {
      ParseEcoTaxaTsv(text, "e.tsv");
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_PRED2(StartsWith,
               message("img_file_name\tobject_annotation_status\na.png\tvalidated\n"),
               "e.tsv:1: no object_id column (is this an EcoTaxa TSV?)");
  EXPECT_PRED2(StartsWith,
               message("object_id\tobject_annotation_status\n[t]\t[t]\na\tvalidated\nb\n"),
               "e.tsv:4: expected 2 tab-separated fields as in the header, found 1");
  EXPECT_PRED2(StartsWith,
               message("object_id\tobject_annotation_date\na\t2025/01/31\n"),
               "e.tsv:2: field 'object_annotation_date': expected YYYYMMDD, found '2025/01/31'");
  EXPECT_PRED2(StartsWith,
               message(""),
               "e.tsv:1: expected a header row of EcoTaxa column names, found an empty line");
}

// ---------------------------------------------------------------------------------------------
// Zip

TEST(ZipArchive, WriteThenReadGivesTheSameEntries) {
  TempDir dir;
  const fs::path path = dir.Path() / "a.zip";
  const std::vector<ZipEntry> entries = {
      {"event.txt", {'a', '\t', 'b', '\n'}},
      {"images/x.png", {0x89, 'P', 'N', 'G', 0, 0, 255}},
      {"empty.txt", {}},
  };
  WriteZip(path, entries);
  const std::vector<ZipEntry> read = ReadZip(path);
  ASSERT_EQ(read.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(read[i].name, entries[i].name);
    EXPECT_EQ(read[i].bytes, entries[i].bytes);
  }
}

TEST(ZipArchive, ReadsOnlyTheWantedEntries) {
  TempDir dir;
  const fs::path path = dir.Path() / "a.zip";
  WriteZip(path, {{"a.tsv", {'1'}}, {"b.png", {'2'}}, {"sub/c.tsv", {'3'}}});
  const auto read = ReadZip(path, [](std::string_view name) { return name.ends_with(".tsv"); });
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].name, "a.tsv");
  EXPECT_EQ(read[1].name, "sub/c.tsv");
  EXPECT_EQ(read[1].bytes, std::vector<uint8_t>{'3'});
}

TEST(ZipArchive, SameEntriesGiveSameBytes) {
  TempDir dir;
  const std::vector<ZipEntry> entries = {{"a.txt", std::vector<uint8_t>(5000, 'x')},
                                         {"b.png", {1, 2, 3}}};
  WriteZip(dir.Path() / "1.zip", entries);
  WriteZip(dir.Path() / "2.zip", entries);
  EXPECT_EQ(ReadText(dir.Path() / "1.zip"), ReadText(dir.Path() / "2.zip"));
}

TEST(ZipArchive, FailedWriteLeavesTheExistingFileUntouched) {
  TempDir dir;
  const fs::path path = dir.Path() / "out.zip";
  WriteText(path, "previous archive");
  const std::vector<ZipEntry> duplicate = {{"a.txt", {'1'}}, {"a.txt", {'2'}}};
  EXPECT_THROW(WriteZip(path, duplicate), Error);
  EXPECT_EQ(ReadText(path), "previous archive");
  // A write that fails inside libzip (the target is a folder, so the rename fails) leaves no
  // temporary file behind either.
  fs::create_directories(dir.Path() / "folder.zip" / "inside");
  EXPECT_THROW(WriteZip(dir.Path() / "folder.zip", {{"a.txt", {'1'}}}), Error);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.Path())) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"folder.zip", "out.zip"}));
  // And a successful write replaces it.
  WriteZip(path, {{"a.txt", {'1'}}});
  EXPECT_EQ(ReadZip(path).size(), 1u);
}

// The caps count the bytes actually unpacked: lying.zip declares 1000 bytes for an entry of
// 65,536; good.zip holds run/a.txt (6 bytes) and run/b.txt (12 bytes), 18 in all.
TEST(ZipArchive, ReadCapsTheBytesActuallyUnpacked) {
  const std::filesystem::path lying = "tests/data/zips/lying.zip";
  const auto refusal = [](const std::function<void()>& read) {
    try {
      read();
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
      return std::string(error.what());
    }
    ADD_FAILURE() << "not refused";
    return std::string();
  };
  const std::string entry =
      refusal([&] { ReadZip(lying, {}, {.max_entry_bytes = 1000, .display_name = "zip_data"}); });
  EXPECT_NE(entry.find("zip_data: entry 'run/big.txt' unpacks to more than the limit of 1000"),
            std::string::npos)
      << entry;
  EXPECT_EQ(ReadZip(lying, {}, {.max_entry_bytes = 65536})[0].bytes.size(), 65536u);

  const std::filesystem::path good = "tests/data/zips/good.zip";
  const std::string total = refusal([&] { ReadZip(good, {}, {.max_total_bytes = 17}); });
  EXPECT_NE(total.find("unpack to more than the limit of 17 bytes"), std::string::npos) << total;
  EXPECT_EQ(ReadZip(good, {}, {.max_entry_bytes = 12, .max_total_bytes = 18}).size(), 2u);
  // Only wanted entries count: run/a.txt alone is 6 bytes.
  const auto only_a = [](std::string_view name) {
    return name == "run/a.txt";
  };
  EXPECT_EQ(ReadZip(good, only_a, {.max_total_bytes = 6}).size(), 1u);
}

TEST(ZipArchive, ReadErrors) {
  TempDir dir;
  try {
    ReadZip(dir.Path() / "missing.zip");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kNotFound);
  }
  WriteText(dir.Path() / "text.zip", "not a zip");
  try {
    ReadZip(dir.Path() / "text.zip");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
  }
  try {
    WriteZip(dir.Path() / "no-such-folder" / "a.zip", {{"a.txt", {'1'}}});
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
  }
}

}  // namespace
}  // namespace phytoflow
